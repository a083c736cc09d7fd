using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NasSharp.Cluster;
using System.CommandLine;
using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Search;
using NasSharp.Spaces;

namespace NasSharp.Cli;

/// <summary>The spaces and strategies a <c>nas</c> command tree offers (tests add a space of their own).</summary>
public sealed record Registries(SpaceRegistry Spaces, StrategyRegistry Strategies)
{
    public static Registries Default { get; } = new(SpaceRegistry.Default, StrategyRegistry.Default);
}

/// <summary>Settings described as data (<see cref="SettingSpec"/>) as command-line options: a flag or <c>--name VALUE</c>.</summary>
public sealed class SettingOptions
{
    private readonly List<(SettingSpec Spec, Option Option)> options = [];

    /// <param name="except">Names the command defines itself (its own meaning wins).</param>
    public SettingOptions(Command cmd, IEnumerable<SettingSpec> specs, IEnumerable<string>? except = null)
    {
        var skip = new HashSet<string>(except ?? []);
        foreach (var spec in specs.Where(s => !skip.Contains(s.Name)))
        {
            string description = spec.Description + (spec.Default is { } d ? $" (default {d})" : "") + ".";
            Option option = spec.IsFlag ? new Option<bool>("--" + spec.Name) { Description = description }
                : new Option<string?>("--" + spec.Name) { Description = description };
            cmd.Options.Add(option);
            options.Add((spec, option));
        }
    }

    /// <summary>The settings given on the command line (defaults are the owner's to apply).</summary>
    public Settings Read(ParseResult pr) => new(options
        .Where(o => pr.GetResult(o.Option) is { Implicit: false })
        .Select(o => new KeyValuePair<string, string?>(o.Spec.Name, o.Option is Option<bool> flag ? (pr.GetValue(flag) ? "true" : "false") : pr.GetValue((Option<string?>)o.Option))));
}

/// <summary><c>--space</c> and every space's settings.</summary>
public sealed class SpaceCliOptions
{
    private readonly SpaceRegistry registry;
    private readonly SettingOptions settings;

    public SpaceCliOptions(Command cmd, SpaceRegistry registry, string defaultSpace = MlpSpace.Name)
    {
        this.registry = registry;
        Space = new Option<string>("--space") { Description = $"Search space: {string.Join(", ", registry.Names)}.", DefaultValueFactory = _ => defaultSpace };
        // Tab completion offers the registered names (the registry, not a fixed list, says which are valid).
        Space.CompletionSources.Add([.. registry.Names]);
        cmd.Options.Add(Space);
        settings = new SettingOptions(cmd, registry.AllSettings());
    }

    public Option<string> Space { get; }

    public SpaceDefinition Definition(ParseResult pr) => registry.Get(pr.GetValue(Space)!);

    public Settings Settings(ParseResult pr) => settings.Read(pr);

    public ISearchSpace Resolve(ParseResult pr) => Definition(pr).CreateFrom(Settings(pr));
}

/// <summary><c>--strategy</c> and every strategy's settings.</summary>
public sealed class StrategyCliOptions
{
    private readonly StrategyRegistry registry;
    private readonly SettingOptions settings;

    public StrategyCliOptions(Command cmd, StrategyRegistry registry, string defaultStrategy, IEnumerable<string>? except = null)
    {
        this.registry = registry;
        Strategy = new Option<string>("--strategy")
        {
            Description = "Search strategy: " + string.Join("; ", registry.Definitions.Select(d => $"{d.Name} ({d.Summary})")) + ".",
            DefaultValueFactory = _ => defaultStrategy,
        };
        Strategy.CompletionSources.Add([.. registry.Definitions.Select(d => d.Name)]);
        cmd.Options.Add(Strategy);
        settings = new SettingOptions(cmd, registry.AllSettings(), except);
    }

    public Option<string> Strategy { get; }

    public ISearchStrategy Resolve(ParseResult pr) => registry.Create(pr.GetValue(Strategy)!, settings.Read(pr));
}

/// <summary>The dataset, split and batch options of a command, as one <see cref="DataSpec"/>.</summary>
public sealed class DataOptions
{
    public DataOptions(Command cmd, string defaultDataset = "fashion-mnist", bool batches = true)
    {
        Dataset = new("--dataset") { Description = $"Dataset: {string.Join(", ", DatasetCatalog.Names)}.", DefaultValueFactory = _ => defaultDataset };
        Dataset.CompletionSources.Add([.. DatasetCatalog.Names]);
        foreach (var o in new Option[] { Dataset, TrainSize, ValidationSize, TestSize }) cmd.Options.Add(o);
        if (batches)
        {
            cmd.Options.Add(Inputs);
            cmd.Options.Add(Labels);
        }
    }

    public Option<string> Dataset { get; }
    public Option<string?> TrainSize { get; } = new("--train-size") { Description = "Stratified subset of the training pool: a count (5000) or a fraction (0.1, 10%)." };
    public Option<string?> ValidationSize { get; } = new("--val-size") { Description = "Validation samples held out of the official training set, stratified (count or fraction; default 5000 for the large sets, 10% for small ones)." };
    public Option<string?> TestSize { get; } = new("--test-size") { Description = "Stratified subset of the test set (count or fraction); sets without an official test split hold out 20% by default." };
    public Option<string> Inputs { get; } = new("--data") { Description = "Inputs of the scoring batches: real (the dataset's) or gaussian (N(0,1) of the same shape: data-agnostic).", DefaultValueFactory = _ => "real" };
    public Option<string> Labels { get; } = new("--labels") { Description = "Labels of the scoring batches: true or random (label-agnostic).", DefaultValueFactory = _ => "true" };

    public DataSpec Spec(ParseResult pr, string? dataset = null)
    {
        var spec = new DataSpec
        {
            Dataset = dataset ?? pr.GetValue(Dataset)!,
            TrainSize = pr.GetValue(TrainSize),
            ValidationSize = pr.GetValue(ValidationSize),
            TestSize = pr.GetValue(TestSize),
            Inputs = Settings.Empty.With("data", pr.GetValue(Inputs)).Choice("data", InputKind.Real, ("real", InputKind.Real), ("gaussian", InputKind.Gaussian)),
            Labels = Settings.Empty.With("labels", pr.GetValue(Labels)).Choice("labels", LabelKind.True, ("true", LabelKind.True), ("random", LabelKind.Random)),
        };
        spec.Validate();
        return spec;
    }

    /// <summary>The data of <paramref name="spec"/>, loaded on first use with a progress line.</summary>
    public static ExperimentData Load(ParseResult pr, CliConsole console, DataSpec spec, long seed) =>
        new(spec, DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path, seed, console.LoadingProgress(spec.Dataset));

    public bool GivenDataset(ParseResult pr) => pr.GetResult(Dataset) is { Implicit: false };
}

/// <summary>Runs an experiment as a stored run with a progress display, and writes its output.</summary>
public static class ExperimentCli
{
    /// <summary>The seed option every command that draws random numbers takes.</summary>
    public static Option<long> NewSeed() => new("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => 0 };

    /// <summary>
    /// <c>--cluster</c>, for a command whose experiment's items a cluster can compute (<see cref="ItemScorers"/>): the
    /// command becomes the run's coordinator and stores each result in its own store as it arrives.
    /// </summary>
    public static Option[] NewClusterOptions() =>
    [
        new Option<string?>("--cluster")
        {
            Description = "Compute the items on an Orleans cluster: 'localhost' (silos on this machine, default ports), the silos' gateways " +
                "HOST:PORT[,HOST:PORT...], or redis:CONNECTION (silos started with --redis); start silos with 'nas cluster silo'. Results are stored here as they arrive; rerun the same command to resume.",
        },
        NewClusterId(),
    ];

    /// <summary>The cluster's name, shared by its silos and coordinators.</summary>
    public static Option<string> NewClusterId() => new("--cluster-id")
    {
        Description = "The cluster's name; silos and coordinators of one cluster share it.",
        DefaultValueFactory = _ => ClusterAddress.DefaultClusterId,
    };

    /// <returns>The output; written as JSON with --json, else by <paramref name="render"/>.</returns>
    public static T Run<T>(ParseResult pr, CliConsole console, IExperiment<T> experiment, Action<T> render, bool resumable = true) where T : notnull
    {
        var path = pr.GetValue(GlobalOptions.Store) ?? NasSharp.Store.ResultsStore.DefaultPath();
        var command = "nas " + string.Join(' ', pr.Tokens.Select(t => t.Value));
        var title = ExperimentRun.KindName(experiment.Kind);
        var context = new ExperimentContext { Device = GlobalOptions.ResolveDevice(pr), Cancellation = console.Cancellation };
        using var cluster = Connect(pr, experiment, console.Cancellation);
        var output = console.WithProgress(title, progress => ExperimentRun.Execute(experiment, path, command,
            context with
            {
                Progress = progress,
                Dispatcher = cluster is null ? null : new ClusterDispatcher(cluster.Services.GetRequiredService<IClusterClient>(), progress: new SyncProgress<DispatchStatus>(s =>
                    progress.Report(new ExperimentProgress("in flight", s.Done, s.Total,
                        s.InFlight.Count == 0 ? "none" : string.Join(", ", s.InFlight.Select(kv => $"{kv.Key}: {kv.Value}")))))),
            },
            resumable,
            run => { if (run.Resumed) console.Error.WriteLine($"resuming run {run.RunId}: {run.ResultCount} results already stored"); }));
        if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
        else render(output);
        return output;
    }

    /// <summary>The cluster client of <c>--cluster</c>, connected; null when the command has no such option or it is not given.</summary>
    private static IHost? Connect<T>(ParseResult pr, IExperiment<T> experiment, CancellationToken cancellation)
    {
        var options = pr.CommandResult.Command.Options;
        var option = options.OfType<Option<string?>>().FirstOrDefault(o => o.Name == "--cluster");
        if (option is null || pr.GetValue(option) is not { } text) return null;
        string clusterId = pr.GetValue(options.OfType<Option<string>>().First(o => o.Name == "--cluster-id"))!;
        // A run a cluster cannot compute is refused before the cluster is looked for.
        try { experiment.ValidateDispatch(); }
        catch (SettingException e) { throw new UsageException(e.Message); }
        return ClusterHosting.ConnectClient(ClusterAddress.Parse(text, clusterId), cancellation).GetAwaiter().GetResult();
    }
}

/// <summary>An IProgress that reports synchronously on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
