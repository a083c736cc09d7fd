using NasSharp.Networks;
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

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Options.Validate();
        var relaxation = context.Space.Relaxation
            ?? throw new NotSupportedException($"--strategy nasi searches a space through its relaxed supernet, and the {context.Space.SpaceName} space has none (mlp, nb201 and darts have one).");
        var data = context.Data;
        if (data.SampleShape.Count != 3)
            throw new NotSupportedException($"--strategy nasi searches cell spaces of image networks; {data.Name} is not an image dataset.");
        using var scope = NewDisposeScope();
        using var supernet = relaxation.BuildSupernet(data.SampleShape, data.Classes, Seeds.Derive(context.Seed, "nasi-supernet"), context.Device);
        if (Options.Parameterization == Parameterization.Ntk) supernet.UseNtkParameterization();
        var batches = data.Batches(context.Device);
        long sampleSeed = Options.SampleSeed ?? context.Seed;
        var result = NasiSearch.Run(supernet, t => batches.Step(t, Options.BatchSize, sampleSeed), Options, sampleSeed,
            new Progress(context, Options.Steps), context.Cancellation, context.Journal);

        var derivations = relaxation.Derivations.ToDictionary(rule => rule, rule => relaxation.Derive(result.Logits, rule).Canonical);
        var alpha = result.Groups.Select((g, i) => new GroupProbabilities(g.Name, [.. Enumerable.Range(0, g.Edges).Select(e =>
            (IReadOnlyDictionary<string, double>)g.Operations.Select((op, k) => (op, k)).ToDictionary(x => x.op, x => result.Probabilities[i][e, x.k]))])).ToList();
        return new SearchOutcome(Name, derivations[relaxation.Derivations[0]])
        {
            Relaxed = new RelaxedOutcome(alpha, derivations, result.Steps),
            ScoringSeconds = result.Seconds,
            SearchSeconds = result.Seconds,
        };
    }

    private sealed class Progress(SearchContext context, int steps) : IProgress<NasiStep>
    {
        public void Report(NasiStep value) => context.Report("steps", value.Step, steps, $"trace norm {value.TraceNorm:G4}");
    }
}
