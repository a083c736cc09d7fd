using NasSharp.Networks;
using System.Diagnostics;
using NasSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Training;

/// <summary>Minibatch SGD settings. Defaults suit MLPs on MNIST-like data.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.05;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>Seeds the minibatch order. The network's initial weights are seeded by its builder.</summary>
    public long Seed { get; init; }
    public int EvalBatchSize { get; init; } = 2000;

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Need at least one epoch.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Batch size must be positive.");
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be a positive number.");
        if (Momentum is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "Momentum must be in [0, 1).");
        if (WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "Weight decay must be non-negative.");
    }
}

public sealed record EpochReport(int Epoch, double TrainLoss, double TrainAccuracyPercent, double? ValidationAccuracyPercent, double Seconds);

/// <summary>Training outcome. Accuracies are in % (NasSharp's one unit); null when that split was not given or training diverged.</summary>
public sealed record TrainingResult(
    IReadOnlyList<EpochReport> Epochs,
    double? ValidationAccuracyPercent,
    double? TestAccuracyPercent,
    bool Diverged,
    double Seconds);

/// <summary>Progress of a training run: steps done of total, and the latest loss.</summary>
public readonly record struct TrainingProgress(int Step, int TotalSteps, int Epoch, double Loss);

/// <summary>
/// Minibatch SGD with momentum and weight decay, cosine learning-rate schedule over all steps,
/// cross-entropy loss. Deterministic on CPU for a fixed seed and thread count.
/// </summary>
public static class Trainer
{
    public static TrainingResult Fit(
        nn.Module<Tensor, Tensor> model,
        LabeledDataset train,
        LabeledDataset? validation,
        LabeledDataset? test,
        TrainingOptions options,
        Device? device = null,
        IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ConvolutionBackend.Protect(model);
        device ??= CPU;
        var clock = Stopwatch.StartNew();
        using var sgd = new SgdSchedule(model, train, options, device);
        int n = sgd.Count, totalSteps = sgd.TotalSteps;
        var epochs = new List<EpochReport>();
        bool diverged = false;
        int step = 0;
        for (int epoch = 1; epoch <= options.Epochs && !diverged; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            model.train();
            double lossSum = 0; long correct = 0;
            foreach (var (order, start, count) in sgd.Epoch())
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var (xb, yb) = sgd.Step(step, order, start, count);
                sgd.Optimizer.ZeroGrad();
                var logits = model.forward(xb);
                var loss = nn.functional.cross_entropy(logits, yb);
                var lossValue = loss.item<float>() is var lv ? (double)lv : double.NaN;
                if (!double.IsFinite(lossValue)) { diverged = true; break; }
                loss.backward();
                sgd.Optimizer.Step();
                lossSum += lossValue * count;
                correct += logits.argmax(1).eq(yb).sum().item<long>();
                step++;
                progress?.Report(new TrainingProgress(step, totalSteps, epoch, lossValue));
            }
            if (diverged) break;
            double? val = validation is { Count: > 0 } ? AccuracyPercent(model, validation, options.EvalBatchSize, device) : null;
            epochs.Add(new EpochReport(epoch, lossSum / n, 100.0 * correct / n, val, epochClock.Elapsed.TotalSeconds));
        }

        double? valAcc = diverged ? null : epochs.LastOrDefault()?.ValidationAccuracyPercent;
        double? testAcc = !diverged && test is { Count: > 0 } ? AccuracyPercent(model, test, options.EvalBatchSize, device) : null;
        return new TrainingResult(epochs, valAcc, testAcc, diverged, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Correctly classified samples in %, evaluated in eval mode without gradients.</summary>
    public static double AccuracyPercent(nn.Module<Tensor, Tensor> model, LabeledDataset data, int batchSize = 2000, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0) throw new ArgumentException("Cannot measure accuracy on an empty split.", nameof(data));
        device ??= CPU;
        var dtype = model.parameters().First().dtype;
        model.eval();
        long correct = 0;
        using (torch.no_grad())
        {
            for (int start = 0; start < data.Count; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var part = data.Subset(Enumerable.Range(start, Math.Min(batchSize, data.Count - start)).ToArray());
                var (xb, yb) = part.ToTensors(device);
                correct += model.forward(xb.to(dtype)).argmax(1).eq(yb).sum().item<long>();
            }
        }
        return 100.0 * correct / data.Count;
    }

    /// <summary>
    /// Trains the network of <paramref name="genotype"/> in <paramref name="space"/>, built with weights seeded by
    /// <paramref name="initSeed"/> (the minibatch order by <see cref="TrainingOptions.Seed"/>): validation accuracy on
    /// <paramref name="data"/>'s validation split, test accuracy on its test split when <paramref name="test"/>.
    /// </summary>
    public static TrainingResult FitArchitecture(Spaces.ISearchSpace space, Spaces.IGenotype genotype, DataSplits data, NetworkOptions network,
        TrainingOptions options, long initSeed, Device? device = null, bool test = true, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(data);
        using var scope = torch.NewDisposeScope();
        using var model = space.BuildNetwork(genotype, data.Train.SampleShape, data.Train.NumClasses, network, initSeed, device);
        return Fit(model, data.Train, data.Validation, test ? data.Test : null, options, device, progress, cancellation);
    }
}
