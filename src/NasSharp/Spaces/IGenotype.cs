using System.Buffers;
using System.Globalization;
using System.Text;

namespace NasSharp.Spaces;

/// <summary>An architecture as an immutable value with one canonical string that parses back exactly.</summary>
public interface IGenotype
{
    string Space { get; }
    string Canonical { get; }

    /// <summary>
    /// Why the architecture is degenerate (its cells can learn nothing: a cell space's derived cell with no parametric
    /// operation where it matters), or null. Searches report it beside the architecture, so a found cell of this kind is
    /// never shown as an ordinary result.
    /// </summary>
    string? Degeneracy => null;
}

/// <summary>
/// A malformed architecture string; the message names the problem and shows the expected form. Messages quote the input
/// only through <see cref="Quote"/>, so a message is one line of bounded length whatever the input (the CLI prints it as
/// the one line of a usage error, and a 1 MB input must not make a 1 MB message).
/// </summary>
public sealed class GenotypeFormatException(string message) : FormatException(message)
{
    /// <summary>The most characters of the input a message quotes.</summary>
    public const int ExcerptLength = 60;

    /// <summary>
    /// <paramref name="text"/> in single quotes for a message: control characters, line separators and unpaired
    /// surrogates escaped (<c>\n</c>, <c>\u2028</c>), cut after <see cref="ExcerptLength"/> characters with the full length
    /// named: <c>'w256/relu-relu-…' (1,048,576 characters)</c>.
    /// </summary>
    public static string Quote(ReadOnlySpan<char> text)
    {
        int shown = Math.Min(text.Length, ExcerptLength);
        // Never cut a surrogate pair in half.
        if (shown < text.Length && shown > 0 && char.IsHighSurrogate(text[shown - 1])) shown--;
        var sb = new StringBuilder(shown + 32).Append('\'');
        for (int i = 0; i < shown; i++)
        {
            char c = text[i];
            bool paired = char.IsHighSurrogate(c) ? i + 1 < shown && char.IsLowSurrogate(text[i + 1])
                : char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(text[i - 1]);
            if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsControl(c) || c is '\u2028' or '\u2029' || (char.IsSurrogate(c) && !paired))
                sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append(c);
        }
        if (shown < text.Length) sb.Append("…' (").Append(text.Length.ToString("N0", CultureInfo.InvariantCulture)).Append(" characters)");
        else sb.Append('\'');
        return sb.ToString();
    }
}

/// <summary>Numbers in architecture strings, read one way by every parser: ASCII digits, no sign, no leading zero.</summary>
internal static class GenotypeNumber
{
    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    public static bool IsNumeral(ReadOnlySpan<char> s) => s.Length > 0 && !s.ContainsAnyExcept(Digits) && (s.Length == 1 || s[0] != '0');

    /// <summary>False for a malformed numeral and for one above <see cref="int.MaxValue"/>.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        return IsNumeral(s) && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
