using System.CommandLine;
using System.Globalization;
using NasSharp.Benchmarks;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Proxies;
using TorchSharp;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas bench</c>: benchmarks, one subcommand each (<c>ntk</c>: fast against exact empirical NTK).</summary>
public static class BenchCommand
{
    public static Command Create(CliConsole console, Registries registries)
    {
        var cmd = new Command("bench", "Benchmarks on this machine: kernel timings side by side, trained ground truth, proxy rank correlations, search comparisons.");
        cmd.Subcommands.Add(Ntk(console));
        cmd.Subcommands.Add(BenchExperiments.Truth(console, registries));
        cmd.Subcommands.Add(BenchExperiments.Correlate(console, registries));
        cmd.Subcommands.Add(BenchExperiments.Search(console, registries));
        cmd.Subcommands.Add(BenchExperiments.Train(console, registries));
        cmd.Subcommands.Add(BenchExperiments.NasiGradient(console, registries));
        cmd.Subcommands.Add(BenchExperiments.NasiOperations(console, registries));
        cmd.Subcommands.Add(FairnessBenchCommand.Create(console, registries));
        cmd.Subcommands.Add(BilevelBenchCommand.Planted(console));
        cmd.Subcommands.Add(BilevelBenchCommand.Spectral(console));
        cmd.Subcommands.Add(BilevelBenchCommand.ActivationSearch(console));
        cmd.Subcommands.Add(BilevelBenchCommand.Mkl(console));
        cmd.Subcommands.Add(ClusterBenchCommand.Create(console));
        cmd.Subcommands.Add(Proxies(console));
        return cmd;
    }

    private static Command Proxies(CliConsole console)
    {
        var cmd = new Command("proxies",
            "Seconds per NAS-Bench-201 cell of each proxy alone, of the five cheap proxies together and of every proxy together, side by side with one " +
            "forward + backward pass of the same cells and the reference implementation's figures; the per-stage profile; the process's peak memory.");
        var cells = new Option<string?>("--cells") { Description = "NB201 cells, separated by spaces or commas (default: the five reference cells)." };
        var count = new Option<int?>("--n") { Description = "Use only the first N of the cells." };
        var proxies = new Option<string>("--proxies") { Description = "Proxies to time (all: every registered proxy).", DefaultValueFactory = _ => "all" };
        var batch = new Option<int>("--batch") { Description = "CIFAR-10 training images per evaluation.", DefaultValueFactory = _ => 64 };
        var classes = new Option<int>("--classes") { Description = "Logits of each network.", DefaultValueFactory = _ => 10 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions per cell (the median is reported).", DefaultValueFactory = _ => 1 };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { cells, count, proxies, batch, classes, repeats, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var list = pr.GetValue(cells) is { } text
                ? text.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
                : ProxyBenchmark.ReferenceCells.ToList();
            if (pr.GetValue(count) is int n) list = n >= 1 ? list.Take(n).ToList() : throw new UsageException($"--n {n}: must be at least 1.");
            var config = new ProxyBenchConfig(list, ProxyRegistry.Parse(pr.GetValue(proxies)!).Select(p => p.Name).ToList(), pr.GetValue(batch),
                pr.GetValue(classes), pr.GetValue(repeats), GlobalOptions.ResolveThreads(pr) ?? 1, pr.GetValue(seed));
            var data = DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path;
            var output = console.WithProgress("bench proxies", progress => ProxyBenchmark.Run(config, data, progress, console.Cancellation));
            if (pr.GetValue(GlobalOptions.Json)) { console.WriteJson(output); return 0; }
            WriteProxyTable(console, output);
            return 0;
        });
        return cmd;
    }

    private static void WriteProxyTable(CliConsole console, ProxyBenchOutput o)
    {
        static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "–";
        console.Out.WriteLine($"{o.Cells.Count} NB201 cells, batch {o.Batch}, {o.Classes} classes, {o.Threads} torch thread{(o.Threads == 1 ? "" : "s")}, " +
            $"median of {o.Repeats} per cell; load average {o.LoadAverage}");
        console.Out.WriteLine($"one forward + backward: {F(o.ForwardBackwardSeconds, "F3")} s per cell (building the network: {F(o.BuildSeconds, "F3")} s)");
        console.Out.WriteLine($"{"proxies (network built, batch scored)",-38} {"s/cell",8} {"× fwd+bwd",10} {"reference s",12} {"speedup",8} {"peak MB",8}");
        foreach (var t in o.Timings)
            console.Out.WriteLine($"{t.Name,-38} {F(t.SecondsPerCell, "F3"),8} {F(t.RatioToForwardBackward, "F2"),10} {F(t.ReferenceSecondsPerCell, "F2"),12} " +
                $"{F(t.SpeedupOverReference, "F2"),8} {F(t.PeakMb, "F0"),8}");
        console.Out.WriteLine();
        console.Out.WriteLine($"{"stages of all together",-70} {"s/cell",8} {"× fwd+bwd",10}");
        foreach (var s in o.Stages) console.Out.WriteLine($"{s.Name,-70} {F(s.SecondsPerCell, "F4"),8} {F(s.RatioToForwardBackward, "F2"),10}");
        console.Out.WriteLine();
        console.Out.WriteLine($"peak resident memory of the process: {F(o.PeakMb, "F0")} MB; {F(o.TotalSeconds, "F1")} s in all");
        for (int i = 0; i < o.Cells.Count; i++) console.Out.WriteLine($"cell {i + 1}: {o.Cells[i]}");
    }

    private static Command Ntk(CliConsole console)
    {
        var cmd = new Command("ntk",
            "Fast (structured derivatives) against exact (one backward pass per sample) empirical NTK: the 784-512-512-10 MLP at N = 32…256 and 1024, " +
            "a small conv ResNet on 3×32×32 at N = 32, 64. Reports median seconds, speedup, relative Frobenius error, one forward+backward pass, peak memory.");
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions per computation (the median is reported).", DefaultValueFactory = _ => 5 };
        var dtype = new Option<string>("--dtype") { Description = "float32 or float64 networks and Jacobian pieces (Θ is accumulated in float64).", DefaultValueFactory = _ => "float32" };
        var quick = new Option<bool>("--quick") { Description = "Toy sizes of the same cases (seconds in all; for tests)." };
        var only = new Option<string?>("--case") { Description = "Run only the cases whose name contains this text (e.g. mlp, conv)." };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { repeats, dtype, quick, only, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var settings = new NtkBenchSettings
            {
                Repeats = pr.GetValue(repeats) is var r and >= 1 ? r : throw new UsageException("--repeats must be at least 1."),
                DType = pr.GetValue(dtype) switch
                {
                    "float32" => torch.ScalarType.Float32,
                    "float64" => torch.ScalarType.Float64,
                    var other => throw new UsageException($"--dtype {other}: use float32 or float64."),
                },
                Quick = pr.GetValue(quick),
                Threads = GlobalOptions.ResolveThreads(pr),
                Seed = pr.GetValue(seed),
            };
            var cases = NtkBenchmark.DefaultCases(settings.Quick)
                .Where(c => pr.GetValue(only) is not { } name || c.Name.Contains(name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (cases.Count == 0) throw new UsageException($"--case {pr.GetValue(only)}: no case matches.");
            ExperimentCli.Run(pr, console, new KernelBenchExperiment(cases, settings, line => console.Error.WriteLine($"[bench ntk] {line}")),
                report => WriteTable(console, report), resumable: false);
            return 0;
        });
        return cmd;
    }

    private static void WriteTable(CliConsole console, NtkBenchReport report)
    {
        static string F(double? v, string format) => v?.ToString(format, CultureInfo.InvariantCulture) ?? "–";
        console.Out.WriteLine($"empirical NTK, {report.Dtype}, median of {report.Repeats}, {report.TorchThreads} torch threads");
        console.Out.WriteLine($"{"case",-24} {"N",5} {"exact s",9} {"fast s",9} {"speedup",8} {"rel_err",9} {"fwd+bwd s",10} {"peak MB",8}");
        foreach (var r in report.Cases)
            console.Out.WriteLine($"{r.Name,-24} {r.N,5} {F(r.ExactS, "F4"),9} {F(r.FastS, "F4"),9} {F(r.Speedup, "F1"),8} {F(r.RelErr, "E1"),9} {F(r.FwdBwdS, "F4"),10} {F(r.PeakMb, "F0"),8}");
        foreach (var (name, description) in report.Networks) console.Out.WriteLine($"{name}: {description}");
        console.Out.WriteLine($"peak memory: {report.PeakMemory}");
    }
}
