using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>
/// The resume promise, per resumable command: a run killed at any point, then resumed by the same command, gives exactly
/// the output (and stores exactly the records) of a run that was never interrupted, but for run ids and timings.
/// </summary>
/// <remarks>
/// A SIGKILL leaves the store as its last commit left it: the run marked running, the items recorded so far, nothing else
/// (every record is committed as it is written; SQLite makes each commit atomic). So a kill after the k-th record is made
/// exactly by copying a finished run's store and cutting the run back to its first k records, for every command kind at
/// a seeded random k; one test kills a real child process to show that state is what a kill leaves.
/// </remarks>
[Collection(TorchCollection.Name)]
[Trait("Category", "Reliability")]
public class ResumeIdentityTests
{
    private static readonly string[] TinyNasi = ["--steps", "6", "--batch", "4", "--channels", "4", "--cells", "1"];

    /// <summary>Every resumable command kind, with settings small enough for seconds.</summary>
    public static TheoryData<string, string[]> Commands => new()
    {
        { "search-eigen", ["search", "--space", "mlp", "--strategy", "eigen", "--dataset", "digits", "--depth", "2", "--width", "16",
            "--candidates", "4", "--top-k", "2", "--ntk-batch", "12", "--epochs", "1", "--seed", "1"] },
        { "search-proxy", ["search", "--space", "mlp", "--strategy", "proxy", "--proxy", "synflow", "--dataset", "digits", "--depth", "2",
            "--width", "16", "--candidates", "5", "--top-k", "1", "--batch", "16", "--epochs", "1", "--seed", "2"] },
        { "search-random", ["search", "--space", "mlp", "--strategy", "random", "--dataset", "iris", "--depth", "1", "--width", "8",
            "--candidates", "4", "--epochs", "1", "--seed", "3"] },
        { "search-nasi", ["search", "--space", "nb201", "--strategy", "nasi", "--labels", "random", "--data", "gaussian", .. TinyNasi, "--seed", "4"] },
        { "correlate", ["bench", "correlate", "--space", "nb201", "--dataset", "cifar10", "--n", "4", "--batch", "8",
            "--proxies", "params,naswot,synflow", "--targets", "cifar10", "--seed", "5"] },
        { "truth", ["bench", "truth", "--space", "mlp", "--depth", "2", "--width", "16", "--dataset", "digits", "--n", "4", "--epochs", "1", "--seed", "6"] },
        { "bench-search", ["bench", "search", "--seeds", "2", "--methods", "nasi-fix,naswot", "--candidates", "2", "--train-size", "200", .. TinyNasi] },
        { "bench-train", ["bench", "train", "--space", "mlp", "--strategy", "random", "--candidates", "2", "--width", "8", "--depth", "1",
            "--dataset", "iris", "--random", "2", "--epochs", "1", "--seed", "7"] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void ARunKilledAtARandomPointResumesToTheOutputOfAnUninterruptedOne(string name, string[] command)
    {
        string[] args = [.. command, "--threads", "1"];
        using var uninterrupted = new CliHarness();
        var expected = uninterrupted.Json(args);
        long id = expected.GetProperty("run_id").GetInt64();
        var records = Records(uninterrupted.StorePath, id);
        Assert.True(records.Count >= 2, $"{name} stores {records.Count} records: too few to be cut");

        int k = Seeds.Rng(17, "kill", name).Next(0, records.Count + 1);
        using var killed = new CliHarness();
        KillAfter(uninterrupted.StorePath, id, k, killed.StorePath);
        var resumed = killed.Json(args);

        Assert.True(resumed.GetProperty("resumed").GetBoolean()); // the killed run, not a new one
        Assert.Equal(WithoutRunAndTimes(expected), WithoutRunAndTimes(resumed));
        Assert.Equal(records, Records(killed.StorePath, resumed.GetProperty("run_id").GetInt64()));
    }

    [Fact]
    public void ANasiSearchWhoseProcessIsKilledResumesToTheOutputOfAnUninterruptedOne()
    {
        string[] args = ["search", "--space", "nb201", "--strategy", "nasi", "--labels", "random", "--data", "gaussian", "--steps", "12",
            "--batch", "4", "--channels", "4", "--cells", "1", "--seed", "8", "--threads", "1"];
        using var uninterrupted = new CliHarness();
        var expected = uninterrupted.Json(args);

        using var cli = new CliHarness();
        int k = Seeds.Rng(17, "sigkill").Next(1, 9);
        using (var child = cli.StartProcess(args))
        {
            var clock = Stopwatch.StartNew();
            while (StoredSteps(cli.StorePath) < k)
            {
                Assert.False(child.HasExited, "the search ended before it could be killed");
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), $"{k} steps were not stored in 5 minutes");
                Thread.Sleep(20);
            }
            child.Kill(entireProcessTree: true); // SIGKILL: no chance to close the run
            child.WaitForExit();
        }
        int stored = StoredSteps(cli.StorePath);
        Assert.InRange(stored, k, 11); // killed before the end: the resume has steps to compute

        var resumed = cli.Json(args);
        Assert.True(resumed.GetProperty("resumed").GetBoolean());
        Assert.Equal(WithoutRunAndTimes(expected), WithoutRunAndTimes(resumed));
        Assert.Equal(Records(uninterrupted.StorePath, expected.GetProperty("run_id").GetInt64()),
            Records(cli.StorePath, resumed.GetProperty("run_id").GetInt64()));
    }

    /// <summary>
    /// Writes to <paramref name="target"/> the store a SIGKILL of run <paramref name="runId"/> would have left right after its
    /// <paramref name="k"/>-th record: a copy of <paramref name="source"/> with the run running and only those records.
    /// </summary>
    private static void KillAfter(string source, long runId, int k, string target)
    {
        using (var from = new SqliteConnection($"Data Source={source};Mode=ReadOnly;Pooling=False"))
        using (var to = new SqliteConnection($"Data Source={target};Pooling=False"))
        {
            from.Open();
            to.Open();
            from.BackupDatabase(to);
            using var cut = to.CreateCommand();
            cut.CommandText = """
                DELETE FROM results WHERE run_id = $id AND id NOT IN (SELECT id FROM results WHERE run_id = $id ORDER BY id LIMIT $k);
                UPDATE runs SET status = 'running', ended_utc = NULL, summary_json = NULL, error = NULL WHERE id = $id;
                """;
            cut.Parameters.AddWithValue("$id", runId);
            cut.Parameters.AddWithValue("$k", k);
            Assert.Equal(1 + Records(source, runId).Count - k, cut.ExecuteNonQuery());
        }
        RunLock.TryAcquire(target, runId)!.Dispose(); // the lock the killed process held, left free
        using var store = ResultsStore.Open(target);
        Assert.Equal(k, store.GetResults(runId).Count);
        Assert.Equal(RunStatus.Stale, store.GetRun(runId)!.Status); // as runs list shows a killed run
    }

    /// <summary>A run's records in the order they were stored, each as its key and value without timings.</summary>
    private static List<string> Records(string store, long runId)
    {
        using var s = ResultsStore.Open(store);
        return [.. s.GetResults(runId).Select(r => $"{r.Record.ItemKey} {r.Record.Arch} {WithoutRunAndTimes(JsonNode.Parse(r.Record.ValueJson))}")];
    }

    private static int StoredSteps(string store)
    {
        if (!File.Exists(store)) return 0;
        try
        {
            using var s = ResultsStore.Open(store);
            return s.ListRuns().Sum(r => r.ResultCount);
        }
        catch (StoreException)
        {
            return 0; // the child is still creating the schema
        }
    }

    /// <summary>The JSON without what differs between identical runs: the run id, whether it resumed, and every timing.</summary>
    private static string WithoutRunAndTimes(JsonElement e) => WithoutRunAndTimes(JsonNode.Parse(e.GetRawText()));

    private static string WithoutRunAndTimes(JsonNode? node)
    {
        Strip(node);
        return node?.ToJsonString() ?? "null";

        static void Strip(JsonNode? n)
        {
            if (n is JsonObject o)
            {
                foreach (var key in o.Select(p => p.Key).Where(key => key is "run_id" or "resumed" || key.Contains("seconds", StringComparison.Ordinal)).ToList())
                    o.Remove(key);
                foreach (var (_, child) in o) Strip(child);
            }
            else if (n is JsonArray a)
                foreach (var child in a) Strip(child);
        }
    }
}
