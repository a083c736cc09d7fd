using NasSharp.Data;
using NasSharp.Spaces;

namespace NasSharp.Search.Bilevel;

/// <summary>
/// The samples a train–validation search fits: n_T samples of the training split (the lower level's) and n_V of the
/// validation split (the upper level's), each a seeded uniform subset (streams "bilevel-train" and "bilevel-validation").
/// </summary>
public sealed record SplitSample(LabeledDataset Train, LabeledDataset Validation)
{
    public static SplitSample Draw(ExperimentData data, int trainPoints, int validationPoints, long seed)
    {
        ArgumentNullException.ThrowIfNull(data);
        var splits = data.Splits;
        return new SplitSample(Subset(splits.Train, trainPoints, "--train-points", "--train-size", seed, "bilevel-train"),
            Subset(splits.Validation, validationPoints, "--val-points", "--val-size", seed, "bilevel-validation"));
    }

    /// <summary>What mkl and spectral do with a space's relaxation (for the message when it has none).</summary>
    internal const string WeightsDiscreteArchitectures = "weights the discrete architectures of a space's relaxation";

    /// <summary>
    /// What the strategies that weight a relaxation's discrete architectures (mkl, spectral) start from: those architectures
    /// and the sampled splits; a space without a relaxation is an error naming <paramref name="strategy"/>.
    /// </summary>
    public static (IReadOnlyList<IGenotype> Candidates, SplitSample Sample) Candidates(Search.SearchContext context, string strategy, int trainPoints, int validationPoints)
    {
        ArgumentNullException.ThrowIfNull(context);
        var relaxation = context.Space.Relaxation
            ?? throw new NotSupportedException($"--strategy {strategy} {WeightsDiscreteArchitectures}, and the {context.Space.SpaceName} space has none (mlp has).");
        return (relaxation.DiscreteArchitectures(), Draw(context.Data, trainPoints, validationPoints, context.Seed));
    }

    private static LabeledDataset Subset(LabeledDataset split, int count, string option, string sizeOption, long seed, string stream)
    {
        if (count < 1) throw new SettingException($"{option} {count}: need at least one sample.");
        if (count > split.Count)
            throw new SettingException($"{option} {count}: the {split.Name} split has only {split.Count} samples; ask for fewer or raise {sizeOption}.");
        var rng = Seeds.Rng(seed, stream);
        var order = Enumerable.Range(0, split.Count).ToArray();
        rng.Shuffle(order);
        return split.Subset(order[..count]);
    }

    /// <summary>Regression targets of class labels: the one-hot vector minus 1/C (zero mean over classes), n × C row-major.</summary>
    public static double[] CenteredOneHot(IReadOnlyList<int> labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var y = new double[labels.Count * classes];
        for (int i = 0; i < labels.Count; i++)
            for (int c = 0; c < classes; c++) y[i * classes + c] = (labels[i] == c ? 1.0 : 0.0) - 1.0 / classes;
        return y;
    }
}
