using NasSharp.Experiments;
using NasSharp.Reports;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Reports;

public class RunReportTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "nassharp-report-" + Guid.NewGuid().ToString("N"));

    public RunReportTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void ACorrelationReportHasTheTableTheBarChartAndOneScatterPerProxy()
    {
        using var store = ResultsStore.Open(Path.Combine(dir, "r.db"));
        var run = store.StartRun(new RunSpec("correlate", "nas bench correlate (test)", new { }, 1));
        var journal = new StoreJournal(store, run.Id);
        var none = new Dictionary<string, double>();
        for (int i = 0; i < 20; i++)
        {
            double acc = 50 + i;
            // "good" agrees perfectly; "bad" is reversed; "huge" spans decades (log axis) and has one NaN.
            journal.Record($"arch/{i}/cifar10", new ProxyEvaluationRecord(i, $"a{i}", "cifar10", acc,
                new Dictionary<string, double> { ["good"] = i, ["bad"] = -i, ["huge"] = i == 3 ? double.NaN : Math.Pow(10, i / 2.0) },
                i == 3 ? new Dictionary<string, string> { ["huge"] = "overflow" } : [], new Dictionary<string, double> { ["good"] = 0.5 }, none, 1));
        }
        store.CompleteRun(run.Id);
        var written = RunReport.Write(store.GetRun(run.Id)!, store.GetResults(run.Id), Path.Combine(dir, "out"));
        var md = File.ReadAllText(written.Markdown);
        // 20 architectures < k = 100, so best-of-k is the pick among all of them: "good" finds the best (69), "bad" the worst.
        Assert.Contains("| good | 1.000 | 1.000 | 1.00 | 69.00 | 0 | 0.5000 |", md);
        Assert.Contains("| bad | -1.000 | -1.000 | 0.00 | 50.00 | 0 |", md);
        Assert.Contains("| *random pick (mean)* | | | | 59.50 |", md);
        Assert.Contains("| *oracle best-of-100* | | | | 69.00 |", md);
        Assert.Contains("| huge |", md);
        Assert.Contains("![huge](scatter_huge.png) (log-scale scores)", md);
        Assert.Equal(4, written.Figures.Count); // τ bars + three scatters
        Assert.All(written.Figures, f => Assert.True(new FileInfo(f).Length > 5_000, f));
        // "huge": one NaN (ranked last) on an architecture of low accuracy → 1 non-finite, τ < 1.
        var hugeRow = md.Split('\n').First(l => l.StartsWith("| huge |"));
        Assert.Contains("| 1 |", hugeRow);
    }
}
