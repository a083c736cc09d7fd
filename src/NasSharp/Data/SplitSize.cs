using System.Globalization;

namespace NasSharp.Data;

/// <summary>The size of a split: an absolute number of samples or a fraction of the set being divided.</summary>
public readonly record struct SplitSize
{
    private SplitSize(bool isFraction, double value)
    {
        IsFraction = isFraction;
        Value = value;
    }

    public bool IsFraction { get; }
    /// <summary>The sample count, or the fraction in [0, 1].</summary>
    public double Value { get; }

    public static SplitSize Count(int samples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(samples);
        return new SplitSize(false, samples);
    }

    public static SplitSize Fraction(double fraction)
    {
        if (!(fraction >= 0 && fraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "A split fraction must lie in [0, 1].");
        return new SplitSize(true, fraction);
    }

    /// <summary>The number of samples out of <paramref name="total"/>: the count itself, or the fraction rounded to nearest (halves up).</summary>
    public int Resolve(int total)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        return IsFraction ? (int)Math.Round(Value * total, MidpointRounding.AwayFromZero) : (int)Value;
    }

    /// <summary>Parses a command-line value: an integer ("5000") is a count; a decimal ("0.1") or a percentage ("10%") is a fraction.</summary>
    public static SplitSize Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var count)) return Count(count);
        bool percent = t.EndsWith('%');
        if (double.TryParse(percent ? t[..^1] : t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            var fraction = percent ? value / 100 : value;
            if (fraction >= 0 && fraction <= 1) return Fraction(fraction);
        }
        throw new FormatException($"'{text}' is not a split size: expected a sample count (5000), a fraction in [0, 1] (0.1) or a percentage (10%).");
    }

    public override string ToString() => IsFraction ? Value.ToString("R", CultureInfo.InvariantCulture) : ((int)Value).ToString(CultureInfo.InvariantCulture);
}
