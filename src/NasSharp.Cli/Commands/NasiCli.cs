using System.CommandLine;
using NasSharp.Benchmarks;
using NasSharp.Networks;
using NasSharp.Search.Nasi;
using NasSharp.Spaces;
using Spectre.Console;
using TorchSharp;

namespace NasSharp.Cli.Commands;

/// <summary>The options and action of <c>nas search --strategy nasi</c>.</summary>
public sealed class NasiCli
{
    public Option<int> Steps { get; } = new("--steps") { Description = "nasi: T, the number of Gumbel samples.", DefaultValueFactory = _ => 100 };
    public Option<int> Batch { get; } = new("--batch") { Description = "nasi: b, the batch of the trace-norm approximation.", DefaultValueFactory = _ => 64 };
    public Option<double> Mu { get; } = new("--mu") { Description = "nasi: μ, the penalty slope above ν.", DefaultValueFactory = _ => 2 };
    public Option<double?> Nu { get; } = new("--nu") { Description = "nasi: fixed ν (NASI-FIX; default 100)." };
    public Option<double?> NuAdaptive { get; } = new("--nu-adaptive") { Description = "nasi: adaptive ν starting at this value (NASI-ADA, e.g. 500)." };
    public Option<double> Xi { get; } = new("--xi") { Description = "nasi: ξ, the step size of Δ*.", DefaultValueFactory = _ => 1 };
    public Option<double> Tau { get; } = new("--tau") { Description = "nasi: the Gumbel-softmax temperature τ.", DefaultValueFactory = _ => new NasiOptions().Temperature };
    public Option<string> Gumbel { get; } = new("--gumbel") { Description = "nasi: soft (mix every operation with its Gumbel-softmax weight) or hard (straight-through: the forward pass is the sampled discrete architecture).", DefaultValueFactory = _ => GumbelName(new NasiOptions().Hard) };
    public Option<string> Labels { get; } = new("--labels") { Description = "nasi: true or random labels (label-agnostic search).", DefaultValueFactory = _ => "true" };
    public Option<string> Data { get; } = new("--data") { Description = "nasi: real images or gaussian inputs (data-agnostic search).", DefaultValueFactory = _ => "real" };
    public Option<int> Channels { get; } = new("--channels") { Description = "nasi: channels C of the supernet's first stage (NB201 and DARTS: 16).", DefaultValueFactory = _ => 16 };
    public Option<int?> Cells { get; } = new("--cells") { Description = "nasi: nb201 cells per stage (default 5) or darts cells in all (default 5)." };

    /// <summary>The supernet's parameterisation: the command's own <c>--parameterization</c> when it has one (nas search), else NASI's.</summary>
    public Option<Parameterization> Parameterization { get; }

    public NasiCli(Command cmd, Option<Parameterization>? parameterization = null)
    {
        foreach (var o in new Option[] { Steps, Batch, Mu, Nu, NuAdaptive, Xi, Tau, Gumbel, Labels, Data, Channels, Cells }) cmd.Options.Add(o);
        if (parameterization is null)
        {
            parameterization = new("--parameterization") { Description = "nasi: the supernet's parameterisation, ntk (the paper's) or standard.", DefaultValueFactory = _ => new NasiOptions().Parameterization };
            cmd.Options.Add(parameterization);
        }
        Parameterization = parameterization;
    }

    public NasiOptions Resolve(ParseResult pr, long seed)
    {
        if (pr.GetValue(Nu) is not null && pr.GetValue(NuAdaptive) is not null) throw new UsageException("Use either --nu (fixed ν) or --nu-adaptive (ν₀), not both.");
        var options = new NasiOptions
        {
            Steps = pr.GetValue(Steps),
            BatchSize = pr.GetValue(Batch),
            Mu = pr.GetValue(Mu),
            Nu = pr.GetValue(NuAdaptive) ?? pr.GetValue(Nu) ?? 100,
            AdaptiveNu = pr.GetValue(NuAdaptive) is not null,
            Xi = pr.GetValue(Xi),
            Temperature = pr.GetValue(Tau),
            // An implicit --parameterization is the command's default for other strategies, not NASI's.
            Parameterization = pr.GetResult(Parameterization) is { Implicit: false } ? pr.GetValue(Parameterization) : new NasiOptions().Parameterization,
            Hard = IsHard(pr.GetValue(Gumbel)),
            Labels = pr.GetValue(Labels) switch { "true" => NasiLabels.True, "random" => NasiLabels.Random, var v => throw new UsageException($"--labels {v}: use true or random.") },
            Data = pr.GetValue(Data) switch { "real" => NasiData.Real, "gaussian" => NasiData.Gaussian, var v => throw new UsageException($"--data {v}: use real or gaussian.") },
            Seed = seed,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
        return options;
    }

    /// <summary>The value of a <c>--gumbel</c> option: soft or hard (straight-through).</summary>
    public static bool IsHard(string? gumbel) => gumbel switch
    {
        "soft" => false,
        "hard" => true,
        var v => throw new UsageException($"--gumbel {v}: use soft or hard."),
    };

    /// <summary>The <c>--gumbel</c> value of a setting (the inverse of <see cref="IsHard"/>).</summary>
    public static string GumbelName(bool hard) => hard ? "hard" : "soft";

    /// <summary>The supernet of the space at initialisation (seeded right before it is built).</summary>
    public RelaxedSupernet BuildSupernet(ParseResult pr, string space, int inputChannels, int classes, long seed, torch.Device device, NasiOptions options)
    {
        int channels = pr.GetValue(Channels);
        if (channels < 1) throw new UsageException($"--channels {channels}: must be positive.");
        torch.random.manual_seed(Seeds.Derive(seed, "nasi-supernet"));
        RelaxedSupernet supernet = space switch
        {
            Nb201Space.Name => new Nb201Supernet(inputChannels, classes,
                new Nb201NetworkOptions { Channels = channels, CellsPerStage = pr.GetValue(Cells) ?? 5, Affine = false, TrackRunningStats = false }, device),
            DartsSpace.Name => new DartsSupernet(inputChannels, classes, new DartsNetworkOptions { Channels = channels, Layers = pr.GetValue(Cells) ?? 5 }, device),
            _ => throw new UsageException($"--strategy nasi searches the nb201 and darts cell spaces (got --space {space})."),
        };
        if (options.Parameterization == NasSharp.Networks.Parameterization.Ntk) supernet.UseNtkParameterization();
        return supernet;
    }

    /// <summary>
    /// Runs NASI on the supernet with a progress bar over the steps, storing each step in the run (key <c>step/T</c>), so a
    /// killed search resumes at its next step with the same result.
    /// </summary>
    public static NasiResult Search(CliConsole console, RelaxedSupernet supernet, NasSharp.Data.LabeledDataset? data, long[] sampleShape, int classes,
        NasiOptions options, torch.Device device, RunRecorder recorder)
    {
        var source = new BatchSource(data, sampleShape, classes, options, device);
        return console.WithProgress("nasi", sink =>
        {
            var task = sink.Task($"{options.Steps} Gumbel samples", options.Steps);
            return NasiSearch.Run(supernet, source.Batch, options,
                new SyncProgress<NasiStep>(st => task.Report(st.Step, $"trace norm {st.TraceNorm:G4}")), console.Cancellation, new StoreNasiJournal(recorder));
        });
    }

    /// <param name="argmax">On NB201: the plain argmax of the same Δ*, none allowed, and its table accuracies.</param>
    public static NasiOutput Output(NasiResult r, string space, string dataset, NasiOptions o, long? runId, bool resumed, Nb201Accuracies? nb201,
        (string Arch, Nb201Accuracies Accuracies)? argmax = null)
    {
        var alpha = r.Groups.Select((g, i) => new GroupOutput(g.Name, Enumerable.Range(0, g.Edges).Select(e =>
            g.Operations.Select((op, k) => (op, k)).ToDictionary(x => x.op, x => r.Probabilities[i][e, x.k])).ToArray())).ToArray();
        return new NasiOutput(runId, resumed, space, dataset, o.AdaptiveNu ? "nasi-ada" : "nasi-fix", r.Architecture.Canonical, r.Seconds, alpha,
            Nb201Output.Of(nb201),
            TraceSummary.Of(r),
            o.Steps, o.BatchSize, o.Mu, o.Nu, o.AdaptiveNu, o.Xi, o.Temperature, GumbelName(o.Hard), o.Parameterization.ToString().ToLowerInvariant(), o.Labels.ToString().ToLowerInvariant(), o.Data.ToString().ToLowerInvariant(), o.Seed,
            argmax?.Arch, Nb201Output.Of(argmax?.Accuracies));
    }

    public static void Render(CliConsole console, NasiOutput o)
    {
        var table = new Table().Title($"{o.Strategy} on {Markup.Escape(o.Space)} ({Markup.Escape(o.Dataset)}, labels {o.Labels}, data {o.Data}): α after the step, as probabilities")
            .AddColumn("group").AddColumn("edge");
        var ops = o.Alpha[0].Edges[0].Keys.ToArray();
        foreach (var op in ops) table.AddColumn(new TableColumn(Markup.Escape(op)).RightAligned());
        foreach (var g in o.Alpha)
            for (int e = 0; e < g.Edges.Length; e++)
            {
                double best = g.Edges[e].Values.Max();
                table.AddRow([g.Name, e.ToString(), .. ops.Select(op => g.Edges[e][op] == best ? $"[bold]{g.Edges[e][op]:F4}[/]" : $"{g.Edges[e][op]:F4}")]);
            }
        console.Ansi.Write(table);
        console.Out.WriteLine($"arch: {o.Arch}");
        console.Out.WriteLine($"trace norm of the sampled architectures: min {o.TraceNorm.Min:G4}, mean {o.TraceNorm.Mean:G4}, max {o.TraceNorm.Max:G4}; final ν {o.TraceNorm.FinalNu:G4}");
        if (o.Nb201 is { } a) console.Out.WriteLine($"NAS-Bench-201 test accuracy: cifar10 {a.Cifar10:F2}, cifar100 {a.Cifar100:F2}, imagenet16 {a.ImageNet16:F2}");
        if (o.ArchArgmax is { } n && o.Nb201Argmax is { } b && n != o.Arch)
            console.Out.WriteLine($"argmax with none: {n}, cifar10 {b.Cifar10:F2}, cifar100 {b.Cifar100:F2}, imagenet16 {b.ImageNet16:F2}");
        console.Out.WriteLine($"search {o.SearchSeconds:F1} s (run {o.RunId})");
    }

    public sealed record GroupOutput(string Name, IReadOnlyDictionary<string, double>[] Edges);

    public sealed record Nb201Output(double Cifar10, double Cifar100, [property: System.Text.Json.Serialization.JsonPropertyName("imagenet16")] double ImageNet16)
    {
        /// <summary>The table's three test accuracies, or null without a cell.</summary>
        public static Nb201Output? Of(Nb201Accuracies? a) => a is null ? null : new(a.Cifar10Test, a.Cifar100Test, a.ImageNet16Test);
    }

    public sealed record TraceSummary(double Min, double Mean, double Max, double FinalNu)
    {
        /// <summary>The trace norms of the search's sampled architectures and the ν of its last step.</summary>
        public static TraceSummary Of(NasiResult r)
        {
            var traces = r.Steps.Select(s => s.TraceNorm).ToArray();
            return new TraceSummary(traces.Min(), traces.Average(), traces.Max(), r.Steps[^1].Nu);
        }
    }

    public sealed record NasiOutput(
        long? RunId, bool Resumed, string Space, string Dataset, string Strategy, string Arch, double SearchSeconds, GroupOutput[] Alpha,
        Nb201Output? Nb201, TraceSummary TraceNorm, int Steps, int Batch, double Mu, double Nu, bool NuAdaptive, double Xi, double Tau,
        string Gumbel, string Parameterization, string Labels, string Data, long Seed, string? ArchArgmax = null, Nb201Output? Nb201Argmax = null);
}

/// <summary>NASI steps in the results store: key <c>step/T</c>, the trace norm, R, ν, ‖G‖ and G_t's entries as g/K.</summary>
public sealed class StoreNasiJournal : INasiJournal
{
    private readonly RunRecorder recorder;
    private readonly Dictionary<string, NasSharp.Store.ResultRecord> existing;

    public StoreNasiJournal(RunRecorder recorder)
    {
        this.recorder = recorder;
        existing = recorder.Results().ToDictionary(r => r.Record.ItemKey, r => r.Record);
    }

    public NasiStepRecord? Find(int step)
    {
        if (!existing.TryGetValue($"step/{step}", out var r)) return null;
        var gradient = r.Scores.Where(kv => kv.Key.StartsWith("g/", StringComparison.Ordinal))
            .OrderBy(kv => int.Parse(kv.Key[2..], System.Globalization.CultureInfo.InvariantCulture)).Select(kv => kv.Value).ToArray();
        return new NasiStepRecord(new NasiStep(step, r.Scores["trace_norm"], r.Scores["objective"], r.Scores["nu"], r.Scores["gradient_norm"]), gradient);
    }

    public void Record(NasiStepRecord record)
    {
        var scores = new Dictionary<string, double?>
        {
            ["trace_norm"] = record.Step.TraceNorm, ["objective"] = record.Step.Objective, ["nu"] = record.Step.Nu, ["gradient_norm"] = record.Step.GradientNorm,
        };
        for (int k = 0; k < record.Gradient.Length; k++) scores[$"g/{k}"] = record.Gradient[k];
        recorder.AddResult($"step/{record.Step.Step}", null, scores, new());
    }
}
