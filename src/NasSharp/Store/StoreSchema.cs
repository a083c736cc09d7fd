using System.Globalization;
using Microsoft.Data.Sqlite;

namespace NasSharp.Store;

/// <summary>
/// The schema, versioned by <c>PRAGMA user_version</c>. A new version adds a step to <see cref="Migrate"/>;
/// files written by a newer build are refused rather than guessed at.
/// </summary>
internal static class StoreSchema
{
    public const int CurrentVersion = 1;

    // STRICT tables (SQLite >= 3.37) reject a value of the wrong type instead of storing it silently.
    // Key uniqueness is enforced only among unfinished runs: there is at most one run to resume per key,
    // while completed runs with the same key remain as history of reruns.
    private const string Version1 = """
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
        CREATE TABLE results (
            id           INTEGER PRIMARY KEY,
            run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            item_key     TEXT NOT NULL,
            arch         TEXT,
            space        TEXT,
            scores_json  TEXT NOT NULL,
            metrics_json TEXT NOT NULL,
            notes_json   TEXT NOT NULL,
            created_utc  TEXT NOT NULL,
            UNIQUE (run_id, item_key)
        ) STRICT;
        """;

    /// <summary>Brings the schema of <paramref name="connection"/> to <see cref="CurrentVersion"/>.</summary>
    public static void Migrate(SqliteConnection connection, string path)
    {
        // IMMEDIATE: two processes opening a fresh file must not both create the tables.
        using var tx = connection.BeginTransaction(deferred: false);
        int version = Convert.ToInt32(Scalar(connection, tx, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version > CurrentVersion)
            throw new StoreException(
                $"Results store '{path}' has schema version {version}, but this build of NasSharp reads up to " +
                $"version {CurrentVersion}. Use a newer NasSharp, or point NASSHARP_STORE at another file.");
        if (version == CurrentVersion) return;

        long foreignTables = Convert.ToInt64(Scalar(connection, tx,
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"), CultureInfo.InvariantCulture);
        if (foreignTables > 0)
            throw new StoreException(
                $"'{path}' is a SQLite database but not a NasSharp results store (it has tables and no NasSharp " +
                "schema version). Point NASSHARP_STORE at another file.");

        Execute(connection, tx, Version1);
        Execute(connection, tx, $"PRAGMA user_version = {CurrentVersion}");
        tx.Commit();
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction tx, string sql)
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
