namespace NasSharp.Proxies;

/// <summary>Whether a proxy produced a usable number.</summary>
public enum ProxyStatus
{
    /// <summary>A finite score.</summary>
    Finite,
    /// <summary>The computation produced NaN or ±Inf; <see cref="ProxyScore.Value"/> holds it as computed.</summary>
    NonFinite,
    /// <summary>The proxy's definition does not apply to this network (e.g. NASWOT without ReLU units).</summary>
    NotApplicable,
}

/// <summary>
/// One proxy's score for one network. Larger always means "predicted better" (each proxy documents its sign).
/// NaN and ±Inf are kept as computed, never replaced by a sentinel: <see cref="Reason"/> says what went wrong.
/// </summary>
public sealed record ProxyScore
{
    private ProxyScore(double value, ProxyStatus status, string? reason)
    {
        Value = value;
        Status = status;
        Reason = reason;
    }

    /// <summary>The score; NaN or ±Inf when <see cref="Status"/> is <see cref="ProxyStatus.NonFinite"/>, NaN when not applicable.</summary>
    public double Value { get; }

    public ProxyStatus Status { get; }

    /// <summary>Why the score is not finite or not applicable; null when finite.</summary>
    public string? Reason { get; }

    public bool IsFinite => Status == ProxyStatus.Finite;

    /// <summary>A value that cannot be NaN or ±Inf (a count).</summary>
    public static ProxyScore Finite(double value) =>
        double.IsFinite(value) ? new ProxyScore(value, ProxyStatus.Finite, null) : throw new ArgumentException($"{value} is not finite.", nameof(value));

    /// <summary>A finite value, or a non-finite one with the reason <paramref name="whyNotFinite"/> gives.</summary>
    public static ProxyScore From(double value, Func<string> whyNotFinite)
    {
        ArgumentNullException.ThrowIfNull(whyNotFinite);
        return double.IsFinite(value) ? new ProxyScore(value, ProxyStatus.Finite, null) : NonFinite(value, whyNotFinite());
    }

    public static ProxyScore NonFinite(double value, string reason)
    {
        if (double.IsFinite(value)) throw new ArgumentException($"{value} is finite; use ProxyScore.From.", nameof(value));
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new ProxyScore(value, ProxyStatus.NonFinite, reason);
    }

    public static ProxyScore NotApplicable(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new ProxyScore(double.NaN, ProxyStatus.NotApplicable, reason);
    }

    public override string ToString() => Status switch
    {
        ProxyStatus.Finite => Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        ProxyStatus.NonFinite => $"{Value} ({Reason})",
        _ => $"n/a ({Reason})",
    };
}
