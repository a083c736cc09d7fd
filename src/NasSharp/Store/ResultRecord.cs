namespace NasSharp.Store;

/// <summary>
/// One computed item of a run, identified within the run by <paramref name="ItemKey"/> (e.g. the canonical
/// genotype string, or "arch/seed"). <see cref="Scores"/> are proxy values, <see cref="Metrics"/> measured
/// quantities (accuracy, FLOPs, seconds); both may hold NaN or ±Infinity, which survive storage exactly.
/// <see cref="Notes"/> carry text such as the reason a score is not finite.
/// </summary>
public sealed record ResultRecord(string ItemKey)
{
    public string? Arch { get; init; }
    public string? Space { get; init; }
    public IReadOnlyDictionary<string, double> Scores { get; init; } = new Dictionary<string, double>();
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
    public IReadOnlyDictionary<string, string> Notes { get; init; } = new Dictionary<string, string>();
}

/// <summary>A result as read back, with the store's row id and the time it was (last) written.</summary>
public sealed record StoredResult(long Id, long RunId, DateTimeOffset CreatedUtc, ResultRecord Record);
