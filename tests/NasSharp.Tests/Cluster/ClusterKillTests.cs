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
        WaitForResults(cli.StorePath, atLeast: 2, coordinator, silos);
        silos.Kill(1);  // the second silo, not the primary that holds the membership
        var states = silos.Describe();
        Assert.Contains("silo 0 (running)", states);
        Assert.Contains("silo 1 (exited with code", states);
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
            WaitForResults(cli.StorePath, atLeast: 2, child, silos);
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
        using var redis = new RedisServer();
        using var silos = new LocalSilos(LocalSilos.CurrentNas(), count: 2, threads: 1, redis: redis.Connection);
        await KillOneMidRun(silos, $"redis:{redis.Connection}", killed);
    }

    /// <summary>Orleans' ADO.NET membership table in a throw-away PostgreSQL cluster, made with the SQL <c>nas cluster sql</c>
    /// prints; the first silo killed.</summary>
    [Fact]
    public async Task WithTheMembershipInPostgresASiloKilledMidRunLosesNothing()
    {
        using var postgres = new PostgresServer();
        using var silos = new LocalSilos(LocalSilos.CurrentNas(), count: 2, threads: 1, adoNet: postgres.Connection);
        await KillOneMidRun(silos, $"adonet:{postgres.Connection}", killed: 0);
    }

    private static async Task KillOneMidRun(LocalSilos silos, string cluster, int killed)
    {
        using var cli = new CliHarness();
        var coordinator = Task.Run(() => cli.Run([.. Correlate(["--cluster", cluster, "--cluster-id", silos.ClusterId]), "--json"]));
        WaitForResults(cli.StorePath, atLeast: 2, coordinator, silos);
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

    /// <summary>Waits until the run has stored <paramref name="atLeast"/> results; a stall fails with the silos' states and error output.</summary>
    private static void WaitForResults(string storePath, int atLeast, object running, LocalSilos silos)
    {
        var deadline = Stopwatch.StartNew();
        while (StoredKeys(storePath).Count < atLeast)
        {
            if (running is Task<(int Code, string Out, string Err)> { IsCompleted: true } done)
                Assert.Fail($"the run ended before it could be interrupted: exit {done.Result.Code}, {done.Result.Err}");
            Assert.False(running is Process { HasExited: true }, "the run ended before it could be interrupted");
            if (deadline.Elapsed >= TimeSpan.FromMinutes(10))
                Assert.Fail($"{StoredKeys(storePath).Count} of {atLeast} results were stored in 10 minutes.\n{silos.Describe()}");
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

    /// <summary>
    /// A throw-away PostgreSQL cluster (the Debian package's initdb and pg_ctl) in a temporary directory, on a free loopback
    /// port, trusting local connections, with Orleans' membership table created by the SQL of <c>nas cluster sql</c>.
    /// PostgreSQL refuses to run as root, so under root it runs as the package's <c>postgres</c> user.
    /// </summary>
    private sealed class PostgresServer : IDisposable
    {
        private readonly string directory = Directory.CreateTempSubdirectory("nassharp-pg-").FullName;
        private readonly string bin;
        private readonly bool asPostgres = Environment.UserName == "root";

        public PostgresServer()
        {
            bin = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb"))).Order().LastOrDefault() ?? "" : "";
            if (bin == "")
                throw new InvalidOperationException("PostgreSQL is not installed (Debian: apt-get install postgresql); the PostgreSQL membership test needs it.");
            int port = LocalSilos.FreePort();
            if (asPostgres) Run("chown", "postgres", directory);
            Run(Tool("initdb"), "-D", Data, "--auth=trust", "-U", "postgres");
            Run(Tool("pg_ctl"), "-D", Data, "-l", Path.Combine(directory, "log"), "-w", "start",
                "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off");
            Connection = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";
            Run(Path.Combine(bin, "psql"), [$"--host=127.0.0.1", $"--port={port}", "--username=postgres", "--dbname=postgres", "--quiet", "-v", "ON_ERROR_STOP=1"],
                NasSharp.Cluster.ClusterHosting.PostgresMembershipSql());
        }

        public string Connection { get; }
        private string Data => Path.Combine(directory, "data");
        private string Tool(string name) => Path.Combine(bin, name);

        private void Run(string tool, params string[] args) => Run(tool, args, null);

        private void Run(string tool, string[] args, string? input)
        {
            var start = new ProcessStartInfo(asPostgres && tool != "chown" ? "runuser" : tool)
            { RedirectStandardInput = input is not null, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (asPostgres && tool != "chown") foreach (var a in new[] { "-u", "postgres", "--", tool }) start.ArgumentList.Add(a);
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (input is not null)
            {
                process.StandardInput.Write(input);
                process.StandardInput.Close();
            }
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), $"{tool} did not finish in 2 minutes");
            Assert.True(process.ExitCode == 0, $"{tool} exited with {process.ExitCode}: {error.Result}{output.Result}");
        }

        public void Dispose()
        {
            try { Run(Tool("pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop"); }
            finally { Directory.Delete(directory, recursive: true); }
        }
    }
}
