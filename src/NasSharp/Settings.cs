using System.Globalization;

namespace NasSharp;

/// <summary>
/// A setting a search space or strategy takes, described as data so that any front end can offer it (the CLI turns each
/// into an option <c>--name VALUE</c>, or <c>--name</c> for a flag) without knowing which space or strategy it belongs to.
/// </summary>
/// <param name="Default">The value used when the setting is not given, as text for help output (null: none, or it depends).</param>
public sealed record SettingSpec(string Name, string Description, string? Default = null, bool IsFlag = false);

/// <summary>A setting given a value it cannot take; the message names the setting as the command line spells it.</summary>
public sealed class SettingException(string message) : ArgumentException(message);

/// <summary>
/// The values given for settings, by name, as text; typed accessors parse them with the caller's default and range and
/// throw <see cref="SettingException"/> with a message of the form <c>--name VALUE: what is wrong</c>.
/// </summary>
public sealed class Settings
{
    private readonly SortedDictionary<string, string?> values;

    public Settings(IEnumerable<KeyValuePair<string, string?>>? values = null)
    {
        this.values = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in values ?? []) this.values[name] = value;
    }

    public static Settings Empty { get; } = new();

    /// <summary>The given settings in name order (a flag has the value "true").</summary>
    public IReadOnlyDictionary<string, string?> Given => values;

    public bool IsGiven(string name) => values.ContainsKey(name);

    public string? Text(string name) => values.TryGetValue(name, out var v) ? v : null;

    /// <summary>A copy with <paramref name="name"/> set to <paramref name="value"/> (removed when null).</summary>
    public Settings With(string name, string? value)
    {
        var copy = new Dictionary<string, string?>(values);
        if (value is null) copy.Remove(name);
        else copy[name] = value;
        return new Settings(copy);
    }

    public bool Flag(string name) => Text(name) switch
    {
        null => false,
        "" or "true" => true,
        "false" => false,
        var v => throw new SettingException($"--{name} {v}: a flag takes no value (or true/false)."),
    };

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Text(name) is not { } text) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw new SettingException($"--{name} {text}: expected a whole number.");
        if (v < min || v > max)
            throw new SettingException($"--{name} {text}: must be {(max == int.MaxValue ? $"at least {min}" : $"between {min} and {max}")}.");
        return v;
    }

    public long Long(string name, long fallback)
    {
        if (Text(name) is not { } text) return fallback;
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
            : throw new SettingException($"--{name} {text}: expected a whole number.");
    }

    /// <summary>A finite number (NaN and infinities are refused).</summary>
    public double Double(string name, double fallback)
    {
        if (Text(name) is not { } text) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw new SettingException($"--{name} {text}: expected a finite number.");
        return v;
    }

    /// <summary>One of <paramref name="choices"/> by name.</summary>
    public T Choice<T>(string name, T fallback, params (string Name, T Value)[] choices)
    {
        if (Text(name) is not { } text) return fallback;
        foreach (var (n, v) in choices)
            if (n == text) return v;
        throw new SettingException($"--{name} {text}: use {string.Join(", ", choices.Select(c => c.Name))}{Spelling.Suggestion(text, choices.Select(c => c.Name))}.");
    }

    /// <summary>Throws for a given setting that <paramref name="known"/> does not list (a setting of another space or strategy).</summary>
    public void RequireOnly(IEnumerable<SettingSpec> known, string owner)
    {
        var names = known.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in values.Keys)
            if (!names.Contains(name))
                throw new SettingException($"--{name} does not apply to {owner}" +
                    (names.Count == 0 ? ", which takes no settings." : $" (its settings: {string.Join(", ", names.Order().Select(n => "--" + n))})."));
    }

    /// <summary>Formats a number the way <see cref="Double"/> reads it back exactly.</summary>
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
