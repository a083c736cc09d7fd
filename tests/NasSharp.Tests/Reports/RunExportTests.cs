using NasSharp.Experiments;
using NasSharp.Reports;
using NasSharp.Search;
using NasSharp.Search.Nasi;
using NasSharp.Store;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Reports;

/// <summary>
/// The CSV export of runs stored by hand with planted values, compared with the file written out by hand: one row per
/// item, the header row, CRLF line ends and RFC 4180 quoting (a comma, a quote, a line break), round-trip numbers, empty
/// fields for non-finite values.
/// </summary>
[Collection(TorchCollection.Name)] // the command test runs nas in process
public class RunExportTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "nassharp-export-" + Guid.NewGuid().ToString("N"));
    private readonly ResultsStore store;

    public RunExportTests()
    {
        Directory.CreateDirectory(dir);
        store = ResultsStore.Open(Path.Combine(dir, "r.db"));
    }

    public void Dispose()
    {
        store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(dir, recursive: true);
    }

    private string Csv(long runId)
    {
        var writer = new StringWriter();
        RunExport.WriteCsv(RunExport.Of(store.GetRun(runId)!, store.GetResults(runId)), writer);
        return writer.ToString();
    }

    [Fact]
    public void ACorrelationRunHasOneRowPerArchitectureAndTarget()
    {
        var run = store.StartRun(new RunSpec("correlate", "nas bench correlate (test)", new { }, 1));
        var journal = new StoreJournal(store, run.Id);
        var none = new Dictionary<string, double>();
        var fine = new Dictionary<string, string>();
        journal.Record("arch/0/cifar10", new ProxyEvaluationRecord(0, "a,0", "cifar10", 91.5,
            new Dictionary<string, double> { ["params"] = 100, ["synflow"] = double.NaN },
            new Dictionary<string, string> { ["synflow"] = "overflow\nin cell 2" }, none, none, 0.25));
        journal.Record("arch/1/cifar10", new ProxyEvaluationRecord(1, "say \"hi\"", "cifar10", 88,
            new Dictionary<string, double> { ["params"] = 50, ["synflow"] = 1e30 }, fine, none, none, 1.5));
        journal.Record("arch/1/cifar100", new ProxyEvaluationRecord(1, "say \"hi\"", "cifar100", 60.125,
            new Dictionary<string, double> { ["params"] = 55.5, ["synflow"] = -0.1 + 0.3 }, fine, none, none, 2));
        store.CompleteRun(run.Id);
        Assert.Equal(
            "index,arch,target,test_accuracy_percent,score_params,score_synflow,non_finite,seconds\r\n" +
            "0,\"a,0\",cifar10,91.5,100,,\"synflow: overflow\nin cell 2\",0.25\r\n" +
            "1,\"say \"\"hi\"\"\",cifar10,88,50,1E+30,,1.5\r\n" +
            "1,\"say \"\"hi\"\"\",cifar100,60.125,55.5,0.19999999999999998,,2\r\n",
            Csv(run.Id));
    }

    [Fact]
    public void ARelaxedSearchHasOneRowPerStepAndASamplingSearchOnePerCandidateBestFirst()
    {
        var nasi = store.StartRun(new RunSpec("search", "nas search --strategy nasi (test)", new { }, 1));
        var journal = new StoreJournal(store, nasi.Id);
        journal.Record("step/1", new NasiStepRecord(new NasiStep(1, 2.5, 2.25, 100, 0.125), [0.5]));
        journal.Record("step/2", new NasiStepRecord(new NasiStep(2, 3.75, double.NaN, 100, 0.0625), [0.5]));
        Assert.Equal("step,trace_norm,objective,nu,gradient_norm\r\n1,2.5,2.25,100,0.125\r\n2,3.75,,100,0.0625\r\n", Csv(nasi.Id));

        // In progress: the candidates scored so far, ranked by score, a non-finite one last.
        var eigen = store.StartRun(new RunSpec("search", "nas search --strategy eigen (test)", new { }, 2));
        journal = new StoreJournal(store, eigen.Id);
        journal.Record("score/0", new ScoredCandidate(0, "w8/relu", 0.5, null, new Dictionary<string, double> { ["lambda_min"] = 0.5 }, 0.01));
        journal.Record("score/1", new ScoredCandidate(1, "w8/tanh", double.NaN, "singular kernel", new Dictionary<string, double>(), 0.02));
        journal.Record("score/2", new ScoredCandidate(2, "w16/relu", 2, null, new Dictionary<string, double> { ["lambda_min"] = 2 }, 0.03));
        Assert.Equal(
            "rank,index,arch,score,non_finite_reason,val_accuracy_percent,test_accuracy_percent,seconds,measure_lambda_min\r\n" +
            "1,2,w16/relu,2,,,,0.03,2\r\n" +
            "2,0,w8/relu,0.5,,,,0.01,0.5\r\n" +
            "3,1,w8/tanh,,singular kernel,,,0.02,\r\n",
            Csv(eigen.Id));
    }

    [Fact]
    public void ASearchComparisonHasOneRowPerMethodAndSeed()
    {
        var run = store.StartRun(new RunSpec("bench_search", "nas bench search (test)", new { }, 1));
        var targets = new[] { "cifar10", "cifar100" };
        MethodRun Seed(string method, int seed, string arch, double a, double b) =>
            new(method, seed, arch, seed * 1.5, new Dictionary<string, double> { ["cifar10"] = a, ["cifar100"] = b }, null, []);
        MethodSummary Summary(string method, params MethodRun[] runs) => new(method, runs.Length,
            targets.ToDictionary(t => t, t => MeanStd.Of(runs.Select(r => r.TestAccuracyPercent[t]))), runs.Average(r => r.Seconds), runs);
        var output = new ComparisonOutput(run.Id, false, "nb201", targets,
            [Summary("nasi-fix", Seed("nasi-fix", 1, "|a~0|", 93.5, 70.25), Seed("nasi-fix", 2, "|b~0|", 92, 69)),
             // A relaxed method's other derivation: its rows carry the method's name with the rule.
             Summary("nasi-fix (argmax)", Seed("nasi-fix", 1, "|c~0|", 91, 68), Seed("nasi-fix", 2, "|b~0|", 92, 69))],
            targets.ToDictionary(t => t, _ => new MeanStd(87, 12)), new Dictionary<string, NasSharp.Spaces.PublishedFigure>());
        store.CompleteRun(run.Id, output);
        Assert.Equal(
            "method,seed,arch,test_accuracy_percent_cifar10,test_accuracy_percent_cifar100,seconds,detail\r\n" +
            "nasi-fix,1,|a~0|,93.5,70.25,1.5,\r\n" +
            "nasi-fix,2,|b~0|,92,69,3,\r\n" +
            "nasi-fix (argmax),1,|c~0|,91,68,1.5,\r\n" +
            "nasi-fix (argmax),2,|b~0|,92,69,3,\r\n",
            Csv(run.Id));
    }

    [Fact]
    public void AKindWithoutAnExportSaysWhichKindsHaveOne()
    {
        var run = store.StartRun(new RunSpec("train", "nas train (test)", new { }, 1));
        var e = Assert.Throws<SettingException>(() => RunExport.Of(store.GetRun(run.Id)!, []));
        Assert.Equal($"Run {run.Id} is a train run, which has no CSV export; the kinds exported are correlate, search, bench_search, truth.", e.Message);
    }

    [Fact]
    public void TheCommandPrintsTheCsvOrWritesItToAFileAndRefusesMistakes()
    {
        using var cli = new CliHarness();
        long id;
        using (var s = ResultsStore.Open(cli.StorePath))
        {
            var run = s.StartRun(new RunSpec("truth", "nas bench truth (test)", new { }, 1));
            var journal = new StoreJournal(s, run.Id);
            journal.Record("truth/0", new TruthEntry(0, "w8/relu", 90.5, 89.25, false, 3));
            journal.Record("truth/1", new TruthEntry(1, "w8/tanh", null, null, true, 4));
            id = run.Id;
        }
        const string expected = "index,arch,val_accuracy_percent,test_accuracy_percent,diverged,seconds\r\n0,w8/relu,90.5,89.25,false,3\r\n1,w8/tanh,,,true,4\r\n";
        var (code, text, _) = cli.Run("runs", "export", id.ToString());
        Assert.Equal(0, code);
        Assert.Equal(expected, text);
        var path = Path.Combine(cli.Directory, "truth.csv");
        var j = cli.Json("runs", "export", id.ToString(), "-o", path);
        Assert.Equal(2, j.GetProperty("rows").GetInt32());
        Assert.Equal("architecture", j.GetProperty("row").GetString());
        Assert.Equal(expected, File.ReadAllText(path));
        Assert.False(File.Exists(path + ".partial"));
        Assert.Equal("error: --json describes the file written: give --out FILE, or leave out --json to print the CSV.",
            cli.UsageError("runs", "export", id.ToString(), "--json"));
        Assert.Equal("error: --format xlsx: the formats are csv.", cli.UsageError("runs", "export", id.ToString(), "--format", "xlsx"));
        Assert.StartsWith("error: --format pdf: the formats are md, html", cli.UsageError("report", id.ToString(), "--format", "pdf"));
    }
}
