using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using NasSharp.Experiments;
using NasSharp.Search;
using NasSharp.Spaces;
using NasSharp.Store;

namespace NasSharp.Cluster;

/// <summary>The items <c>nas bench cluster</c> times; the command line names them alike.</summary>
public enum ClusterWorkload
{
    /// <summary>NAS-Bench-201 correlation items on CIFAR-10: one cell scored by every proxy listed on one fixed batch. Its
    /// working set (activations of a 32×32 batch through 15 cells) is far larger than a core's cache.</summary>
    Nb201Proxies,
    /// <summary>Candidates of an <c>eigen</c> search on a small <c>mlp</c> space (digits): λ_min of the empirical NTK averaged
    /// over <see cref="ClusterBenchmark.MlpEigenInitializations"/> initialisations, a working set that fits a core's cache.</summary>
    MlpEigen,
}

/// <summary>What <c>nas bench cluster</c> runs: <see cref="Workload"/>'s items on clusters of each size in <see cref="Silos"/>,
/// each silo a process of its own with <see cref="Threads"/> libtorch threads, and the same items by as many plain processes.</summary>
/// <param name="Batch">Inputs per evaluation; null for the workload's own (64 for nb201-proxies, <see cref="ClusterBenchmark.MlpEigenBatch"/> for mlp-eigen).</param>
/// <param name="Proxies">The proxies of an nb201-proxies item.</param>
public sealed record ClusterBenchmarkConfig(IReadOnlyList<int> Silos, int Items, int Threads, long Seed,
    ClusterWorkload Workload = ClusterWorkload.Nb201Proxies, string Proxies = ClusterBenchmark.DefaultProxies, int? Batch = null)
{
    public int BatchOrDefault => Batch ?? (Workload == ClusterWorkload.MlpEigen ? ClusterBenchmark.MlpEigenBatch : 64);

    public void Validate()
    {
        if (Silos.Count == 0 || Silos.Any(s => s < 1)) throw new SettingException("--silos: give cluster sizes of at least 1, e.g. 1,2.");
        if (Items < 1) throw new SettingException($"--items {Items}: must be at least 1.");
        if (Threads < 1) throw new SettingException($"--threads {Threads}: must be at least 1.");
        if (Batch is < 2) throw new SettingException($"--batch {Batch}: must be at least 2.");
        if (!Enum.IsDefined(Workload)) throw new ArgumentOutOfRangeException(nameof(Workload), Workload, "Unknown workload.");
    }
}

/// <param name="ItemsPerSilo">Timed items computed by each silo (by silo address), or by each control process.</param>
/// <param name="ComputeCpuSecondsPerItem">CPU seconds of the threads that compute items (each silo's or control process's
/// compute thread and the libtorch threads it starts), per item: it rises with the number of silos when the cores slow each
/// other's compute.</param>
/// <param name="OtherSiloCpuSecondsPerItem">CPU seconds of the silo (or control) processes' other threads (runtime, Orleans) per item.</param>
/// <param name="CoordinatorCpuSecondsPerItem">CPU seconds of this process per item while a cluster computes: the coordinator's
/// Orleans client and dispatch; 0 for the control.</param>
public sealed record ClusterSizeResult(int Silos, int Items, double Seconds, double ItemsPerSecond, IReadOnlyDictionary<string, int> ItemsPerSilo,
    double ComputeCpuSecondsPerItem, double OtherSiloCpuSecondsPerItem, double CoordinatorCpuSecondsPerItem);

/// <param name="Workload">nb201-proxies or mlp-eigen.</param>
/// <param name="Speedup">Items per second of each cluster size over the first size's, measured in this run.</param>
/// <param name="Control">The timed items computed without Orleans by 1, 2, … plain processes at once (as many as the silos of
/// each size), each computing every timed item: the machine's ceiling for this workload.</param>
/// <param name="ControlSpeedup">The control's items per second of each process count over one process's.</param>
/// <param name="StoreWritesPerSecond">Results the coordinator's store commits per second (one transaction each, as a run
/// journals them), measured on this machine in this run: the ceiling of a single coordinator's intake.</param>
/// <param name="RecordBytes">Mean size of a journaled record (JSON).</param>
public sealed record ClusterBenchmarkOutput(string Workload, IReadOnlyList<ClusterSizeResult> Sizes, IReadOnlyDictionary<int, double> Speedup,
    IReadOnlyList<ClusterSizeResult> Control, IReadOnlyDictionary<int, double> ControlSpeedup,
    double StoreWritesPerSecond, double RecordBytes, double RequestBytes, int Threads, int Batch, string Proxies, string ItemDescription);

/// <summary>
/// Items per second of a cluster of 1, 2, … silos on this machine, side by side in one run, with the same items computed
/// without Orleans by as many plain processes (the machine's ceiling), the CPU time each spends per item, and the
/// coordinator's store write rate. Each size gets a fresh cluster; a warm-up of two items per silo (each silo loads the
/// dataset and draws the fixed batch once) is not timed. A cluster of n silos computes the timed items n times over (each
/// copy under a key of its own), as n control processes each compute every timed item: both do the same work, and a
/// cluster's last items, when some silos already idle, weigh as little as the control's slowest process.
/// </summary>
public static class ClusterBenchmark
{
    public const string DefaultProxies = "params,grad_norm,snip,naswot,synflow";
    /// <summary>The mlp-eigen workload's sizes, chosen on the control (the machine's ceiling), never on the cluster's ratio: the
    /// smallest width tried (32, 64, 128) whose control threads' CPU per item did not rise from one thread to two; with at most
    /// about 7,700 parameters its 32-row float32 Jacobian is at most about 1 MB, a core's L2 cache; enough initialisations
    /// for an item of about a second.</summary>
    public const int MlpEigenWidth = 32, MlpEigenBatch = 32, MlpEigenInitializations = 256;

    /// <summary>
    /// The environment of every silo and control process: .NET's tiered compilation off, so each method is compiled once,
    /// fully optimised, during the untimed start-up and warm-up. With it on, a silo recompiled its hot code (Orleans' and the
    /// runtime's as well as NasSharp's) during the first timed items: 2–3 CPU seconds per silo process, measured as CPU
    /// outside the compute thread, which with two silos on two cores came out of the other silo's compute (a plain process
    /// spent under 1 s). A real run amortises that over its thousands of items; a benchmark of a few dozen would not.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ProcessEnvironment = new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" };

    private static readonly (ClusterWorkload Workload, string Name)[] Names = [(ClusterWorkload.Nb201Proxies, "nb201-proxies"), (ClusterWorkload.MlpEigen, "mlp-eigen")];

    public static string KnownWorkloads => string.Join("|", Names.Select(n => n.Name));

    public static string Name(this ClusterWorkload workload) => Names.First(n => n.Workload == workload).Name;

    public static bool TryParseWorkload(string name, out ClusterWorkload workload)
    {
        foreach (var (w, n) in Names)
            if (n == name) { workload = w; return true; }
        workload = default;
        return false;
    }

    /// <summary>The workload's experiment and its first <paramref name="count"/> items, from the seed, with a line saying what an item is.</summary>
    public static (DispatchedExperiment Experiment, IReadOnlyList<ItemWork> Items, string Description) Workload(ClusterBenchmarkConfig config, int count,
        string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        int batch = config.BatchOrDefault;
        if (config.Workload == ClusterWorkload.MlpEigen)
        {
            var mlp = SpaceRegistry.Default.Create(MlpSpace.Name, new Settings([new("width", $"{MlpEigenWidth}")]));
            var options = new EigenSearchOptions { Candidates = count, TopK = 0, NtkBatch = batch, NtkSeeds = MlpEigenInitializations };
            var search = new SearchConfig(SpaceSpec.Of(mlp), new Data.DataSpec { Dataset = "digits" }, EigenSearch.StrategyName, options);
            var candidates = Candidates.Sample(mlp, count, config.Seed);
            return (new DispatchedExperiment(ExperimentKind.Search, NasJson.Serialize(search), config.Seed),
                [.. candidates.Select((g, i) => new ItemWork($"score/{i}", NasJson.Serialize(new CandidateItem(i, g.Canonical))))],
                $"an eigen-search candidate of the mlp space (depth 3, width {MlpEigenWidth}) on digits: λ_min of the empirical NTK " +
                $"(NTK parameterisation, sum of logits) on {batch} inputs, averaged over {MlpEigenInitializations} initialisations");
        }
        var space = SpaceRegistry.Default.Create(Nb201Space.Name);
        var truth = space.GroundTruth(dataDirectory) ?? throw new SettingException("bench cluster --workload nb201-proxies needs the NAS-Bench-201 table in the data directory.");
        var sampled = truth.Sample(count, Seeds.Rng(config.Seed, "cluster-bench"));
        var correlation = new CorrelationConfig(SpaceSpec.Of(space), new Data.DataSpec { Dataset = "cifar10", TrainSize = "2000" }, count,
            config.Proxies.Split(','), batch, ["cifar10"], null);
        return (new DispatchedExperiment(ExperimentKind.Correlate, NasJson.Serialize(correlation), config.Seed),
            [.. sampled.Select((e, i) => new ItemWork($"arch/{i}/cifar10",
                NasJson.Serialize(new CorrelationItem(i, e.Arch.Canonical, "cifar10", 10, e.TestAccuracyPercent["cifar10"]))))],
            $"a NAS-Bench-201 cell scored on CIFAR-10 by {config.Proxies} on one fixed batch of {batch}");
    }

    public static ClusterBenchmarkOutput Run(ClusterBenchmarkConfig config, IReadOnlyList<string> nas, string dataDirectory,
        IProgress<ExperimentProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        int warmUp = 2 * config.Silos.Max();
        var (experiment, items, description) = Workload(config, warmUp + config.Items, dataDirectory);
        var timed = items.Skip(warmUp).ToList();

        var sizes = new List<ClusterSizeResult>();
        var records = new List<string>();
        foreach (int count in config.Silos)
        {
            string label = $"{count} silo{(count == 1 ? "" : "s")}";
            progress?.Report(new ExperimentProgress("clusters", sizes.Count, config.Silos.Count, $"starting {label}"));
            using var silos = new LocalSilos(nas, count, config.Threads, dataDirectory, environment: ProcessEnvironment);
            using var client = ClusterHosting.ConnectClient(silos.Address, cancellation).GetAwaiter().GetResult();
            var dispatcher = new ClusterDispatcher(client.Services.GetRequiredService<IClusterClient>());
            foreach (var _ in dispatcher.Run(experiment, items.Take(2 * count).ToList(), cancellation)) { }
            var (siloCpu, coordinatorCpu) = (silos.Cpu(SiloWorker.ThreadName), Process.GetCurrentProcess().TotalProcessorTime);
            var work = Enumerable.Range(0, count).SelectMany(copy => timed.Select(item => item with { Key = $"{item.Key}#{copy}" })).ToList();
            var clock = Stopwatch.StartNew();
            var perSilo = new Dictionary<string, int>();
            int done = 0;
            foreach (var result in dispatcher.Run(experiment, work, cancellation))
            {
                perSilo[result.Worker] = perSilo.GetValueOrDefault(result.Worker) + 1;
                if (sizes.Count == 0) records.Add(result.RecordJson);
                progress?.Report(new ExperimentProgress(label, ++done, work.Count, result.Worker));
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var silo = silos.Cpu(SiloWorker.ThreadName) - siloCpu;
            var coordinator = Process.GetCurrentProcess().TotalProcessorTime - coordinatorCpu;
            sizes.Add(new ClusterSizeResult(count, work.Count, seconds, work.Count / seconds, perSilo,
                silo.Named.TotalSeconds / work.Count, silo.Rest.TotalSeconds / work.Count, coordinator.TotalSeconds / work.Count));
        }
        var controls = config.Silos.Select(count => Control(config, nas, experiment, items, count, dataDirectory, progress, cancellation)).ToList();
        double request = items.Average(i => i.PayloadJson.Length + i.Key.Length) + experiment.ConfigJson.Length;
        return new ClusterBenchmarkOutput(config.Workload.Name(), sizes, Speedup(sizes), controls, Speedup(controls),
            StoreWritesPerSecond(records), records.Average(r => (double)r.Length), request, config.Threads, config.BatchOrDefault, config.Proxies, description);
    }

    private static Dictionary<int, double> Speedup(IReadOnlyList<ClusterSizeResult> sizes) =>
        sizes.ToDictionary(s => s.Silos, s => s.ItemsPerSecond / sizes[0].ItemsPerSecond);

    /// <summary>
    /// The timed items without Orleans: <paramref name="count"/> plain <c>nas</c> processes (<see cref="ControlWorker"/>), each
    /// warmed up on two items as a silo is, then all started at once on every timed item; items per second are
    /// count × items over the slowest process's time. Processes, as the silos are, each with its own runtime and libtorch.
    /// </summary>
    private static ClusterSizeResult Control(ClusterBenchmarkConfig config, IReadOnlyList<string> nas, DispatchedExperiment experiment,
        IReadOnlyList<ItemWork> items, int count, string dataDirectory, IProgress<ExperimentProgress>? progress, CancellationToken cancellation)
    {
        string label = $"control, {count} process{(count == 1 ? "" : "es")}";
        progress?.Report(new ExperimentProgress(label, 0, count, "starting"));
        int warmUp = 2 * config.Silos.Max();
        var folder = Directory.CreateTempSubdirectory("nassharp-bench-control-").FullName;
        var workers = new List<Process>();
        try
        {
            var request = Path.Combine(folder, "request.json");
            File.WriteAllText(request, NasJson.Serialize(new ControlRequest(experiment, [.. items.Take(2)], [.. items.Skip(warmUp)])));
            for (int p = 0; p < count; p++)
                workers.Add(LocalSilos.StartNas(nas, ["cluster", "control-worker", "--request", request, "--threads", $"{config.Threads}", "--data-dir", dataDirectory],
                    ProcessEnvironment, redirectInput: true));
            foreach (var w in workers) ReadLine(w, ControlWorker.Ready, cancellation);
            foreach (var w in workers) { w.StandardInput.WriteLine("go"); w.StandardInput.Flush(); }
            var reports = workers.Select(w => NasJson.Deserialize<ControlReport>(ReadLine(w, "{", cancellation))).ToList();
            progress?.Report(new ExperimentProgress(label, count, count, "done"));
            int timed = items.Count - warmUp;
            double seconds = reports.Max(r => r.Seconds);
            return new ClusterSizeResult(count, count * timed, seconds, count * timed / seconds,
                reports.Select((r, p) => (p, r)).ToDictionary(x => $"process {x.p}", _ => timed),
                reports.Sum(r => r.ComputeCpuSeconds) / (count * timed), reports.Sum(r => r.OtherCpuSeconds) / (count * timed), 0);
        }
        finally
        {
            foreach (var w in workers)
            {
                try { if (!w.HasExited) w.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                w.Dispose();
            }
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The worker's next line that starts with <paramref name="prefix"/>; its error line if it stops first.</summary>
    private static string ReadLine(Process worker, string prefix, CancellationToken cancellation)
    {
        while (!cancellation.IsCancellationRequested)
        {
            var line = worker.StandardOutput.ReadLine();
            if (line is null)
            {
                worker.WaitForExit();
                var error = worker.StandardError.ReadToEnd().Split('\n').FirstOrDefault(l => l.StartsWith("error", StringComparison.Ordinal));
                throw new ClusterException($"a control process exited with code {worker.ExitCode}: {error ?? "no error output"}");
            }
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
        }
        throw new OperationCanceledException(cancellation);
    }

    /// <summary>Commits the records (repeated to at least 500) one transaction each into a fresh store, as a run's journal does.</summary>
    private static double StoreWritesPerSecond(IReadOnlyList<string> records)
    {
        var folder = Directory.CreateTempSubdirectory("nassharp-bench-store-").FullName;
        try
        {
            using var store = ResultsStore.Open(Path.Combine(folder, "results.db"));
            var run = store.StartRun(new RunSpec("correlate", "nas bench cluster", new { }, 0, new Dictionary<string, string>(), null));
            int writes = Math.Max(500, records.Count);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < writes; i++) store.AddResult(run.Id, new ResultRecord($"arch/{i}", records[i % records.Count]));
            return writes / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>What a control process computes: an experiment, its warm-up items and its timed items.</summary>
public sealed record ControlRequest(DispatchedExperiment Experiment, IReadOnlyList<ItemWork> WarmUp, IReadOnlyList<ItemWork> Items);

/// <summary>A control process's timed span: wall seconds, and CPU seconds of its compute thread and of the rest of the process.</summary>
public sealed record ControlReport(double Seconds, double ComputeCpuSeconds, double OtherCpuSeconds);

/// <summary>
/// One process of <c>nas bench cluster</c>'s control (<c>nas cluster control-worker</c>): computes a <see cref="ControlRequest"/>
/// as a silo would (the same scorer, on a compute thread of its own with the process's libtorch thread count), without
/// Orleans. It warms up, writes <see cref="Ready"/>, waits for a line on its input so that every process starts at once, times
/// the items and writes its <see cref="ControlReport"/> as one JSON line. Only time is reported; the records are the same
/// as a silo's.
/// </summary>
public static class ControlWorker
{
    public const string Ready = "ready";
    public const string ThreadName = "nas-control";

    public static void Run(string requestPath, string dataDirectory, int threads, TextReader input, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        var request = NasJson.Deserialize<ControlRequest>(File.ReadAllText(requestPath));
        ControlReport? report = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                TorchSharp.torch.set_num_threads(threads);  // per thread in libtorch (OpenMP, MKL): see WorkerSettings.Threads
                using var scorer = ItemScorers.Create(request.Experiment, dataDirectory, SpaceRegistry.Default, TorchSharp.torch.CPU);
                foreach (var item in request.WarmUp) scorer.Score(item.PayloadJson);
                output.WriteLine(Ready);
                output.Flush();
                input.ReadLine();
                var self = Process.GetCurrentProcess();
                var before = ProcessCpu.Of(self, ThreadName);
                var clock = Stopwatch.StartNew();
                foreach (var item in request.Items) scorer.Score(item.PayloadJson);
                double seconds = clock.Elapsed.TotalSeconds;
                var cpu = ProcessCpu.Of(self, ThreadName) - before;
                report = new ControlReport(seconds, cpu.Named.TotalSeconds, cpu.Rest.TotalSeconds);
            }
            catch (Exception e) { failure = e; }
        }) { Name = ThreadName };
        thread.Start();
        thread.Join();
        if (failure is not null) throw new ClusterException($"the control could not compute an item: {failure.GetType().Name}: {failure.Message.Split('\n')[0]}");
        output.WriteLine(NasJson.Serialize(report));
    }
}
