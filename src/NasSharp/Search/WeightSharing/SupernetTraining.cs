using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search.WeightSharing;

/// <summary>How a single-path supernet is trained.</summary>
public enum SupernetRegime
{
    /// <summary>One uniformly sampled path per step (SPOS, Guo et al., ECCV 2020, arXiv 1904.00420).</summary>
    Spos,
    /// <summary>Strict fairness: m paths per step covering every candidate of every choice point once, gradients accumulated,
    /// one update (FairNAS, Chu, Zhang &amp; Xu, ICCV 2021, arXiv 1907.01845).</summary>
    FairNas,
    /// <summary>FairNAS's sampling on a supernet initialised for dynamical isometry (<see cref="IsometricInit"/> at relu's edge of
    /// chaos), after Luo, Hu, Pang, Huang &amp; Liu (arXiv 2307.02263).</summary>
    IsometryFair,
}

public static class SupernetRegimes
{
    public static IReadOnlyList<SupernetRegime> All { get; } = Enum.GetValues<SupernetRegime>();

    public static string Token(this SupernetRegime regime) => regime switch
    {
        SupernetRegime.Spos => "spos",
        SupernetRegime.FairNas => "fairnas",
        SupernetRegime.IsometryFair => "isometry-fair",
        _ => throw new ArgumentOutOfRangeException(nameof(regime), regime, "Unknown regime."),
    };

    public static string KnownTokens => string.Join(", ", All.Select(Token));

    public static SupernetRegime Parse(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        foreach (var r in All)
            if (r.Token() == token.Trim()) return r;
        throw new SettingException($"Unknown supernet regime '{token}'; known: {KnownTokens}.");
    }

    /// <summary>Whether the regime draws FairNAS's m paths per step (else one uniform path).</summary>
    public static bool IsFair(this SupernetRegime regime) => regime != SupernetRegime.Spos;
}

/// <summary>What training a supernet under a regime did: optimiser steps, forward–backward passes, the last epoch's mean loss.</summary>
public sealed record SupernetTrainingResult(int Steps, int Passes, double LastEpochLoss, bool Diverged, double Seconds);

/// <summary>
/// Trains a single-path supernet of any space's <see cref="IWeightSharing"/> form under a <see cref="SupernetRegime"/>. Every
/// regime takes the same optimiser steps over the same minibatches (the order seeded by <see cref="TrainingOptions.Seed"/>):
/// SGD with momentum, weight decay and a cosine schedule, cross-entropy, as <see cref="Trainer"/>. A FairNAS step runs its m
/// paths on the step's one minibatch and accumulates their gradients (unscaled, as FairNAS's Alg. 1) into one update.
/// </summary>
public static class SupernetTraining
{
    /// <param name="pathSeed">Seeds the paths drawn; with the same seed, SPOS and FairNAS draw from the same generator.</param>
    /// <param name="initSeed">Seeds the isometric re-initialisation of <see cref="SupernetRegime.IsometryFair"/>.</param>
    public static SupernetTrainingResult Train(PathSupernet supernet, IReadOnlyList<int> choiceCounts, SupernetRegime regime, LabeledDataset train,
        TrainingOptions options, long pathSeed, long initSeed, Device? device = null, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(choiceCounts);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        if (regime == SupernetRegime.IsometryFair)
        {
            torch.random.manual_seed(initSeed);
            IsometricInit.Apply(supernet);
        }
        using var sgd = new SgdSchedule(supernet, train, options, device);
        var pathRng = new Random(unchecked((int)pathSeed));
        int step = 0, passes = 0;
        double lastEpochLoss = double.NaN;
        supernet.train();
        for (int epoch = 1; epoch <= options.Epochs; epoch++)
        {
            double lossSum = 0;
            int lossCount = 0;
            foreach (var (order, start, count) in sgd.Epoch())
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var (xb, yb) = sgd.Step(step, order, start, count);
                var paths = regime.IsFair() ? PathSampling.Fair(choiceCounts, pathRng) : new[] { PathSampling.Uniform(choiceCounts, pathRng) };
                sgd.Optimizer.ZeroGrad();
                foreach (var path in paths)
                {
                    supernet.SetPath(path);
                    var loss = nn.functional.cross_entropy(supernet.call(xb), yb);
                    double value = loss.item<float>();
                    if (!double.IsFinite(value))
                        return new SupernetTrainingResult(step, passes, double.NaN, Diverged: true, clock.Elapsed.TotalSeconds);
                    loss.backward();
                    lossSum += value;
                    lossCount++;
                    passes++;
                }
                sgd.Optimizer.Step();
                step++;
                progress?.Report(new TrainingProgress(step, sgd.TotalSteps, epoch, lossSum / lossCount));
            }
            lastEpochLoss = lossSum / lossCount;
        }
        return new SupernetTrainingResult(step, passes, lastEpochLoss, Diverged: false, clock.Elapsed.TotalSeconds);
    }
}
