using System.Globalization;
using System.Text.RegularExpressions;
using NasSharp.Reports;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Reports;

/// <summary>
/// The HTML report of real small runs opened in headless Chromium: it loads with no script error, console message, failed
/// or blocked resource load; it holds as many tables and figures (inline SVG) as the Markdown report of the same run
/// has tables and PNG files; the run's configuration and versions are on it; and a click on a column header sorts the
/// table's rows by that column in the browser. The probe itself is shown to catch each kind of error on a broken page.
/// </summary>
[Collection(TorchCollection.Name)]
public class HtmlReportBrowserTests
{
    private static readonly string[] TinyNasi = ["--batch", "4", "--channels", "4", "--cells", "1"];

    /// <summary>Each run kind, with the table (in page order) and column whose header the probe clicks.</summary>
    public static TheoryData<string, string[], int, int> Runs => new()
    {
        // Tables: configuration, agreement (column 1: cifar10 τ).
        { "correlate", ["bench", "correlate", "--space", "nb201", "--dataset", "cifar10", "--n", "4", "--batch", "8", "--proxies", "params,naswot",
            "--targets", "cifar10", "--seed", "5"], 1, 1 },
        // Tables: configuration, derivation rules, architecture distribution (column 1: the probability of 'none' per edge).
        { "nasi", ["search", "--space", "nb201", "--strategy", "nasi", "--labels", "random", "--data", "gaussian", "--steps", "3", .. TinyNasi, "--seed", "4"], 2, 1 },
        // Tables: configuration, methods (column 2: cifar10 mean test accuracy; reference rows stay last).
        { "bench-search", ["bench", "search", "--seeds", "1", "--methods", "nasi-fix,naswot", "--candidates", "2", "--train-size", "200", "--steps", "2",
            .. TinyNasi], 1, 2 },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void TheReportOfARealRunRendersWithoutErrorsAndSortsItsTables(string name, string[] command, int table, int column)
    {
        using var cli = new CliHarness();
        var id = cli.Json([.. command, "--threads", "1"]).GetProperty("run_id").GetInt64().ToString(CultureInfo.InvariantCulture);
        var md = cli.Json("report", id, "--out", Path.Combine(cli.Directory, "md"));
        int figures = md.GetProperty("figures").GetArrayLength();
        int tables = File.ReadAllLines(md.GetProperty("path").GetString()!).Count(l => l.StartsWith("|---", StringComparison.Ordinal));
        var html = cli.Json("report", id, "--format", "html", "-o", Path.Combine(cli.Directory, $"{name}.html"));
        Assert.Equal(0, html.GetProperty("figures").GetArrayLength());

        var page = HeadlessChromium.Open(html.GetProperty("path").GetString()!, cli.Directory, (table, column));

        Assert.True(page.Errors.Count == 0, $"{name}: {string.Join("; ", page.Errors)}");
        Assert.True(page.ConsoleLines.Count == 0, $"{name}: {string.Join("\n", page.ConsoleLines)}");
        Assert.True(figures > 0 && tables > 1, $"{name}: the Markdown report has {figures} figures and {tables} tables");
        Assert.Equal(figures, Regex.Count(page.Dom, "<svg class=\"figure\""));
        Assert.Equal(tables, Regex.Count(page.Dom, "<table>"));
        Assert.Contains("<h2>Configuration</h2>", page.Dom);
        Assert.Contains("torchsharp 0.", page.Dom);

        var sorted = page.Sorted!;
        Assert.Equal(sorted.Before.Order(StringComparer.Ordinal), sorted.After.Order(StringComparer.Ordinal)); // the same rows
        int moving = sorted.FixedAfter.Count(f => !f);
        Assert.All(sorted.FixedAfter.Skip(moving), Assert.True); // reference rows last
        // A cell such as "92.99 ± 0.59" sorts by its mean.
        var values = sorted.After.Take(moving).Select(v => double.Parse(v.Split(' ')[0], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(values.Order(), values);
    }

    [Fact]
    public void TheProbeCatchesAScriptErrorAConsoleErrorAndBlockedLoads()
    {
        var dir = Path.Combine(Path.GetTempPath(), "nassharp-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var page = HtmlReport.Render("broken", "# broken\n\n| a |\n|---|\n| 1 |\n", new Dictionary<string, string>())
                .Replace("</body>", "<img src=\"missing.png\"><img src=\"http://127.0.0.1:9/x.png\"><script>console.error(\"boom\"); notAFunction();</script></body>",
                    StringComparison.Ordinal);
            var path = Path.Combine(dir, "broken.html");
            File.WriteAllText(path, page);
            var opened = HeadlessChromium.Open(path, dir);
            Assert.Contains("console.error: boom", opened.Errors);
            Assert.Contains(opened.Errors, e => e.Contains("notAFunction is not defined", StringComparison.Ordinal));
            // The report's content security policy blocks a file beside it and a remote image alike.
            Assert.Contains(opened.Errors, e => e.Contains("blocked", StringComparison.Ordinal) && e.Contains("127.0.0.1:9", StringComparison.Ordinal));
            Assert.Contains(opened.Errors, e => e.Contains("failed to load", StringComparison.Ordinal) && e.Contains("missing.png", StringComparison.Ordinal));
            Assert.Contains(opened.ConsoleLines, l => l.Contains("\"boom\"", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
