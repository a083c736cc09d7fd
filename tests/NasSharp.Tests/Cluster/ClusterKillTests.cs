using System.Diagnostics;
using System.Text.Json;
using NasSharp.Cluster;
using NasSharp.Store;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Cluster;

/// <summary>
/// Real processes on loopback: silos started as <c>nas cluster silo</c>, one killed with SIGKILL mid-run, and a coordinator
/// killed and rerun. The reference is the same command run in one process without <c>--cluster</c>.
/// </summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Reliability")]
public class ClusterKillTests
{
    private const int Items = 8;

    private static string[] Correlate(params string[] extra) =>
    [
        "bench", "correlate", "--space", "nb201", "--dataset", "cifar10", "--train-size", "2000", "--n", $"{Items}", "--batch", "8",
        "--targets", "cifar10", "--proxies", "params,grad_norm,naswot,synflow", "--seed", "4", "--threads", "1", .. extra,
    ];

    [Fact]
    public async Task ASiloKilledMidRunLosesNothingAndStoresNothingTwice()
    {
        using var cli = new CliHarness();
        using var silos = new LocalSilos(LocalSilos.CurrentNas(), count: 2, threads: 1);
        var cluster = ClusterArgs(silos);
        var coordinator = Task.Run(() => cli.Run([.. Correlate(cluster), "--json"]));
        WaitForResults(cli.StorePath, atLeast: 2, coordinator);
        silos.Kill(1);  // the second silo, not the primary that holds the membership
        var (code, output, err) = await coordinator;
        Assert.True(code == 0, err);

        AssertStoredOnceAndEqualToOneProcess(cli.StorePath, output);
    }

    [Fact]
    public void ACoordinatorKilledMidRunResumesWithEveryItemStoredOnce()
    {
        using var cli = new CliHarness();
        using var silos = new LocalSilos(LocalSilos.CurrentNas(), count: 2, threads: 1);
        var args = Correlate(ClusterArgs(silos));
        using (var child = cli.StartProcess(args))
        {
            WaitForResults(cli.StorePath, atLeast: 2, child);
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        Assert.InRange(StoredKeys(cli.StorePath).Count, 2, Items - 1);
        var (code, output, err) = cli.Run([.. args, "--json"]);
        Assert.True(code == 0, err);
        Assert.Contains("resuming run", err);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("resumed").GetBoolean());

        AssertStoredOnceAndEqualToOneProcess(cli.StorePath, output);
    }

    /// <summary>Either silo: the first usually holds what the coordinator read the membership through and routed calls via (its
    /// gateway); killing it once hung the coordinator on an answer lost with it.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task WithTheMembershipInRedisASiloKilledMidRunLosesNothing(int killed)
    {
        using var cli = new CliHarness();
        using var redis = new RedisServer();
        using var silos = new LocalSilos(LocalSilos.CurrentNas(), count: 2, threads: 1, redis: redis.Connection);
        var coordinator = Task.Run(() => cli.Run([.. Correlate(["--cluster", $"redis:{redis.Connection}", "--cluster-id", silos.ClusterId]), "--json"]));
        WaitForResults(cli.StorePath, atLeast: 2, coordinator);
        silos.Kill(killed);
        var (code, output, err) = await coordinator;
        Assert.True(code == 0, err);

        AssertStoredOnceAndEqualToOneProcess(cli.StorePath, output);
    }

    private static void AssertStoredOnceAndEqualToOneProcess(string storePath, string clusterOutput)
    {
        var keys = StoredKeys(storePath);
        Assert.Equal(Enumerable.Range(0, Items).Select(i => $"arch/{i}/cifar10").Order(), keys.Order());

        // The reference is what a user runs: the same command as a process of its own (a process's history can change its
        // numbers in the last digits: libtorch's oneDNN convolutions stay off once a network needed them off).
        using var single = new CliHarness();
        var (code, output, err) = single.RunProcess([.. Correlate(), "--json"]);
        Assert.True(code == 0, err);
        Assert.Equal(Agreements(output), Agreements(clusterOutput));
        Assert.Equal(Scores(single.StorePath), Scores(storePath));
    }

    private static string[] ClusterArgs(LocalSilos silos) =>
        ["--cluster", string.Join(",", silos.Address.Gateways.Select(g => g.ToString())), "--cluster-id", silos.ClusterId];

    private static void WaitForResults(string storePath, int atLeast, object running)
    {
        var deadline = Stopwatch.StartNew();
        while (StoredKeys(storePath).Count < atLeast)
        {
            if (running is Task<(int Code, string Out, string Err)> { IsCompleted: true } done)
                Assert.Fail($"the run ended before it could be interrupted: exit {done.Result.Code}, {done.Result.Err}");
            Assert.False(running is Process { HasExited: true }, "the run ended before it could be interrupted");
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(10), "no results were stored in 10 minutes");
            Thread.Sleep(100);
        }
    }

    private static List<string> StoredKeys(string storePath)
    {
        if (!File.Exists(storePath)) return [];
        try
        {
            using var store = ResultsStore.Open(storePath);
            var runs = store.ListRuns(kind: "correlate");
            return runs.Count == 0 ? [] : [.. store.GetResults(Assert.Single(runs).Id).Select(r => r.Record.ItemKey)];
        }
        catch (StoreException) { return []; }
    }

    private static string Agreements(string json)
    {
        var proxies = JsonDocument.Parse(json).RootElement.GetProperty("proxies");
        return string.Join("\n", proxies.EnumerateObject().Select(p => $"{p.Name}: {p.Value.GetProperty("targets").GetRawText()}"));
    }

    private static string Scores(string storePath)
    {
        using var store = ResultsStore.Open(storePath);
        var run = Assert.Single(store.ListRuns(kind: "correlate"));
        return string.Join("\n", store.GetResults(run.Id).Select(r => r.Record).OrderBy(r => r.ItemKey)
            .Select(r => $"{r.ItemKey} {JsonDocument.Parse(r.ValueJson).RootElement.GetProperty("scores").GetRawText()}"));
    }

    /// <summary>A throw-away redis-server (the Debian package) on a free loopback port, without persistence.</summary>
    private sealed class RedisServer : IDisposable
    {
        private readonly Process process;

        public RedisServer()
        {
            int port = LocalSilos.FreePort();
            var start = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) start.ArgumentList.Add(a);
            try { process = Process.Start(start)!; }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("redis-server is not installed (Debian: apt-get install redis-server); the cluster membership tests need it.", e);
            }
            var ready = new TaskCompletionSource();
            process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("Ready to accept connections", StringComparison.Ordinal) == true) ready.TrySetResult(); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            Assert.True(ready.Task.Wait(TimeSpan.FromSeconds(30)), "redis-server did not start");
            Connection = $"127.0.0.1:{port}";
        }

        public string Connection { get; }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill();
            process.Dispose();
        }
    }
}
