namespace NasSharp.Store;

/// <summary>
/// Marks a run as owned by a live process. A resumable run stays "running" in the store when its process is killed,
/// so the status alone cannot tell a crashed run (which the next identical command should resume) from one that is
/// still going (which a second identical command must leave alone, or the two would write to one run and the first to
/// finish would close it under the other). The owner holds an exclusive lock on <c>STORE.locks/run-ID.lock</c>; .NET
/// takes it as an advisory <c>flock</c> on Unix and a share-none handle on Windows, and the OS drops it when the process
/// dies, however it dies. Lock files are never deleted: deleting one while another process opens it could let two
/// processes hold locks on different files of the same name.
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>
    /// How often and how long <see cref="TryAcquire"/> tries again: <see cref="IsAbandoned"/> in another process (a
    /// <c>nas runs list</c>) holds a shared lock for the microseconds of its probe, which must not pass for an owner.
    /// </summary>
    private const int Attempts = 10;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(20);

    private readonly FileStream file;

    private RunLock(FileStream file) => this.file = file;

    /// <summary>The lock of run <paramref name="runId"/> of the store at <paramref name="storePath"/>, or null when
    /// another process (or another handle in this one) holds it.</summary>
    public static RunLock? TryAcquire(string storePath, long runId)
    {
        string path = LockPath(storePath, runId);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return new RunLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (attempt < Attempts)
            {
                Thread.Sleep(RetryDelay);
            }
            catch (IOException)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Whether run <paramref name="runId"/> was owned through its lock and no process holds that lock now: its owner is
    /// gone (killed, crashed, or the machine stopped) without closing the run. A run never owned through a lock (one
    /// started through <see cref="ResultsStore"/> directly) has no lock file and is not abandoned. The probe only reads,
    /// so it works on a read-only store.
    /// </summary>
    public static bool IsAbandoned(string storePath, long runId)
    {
        string path = LockPath(storePath, runId);
        if (!File.Exists(path)) return false;
        try
        {
            // A shared lock: refused while the owner holds its exclusive one.
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string LockPath(string storePath, long runId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storePath);
        return Path.Combine(Path.GetFullPath(storePath) + ".locks", $"run-{runId}.lock");
    }

    public void Dispose() => file.Dispose();
}
