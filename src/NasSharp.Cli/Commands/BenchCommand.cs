using System.CommandLine;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas bench …</c>: benchmarks and ground truth.</summary>
public static class BenchCommand
{
    public static Command Create(CliConsole console)
    {
        var bench = new Command("bench", "Benchmarks: trained ground truth, rank correlations, kernel timings.");
        bench.Subcommands.Add(TruthCommand.Create(console));
        bench.Subcommands.Add(CorrelateCommand.Create(console));
        return bench;
    }
}
