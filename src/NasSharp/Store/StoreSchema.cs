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

        if (version == 1)
            Execute(connection, tx, FromVersion1);
        else
        {
            long foreignTables = Convert.ToInt64(Scalar(connection, tx,
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"), CultureInfo.InvariantCulture);
            if (foreignTables > 0)
                throw new StoreException(
                    $"'{path}' is a SQLite database but not a NasSharp results store (it has tables and no NasSharp " +
                    "schema version). Point NASSHARP_STORE at another file.");
            Execute(connection, tx, Runs + Results);
        }
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
