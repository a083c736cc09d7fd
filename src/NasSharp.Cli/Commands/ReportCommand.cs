using System.CommandLine;
using NasSharp.Reports;
using NasSharp.Store;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas report RUN_ID --out DIR</c>: a Markdown report with PNG figures for a stored run.</summary>
public static class ReportCommand
{
    public sealed record ReportOutput(long RunId, string Markdown, IReadOnlyList<string> Figures);

    public static Command Create(CliConsole console)
    {
        var cmd = new Command("report", "Write a Markdown report with PNG plots (ScottPlot) for a stored run.");
        var id = new Argument<long>("RUN_ID") { Description = "Run id (from nas runs list)." };
        var outDir = new Option<string>("--out") { Description = "Output folder.", DefaultValueFactory = _ => "report" };
        cmd.Arguments.Add(id);
        cmd.Options.Add(outDir);
        cmd.SetAction(pr =>
        {
            using var store = ResultsStore.Open(pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath());
            var run = store.GetRun(pr.GetValue(id)) ?? throw new UsageException($"No run {pr.GetValue(id)} in {store.FilePath}; see nas runs list.");
            var written = RunReport.Write(run, store.GetResults(run.Id), pr.GetValue(outDir)!);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(new ReportOutput(pr.GetValue(id), written.Markdown, written.Figures));
            else console.Out.WriteLine($"wrote {written.Markdown} and {written.Figures.Count} figure(s)");
            return 0;
        });
        return cmd;
    }
}
