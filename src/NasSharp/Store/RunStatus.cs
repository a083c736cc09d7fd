namespace NasSharp.Store;

/// <summary>
/// Life cycle of a run. A run starts <see cref="Running"/> and leaves that state exactly once per attempt:
/// completed, failed, or interrupted (a graceful stop, e.g. Ctrl+C). A killed process leaves it running in the store,
/// and the store reports it <see cref="Stale"/>. Every state but <see cref="Completed"/> can be resumed, which makes it
/// running again.
/// </summary>
public enum RunStatus
{
    Running,
    Completed,
    Failed,
    Interrupted,

    /// <summary>
    /// Reported, never stored: the store says running, but the process that owned the run is gone (its
    /// <see cref="RunLock"/> is free: killed, crashed, or the machine stopped). The same command resumes it.
    /// </summary>
    Stale,
}

internal static class RunStatusText
{
    public static string ToText(this RunStatus status) => status switch
    {
        RunStatus.Running => "running",
        RunStatus.Completed => "completed",
        RunStatus.Failed => "failed",
        RunStatus.Interrupted => "interrupted",
        RunStatus.Stale => "stale",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown run status."),
    };

    public static RunStatus Parse(string text) => text switch
    {
        "running" => RunStatus.Running,
        "completed" => RunStatus.Completed,
        "failed" => RunStatus.Failed,
        "interrupted" => RunStatus.Interrupted,
        _ => throw new StoreException($"Unknown run status '{text}' in the results store."),
    };
}
