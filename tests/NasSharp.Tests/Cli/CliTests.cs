using System.IO.Compression;
using NasSharp.Cli;
using NasSharp.Experiments;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class CliTests
{
    [Fact]
    public void DoctorReportsVersionsThreadsAndTheDataDirectory()
    {
        using var cli = new CliHarness();
        var j = cli.Json("doctor");
        Assert.Equal("0.107.0", j.GetProperty("torch_sharp").GetString());
        Assert.StartsWith("2.10.", j.GetProperty("libtorch").GetString());
        Assert.True(j.GetProperty("torch_threads").GetInt32() >= 1);
        Assert.Equal(10.0, j.GetProperty("torch_check").GetDouble());
        Assert.True(Directory.Exists(j.GetProperty("data_directory").GetString()));
    }

    [Fact]
    public void ThreadsHoldsForOneCommandAndIsChecked()
    {
        using var cli = new CliHarness();
        int before = TorchSharp.torch.get_num_threads();
        int wanted = before == 1 ? 2 : 1;
        Assert.Equal(wanted, cli.Json("doctor", "--threads", wanted.ToString()).GetProperty("torch_threads").GetInt32());
        Assert.Equal(before, TorchSharp.torch.get_num_threads()); // restored for the next command
        var (code, _, err) = cli.Run("doctor", "--threads", "0");
        Assert.Equal(2, code);
        Assert.Contains("--threads 0: need at least 1", err);
    }

    [Fact]
    public void AnErrorOfSeveralLinesIsReportedAsItsFirstLine()
    {
        var err = new StringWriter();
        var console = new CliConsole(new StringWriter(), err, interactive: false);
        Assert.Equal(1, NasApp.ReportError(new InvalidOperationException("what went wrong\nframe 0\nframe 1"), console, verbose: false));
        Assert.Equal("error: what went wrong (the rest with --verbose)" + Environment.NewLine, err.ToString());
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void ALiveRunIsNotResumedByASecondCommandButACrashedOneIs()
    {
        using var cli = new CliHarness();
        ExperimentRun Start() => ExperimentRun.Start(cli.StorePath, ExperimentKind.Search, new { a = 1 }, 1, "nas test");
        long id;
        using (var first = Start())
        {
            id = first.RunId;
            var e = Assert.Throws<NasSharp.Store.StoreException>(Start);
            Assert.Contains("being written by another process", e.Message);
            // The refused second command left the run alone: the first can still write and finish it.
            first.Journal.Record("x", new { s = 1 });
        }
        // The first ended without completing (as a crash would): the next identical command resumes it.
        using (var resumed = Start())
        {
            Assert.True(resumed.Resumed);
            Assert.Equal(id, resumed.RunId);
            Assert.Equal(1, resumed.ResultCount);
            resumed.Complete(new { });
        }
        using var fresh = Start();
        Assert.False(fresh.Resumed); // a completed run is never reopened
    }

    [Fact]
    public void SpaceSampleIsSeededAndPrintsCanonicalGenotypes()
    {
        using var cli = new CliHarness();
        var a = cli.Run("space", "sample", "--n", "5", "--seed", "3");
        var b = cli.Run("space", "sample", "--n", "5", "--seed", "3");
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        var lines = a.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, l => Assert.Equal(l, NasSharp.Spaces.MlpGenotype.Parse(l).Canonical));
    }

    [Fact]
    public void AMalformedArchIsAOneLineErrorNamingTheProblem()
    {
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run("train", "--arch", "w64/relu-banana", "--dataset", "iris");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown activation 'banana'", err);
        Assert.DoesNotContain("   at ", err); // no stack trace without --verbose
    }

    [Fact]
    public void AMissingDatasetDirectoryIsAClearError()
    {
        using var cli = new CliHarness();
        var missing = Path.Combine(cli.Directory, "nowhere");
        var (code, _, err) = cli.Run("train", "--arch", "w8/relu", "--dataset", "mnist", "--data-dir", missing);
        Assert.NotEqual(0, code);
        Assert.Contains(missing, err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void ATruncatedIdxFileIsAClearErrorNamingTheFile()
    {
        using var cli = new CliHarness();
        var dir = Path.Combine(cli.Directory, "data", "mnist");
        Directory.CreateDirectory(dir);
        void Write(string name, byte[] bytes)
        {
            using var f = new GZipStream(File.Create(Path.Combine(dir, name)), CompressionLevel.Fastest);
            f.Write(bytes);
        }
        // Valid label files and test set; the training images header promises 100 images of 28×28 but 10 bytes follow.
        Write("train-images-idx3-ubyte.gz", [0, 0, 8, 3, 0, 0, 0, 100, 0, 0, 0, 28, 0, 0, 0, 28, .. new byte[10]]);
        Write("train-labels-idx1-ubyte.gz", [0, 0, 8, 1, 0, 0, 0, 100, .. new byte[100]]);
        Write("t10k-images-idx3-ubyte.gz", [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28, .. new byte[784]]);
        Write("t10k-labels-idx1-ubyte.gz", [0, 0, 8, 1, 0, 0, 0, 1, 0]);
        var (code, _, err) = cli.Run("train", "--arch", "w8/relu", "--dataset", "mnist", "--data-dir", Path.Combine(cli.Directory, "data"));
        Assert.NotEqual(0, code);
        Assert.Contains("train-images-idx3-ubyte", err);
        Assert.Contains("truncated", err);
    }

    [Fact]
    public void TrainReportsAccuraciesInPercentAndRecordsTheRun()
    {
        using var cli = new CliHarness();
        var j = cli.Json("train", "--arch", "w64/relu-tanh+1", "--dataset", "mnist", "--train-size", "3000", "--val-size", "500",
            "--test-size", "1000", "--epochs", "2", "--seed", "1");
        Assert.Equal("w64/relu-tanh+1", j.GetProperty("arch").GetString());
        var val = j.GetProperty("val_accuracy_percent").GetDouble();
        var test = j.GetProperty("test_accuracy_percent").GetDouble();
        Assert.InRange(val, 0.0, 100.0);
        // 3,000 MNIST images, 2 epochs: a working trainer is far above chance (10%).
        Assert.InRange(test, 85.0, 100.0);
        var runs = cli.Json("runs", "list").GetProperty("runs");
        Assert.Equal("train", runs[0].GetProperty("kind").GetString());
        Assert.Equal("completed", runs[0].GetProperty("status").GetString());
    }

    [Fact]
    public void NtkReportsTheSpectrum()
    {
        using var cli = new CliHarness();
        var j = cli.Json("ntk", "--arch", "w32/relu-relu+1", "--dataset", "digits", "--batch", "16", "--seed", "2");
        double min = j.GetProperty("lambda_min").GetDouble(), max = j.GetProperty("lambda_max").GetDouble();
        double trace = j.GetProperty("trace").GetDouble(), cond = j.GetProperty("condition").GetDouble();
        Assert.True(min > 0 && min <= max);
        Assert.InRange(trace, 16 * min, 16 * max); // the trace is the sum of 16 eigenvalues in [λ_min, λ_max]
        Assert.Equal(max / min, cond, 6);
    }

    [Fact]
    public void NtkMethodsAgreeAndAutoReportsTheMethodUsed()
    {
        using var cli = new CliHarness();
        string[] args = ["ntk", "--arch", "w32/tanh-relu+1", "--dataset", "digits", "--batch", "12", "--seed", "3", "--dtype", "float64", "--spectrum"];
        var exact = cli.Json([.. args, "--method", "exact"]);
        var fast = cli.Json([.. args, "--method", "fast"]);
        var auto = cli.Json(args);
        Assert.Equal("exact", exact.GetProperty("method").GetString());
        Assert.Equal("fast", fast.GetProperty("method").GetString());
        Assert.Equal("fast", auto.GetProperty("method").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, auto.GetProperty("fast_unsupported_reason").ValueKind);
        // Same network and inputs in float64: the two methods' spectra agree to float64 rounding of Θ (~1e-15 relative).
        var e = exact.GetProperty("eigenvalues").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var f = fast.GetProperty("eigenvalues").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.Equal(12, f.Length);
        for (int i = 0; i < e.Length; i++) Assert.Equal(e[i], f[i], 1e-10 * e[^1]);

        var (code, _, err) = cli.Run("ntk", "--arch", "w8/relu", "--dataset", "iris", "--batch", "4", "--method", "quick");
        Assert.Equal(2, code);
        Assert.Contains("--method quick: use exact, fast, auto", err);
    }

    [Fact]
    public void BenchNtkQuickEmitsTheSchema()
    {
        using var cli = new CliHarness();
        var (code, o, err) = cli.Run("bench", "ntk", "--quick", "--json", "--repeats", "1");
        Assert.True(code == 0, err);
        var j = System.Text.Json.JsonDocument.Parse(o).RootElement;
        Assert.Equal("float32", j.GetProperty("dtype").GetString());
        var cases = j.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            foreach (var field in new[] { "name", "n", "exact_s", "fast_s", "speedup", "rel_err", "fwd_bwd_s", "peak_mb" })
                Assert.True(c.TryGetProperty(field, out _), $"case without '{field}': {c}");
            Assert.True(c.GetProperty("fast_s").GetDouble() > 0);
        }
        // The analytic kernel builds no network: no exact path and no forward/backward floor, reported as null.
        var analytic = cases.Single(c => c.GetProperty("name").GetString() == "analytic-depth10");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, analytic.GetProperty("fwd_bwd_s").ValueKind);
        // Fast only: the exact time, speedup and error are null, not stand-in numbers.
        var fastOnly = cases.Single(c => c.GetProperty("exact_s").ValueKind == System.Text.Json.JsonValueKind.Null
            && c.GetProperty("fwd_bwd_s").ValueKind != System.Text.Json.JsonValueKind.Null);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, fastOnly.GetProperty("speedup").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, fastOnly.GetProperty("rel_err").ValueKind);
        // The MLP compared against the exact path agrees to float32 rounding (no timing is asserted).
        var mlp = cases.First(c => c.GetProperty("name").GetString()!.StartsWith("mlp", StringComparison.Ordinal));
        Assert.True(mlp.GetProperty("rel_err").GetDouble() < 1e-3);
        // So does the 4-channel ConvResNet: oneDNN's wrong float32 input gradients (ConvolutionBackend) made this NaN.
        var conv = cases.First(c => c.GetProperty("name").GetString()!.StartsWith("conv", StringComparison.Ordinal));
        Assert.True(conv.GetProperty("rel_err").GetDouble() < 1e-3, conv.ToString());
        Assert.Contains("[bench ntk]", err);
    }

    [Fact]
    public void SearchRanksScoresTrainsTopKAndIsReproducible()
    {
        using var cli = new CliHarness();
        string[] args = ["search", "--dataset", "digits", "--depth", "2", "--width", "32", "--candidates", "4", "--top-k", "2",
            "--epochs", "3", "--ntk-batch", "16", "--seed", "5"];
        var j = cli.Json(args);
        var ranked = j.GetProperty("ranked");
        Assert.Equal(4, ranked.GetArrayLength());
        var scores = ranked.EnumerateArray().Select(r => r.GetProperty("score").GetDouble()).ToList();
        Assert.Equal(scores.OrderByDescending(s => s), scores);
        Assert.Equal(2, ranked.EnumerateArray().Count(r => r.GetProperty("test_accuracy_percent").ValueKind == System.Text.Json.JsonValueKind.Number));
        Assert.InRange(j.GetProperty("test_accuracy_percent").GetDouble(), 0.0, 100.0);

        // The same seed gives the same ranking and winner in a new run.
        var again = cli.Json(args);
        Assert.Equal(j.GetProperty("arch").GetString(), again.GetProperty("arch").GetString());
        Assert.Equal(scores, again.GetProperty("ranked").EnumerateArray().Select(r => r.GetProperty("score").GetDouble()).ToList());
    }

    [Fact]
    public void TheoryReportsLambdaMinBetweenItsBoundsAndTheHermiteCoefficients()
    {
        using var cli = new CliHarness();
        var j = cli.Json("theory", "--arch", "w64/relu-tanh+1", "--dataset", "digits", "--batch", "16", "--seed", "2").GetProperty("report");
        double min = j.GetProperty("lambda_min").GetDouble();
        Assert.InRange(min, j.GetProperty("lower_bound").GetDouble(), j.GetProperty("upper_bound").GetDouble());
        Assert.True(j.GetProperty("complexity").GetDouble() <= 1 / min);
        var layers = j.GetProperty("layers");
        Assert.Equal(2, layers.GetArrayLength());
        // Layer 1 is relu: μ_1 = 1/2 (the closed form).
        Assert.Equal(0.5, layers[0].GetProperty("hermite")[1].GetDouble(), 1e-9);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("serch")]
    [InlineData("runs show abc")]
    [InlineData("search --candidatez 3 --json")]
    [InlineData("bench correlate --foo")]
    public void AMistakeInTheCommandLineIsOneLineAndExitCodeTwoWithNothingOnStdout(string args)
    {
        using var cli = new CliHarness();
        var line = cli.UsageError(args.Split(' '));
        Assert.StartsWith("error: ", line);
        Assert.EndsWith("--help)", line);
        // --help itself still prints the help.
        var help = cli.Run("search", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("--strategy", help.Out);
    }

    [Trait("Category", "Reliability")]
    [Theory]
    [InlineData("serach", "error: nas has no command serach; did you mean search? (see nas --help)")]
    [InlineData("runs lst", "error: nas runs has no command lst; did you mean list? (see nas runs --help)")]
    [InlineData("runs", "error: nas runs needs a command: list, show, compare, export (see nas runs --help)")]
    [InlineData("runs show", "error: nas runs show needs RUN_ID (see nas runs show --help)")]
    [InlineData("nb201 best", "error: nas nb201 best needs --dataset (see nas nb201 best --help)")]
    [InlineData("search --candidtes 3 --json", "error: nas search has no option --candidtes; did you mean --candidates? (see nas search --help)")]
    [InlineData("runs list --frobnicate", "error: nas runs list has no option --frobnicate (see nas runs list --help)")]
    [InlineData("runs show 1 2", "error: nas runs show takes no argument 2 (see nas runs show --help)")]
    [InlineData("runs show abc", "error: RUN_ID abc: expected a whole number (see nas runs show --help)")]
    [InlineData("bench truth --n 1e3", "error: --n 1e3: expected a whole number (see nas bench truth --help)")]
    [InlineData("bench truth --n 99999999999", "error: --n 99999999999: too large (see nas bench truth --help)")]
    [InlineData("search --candidates abc", "error: --candidates abc: expected a whole number.")]
    [InlineData("search --strategy eigne", "error: --strategy eigne: unknown strategy; known: eigen, proxy, random, nasi, mkl, spectral, bilevel, supernet (did you mean eigen?).")]
    [InlineData("search --dtype float46", "error: --dtype float46: use float32, float64 (did you mean float64?).")]
    [InlineData("nb201 query --index 20000", "error: --index 20000: index 20000 is not in the NAS-Bench-201 table ")]
    [InlineData("runs list --limit 0", "error: --limit 0: must be at least 1.")]
    [InlineData("bench search --methods ensemble --seeds 1 --proxy-seeds 0", "error: --proxy-seeds 0: need at least one evaluation per candidate.")]
    [InlineData("runs list --kind foo", "error: --kind foo: no such kind of run; the kinds are search, correlate, truth, bench_search, bench_train, train, ntk, theory, agreement, kernel_bench, isometry, planted, spectral_error, activation_search, gradient_bench, fairness, trace_norm_anatomy.")]
    [InlineData("runs list --kind serach --json", "error: --kind serach: no such kind of run; the kinds are search, correlate, truth, bench_search, bench_train, train, ntk, theory, agreement, kernel_bench, isometry, planted, spectral_error, activation_search, gradient_bench, fairness, trace_norm_anatomy (did you mean search?).")]
    [InlineData("doctor --device gpu --json", "error: --device gpu: not a torch device (use cpu, cuda or cuda:N).")]
    public void EachKindOfUsageMistakeIsOneLineSayingWhatIsWrongExitCodeTwoAndNothingOnStdout(string args, string expected)
    {
        using var cli = new CliHarness();
        var line = cli.UsageError([.. args.Split(' '), "--threads", "1"]);
        Assert.StartsWith(expected, line); // the whole line, but for the table's path in the nb201 case
        Assert.True(line.Length == expected.Length || expected.EndsWith(' '), line);
    }

    [Fact]
    public void NasiOperationsMeasuresASupernetInTheNtkParameterisationOnACellSpace()
    {
        // The NTK parameterisation is the supernet's, as in --strategy nasi, so cell spaces whose discrete networks are
        // standard only accept it here.
        using var cli = new CliHarness();
        var j = cli.Json("bench", "nasi-operations", "--space", "nb201", "--seeds", "1", "--batch", "4", "--channels", "4", "--cells", "1",
            "--data", "gaussian", "--labels", "random", "--parameterization", "ntk");
        Assert.Equal("ntk", j.GetProperty("parameterization").GetString());
        Assert.True(double.IsFinite(j.GetProperty("supernets")[0].GetProperty("uniform_trace_norm").GetDouble()));
    }

    [Fact]
    public void TheEigenStrategyOnACellSpaceSaysWhichParameterisationToUse()
    {
        // Without --parameterization it scores nb201 in the standard one (EigenSearchTests); an explicit ntk is refused.
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run("search", "--space", "nb201", "--dataset", "cifar10", "--parameterization", "ntk");
        Assert.Equal(2, code);
        Assert.Contains("standard parameterisation only", err);
        Assert.Contains("--parameterization standard", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void SearchAcceptsTheTheoryScoresAndRefusesUnknownOnes()
    {
        using var cli = new CliHarness();
        var j = cli.Json("search", "--dataset", "digits", "--depth", "2", "--width", "16", "--candidates", "3", "--top-k", "0",
            "--ntk-batch", "12", "--seed", "1", "--score", "bound");
        Assert.Equal("bound", j.GetProperty("options").GetProperty("score").GetString());
        Assert.Equal(3, j.GetProperty("ranked").GetArrayLength());
        var (code, _, err) = cli.Run("search", "--dataset", "digits", "--score", "banana");
        Assert.Equal(2, code);
        Assert.Contains("auto|empirical|normalized|batch|training|analytic|bound|complexity", err);
    }
}

[Collection(TorchCollection.Name)]
public class CorrelateCliTests
{
    [Fact]
    public void Nb201CorrelationReportsEveryProxyAndTargetAndResumes()
    {
        using var cli = new CliHarness();
        string[] args = ["bench", "correlate", "--space", "nb201", "--dataset", "cifar10", "--n", "4", "--batch", "8",
            "--proxies", "params,naswot", "--targets", "cifar10,cifar100", "--seed", "3"];
        var j = cli.Json(args);
        Assert.Equal(4, j.GetProperty("n").GetInt32());
        var p = j.GetProperty("proxies").GetProperty("params");
        Assert.InRange(p.GetProperty("targets").GetProperty("cifar10").GetProperty("kendall").GetDouble(), -1, 1);
        Assert.Equal(0.75, p.GetProperty("published").GetProperty("targets").GetProperty("cifar10").GetDouble());
        Assert.Equal("spearman", p.GetProperty("published").GetProperty("statistic").GetString());
        Assert.Equal(0, j.GetProperty("proxies").GetProperty("naswot").GetProperty("non_finite").GetInt32());
        // n = 4 < 100 cells, so best-of-100 is the accuracy of the proxy's top cell among all four: between the mean
        // (a random pick) and the oracle (the best of the four).
        var reference = j.GetProperty("references").GetProperty("cifar10");
        double mean = reference.GetProperty("mean").GetDouble(), oracle = reference.GetProperty("oracle_best_of").GetDouble();
        Assert.True(mean < oracle, $"mean {mean} vs oracle {oracle}");
        foreach (var proxy in new[] { "params", "naswot" })
            Assert.InRange(j.GetProperty("proxies").GetProperty(proxy).GetProperty("targets").GetProperty("cifar10").GetProperty("best_of_100").GetDouble(), 0, oracle);
        // A completed run is not reopened: the same command starts a new run with identical figures.
        var again = cli.Json(args);
        Assert.NotEqual(j.GetProperty("run_id").GetInt64(), again.GetProperty("run_id").GetInt64());
        Assert.Equal(p.GetProperty("targets").GetProperty("cifar100").GetProperty("spearman").GetDouble(),
            again.GetProperty("proxies").GetProperty("params").GetProperty("targets").GetProperty("cifar100").GetProperty("spearman").GetDouble());
    }

    [Fact]
    public void SearchCellBatchNormDropsTheCellsScaleAndShift()
    {
        using var cli = new CliHarness();
        string[] args = ["bench", "correlate", "--space", "nb201", "--dataset", "cifar10", "--n", "3", "--batch", "8",
            "--proxies", "params,ntk_trace", "--targets", "cifar10", "--seed", "3"];
        var affine = cli.Json(args);
        var search = cli.Json([.. args, "--cell-bn", "search"]);
        // The same three cells (same accuracies). Without BN scale/shift (2 per channel) a cell convolution gets a bias
        // (1 per channel, NAS-Bench-201's rule), so no cell gains parameters and one with a convolution loses some.
        Assert.Equal(affine.GetProperty("references").GetProperty("cifar10").GetProperty("mean").GetDouble(),
            search.GetProperty("references").GetProperty("cifar10").GetProperty("mean").GetDouble());
        using var store = NasSharp.Store.ResultsStore.Open(cli.StorePath);
        List<double> Params(System.Text.Json.JsonElement j) =>
            StoreJournal.Read(store.GetResults(j.GetProperty("run_id").GetInt64())).All<ProxyEvaluationRecord>("arch/")
                .OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value.Scores["params"]).ToList();
        var plain = Params(search);
        var withAffine = Params(affine);
        Assert.All(plain.Zip(withAffine), p => Assert.True(p.First <= p.Second, $"{p.First} vs {p.Second}"));
        Assert.True(plain.Sum() < withAffine.Sum());
        var (code, _, err) = cli.Run("bench", "correlate", "--space", "mlp", "--cell-bn", "search");
        Assert.NotEqual(0, code);
        Assert.Contains("--cell-bn does not apply to --space mlp", err);
    }

    [Fact]
    public void MlpCorrelationUsesAStoredTruthRun()
    {
        using var cli = new CliHarness();
        var truth = cli.Json("bench", "truth", "--space", "mlp", "--depth", "2", "--width", "32", "--dataset", "digits", "--n", "5", "--epochs", "2", "--seed", "1");
        var id = truth.GetProperty("run_id").GetInt64().ToString();
        var j = cli.Json("bench", "correlate", "--space", "mlp", "--truth", id, "--n", "5", "--batch", "16", "--proxies", "params,grad_norm,ntk_min_eig", "--seed", "2");
        var tau = j.GetProperty("proxies").GetProperty("grad_norm").GetProperty("targets").GetProperty("digits").GetProperty("kendall").GetDouble();
        Assert.InRange(tau, -1, 1);
        // Every mlp of one depth and width has the same parameter count: τ is undefined (NaN), not made up.
        var undefined = j.GetProperty("proxies").GetProperty("params").GetProperty("targets").GetProperty("digits");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, undefined.GetProperty("kendall").ValueKind);
        Assert.Contains("do not vary", undefined.GetProperty("undefined_reason").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, j.GetProperty("proxies").GetProperty("grad_norm").GetProperty("targets").GetProperty("digits").GetProperty("undefined_reason").ValueKind);
        var (code, _, err) = cli.Run("bench", "correlate", "--space", "mlp", "--truth", id, "--n", "6");
        Assert.NotEqual(0, code);
        Assert.Contains("has 5 architectures", err);
    }
}
