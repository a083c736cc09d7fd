using System.Globalization;
using Microsoft.Data.Sqlite;

namespace NasSharp.Store;

/// <summary>
/// The schema, versioned by <c>PRAGMA user_version</c>. A new version adds a step to <see cref="Migrate"/>;
/// files written by a newer build are refused rather than guessed at.
/// </summary>
internal static class StoreSchema
{
    public const int CurrentVersion = 2;

    // STRICT tables (SQLite >= 3.37) reject a value of the wrong type instead of storing it silently.
    // Key uniqueness is enforced only among unfinished runs: there is at most one run to resume per key,
    // while completed runs with the same key remain as history of reruns.
    private const string Runs = """
        CREATE TABLE runs (
            id            INTEGER PRIMARY KEY,
            kind          TEXT NOT NULL,
            command       TEXT NOT NULL,
            config_json   TEXT NOT NULL,
            seed          INTEGER,
            versions_json TEXT NOT NULL,
            status        TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
            started_utc   TEXT NOT NULL,
            ended_utc     TEXT,
            key           TEXT,
            summary_json  TEXT,
            error         TEXT
        ) STRICT;
        CREATE UNIQUE INDEX runs_unfinished_key ON runs(key) WHERE key IS NOT NULL AND status <> 'completed';
        CREATE INDEX runs_kind ON runs(kind);
        """;

    // Version 2: a result is one JSON document (a typed record in NasSharp's dialect) instead of three maps.
    private const string Results = """
        CREATE TABLE results (
            id           INTEGER PRIMARY KEY,
            run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            item_key     TEXT NOT NULL,
            arch         TEXT,
            space        TEXT,
            value_json   TEXT NOT NULL,
            created_utc  TEXT NOT NULL,
            UNIQUE (run_id, item_key)
        ) STRICT;
        """;

    // Version 1 kept scores, metrics and notes as three JSON maps; they become one object holding the three.
    private const string FromVersion1 = """
        ALTER TABLE results RENAME TO results_v1;
        """ + Results + """
        INSERT INTO results (id, run_id, item_key, arch, space, value_json, created_utc)
            SELECT id, run_id, item_key, arch, space,
                   json_object('scores', json(scores_json), 'metrics', json(metrics_json), 'notes', json(notes_json)), created_utc
            FROM results_v1;
        DROP TABLE results_v1;
        """;

    /// <summary>
    /// Refuses, reading only, a file that is not a NasSharp results store or was written by a newer build: a schema version
    /// above <see cref="CurrentVersion"/>, tables without a version, or a version without NasSharp's tables.
    /// </summary>
    /// <returns>The schema version (0: an empty database).</returns>
    public static int Check(SqliteConnection connection, string path, SqliteTransaction? tx = null)
    {
        if (tx is null)
        {
            // One read transaction: the version and the tables must come from one snapshot, or a file another process is
            // creating (tables first, then the version, in one commit) could look like a foreign database.
            using var read = connection.BeginTransaction(deferred: true);
            return Check(connection, path, read);
        }
        int version = Convert.ToInt32(Scalar(connection, tx, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version > CurrentVersion)
            throw new StoreException(
                $"Results store '{path}' has schema version {version}, but this build of NasSharp reads up to " +
                $"version {CurrentVersion}. Use a newer NasSharp, or point NASSHARP_STORE at another file.");
        long tables = Convert.ToInt64(Scalar(connection, tx,
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"), CultureInfo.InvariantCulture);
        if (version == 0 && tables > 0)
            throw new StoreException(
                $"'{path}' is a SQLite database but not a NasSharp results store (it has tables and no NasSharp " +
                "schema version). It was left as it is; point NASSHARP_STORE (or --store) at another file.");
        // Columns every version of NasSharp's schema has: a foreign file with a version number is not taken for a store.
        long known = Convert.ToInt64(Scalar(connection, tx, """
            SELECT (SELECT count(*) FROM pragma_table_info('runs') WHERE name IN ('kind', 'command', 'config_json', 'status', 'key'))
                 + (SELECT count(*) FROM pragma_table_info('results') WHERE name IN ('run_id', 'item_key', 'created_utc'))
            """), CultureInfo.InvariantCulture);
        if (version > 0 && known != 8)
            throw new StoreException(
                $"'{path}' is a SQLite database with schema version {version} but without NasSharp's runs and results tables, so it " +
                "is not a NasSharp results store. It was left as it is; point NASSHARP_STORE (or --store) at another file.");
        return version;
    }

    /// <summary>Like <see cref="Check"/>, and refuses a store that would need an upgrade (which writes) to be read.</summary>
    public static void RequireCurrent(SqliteConnection connection, string path)
    {
        int version = Check(connection, path);
        if (version != CurrentVersion)
            throw new StoreException(
                $"Results store '{path}' is read-only and {(version == 0 ? "empty" : $"has schema version {version}")}; reading it needs " +
                $"version {CurrentVersion}, which takes a write. Open it once where it can be written, or give another --store.");
    }

    /// <summary>Brings the schema of <paramref name="connection"/> to <see cref="CurrentVersion"/>.</summary>
    public static void Migrate(SqliteConnection connection, string path)
    {
        // IMMEDIATE: two processes opening a fresh file must not both create the tables.
        using var tx = connection.BeginTransaction(deferred: false);
        int version = Check(connection, path, tx);
        if (version == CurrentVersion) return;
        Execute(connection, tx, version == 1 ? FromVersion1 : Runs + Results);
        Execute(connection, tx, $"PRAGMA user_version = {CurrentVersion}");
        tx.Commit();
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction? tx, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction tx, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
