using NasSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Training;

/// <summary>
/// What every minibatch SGD loop here shares: the training split as tensors in the model's dtype, SGD with momentum and weight
/// decay, the minibatch order (a fresh shuffle per epoch from <see cref="TrainingOptions.Seed"/>) and the cosine schedule.
/// </summary>
public sealed class SgdSchedule : IDisposable
{
    private readonly Tensor x;
    private readonly Tensor y;
    private readonly Random rng;
    private readonly TrainingOptions options;
    private readonly Device device;

    public SgdSchedule(nn.Module model, LabeledDataset train, TrainingOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        this.options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
        if (train.Count == 0) throw new ArgumentException("The training split is empty.", nameof(train));
        this.device = device ?? CPU;
        var dtype = model.parameters().First().dtype;
        var (xAll, yAll) = train.ToTensors(this.device);
        x = xAll.to(dtype);
        y = yAll;
        if (!ReferenceEquals(x, xAll)) xAll.Dispose();
        Count = train.Count;
        TotalSteps = (Count + options.BatchSize - 1) / options.BatchSize * options.Epochs;
        Optimizer = new MomentumSgd(model.parameters(), options.LearningRate, options.Momentum, options.WeightDecay);
        rng = new Random(unchecked((int)options.Seed));
    }

    public int Count { get; }
    public int TotalSteps { get; }
    public MomentumSgd Optimizer { get; }

    /// <summary>One epoch's minibatches in a fresh order: (start, count) pairs.</summary>
    public IEnumerable<(int[] Order, int Start, int Count)> Epoch()
    {
        var order = Enumerable.Range(0, Count).ToArray();
        rng.Shuffle(order);
        for (int start = 0; start < Count; start += options.BatchSize)
            yield return (order, start, Math.Min(options.BatchSize, Count - start));
    }

    /// <summary>Sets the cosine learning rate of <paramref name="step"/> (Loshchilov &amp; Hutter 2017: decaying to zero at the last step)
    /// and returns the minibatch's inputs and labels (in the caller's dispose scope).</summary>
    public (Tensor X, Tensor Y) Step(int step, int[] order, int start, int count)
    {
        var lr = 0.5 * options.LearningRate * (1 + Math.Cos(Math.PI * step / TotalSteps));
        Optimizer.LearningRate = lr;
        var idx = torch.tensor(order.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray(), device: device);
        return (x.index_select(0, idx), y.index_select(0, idx));
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        x.Dispose();
        y.Dispose();
    }
}
