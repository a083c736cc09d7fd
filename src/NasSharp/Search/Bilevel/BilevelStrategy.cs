using NasSharp.Spaces;
using NasSharp.Data;
using System.Diagnostics;
using static TorchSharp.torch;

namespace NasSharp.Search.Bilevel;

/// <summary>
/// The train–validation bilevel search as a strategy (<see cref="BilevelSearch"/>): the space's relaxed supernet, seeded by
/// the stream "bilevel-supernet", fitted on n_T training samples while α follows the loss on n_V validation samples (or,
/// with <see cref="UpperSplit.Training"/>, the training loss: the baseline). The architecture is the first derivation rule's.
/// </summary>
public sealed class BilevelStrategy(BilevelOptions options) : SearchStrategy<BilevelOptions>(StrategyName, options)
{
    public const string StrategyName = "bilevel";

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        ArgumentNullException.ThrowIfNull(space);
        Options.Validate();
        RelaxationOf(space, "searches a space through its relaxed supernet", "mlp, nb201 and darts have one");
    }

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(context.Space, context.Data);
        var clock = Stopwatch.StartNew();
        var relaxation = context.Space.Relaxation!;
        var sample = SplitSample.Draw(context.Data, Options.TrainPoints, Options.ValPoints, context.Seed);
        using var scope = NewDisposeScope();
        using var supernet = relaxation.BuildSupernet(context.Data.SampleShape, context.Data.Classes, Seeds.Derive(context.Seed, "bilevel-supernet"), context.Device);
        var result = BilevelSearch.Run(supernet, sample.Train.ToTensors(context.Device), sample.Validation.ToTensors(context.Device), Options,
            new Progress(context, Options.Steps), context.Cancellation);
        var derivations = relaxation.Derivations.ToDictionary(rule => rule, rule => relaxation.Derive(result.Logits, rule).Canonical);
        var alpha = relaxation.Groups.Select((g, i) => new GroupProbabilities(g.Name, [.. Enumerable.Range(0, g.Edges).Select(e =>
        {
            var row = Enumerable.Range(0, g.Operations.Count).Select(o => result.Logits[i][e, o]).ToArray();
            double top = row.Max(), sum = row.Sum(v => Math.Exp(v - top));
            return (IReadOnlyDictionary<string, double>)g.Operations.Select((op, o) => (op, o)).ToDictionary(x => x.op, x => Math.Exp(row[x.o] - top) / sum);
        })])).ToList();
        return new SearchOutcome(Name, derivations[relaxation.Derivations[0]])
        {
            Relaxed = new RelaxedOutcome(alpha, derivations, []),
            SearchSeconds = clock.Elapsed.TotalSeconds,
            TrainingSeconds = clock.Elapsed.TotalSeconds,
        };
    }

    private sealed class Progress(SearchContext context, int steps) : IProgress<int>
    {
        public void Report(int value) => context.Report("steps", value, steps);
    }
}
