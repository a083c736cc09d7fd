using System.Globalization;
using Microsoft.Data.Sqlite;

namespace NasSharp.Store;

/// <summary>
/// Runs and their results in one SQLite file. Every <see cref="AddResult"/> is committed before it returns,
/// so a process killed at any moment loses at most the item it was computing, and a rerun with the same
/// <see cref="RunSpec.Key"/> resumes where it stopped (<see cref="GetOrStartRun"/>).
/// One instance belongs to one thread; several processes may share the file (WAL journal, busy timeout).
/// A store whose file or folder cannot be written opens read-only (<see cref="IsReadOnly"/>): it can be listed and
/// shown, and every write is refused. Every SQLite failure surfaces as a <see cref="StoreException"/> of one line that
/// says what is wrong and what to do.
/// </summary>
public sealed class ResultsStore : IDisposable
{
    /// <summary>How long a writer waits for another process's write lock before failing.</summary>
    private static readonly TimeSpan DefaultBusyTimeout = TimeSpan.FromSeconds(30);

    private readonly SqliteConnection _connection;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _busyTimeout;
    private bool _disposed;

    private ResultsStore(SqliteConnection connection, string filePath, TimeProvider clock, TimeSpan busyTimeout, bool readOnly)
    {
        _connection = connection;
        FilePath = filePath;
        _clock = clock;
        _busyTimeout = busyTimeout;
        IsReadOnly = readOnly;
    }

    /// <summary>Absolute path of the database file.</summary>
    public string FilePath { get; }

    /// <summary>Opened read-only because the file or its folder cannot be written: reads work, writes are refused.</summary>
    public bool IsReadOnly { get; }

    /// <summary>
    /// Opens the store at <paramref name="path"/>, creating its directory, the file and the schema if missing.
    /// <paramref name="clock"/> stamps runs and results (default: the system clock).
    /// </summary>
    /// <exception cref="StoreException">The file is not a SQLite database, belongs to another program, is damaged, is
    /// locked, or has a newer schema than this build understands.</exception>
    public static ResultsStore Open(string path, TimeProvider? clock = null) => Open(path, clock, DefaultBusyTimeout);

    /// <param name="busyTimeout">How long to wait for another process's write lock (tests shorten it).</param>
    internal static ResultsStore Open(string path, TimeProvider? clock, TimeSpan busyTimeout)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new StoreException($"Results store path '{full}' is a directory; give the path of a database file, e.g. '{Path.Combine(full, "results.db")}'.");
        clock ??= TimeProvider.System;

        bool exists = File.Exists(full) && new FileInfo(full).Length > 0;
        if (exists)
        {
            // Looked at read-only first: the read-write setup below switches the journal to WAL, which changes the file,
            // and a file that is not a NasSharp store (or one of a newer build) must be refused as it is.
            using var reader = OpenReadOnly(full, busyTimeout);
            Guarded(full, "read it", busyTimeout, () => StoreSchema.Check(reader, full));
        }
        else
        {
            string? directory = Path.GetDirectoryName(full);
            try
            {
                if (!string.IsNullOrEmpty(directory)) Directory.CreateDirectory(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StoreException($"Cannot create results store '{full}': {e.Message} Use a --store (or NASSHARP_STORE) in a folder you can write.", e);
            }
        }

        var connection = new SqliteConnection(ConnectionString(full, SqliteOpenMode.ReadWriteCreate, busyTimeout));
        try
        {
            connection.Open();
            Pragma(connection, $"PRAGMA busy_timeout = {(int)busyTimeout.TotalMilliseconds}");
            Pragma(connection, "PRAGMA journal_mode = WAL");
            // FULL syncs the WAL on every commit: a result reported as stored survives even a power cut,
            // at the price of one fsync per item, negligible next to scoring an architecture.
            Pragma(connection, "PRAGMA synchronous = FULL");
            StoreSchema.Migrate(connection, full);
            return new ResultsStore(connection, full, clock, busyTimeout, readOnly: false);
        }
        catch (SqliteException e) when (exists && StoreErrors.IsNotWritable(e))
        {
            // A read-only file, folder or file system: the store is still readable.
            connection.Dispose();
            var reader = OpenReadOnly(full, busyTimeout);
            try
            {
                Guarded(full, "read it", busyTimeout, () => StoreSchema.RequireCurrent(reader, full));
            }
            catch
            {
                reader.Dispose();
                throw;
            }
            return new ResultsStore(reader, full, clock, busyTimeout, readOnly: true);
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw StoreErrors.Describe(e, full, exists ? "open it" : "create it", busyTimeout);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static string ConnectionString(string dataSource, SqliteOpenMode mode, TimeSpan busyTimeout) => new SqliteConnectionStringBuilder
    {
        DataSource = dataSource,
        Mode = mode,
        ForeignKeys = true,
        // A pooled connection would keep the file open after Dispose; a store is opened once per command.
        Pooling = false,
        DefaultTimeout = (int)Math.Ceiling(busyTimeout.TotalSeconds),
    }.ToString();

    /// <summary>
    /// A read-only connection that has read the schema version. In a folder where SQLite cannot create the WAL's
    /// shared-memory file (a read-only file system) the file is read as immutable, which is exact when no write-ahead log
    /// is left beside it; one that is left holds results a read would miss, so it is refused.
    /// </summary>
    private static SqliteConnection OpenReadOnly(string full, TimeSpan busyTimeout)
    {
        var connection = new SqliteConnection(ConnectionString(full, SqliteOpenMode.ReadOnly, busyTimeout));
        try
        {
            connection.Open();
            Pragma(connection, "PRAGMA user_version");
            return connection;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == StoreErrors.CantOpen)
        {
            connection.Dispose();
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw StoreErrors.Describe(e, full, "read it", busyTimeout);
        }
        var wal = new FileInfo(full + "-wal");
        if (wal.Exists && wal.Length > 0)
            throw new StoreException($"Results store '{full}' cannot be read: its folder is read-only and its write-ahead log '{wal.Name}' " +
                "was left unmerged by a process that stopped abruptly. Open it once where it can be written (or copy the folder somewhere writable).");
        var immutable = new SqliteConnection(ConnectionString(new Uri(full).AbsoluteUri + "?immutable=1", SqliteOpenMode.ReadOnly, busyTimeout));
        try
        {
            immutable.Open();
            Pragma(immutable, "PRAGMA user_version");
            return immutable;
        }
        catch (SqliteException e)
        {
            immutable.Dispose();
            throw StoreErrors.Describe(e, full, "read it", busyTimeout);
        }
    }

    /// <summary>
    /// Where the store lives unless told otherwise: <c>$NASSHARP_STORE</c> if set, else
    /// <c>$XDG_DATA_HOME/nassharp/results.db</c>, else <c>~/.local/share/nassharp/results.db</c>.
    /// <paramref name="getEnvironmentVariable"/> replaces the process environment (for tests).
    /// </summary>
    public static string DefaultPath(Func<string, string?>? getEnvironmentVariable = null)
    {
        var env = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
        string? explicitPath = env("NASSHARP_STORE");
        if (!string.IsNullOrWhiteSpace(explicitPath)) return Path.GetFullPath(explicitPath);

        // The XDG base-directory spec says to ignore a relative XDG_DATA_HOME.
        string? dataHome = env("XDG_DATA_HOME");
        if (string.IsNullOrWhiteSpace(dataHome) || !Path.IsPathRooted(dataHome))
        {
            string? home = env("HOME");
            if (string.IsNullOrWhiteSpace(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrWhiteSpace(home))
                throw new StoreException("Cannot find a home directory for the results store; set NASSHARP_STORE to a database path.");
            dataHome = Path.Combine(home, ".local", "share");
        }
        return Path.Combine(dataHome, "nassharp", "results.db");
    }

    /// <summary>Records a new run in state running.</summary>
    /// <exception cref="StoreException">An unfinished run already has the same key.</exception>
    public Run StartRun(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        return Write("start a run", () =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            if (spec.Key is not null && FindResumableId(spec.Key, tx) is long existing)
                throw new StoreException(
                    $"Run {existing} in '{FilePath}' has the same key and is not completed; resume it " +
                    "(GetOrStartRun or ResumeRun) or finish it before starting another.");
            var run = Insert(spec, tx);
            tx.Commit();
            return run;
        });
    }

    /// <summary>The unfinished (running, failed or interrupted) run with this key, if any.</summary>
    public RunInfo? FindResumable(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        return Read("look a run up", () => FindResumableId(key, null) is long id ? GetRun(id) : null);
    }

    /// <summary>
    /// Resumes the unfinished run with <paramref name="spec"/>'s key, or starts a new one if there is none
    /// (a completed run with that key stays as it is). A resumed run keeps its original spec.
    /// </summary>
    public Run GetOrStartRun(RunSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (spec.Key is null)
            throw new ArgumentException("GetOrStartRun needs a RunSpec.Key to find the run again; use StartRun for runs without one.", nameof(spec));
        return Write("start or resume a run", () =>
        {
            // IMMEDIATE: two processes racing on the same key must not both insert.
            using var tx = _connection.BeginTransaction(deferred: false);
            var run = FindResumableId(spec.Key, tx) is long id ? Resume(id, tx) : Insert(spec, tx);
            tx.Commit();
            return run;
        });
    }

    /// <summary>Makes a failed, interrupted or stale run running again.</summary>
    /// <exception cref="StoreException">The run does not exist or is completed.</exception>
    public Run ResumeRun(long runId) => Write($"resume run {runId}", () =>
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        var run = Resume(runId, tx);
        tx.Commit();
        return run;
    });

    /// <summary>
    /// Stores one result in its own transaction, committed before returning. An item already stored under
    /// the same <see cref="ResultRecord.ItemKey"/> is kept (returns false) unless <paramref name="overwrite"/>
    /// is set, in which case it is replaced. Returns whether the record was written.
    /// </summary>
    /// <exception cref="StoreException">The run does not exist or is not running.</exception>
    public bool AddResult(long runId, ResultRecord result, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(result);
        Validate(result);
        return Write($"store a result of run {runId}", () =>
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            RequireRunning(runId, "add results to", tx);
            string onConflict = overwrite
                ? """
                  DO UPDATE SET arch = excluded.arch, space = excluded.space, value_json = excluded.value_json,
                                created_utc = excluded.created_utc
                  """
                : "DO NOTHING";
            using var insert = Command($"""
                INSERT INTO results (run_id, item_key, arch, space, value_json, created_utc)
                VALUES ($run, $item, $arch, $space, $value, $created)
                ON CONFLICT (run_id, item_key) {onConflict}
                """, tx,
                ("$run", runId), ("$item", result.ItemKey), ("$arch", result.Arch), ("$space", result.Space),
                ("$value", result.ValueJson), ("$created", Now()));
            int written = insert.ExecuteNonQuery();
            tx.Commit();
            return written > 0;
        });
    }

    /// <summary>Whether the run already has a result for <paramref name="itemKey"/>.</summary>
    public bool HasResult(long runId, string itemKey)
    {
        ArgumentNullException.ThrowIfNull(itemKey);
        return Read($"read the results of run {runId}", () =>
        {
            using var cmd = Command("SELECT 1 FROM results WHERE run_id = $run AND item_key = $item", null,
                ("$run", runId), ("$item", itemKey));
            return cmd.ExecuteScalar() is not null;
        });
    }

    /// <summary>The run's results in the order they were first stored.</summary>
    /// <exception cref="StoreException">The run does not exist.</exception>
    public IReadOnlyList<StoredResult> GetResults(long runId) => Read($"read the results of run {runId}", () =>
    {
        if (StatusOf(runId, null) is null) throw UnknownRun(runId);
        using var cmd = Command("""
            SELECT id, run_id, item_key, arch, space, value_json, created_utc
            FROM results WHERE run_id = $run ORDER BY id
            """, null, ("$run", runId));
        using var reader = cmd.ExecuteReader();
        var results = new List<StoredResult>();
        while (reader.Read())
        {
            var record = new ResultRecord(reader.GetString(2), reader.GetString(5))
            {
                Arch = reader.IsDBNull(3) ? null : reader.GetString(3),
                Space = reader.IsDBNull(4) ? null : reader.GetString(4),
            };
            results.Add(new StoredResult(reader.GetInt64(0), reader.GetInt64(1), ParseTime(reader.GetString(6)), record));
        }
        return (IReadOnlyList<StoredResult>)results;
    });

    /// <summary>Marks a running run completed, with an optional summary (the command's output) in NasSharp's JSON dialect.</summary>
    public void CompleteRun(long runId, object? summary = null) =>
        Finish(runId, RunStatus.Completed, summary is null ? null : NasJson.Serialize(summary, summary.GetType()), null);

    /// <summary>Marks a running run failed; <paramref name="message"/> says why. It can be resumed later.</summary>
    public void FailRun(long runId, string message)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(message);
        Finish(runId, RunStatus.Failed, null, message);
    }

    /// <summary>Marks a running run interrupted (a graceful stop such as Ctrl+C). It can be resumed later.</summary>
    public void InterruptRun(long runId) => Finish(runId, RunStatus.Interrupted, null, null);

    /// <summary>
    /// Deletes a running run that holds no results: one its command started for what then showed itself a usage mistake,
    /// which is no experiment to keep or to resume.
    /// </summary>
    /// <exception cref="StoreException">The run does not exist, is not running, or has results.</exception>
    public void DiscardRun(long runId) => Write($"discard run {runId}", () =>
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        RequireRunning(runId, "discard", tx);
        using (var count = Command("SELECT count(*) FROM results WHERE run_id = $id", tx, ("$id", runId)))
            if (Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture) > 0)
                throw new StoreException($"Run {runId} in '{FilePath}' has results; a run with results is kept (mark it failed instead).");
        using (var delete = Command("DELETE FROM runs WHERE id = $id", tx, ("$id", runId)))
            delete.ExecuteNonQuery();
        tx.Commit();
        return true;
    });

    /// <summary>Runs newest first, optionally only of one <paramref name="kind"/> and at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<RunInfo> ListRuns(int? limit = null, string? kind = null)
    {
        if (limit is <= 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "The run limit must be positive (or null for all runs).");
        return Read("list its runs", () =>
        {
            using var cmd = Command($"""
                {RunInfoSelect}
                WHERE $kind IS NULL OR kind = $kind
                ORDER BY id DESC
                LIMIT $limit
                """, null, ("$kind", kind), ("$limit", limit ?? -1));
            return ReadRuns(cmd);
        });
    }

    /// <summary>The run with this id, or null.</summary>
    public RunInfo? GetRun(long id) => Read($"read run {id}", () =>
    {
        using var cmd = Command($"{RunInfoSelect} WHERE id = $id", null, ("$id", id));
        return ReadRuns(cmd).SingleOrDefault();
    });

    /// <summary><paramref name="body"/>, with any SQLite failure as a <see cref="StoreException"/> that says what could not be done and why.</summary>
    private T Read<T>(string action, Func<T> body)
    {
        ThrowIfDisposed();
        return Guarded(FilePath, action, _busyTimeout, body);
    }

    /// <summary>Like <see cref="Read"/>, and refused up front on a store opened read-only.</summary>
    private T Write<T>(string action, Func<T> body)
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw StoreErrors.ReadOnly(FilePath, action);
        return Guarded(FilePath, action, _busyTimeout, body);
    }

    private static T Guarded<T>(string path, string action, TimeSpan busyTimeout, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (SqliteException e)
        {
            throw StoreErrors.Describe(e, path, action, busyTimeout);
        }
    }

    private static void Guarded(string path, string action, TimeSpan busyTimeout, Action body) =>
        Guarded(path, action, busyTimeout, () => { body(); return true; });

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _connection.Dispose();
    }

    private const string RunInfoSelect = """
        SELECT id, kind, command, config_json, seed, versions_json, status, started_utc, ended_utc, key,
               summary_json, error, (SELECT count(*) FROM results WHERE results.run_id = runs.id)
        FROM runs
        """;

    /// <summary>
    /// The runs <paramref name="cmd"/> selects; a run stored as running whose owner is gone (<see cref="RunLock.IsAbandoned"/>)
    /// is reported <see cref="RunStatus.Stale"/>, so a killed run does not pass for a live one.
    /// </summary>
    private IReadOnlyList<RunInfo> ReadRuns(SqliteCommand cmd)
    {
        using var reader = cmd.ExecuteReader();
        var runs = new List<RunInfo>();
        while (reader.Read())
        {
            runs.Add(new RunInfo(
                Id: reader.GetInt64(0),
                Kind: reader.GetString(1),
                Command: reader.GetString(2),
                ConfigJson: reader.GetString(3),
                Seed: reader.IsDBNull(4) ? null : reader.GetInt64(4),
                Versions: ReadVersions(reader.GetString(5)),
                Status: Reported(RunStatusText.Parse(reader.GetString(6)), reader.GetInt64(0)),
                StartedUtc: ParseTime(reader.GetString(7)),
                EndedUtc: reader.IsDBNull(8) ? null : ParseTime(reader.GetString(8)),
                Key: reader.IsDBNull(9) ? null : reader.GetString(9),
                SummaryJson: reader.IsDBNull(10) ? null : reader.GetString(10),
                Error: reader.IsDBNull(11) ? null : reader.GetString(11),
                ResultCount: reader.GetInt32(12)));
        }
        return runs;
    }

    private RunStatus Reported(RunStatus stored, long runId) =>
        stored == RunStatus.Running && RunLock.IsAbandoned(FilePath, runId) ? RunStatus.Stale : stored;

    private Run Insert(RunSpec spec, SqliteTransaction tx)
    {
        var versions = spec.Versions ?? new Dictionary<string, string>();
        using var cmd = Command("""
            INSERT INTO runs (kind, command, config_json, seed, versions_json, status, started_utc, key)
            VALUES ($kind, $command, $config, $seed, $versions, 'running', $started, $key)
            RETURNING id
            """, tx,
            ("$kind", spec.Kind), ("$command", spec.Command), ("$config", spec.Config is null ? "null" : NasJson.Serialize(spec.Config, spec.Config.GetType())),
            ("$seed", spec.Seed), ("$versions", NasJson.Serialize(versions)), ("$started", Now()), ("$key", spec.Key));
        long id = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        return new Run(id, spec.Key, Resumed: false, ResultCount: 0);
    }

    private Run Resume(long runId, SqliteTransaction tx)
    {
        var status = StatusOf(runId, tx) ?? throw UnknownRun(runId);
        if (status == RunStatus.Completed)
            throw new StoreException($"Run {runId} in '{FilePath}' is completed; there is nothing to resume. Start a new run instead.");
        using (var update = Command(
            "UPDATE runs SET status = 'running', ended_utc = NULL, error = NULL WHERE id = $id", tx, ("$id", runId)))
            update.ExecuteNonQuery();
        using var cmd = Command(
            "SELECT key, (SELECT count(*) FROM results WHERE run_id = $id) FROM runs WHERE id = $id", tx, ("$id", runId));
        using var reader = cmd.ExecuteReader();
        reader.Read();
        return new Run(runId, reader.IsDBNull(0) ? null : reader.GetString(0), Resumed: true, ResultCount: reader.GetInt32(1));
    }

    private void Finish(long runId, RunStatus status, string? summaryJson, string? error) => Write($"mark run {runId} {status.ToText()}", () =>
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        RequireRunning(runId, $"mark {status.ToText()}", tx);
        using (var cmd = Command("""
            UPDATE runs SET status = $status, ended_utc = $ended, summary_json = $summary, error = $error
            WHERE id = $id
            """, tx,
            ("$status", status.ToText()), ("$ended", Now()), ("$summary", summaryJson), ("$error", error), ("$id", runId)))
            cmd.ExecuteNonQuery();
        tx.Commit();
        return true;
    });

    private long? FindResumableId(string key, SqliteTransaction? tx)
    {
        using var cmd = Command("SELECT id FROM runs WHERE key = $key AND status <> 'completed'", tx, ("$key", key));
        return cmd.ExecuteScalar() is long id ? id : null;
    }

    private RunStatus? StatusOf(long runId, SqliteTransaction? tx)
    {
        using var cmd = Command("SELECT status FROM runs WHERE id = $id", tx, ("$id", runId));
        return cmd.ExecuteScalar() is string text ? RunStatusText.Parse(text) : null;
    }

    private void RequireRunning(long runId, string action, SqliteTransaction tx)
    {
        var status = StatusOf(runId, tx) ?? throw UnknownRun(runId);
        if (status != RunStatus.Running)
            throw new StoreException(
                $"Cannot {action} run {runId} in '{FilePath}': it is {status.ToText()}, not running." +
                (status == RunStatus.Completed ? "" : " Resume it first."));
    }

    private StoreException UnknownRun(long runId) => new($"Run {runId} does not exist in results store '{FilePath}'.");

    private static void Validate(ResultRecord result)
    {
        if (string.IsNullOrWhiteSpace(result.ItemKey))
            throw new ArgumentException("A result needs a non-blank ItemKey that identifies it within its run.", nameof(result));
        try { using var _ = System.Text.Json.JsonDocument.Parse(result.ValueJson ?? throw new ArgumentException($"Result '{result.ItemKey}' has no value.", nameof(result))); }
        catch (System.Text.Json.JsonException e) { throw new ArgumentException($"Result '{result.ItemKey}': its value is not JSON ({e.Message}).", nameof(result)); }
    }

    private IReadOnlyDictionary<string, string> ReadVersions(string json)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json)
                ?? throw new StoreException($"Results store '{FilePath}' holds null where a run's versions should be a JSON object.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new StoreException($"Results store '{FilePath}' is damaged: a run's versions are not the JSON object they should be ({e.Message}).", e);
        }
    }

    private SqliteCommand Command(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static void Pragma(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private string Now() => _clock.GetUtcNow().UtcDateTime.ToString("o", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
