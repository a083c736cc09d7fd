using NasSharp.Store;

namespace NasSharp.Experiments;

/// <summary>
/// An experiment as a run of the results store. The run is found again by its key (kind, seed and configuration), so the
/// same command after an interruption resumes it, and each finished item is committed through the run's journal as it is
/// produced. A run still written by a live process is not resumed: its process holds the run's lock
/// (<see cref="RunLock"/>), and a second identical command stops with an error instead of writing into it. A run is
/// resumed only by the build of NasSharp and with the libtorch thread count it was started with (other code, or another
/// thread count, can change results, and one run must not mix them), and a usage mistake never becomes a run.
/// </summary>
public sealed class ExperimentRun : IDisposable
{
    private readonly ResultsStore store;
    private readonly RunLock runLock;
    private readonly CancellationToken cancellation;
    private bool finished;

    private ExperimentRun(ResultsStore store, Run run, RunLock runLock, CancellationToken cancellation)
    {
        this.store = store;
        this.runLock = runLock;
        this.cancellation = cancellation;
        RunId = run.Id;
        Resumed = run.Resumed;
        ResultCount = run.ResultCount;
        Journal = new StoreJournal(store, run.Id);
    }

    public long RunId { get; }
    public bool Resumed { get; }
    /// <summary>Items stored before this attempt.</summary>
    public int ResultCount { get; }
    public IRunJournal Journal { get; }
    public string StorePath => store.FilePath;

    /// <summary>
    /// Opens the store at <paramref name="storePath"/> and resumes the unfinished run with the experiment's key, or starts
    /// one. <paramref name="resumable"/> false always starts a new run (a quick command that is simply rerun).
    /// </summary>
    public static ExperimentRun Start(string storePath, ExperimentKind kind, object config, long seed, string command,
        bool resumable = true, CancellationToken cancellation = default)
    {
        var store = ResultsStore.Open(storePath);
        try
        {
            string kindName = KindName(kind);
            var versions = Versions();
            var spec = new RunSpec(kindName, command, config, seed, versions, resumable ? RunSpec.DeriveKey(kindName, config, seed) : null);
            if (spec.Key is { } key && store.FindResumable(key) is { } unfinished)
                RequireSameVersions(unfinished, versions, store.FilePath);
            var run = resumable ? store.GetOrStartRun(spec) : store.StartRun(spec);
            // A "running" run may be a crashed one (resume it) or a live one in another process (leave it alone, and do
            // not mark it failed on the way out: that would stop the other process's writes).
            var runLock = RunLock.TryAcquire(store.FilePath, run.Id)
                ?? throw new StoreException($"Run {run.Id} in '{store.FilePath}' is being written by another process running the same " +
                    "command. Wait for it to finish (rerunning the command then resumes or repeats it), or use another --store.");
            if (store.GetRun(run.Id)?.Status != RunStatus.Running)
            {
                // The other process finished it between our resume and our lock.
                runLock.Dispose();
                throw new StoreException($"Run {run.Id} in '{store.FilePath}' was finished by another process just now; rerun the command.");
            }
            return new ExperimentRun(store, run, runLock, cancellation);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="experiment"/> in a stored run of its own and completes the run with its output. A usage mistake
    /// the configuration shows is refused before the run is stored (<see cref="IExperiment{TOutput}.Validate"/>).
    /// </summary>
    public static TOutput Execute<TOutput>(IExperiment<TOutput> experiment, string storePath, string command, ExperimentContext context,
        bool resumable = true, Action<ExperimentRun>? started = null) where TOutput : notnull
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(context);
        experiment.Validate();
        if (context.Dispatcher is not null) experiment.ValidateDispatch();
        using var run = Start(storePath, experiment.Kind, experiment.Config, experiment.Seed, command, resumable, context.Cancellation);
        started?.Invoke(run);
        TOutput output;
        try
        {
            output = experiment.Run(context with { Journal = run.Journal, RunId = run.RunId, Resumed = run.Resumed });
        }
        catch (Exception e) when (!context.Cancellation.IsCancellationRequested)
        {
            run.Fail(e);
            throw;
        }
        run.Complete(output);
        return output;
    }

    /// <summary>
    /// The versions a resume must share with the run it resumes, in the order they are checked, each with the refusal
    /// that follows "Run N in 'store' " (given the stored value and this process's). A resumed run must give what an
    /// uninterrupted one gives: another build can change an item's result, and results of another libtorch thread count
    /// or of CPU kernels of another instruction set (another kind of CPU, or a cap such as <c>DNNL_MAX_CPU_ISA</c>) differ
    /// in their last digits, so one run must not mix them.
    /// </summary>
    private static readonly (string Key, Func<string, string, string> Refusal)[] ResumeRequires =
    [
        (BuildVersion, (stored, now) => $"was started by NasSharp {stored} and this is {now}; a run does not " +
            "mix results of two builds. Finish it with the build that started it, or use another --store to start afresh."),
        (ThreadsVersion, (stored, now) => $"was started with {stored} libtorch thread{(stored == "1" ? "" : "s")} and this command " +
            $"uses {now}; results of different thread counts differ in their last digits, so they are not mixed in one run. " +
            $"Rerun with --threads {stored} to resume it, or use another --store."),
        (CpuKernelsVersion, (stored, now) => $"was started on {stored} CPU kernels and this process runs {now}; " +
            "they round differently, so their results are not mixed in one run. Resume it on a machine of the first kind " +
            "(with the same instruction-set variables), or use another --store."),
    ];

    /// <summary>Refuses to resume <paramref name="run"/> under versions other than it was started with (<see cref="ResumeRequires"/>); a
    /// version the run was stored without passes.</summary>
    private static void RequireSameVersions(RunInfo run, IReadOnlyDictionary<string, string> now, string storePath)
    {
        foreach (var (key, refusal) in ResumeRequires)
            if (run.Versions.TryGetValue(key, out var stored) && stored != now[key])
                throw new StoreException($"Run {run.Id} in '{storePath}' {refusal(stored, now[key])}");
    }

    private const string ThreadsVersion = "torch_threads";
    private const string CpuKernelsVersion = "cpu_kernels";
    private const string BuildVersion = "nassharp_build";

    /// <summary>This build: the assembly's informational version (release and source revision when built from git).</summary>
    public static string Build { get; } =
        System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(typeof(Seeds).Assembly)
            ?.InformationalVersion ?? "unknown";

    /// <summary>The store's name of a kind (snake_case, as the JSON dialect writes it).</summary>
    public static string KindName(ExperimentKind kind) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(kind.ToString());

    public static IReadOnlyDictionary<string, string> Versions() => new Dictionary<string, string>
    {
        ["nassharp"] = typeof(Seeds).Assembly.GetName().Version?.ToString(3) ?? "unknown",
        ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3) ?? "unknown",
        ["dotnet"] = Environment.Version.ToString(),
        [ThreadsVersion] = TorchSharp.torch.get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture),
        [CpuKernelsVersion] = Networks.CpuKernels.Describe(),
        [BuildVersion] = Build,
    };

    public void Complete(object output)
    {
        store.CompleteRun(RunId, output);
        finished = true;
    }

    /// <summary>
    /// Closes the run after <paramref name="error"/>. A usage mistake found only while running, on a new run that stored
    /// nothing, is no experiment to keep or resume: the run is discarded. Any other error marks the run failed with the
    /// error's first line, to be resumed once its cause is fixed.
    /// </summary>
    public void Fail(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            if (error is SettingException or Spaces.GenotypeFormatException && !Resumed && store.GetRun(RunId)?.ResultCount == 0)
                store.DiscardRun(RunId);
            else
                store.FailRun(RunId, $"{FirstLine(error.Message)} (fix that, then rerun the same command to resume)");
        }
        catch (StoreException) { }
        finished = true;
    }

    private static string FirstLine(string message) =>
        message.AsSpan().IndexOfAny('\r', '\n') is var end and >= 0 ? message[..end] : message;

    public void Dispose()
    {
        // Not completed: an exception or a cancellation. Mark the run so `nas runs` shows it; a resumable run with the
        // same key is picked up again by the next identical command.
        if (!finished)
        {
            try
            {
                if (cancellation.IsCancellationRequested) store.InterruptRun(RunId);
                else store.FailRun(RunId, "did not complete (an error); rerun the same command to resume");
            }
            catch (StoreException) { }
        }
        store.Dispose();
        runLock.Dispose();
    }
}
