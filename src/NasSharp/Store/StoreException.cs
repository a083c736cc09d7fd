using Microsoft.Data.Sqlite;

namespace NasSharp.Store;

/// <summary>
/// A results store could not be opened or an operation broke one of its rules (unknown run, results added to
/// a finished run, a file that is not a NasSharp store), or SQLite failed under it (read-only, full disk, locked,
/// damaged). The message is one line that names the file or run involved and says what to do.
/// </summary>
public sealed class StoreException : Exception
{
    public StoreException(string message) : base(message) { }

    public StoreException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>SQLite's failures as a user of the store can cause them, each as a <see cref="StoreException"/> that says what to do.</summary>
internal static class StoreErrors
{
    // SQLite's primary result codes (sqlite3.h).
    private const int Perm = 3, Busy = 5, Locked = 6, ReadOnlyCode = 8, IoErr = 10, Corrupt = 11, Full = 13, NotADb = 26, Auth = 23;
    public const int CantOpen = 14;

    /// <summary>Whether <paramref name="e"/> says the file or its folder cannot be written (so the store may still be read).</summary>
    public static bool IsNotWritable(SqliteException e) => e.SqliteErrorCode is ReadOnlyCode or CantOpen or Perm;

    public static StoreException ReadOnly(string path, string action, Exception? inner = null) => Make(
        $"Results store '{path}' is read-only (its file, folder or file system cannot be written), so NasSharp cannot {action}; " +
        "nas runs list and nas runs show still read it. Make it writable, or give this command another --store.", inner);

    /// <param name="action">What could not be done, completing "could not …" (e.g. "store a result of run 3").</param>
    public static StoreException Describe(SqliteException e, string path, string action, TimeSpan busyTimeout)
    {
        string sqlite = e.Message.ReplaceLineEndings(" ").TrimEnd('.');
        return e.SqliteErrorCode switch
        {
            ReadOnlyCode => ReadOnly(path, action, e),
            Full => Make($"The disk holding results store '{path}' is full, so NasSharp could not {action}; what was stored before is kept. " +
                "Free some space, then rerun the same command to resume.", e),
            Busy or Locked => Make($"Results store '{path}' stayed locked by another process for {busyTimeout.TotalSeconds:0.#} s, so NasSharp could not " +
                $"{action}. Rerun when that process has finished writing, or give this command another --store.", e),
            Corrupt => Make($"Results store '{path}' is damaged ({sqlite}), so NasSharp could not {action}. Keep the file for what it may still hold, " +
                "and give this command another --store.", e),
            NotADb => Make($"'{path}' is not a SQLite database ({sqlite}), so it cannot be a results store. Move it away, or give another --store " +
                "(or NASSHARP_STORE).", e),
            CantOpen => Make($"NasSharp could not {action}: results store '{path}' cannot be opened ({sqlite}). Check that its folder exists and " +
                "can be read and written, or give another --store.", e),
            Perm or Auth => Make($"NasSharp may not {action} in results store '{path}' ({sqlite}). Check its permissions, or give another --store.", e),
            IoErr => Make($"Reading or writing results store '{path}' failed with an I/O error ({sqlite}), so NasSharp could not {action}. " +
                "Check the disk, then rerun the same command to resume.", e),
            _ => Make($"Results store '{path}': NasSharp could not {action} ({sqlite}).", e),
        };
    }

    private static StoreException Make(string message, Exception? inner) => inner is null ? new(message) : new(message, inner);
}
