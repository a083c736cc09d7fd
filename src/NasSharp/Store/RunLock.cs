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
    private readonly FileStream file;

    private RunLock(FileStream file) => this.file = file;

    /// <summary>The lock of run <paramref name="runId"/> of the store at <paramref name="storePath"/>, or null when
    /// another process (or another handle in this one) holds it.</summary>
    public static RunLock? TryAcquire(string storePath, long runId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storePath);
        string directory = Path.GetFullPath(storePath) + ".locks";
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, $"run-{runId}.lock");
        try
        {
            return new RunLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose() => file.Dispose();
}
