using System.CommandLine;
using NasSharp.Reports;
using NasSharp.Store;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas report RUN_ID [--format md|html] [--out PATH]</c>: a Markdown report with PNG figures in a folder, or the same
/// report as one self-contained HTML file (figures as inline SVG).
/// </summary>
public static class ReportCommand
{
    /// <param name="Path">The report written: <c>report.md</c> in the output folder, or the HTML file.</param>
    /// <param name="Figures">The PNG files beside a Markdown report; empty for HTML, whose figures are inside the file.</param>
    public sealed record ReportOutput(long RunId, string Format, string Path, IReadOnlyList<string> Figures);

    private static readonly string[] Formats = ["md", "html"];

    public static Command Create(CliConsole console)
    {
        var cmd = new Command("report", "Write a report for a stored run: Markdown with PNG plots (ScottPlot), or one self-contained HTML file.");
        var id = new Argument<long>("RUN_ID") { Description = "Run id (from nas runs list)." };
        var format = new Option<string>("--format") { Description = "md: report.md and PNG files in a folder; html: one file with inline SVG figures and sortable tables.", DefaultValueFactory = _ => "md" };
        var output = new Option<string?>("--out", "-o") { Description = "Output folder for md (default report), output file for html (default report-RUN_ID.html)." };
        cmd.Arguments.Add(id);
        cmd.Options.Add(format);
        cmd.Options.Add(output);
        cmd.SetAction(pr =>
        {
            var f = pr.GetValue(format)!;
            if (!Formats.Contains(f)) throw new UsageException($"--format {f}: the formats are {string.Join(", ", Formats)}{Spelling.Suggestion(f, Formats)}.");
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var run = store.GetRun(pr.GetValue(id)) ?? throw new UsageException($"No run {pr.GetValue(id)} in {store.FilePath}; see nas runs list.");
            ReportOutput written;
            if (f == "html")
            {
                var path = RunReport.WriteHtml(run, store.GetResults(run.Id), pr.GetValue(output) ?? $"report-{run.Id}.html");
                written = new ReportOutput(run.Id, f, path, []);
            }
            else
            {
                var md = RunReport.Write(run, store.GetResults(run.Id), pr.GetValue(output) ?? "report");
                written = new ReportOutput(run.Id, f, md.Markdown, md.Figures);
            }
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(written);
            else console.Out.WriteLine(f == "html" ? $"wrote {written.Path}" : $"wrote {written.Path} and {written.Figures.Count} figure(s)");
            return 0;
        });
        return cmd;
    }
}
