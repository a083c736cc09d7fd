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

    /// <summary>What to tell a user about the run beside its status: the stored error, or why a stale run is stale.</summary>
    public string? Note => Error ?? (Status == RunStatus.Stale
        ? "its process ended without closing the run (killed, crashed, or the machine stopped); rerun the same command to resume it"
        : null);
}
