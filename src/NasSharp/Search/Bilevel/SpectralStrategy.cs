using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using static TorchSharp.torch;

namespace NasSharp.Search.Bilevel;

/// <summary>How the <c>spectral</c> strategy solves the rank-one problem.</summary>
public enum RankOneMethod
{
    /// <summary>The spectral estimate alone.</summary>
    Spectral,
    /// <summary>The spectral estimate, then alternating least squares (Θ on the training split, α on the validation split).</summary>
    SpectralAls,
    /// <summary>Gradient descent on the joint squared loss of both splits (the baseline).</summary>
    GradientDescent,
}

public sealed record SpectralOptions
{
    public int TrainPoints { get; init; } = 500;
    public int ValPoints { get; init; } = 250;
    /// <summary>p: each candidate's features are its network's p outputs at initialisation (a random readout of its last hidden layer).</summary>
    public int Features { get; init; } = 64;
    public RankOneMethod Method { get; init; } = RankOneMethod.SpectralAls;
    public int Iterations { get; init; } = 20;
    /// <summary>Gradient descent: η (divided by the mean squared feature norm per candidate) and steps.</summary>
    public double LearningRate { get; init; } = 0.5;
    public int GdSteps { get; init; } = 2000;

    public void Validate()
    {
        if (TrainPoints < 2) throw new SettingException($"--train-points {TrainPoints}: need at least 2.");
        if (ValPoints < 1) throw new SettingException($"--val-points {ValPoints}: need at least 1.");
        if (Features < 1) throw new SettingException($"--features {Features}: need at least 1.");
        if (Iterations < 1) throw new SettingException($"--iterations {Iterations}: need at least 1.");
        if (!(LearningRate > 0)) throw new SettingException($"--lr {LearningRate}: must be positive.");
        if (GdSteps < 1) throw new SettingException($"--gd-steps {GdSteps}: need at least 1.");
    }
}

/// <summary>
/// The low-rank view of activation search as a strategy: each discrete architecture of the space's relaxation gives a
/// feature map φ_i(x) ∈ R^p, the p outputs of its network at initialisation in the NTK parameterisation, every candidate
/// built from the same seed (stream "spectral-features"), so for <c>mlp</c> they share all weights and differ only in their
/// activations; the model f_c(x) = Σ_i α_i ⟨θ_c, φ_i(x)⟩ is fitted by <see cref="RankOneRegression"/> to the centred one-hot
/// labels, and the selected architecture has the largest α_i.
/// </summary>
public sealed class SpectralStrategy(SpectralOptions options) : SearchStrategy<SpectralOptions>(StrategyName, options)
{
    public const string StrategyName = "spectral";

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        ArgumentNullException.ThrowIfNull(space);
        Options.Validate();
        RelaxationOf(space, SplitSample.WeightsDiscreteArchitectures, "mlp has");
    }

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(context.Space, context.Data);
        var clock = Stopwatch.StartNew();
        var (candidates, sample) = SplitSample.Candidates(context, Name, Options.TrainPoints, Options.ValPoints);
        int classes = context.Data.Classes;
        using var scope = NewDisposeScope();
        long seed = Seeds.Derive(context.Seed, "spectral-features");
        var trainX = Features(context, candidates, sample.Train, seed);
        var valX = Features(context, candidates, sample.Validation, seed);
        var trainY = Targets(sample.Train, classes);
        var valY = Targets(sample.Validation, classes);
        double featureSeconds = clock.Elapsed.TotalSeconds;

        var estimate = Options.Method switch
        {
            RankOneMethod.Spectral => RankOneRegression.Spectral(trainX, trainY),
            RankOneMethod.SpectralAls => RankOneRegression.AlternatingLeastSquares(trainX, trainY, valX, valY, RankOneRegression.Spectral(trainX, trainY), Options.Iterations),
            RankOneMethod.GradientDescent => RankOneRegression.GradientDescent(cat([trainX, valX]), cat([trainY, valY]), Options.LearningRate, Options.GdSteps, seed),
            _ => throw new ArgumentOutOfRangeException(nameof(options), Options.Method, null),
        };
        double validationLoss = RankOneRegression.Loss(estimate, valX, valY);
        var ranked = Candidates.Rank(candidates.Select((c, i) => new ScoredCandidate(i, c.Canonical, estimate.Alpha[i], null,
            new Dictionary<string, double> { ["validation_loss"] = validationLoss }, 0)));
        return new SearchOutcome(Name, ranked[0].Arch)
        {
            Ranked = ranked,
            ScoringSeconds = featureSeconds,
            SearchSeconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>[n, p, h]: each candidate network's p outputs on the samples, float64.</summary>
    private Tensor Features(SearchContext context, IReadOnlyList<IGenotype> candidates, LabeledDataset samples, long seed)
    {
        var (x, _) = samples.ToTensors(context.Device);
        var columns = new List<Tensor>();
        foreach (var candidate in candidates)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            using var network = context.Space.BuildNetwork(candidate, context.Data.SampleShape, Options.Features,
                NetworkOptions.Ntk() with { DType = ScalarType.Float64 }, seed, context.Device);
            using (no_grad()) columns.Add(network.call(x.to(ScalarType.Float64)).cpu());
        }
        return stack(columns, dim: 2);
    }

    private static Tensor Targets(LabeledDataset samples, int classes) =>
        tensor(SplitSample.CenteredOneHot(samples.Labels, classes), new long[] { samples.Count, classes }, dtype: ScalarType.Float64);
}
