namespace NasSharp.Store;

/// <summary>A stored run as <c>nas runs list/show</c> presents it. JSON columns are returned verbatim.</summary>
public sealed record RunInfo(
    long Id,
    string Kind,
    string Command,
    string ConfigJson,
    long? Seed,
    IReadOnlyDictionary<string, string> Versions,
    RunStatus Status,
    DateTimeOffset StartedUtc,
    DateTimeOffset? EndedUtc,
    string? Key,
    string? SummaryJson,
    string? Error,
    int ResultCount)
{
    /// <summary>
    /// Wall-clock time from the first start to the latest end; null while running. A resumed run counts the
    /// time it lay interrupted.
    /// </summary>
    public TimeSpan? Duration => EndedUtc - StartedUtc;
}
