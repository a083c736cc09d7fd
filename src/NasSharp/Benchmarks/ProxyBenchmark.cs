using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Benchmarks;

/// <summary>What <c>nas bench proxies</c> runs.</summary>
/// <param name="Cells">NAS-Bench-201 cells to score (canonical strings); <see cref="ProxyBenchmark.ReferenceCells"/> by default.</param>
/// <param name="Proxies">Proxies to time, each alone and all together.</param>
/// <param name="Repeats">Timed repetitions per cell (the median per cell is reported).</param>
public sealed record ProxyBenchConfig(IReadOnlyList<string> Cells, IReadOnlyList<string> Proxies, int Batch, int Classes, int Repeats, int Threads, long Seed)
{
    public void Validate()
    {
        if (Cells.Count == 0) throw new SettingException("--cells: give at least one cell.");
        if (Proxies.Count == 0) throw new SettingException("--proxies: give at least one proxy.");
        if (Batch < 2) throw new SettingException($"--batch {Batch}: must be at least 2.");
        if (Classes < 2) throw new SettingException($"--classes {Classes}: must be at least 2.");
        if (Repeats < 1) throw new SettingException($"--repeats {Repeats}: must be at least 1.");
        if (Threads < 1) throw new SettingException($"--threads {Threads}: must be at least 1.");
    }
}

/// <summary>One timed group of proxies: seconds per cell (mean over the cells of each cell's median) and their ratio to one
/// forward + backward pass of the same cells.</summary>
/// <param name="ReferenceSecondsPerCell">The reference implementation's figure for the same workload, where one was measured.</param>
/// <param name="PeakMb">The resident-memory increase during one evaluation of the proxy alone on the first cell; null for groups.</param>
public sealed record ProxyBenchTiming(string Name, double SecondsPerCell, double RatioToForwardBackward, double? ReferenceSecondsPerCell,
    double? SpeedupOverReference, double? PeakMb);

/// <summary>A stage of an evaluation of every proxy together, per cell: shared computations (the train-mode pass, the
/// empirical NTK, the proxies' own passes) and each proxy's own work beyond them.</summary>
public sealed record ProxyBenchStage(string Name, double SecondsPerCell, double RatioToForwardBackward);

/// <summary>One cell's medians.</summary>
/// <param name="AlonePeakMb">Per proxy alone, the resident-memory increase during an untimed evaluation of its own
/// (<see cref="ResidentMemory.Method"/>); measured on the first cell only, empty for the others.</param>
public sealed record ProxyBenchCell(string Arch, double BuildSeconds, double ForwardBackwardSeconds, IReadOnlyDictionary<string, double> AloneSeconds,
    IReadOnlyDictionary<string, double?> AlonePeakMb, double? CheapTogetherSeconds, double AllTogetherSeconds);

/// <param name="ForwardBackwardSeconds">One train-mode forward pass and one backward of the mean cross-entropy to every
/// parameter, on an already built network: the floor a gradient-based proxy cannot go below.</param>
/// <param name="PeakMb">The process's resident peak (VmHWM) at the end of the run, data loading included; null off Linux.</param>
/// <param name="LoadAverage">/proc/loadavg before and after the run (other processes' load makes absolute seconds noisy; ratios
/// within the run are what compare).</param>
public sealed record ProxyBenchOutput(IReadOnlyList<string> Cells, int Batch, int Classes, int Threads, int Repeats,
    double BuildSeconds, double ForwardBackwardSeconds, IReadOnlyList<ProxyBenchTiming> Timings, IReadOnlyList<ProxyBenchStage> Stages,
    IReadOnlyList<ProxyBenchCell> PerCell, double? PeakMb, string LoadAverage, double TotalSeconds);

/// <summary>
/// Seconds per NAS-Bench-201 cell of each proxy alone (network built, batch scored, everything the proxy needs), of the
/// five cheap proxies together, and of every proxy together (sharing one train-mode pass), side by side with one plain
/// forward + backward pass of the same network in the same process, on a fixed batch of CIFAR-10 training images.
/// </summary>
/// <remarks>
/// The workload is the one the reference implementation (SamsungLabs/zero-cost-nas, Abdelfattah, Mehrotra, Dudziak,
/// Lane, ICLR 2021, arXiv 2101.08134) was timed on: five NB201 cells, batch 64, 10 classes, one thread. Before timing,
/// one evaluation of every proxy on the first cell warms libtorch up (first calls are several times slower).
/// </remarks>
public static class ProxyBenchmark
{
    /// <summary>The five cheap proxies of the reference's timing.</summary>
    public static IReadOnlyList<string> CheapFive { get; } = ["grad_norm", "snip", "fisher", "jacob_cov", "synflow"];

    /// <summary>
    /// Five NB201 cells from the cheapest to the most expensive: NB201's best cell on CIFAR-10 (94.37% test accuracy,
    /// the reference's GraSP timing), every edge a 3×3 convolution, a ResNet-like cell, a mixed cell, a cheap cell.
    /// </summary>
    public static IReadOnlyList<string> ReferenceCells { get; } =
    [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|",
        "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|",
    ];

    /// <summary>
    /// The reference's seconds per cell on this workload (one PyTorch 1.13 thread, oneDNN and OpenBLAS): the five cheap
    /// proxies together 16.3 s for five cells, GraSP alone 7.0 s on the best cell.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ReferenceSecondsPerCell { get; } = new Dictionary<string, double>
    {
        ["five cheap together"] = 16.3 / 5,
        [GraspBestCell] = 7.0,
    };

    public const string CheapTogether = "five cheap together";
    public const string AllTogether = "all together";
    public const string GraspBestCell = "grasp (best cell)";

    public static ProxyBenchOutput Run(ProxyBenchConfig config, string dataDirectory, IProgress<ExperimentProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var total = Stopwatch.StartNew();
        string loadBefore = LoadAverage();
        var space = new Nb201Space();
        var cells = config.Cells.Select(c => space.Parse(c)).ToList();
        var proxies = ProxyRegistry.Parse(string.Join(",", config.Proxies));
        bool cheap = CheapFive.All(name => proxies.Any(p => p.Name == name));

        int previousThreads = get_num_threads();
        set_num_threads(config.Threads);
        try
        {
            var data = new ExperimentData(new DataSpec { Dataset = "cifar10" }, dataDirectory, config.Seed);
            var batch = data.Batches().Fixed(config.Batch, Seeds.Derive(config.Seed, "proxy-bench-batch"));
            using var scope = NewDisposeScope();
            var (x, y) = batch.ToTensors();
            y = (y % config.Classes).DetachFromDisposeScope();
            var sampleShape = batch.SampleShape;
            var options = new NetworkOptions();
            Func<nn.Module<Tensor, Tensor>> Builder(IGenotype arch) =>
                () => space.BuildNetwork(arch, sampleShape, config.Classes, options, Seeds.Derive(config.Seed, "proxy-bench-init", arch.Canonical), CPU);

            progress?.Report(new ExperimentProgress("warm-up", 0, 1, cells[0].Canonical));
            new ProxyEvaluator(proxies).Evaluate(Builder(cells[0]), x, y, config.Classes, config.Seed);
            ForwardBackward(Builder(cells[0]), x, y);

            var perCell = new List<ProxyBenchCell>();
            var stages = new Dictionary<string, List<double>>();
            int step = 0, steps = cells.Count * config.Repeats;
            foreach (var arch in cells)
            {
                var build = Builder(arch);
                var samples = new List<(double Build, double FwdBwd, Dictionary<string, double> Alone, double? Cheap, double All)>();
                var peaks = new Dictionary<string, double?>();
                for (int r = 0; r < config.Repeats; r++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    progress?.Report(new ExperimentProgress("cells", step++, steps, arch.Canonical));
                    var (buildSeconds, fwdBwd) = ForwardBackward(build, x, y);
                    double? cheapSeconds = cheap ? Evaluate(CheapFive.Select(ProxyRegistry.Get), build, x, y, config).TotalSeconds : null;
                    var alone = proxies.ToDictionary(p => p.Name, p => Evaluate([p], build, x, y, config).TotalSeconds);
                    // Memory on the first cell only, in evaluations of their own: measuring trims the native heap first,
                    // and the pages it returns fault in again, which would slow the timed evaluation that follows.
                    if (perCell.Count == 0 && r == 0)
                        foreach (var p in proxies)
                            peaks[p.Name] = ResidentMemory.Measure(() => Evaluate([p], build, x, y, config))?.IncreaseMb;
                    var all = Evaluate(proxies, build, x, y, config);
                    if (r == config.Repeats - 1)
                    {
                        foreach (var s in all.SharedStages) Add(stages, s.Name, s.Seconds);
                        foreach (var p in all.Results) Add(stages, $"{p.Name} (own)", p.Seconds);
                    }
                    samples.Add((buildSeconds, fwdBwd, alone, cheapSeconds, all.TotalSeconds));
                }
                perCell.Add(new ProxyBenchCell(arch.Canonical, Median(samples.Select(s => s.Build)), Median(samples.Select(s => s.FwdBwd)),
                    proxies.ToDictionary(p => p.Name, p => Median(samples.Select(s => s.Alone[p.Name]))), peaks,
                    cheap ? Median(samples.Select(s => s.Cheap!.Value)) : null, Median(samples.Select(s => s.All))));
            }
            progress?.Report(new ExperimentProgress("cells", steps, steps, null));

            double floor = perCell.Average(c => c.ForwardBackwardSeconds);
            ProxyBenchTiming Timing(string name, double seconds, double? peak = null)
            {
                double? reference = ReferenceSecondsPerCell.TryGetValue(name, out var r) ? r : null;
                return new ProxyBenchTiming(name, seconds, seconds / floor, reference, reference / seconds, peak);
            }
            var timings = proxies.Select(p => Timing(p.Name, perCell.Average(c => c.AloneSeconds[p.Name]),
                perCell[0].AlonePeakMb.GetValueOrDefault(p.Name))).ToList();
            // The reference timed GraSP on the best cell (the first) only.
            if (proxies.Any(p => p.Name == "grasp")) timings.Add(Timing(GraspBestCell, perCell[0].AloneSeconds["grasp"]));
            if (cheap) timings.Add(Timing(CheapTogether, perCell.Average(c => c.CheapTogetherSeconds!.Value)));
            timings.Add(Timing(AllTogether, perCell.Average(c => c.AllTogetherSeconds)));
            var stageRows = stages.Select(kv => new ProxyBenchStage(kv.Key, kv.Value.Sum() / cells.Count, kv.Value.Sum() / cells.Count / floor))
                .OrderByDescending(s => s.SecondsPerCell).ToList();

            double? peak = ResidentMemory.Read("VmHWM") is long kb ? kb / 1024.0 : null;
            return new ProxyBenchOutput(config.Cells, config.Batch, config.Classes, config.Threads, config.Repeats,
                perCell.Average(c => c.BuildSeconds), floor, timings, stageRows, perCell, peak,
                $"{loadBefore} (before), {LoadAverage()} (after)", total.Elapsed.TotalSeconds);
        }
        finally
        {
            set_num_threads(previousThreads);
        }
    }

    private static ProxyEvaluation Evaluate(IEnumerable<IProxy> proxies, Func<nn.Module<Tensor, Tensor>> build, Tensor x, Tensor y, ProxyBenchConfig config) =>
        new ProxyEvaluator(proxies).Evaluate(build, x, y, config.Classes, config.Seed);

    /// <summary>Seconds to build the network, then seconds of one train-mode forward pass and backward of the mean cross-entropy.</summary>
    private static (double Build, double ForwardBackward) ForwardBackward(Func<nn.Module<Tensor, Tensor>> build, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        using var model = build();
        double built = clock.Elapsed.TotalSeconds;
        model.train();
        clock.Restart();
        using (enable_grad())
        {
            var loss = nn.functional.cross_entropy(model.call(x), y);
            var parameters = model.parameters().Where(p => p.requires_grad).Select(p => (Tensor)p).ToArray();
            autograd.grad([loss], parameters, allow_unused: true);
        }
        return (built, clock.Elapsed.TotalSeconds);
    }

    private static void Add(Dictionary<string, List<double>> stages, string name, double seconds)
    {
        if (!stages.TryGetValue(name, out var list)) stages[name] = list = [];
        list.Add(seconds);
    }

    private static double Median(IEnumerable<double> values) => NtkBenchmark.Median([.. values]);

    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return "unavailable"; }
    }
}
