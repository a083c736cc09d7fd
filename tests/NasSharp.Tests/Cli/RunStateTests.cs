using System.Diagnostics;
using System.Text.Json;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>
/// What <c>nas runs</c> says about a run is true: a killed run is stale, not running; a usage mistake is no run; a run
/// resumes only with the build and the thread count it started with.
/// </summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Reliability")]
public class RunStateTests
{
    /// <summary>A NASI search on a tiny supernet and Gaussian data (nothing to load) with more steps than it will ever take.</summary>
    private static readonly string[] EndlessSearch =
    [
        "search", "--space", "nb201", "--strategy", "nasi", "--labels", "random", "--data", "gaussian", "--steps", "1000000", "--batch", "4",
        "--channels", "4", "--cells", "1", "--seed", "5", "--threads", "1",
    ];

    [Theory]
    [InlineData("KILL")]
    [InlineData("TERM")]
    public void AKilledRunIsShownStaleNotRunning(string signal)
    {
        using var cli = new CliHarness();
        long id;
        using (var child = cli.StartProcess(EndlessSearch))
        {
            // Wait until the child has stored a step: the run exists and the child holds its lock.
            var clock = Stopwatch.StartNew();
            JsonElement run;
            while (true)
            {
                Assert.False(child.HasExited, "the search ended before it could be killed");
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(5), "no step was stored in 5 minutes");
                if (File.Exists(cli.StorePath) && cli.Json("runs", "list").GetProperty("runs") is { ValueKind: JsonValueKind.Array } runs
                    && runs.GetArrayLength() == 1 && (run = runs[0]).GetProperty("results").GetInt32() > 0)
                    break;
                Thread.Sleep(100);
            }
            id = run.GetProperty("run_id").GetInt64();
            Assert.Equal("running", run.GetProperty("status").GetString()); // alive: its lock is held
            // SIGKILL: no chance to close the run; SIGTERM: .NET runs its exit handlers and ends, the run's command unfinished.
            using (var kill = Process.Start("kill", [$"-{signal}", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                kill.WaitForExit();
            Assert.True(child.WaitForExit(TimeSpan.FromMinutes(1)), $"SIG{signal} did not end the process");
        }

        var listed = cli.Json("runs", "list").GetProperty("runs")[0];
        Assert.Equal(id, listed.GetProperty("run_id").GetInt64());
        Assert.Equal("stale", listed.GetProperty("status").GetString());
        Assert.Contains("rerun the same command to resume", listed.GetProperty("note").GetString());
        Assert.Equal("stale", cli.Json("runs", "show", id.ToString()).GetProperty("run").GetProperty("status").GetString());
        var (code, table, _) = cli.Run("runs", "list");
        Assert.Equal(0, code);
        Assert.Contains("stale", table);
        // The store itself still says running: stale is what the free lock tells, not something written.
        Assert.Equal("running", RawStatus(cli.StorePath, id));
    }

    private static string RawStatus(string store, long id)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT status FROM runs WHERE id = {id}";
        return (string)cmd.ExecuteScalar()!;
    }

    [Theory]
    [InlineData("--space", "nb201", "--strategy", "mkl", "--dataset", "iris", "the nb201 space has none")]
    [InlineData("--space", "nb201", "--strategy", "nasi", "--dataset", "iris", "iris is not an image dataset")]
    [InlineData("--space", "nb201", "--strategy", "eigen", "--score", "analytic", "which the nb201 space does not have")]
    public void AUsageMistakeIsOneLineAndNoRun(params string[] args)
    {
        using var cli = new CliHarness();
        var (code, stdout, stderr) = cli.Run(["search", .. args[..^1], "--threads", "1"]);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains(args[^1], stderr);
        using var store = ResultsStore.Open(cli.StorePath);
        Assert.Empty(store.ListRuns());
    }

    /// <summary>An experiment whose run throws <paramref name="error"/>: a usage mistake that only running reveals, or a failure.</summary>
    private sealed class Throwing(Exception error) : IExperiment<string>
    {
        public ExperimentKind Kind => ExperimentKind.Search;
        public object Config => new { Error = error.GetType().Name };
        public long Seed => 1;
        public string Run(ExperimentContext context) => throw error;
    }

    [Fact]
    public void AUsageMistakeFoundWhileRunningDiscardsTheRunAndAFailureNotesItsCause()
    {
        using var cli = new CliHarness();
        Assert.Throws<SettingException>(() =>
            ExperimentRun.Execute(new Throwing(new SettingException("--x 1: no.")), cli.StorePath, "nas x", new ExperimentContext()));
        using (var store = ResultsStore.Open(cli.StorePath))
            Assert.Empty(store.ListRuns());

        Assert.Throws<InvalidOperationException>(() =>
            ExperimentRun.Execute(new Throwing(new InvalidOperationException("the disk is on fire\nat frame 0")), cli.StorePath, "nas x", new ExperimentContext()));
        using (var store = ResultsStore.Open(cli.StorePath))
        {
            var failed = Assert.Single(store.ListRuns());
            Assert.Equal(RunStatus.Failed, failed.Status);
            Assert.Equal("the disk is on fire (fix that, then rerun the same command to resume)", failed.Note);
        }
    }

    [Fact]
    public void ARunResumesOnlyWithTheThreadCountItStartedWith()
    {
        using var cli = new CliHarness();
        int before = TorchSharp.torch.get_num_threads();
        int other = before == 1 ? 2 : 1;
        ExperimentRun Start() => ExperimentRun.Start(cli.StorePath, ExperimentKind.Search, new { a = 1 }, 1, "nas test");
        try
        {
            long id;
            using (var run = Start()) id = run.RunId; // ends unfinished
            TorchSharp.torch.set_num_threads(other);
            var e = Assert.Throws<StoreException>(Start);
            Assert.Contains($"Run {id}", e.Message);
            Assert.Contains($"was started with {before} libtorch thread", e.Message);
            Assert.Contains($"Rerun with --threads {before} to resume it", e.Message);
            TorchSharp.torch.set_num_threads(before);
            using var resumed = Start();
            Assert.True(resumed.Resumed);
            Assert.Equal(id, resumed.RunId);
        }
        finally
        {
            TorchSharp.torch.set_num_threads(before);
        }
    }

    [Fact]
    public void ARunResumesOnlyWithTheBuildThatStartedIt()
    {
        using var cli = new CliHarness();
        var versions = new Dictionary<string, string>(ExperimentRun.Versions()) { ["nassharp_build"] = "0.0.9+0123abc" };
        long id = StoreUnfinishedRun(cli, new { a = 1 }, versions);
        var e = Assert.Throws<StoreException>(() => ExperimentRun.Start(cli.StorePath, ExperimentKind.Search, new { a = 1 }, 1, "nas test"));
        Assert.Equal($"Run {id} in '{cli.StorePath}' was started by NasSharp 0.0.9+0123abc and this is {ExperimentRun.Build}; a run does not " +
            "mix results of two builds. Finish it with the build that started it, or use another --store to start afresh.", e.Message);

        // The same build resumes it.
        AssertResumes(cli, new { a = 2 }, ExperimentRun.Versions());
    }

    /// <summary>Stores an unfinished search run of <paramref name="config"/> (seed 1) as if started under <paramref name="versions"/>.</summary>
    private static long StoreUnfinishedRun(CliHarness cli, object config, IReadOnlyDictionary<string, string> versions)
    {
        string kind = ExperimentRun.KindName(ExperimentKind.Search);
        using var store = ResultsStore.Open(cli.StorePath);
        return store.GetOrStartRun(new RunSpec(kind, "nas test", config, 1, versions, RunSpec.DeriveKey(kind, config, 1))).Id;
    }

    /// <summary>A run of <paramref name="config"/> stored under <paramref name="versions"/> is resumed by this process.</summary>
    private static void AssertResumes(CliHarness cli, object config, IReadOnlyDictionary<string, string> versions)
    {
        long id = StoreUnfinishedRun(cli, config, versions);
        using var resumed = ExperimentRun.Start(cli.StorePath, ExperimentKind.Search, config, 1, "nas test");
        Assert.True(resumed.Resumed);
        Assert.Equal(id, resumed.RunId);
    }

    [Fact]
    public void ARunResumesOnlyOnTheCpuKernelsItStartedOn()
    {
        using var cli = new CliHarness();
        Assert.Equal(CpuKernels.Describe(), ExperimentRun.Versions()["cpu_kernels"]);
        var versions = new Dictionary<string, string>(ExperimentRun.Versions()) { ["cpu_kernels"] = "x64 sse9" };
        long id = StoreUnfinishedRun(cli, new { a = 1 }, versions);
        var e = Assert.Throws<StoreException>(() => ExperimentRun.Start(cli.StorePath, ExperimentKind.Search, new { a = 1 }, 1, "nas test"));
        Assert.Equal($"Run {id} in '{cli.StorePath}' was started on x64 sse9 CPU kernels and this process runs {CpuKernels.Describe()}; " +
            "they round differently, so their results are not mixed in one run. Resume it on a machine of the first kind " +
            "(with the same instruction-set variables), or use another --store.", e.Message);

        // A run stored before runs recorded their kernels resumes.
        versions.Remove("cpu_kernels");
        AssertResumes(cli, new { a = 2 }, versions);
    }

    [Fact]
    public void TheCpuKernelsNameTheInstructionSetVariablesThatCapThem()
    {
        string bare = CpuKernels.Describe(_ => null);
        Assert.DoesNotContain("(", bare);
        Assert.Equal($"{bare} (DNNL_MAX_CPU_ISA=AVX2)", CpuKernels.Describe(v => v == "DNNL_MAX_CPU_ISA" ? "AVX2" : null));
        Assert.Equal($"{bare} (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2)",
            CpuKernels.Describe(v => v switch { "ATEN_CPU_CAPABILITY" => "avx2", "ONEDNN_MAX_CPU_ISA" => "AVX2", _ => null }));
        Assert.Equal(bare, CpuKernels.Describe(v => v == "ATEN_CPU_CAPABILITY" ? "" : null));
    }
}
