using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>
/// NASI as a strategy: the space's relaxed supernet (<see cref="Spaces.IRelaxation"/>) at initialisation, seeded by the
/// stream "nasi-supernet" of the search's seed; <see cref="NasiSearch"/> on the context's batches; the architecture of each
/// of the space's derivation rules (the first is the one the search selects). A space without a relaxation cannot be
/// searched this way.
/// </summary>
public sealed class NasiStrategy(NasiOptions options) : SearchStrategy<NasiOptions>(StrategyName, options)
{
    public const string StrategyName = "nasi";

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(data);
        Options.Validate();
        RelaxationOf(space, "searches a space through its relaxed supernet", "mlp, nb201 and darts have one");
        if (data.SampleShape.Count != 3)
            throw new SettingException($"--strategy nasi searches cell spaces of image networks; {data.Name} is not an image dataset.");
    }

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(context.Space, context.Data);
        var relaxation = context.Space.Relaxation!;
        var data = context.Data;
        using var scope = NewDisposeScope();
        using var supernet = relaxation.BuildSupernet(data.SampleShape, data.Classes, Seeds.Derive(context.Seed, "nasi-supernet"), context.Device);
        if (Options.Parameterization == Parameterization.Ntk) supernet.UseNtkParameterization();
        var batches = data.Batches(context.Device);
        long sampleSeed = Options.SampleSeed ?? context.Seed;
        var result = NasiSearch.Run(supernet, t => batches.Step(t, Options.BatchSize, sampleSeed), Options, sampleSeed,
            new Progress(context, Options.Steps), context.Cancellation, context.Journal);

        var alpha = result.Groups.Select((g, i) => new GroupProbabilities(g.Name, [.. Enumerable.Range(0, g.Edges).Select(e =>
            (IReadOnlyDictionary<string, double>)g.Operations.Select((op, k) => (op, k)).ToDictionary(x => x.op, x => result.Probabilities[i][e, x.k]))])).ToList();
        if (Degenerate(result) is { } reason)
            return new SearchOutcome(Name, null)
            {
                NoArchReason = reason,
                Relaxed = new RelaxedOutcome(alpha, new Dictionary<string, string>(), result.Steps),
                ScoringSeconds = result.Seconds,
                SearchSeconds = result.Seconds,
            };
        var derivations = relaxation.Derivations.ToDictionary(rule => rule, rule => relaxation.Derive(result.Logits, rule).Canonical);
        return new SearchOutcome(Name, derivations[relaxation.Derivations[0]])
        {
            Relaxed = new RelaxedOutcome(alpha, derivations, result.Steps),
            ScoringSeconds = result.Seconds,
            SearchSeconds = result.Seconds,
        };
    }

    /// <summary>
    /// Why <paramref name="result"/> selects nothing, or null. When Δ* ties every operation of every edge, a derivation
    /// returns its tie-break (all skip_connect on NB201), which is no choice of the search and must not be reported as
    /// one. It happens when every G_t is zero: a τ so small that the Gumbel-softmax weights are one-hot in the supernet's
    /// precision (their derivatives vanish), or gradients that underflow.
    /// </summary>
    private string? Degenerate(NasiResult result)
    {
        foreach (var logits in result.Logits)
            for (int e = 0; e < logits.GetLength(0); e++)
                for (int o = 1; o < logits.GetLength(1); o++)
                    if (logits[e, o] != logits[e, 0]) return null;
        return result.Steps.All(s => s.GradientNorm == 0)
            ? $"NASI's gradient ∇_α R was zero at all {result.Steps.Count} steps (τ = {Options.Temperature:G4} saturates the Gumbel-softmax " +
              "or the gradients underflow), so no operation was preferred on any edge and the cell a derivation gives would be its tie-break, " +
              $"not a choice; use a τ nearer the default {new NasiOptions().Temperature:G4}"
            : "NASI's steps cancel: Δ* ties every operation on every edge, so the cell a derivation gives would be its tie-break, not a choice";
    }

    private sealed class Progress(SearchContext context, int steps) : IProgress<NasiStep>
    {
        public void Report(NasiStep value) => context.Report("steps", value.Step, steps, $"trace norm {value.TraceNorm:G4}");
    }
}
