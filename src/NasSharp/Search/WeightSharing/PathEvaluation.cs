using NasSharp.Data;
using NasSharp.Spaces;
using NasSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search.WeightSharing;

/// <summary>
/// A path's accuracy with inherited weights: batch norm recalibrated on a fixed calibration batch of training images
/// (<see cref="BatchNormRecalibration"/>), then the accuracy (%) on a held-out split in eval mode.
/// </summary>
public sealed class PathEvaluation(PathSupernet supernet, Tensor calibration, Tensor inputs, Tensor labels, int batchSize = 500)
{
    /// <summary>Sets <paramref name="path"/>, recalibrates, and returns the accuracy (%) on the held-out inputs.</summary>
    public double AccuracyPercent(IReadOnlyList<int> path)
    {
        Prepare(path);
        long correct = 0, n = inputs.shape[0];
        using var noGrad = no_grad();
        for (long start = 0; start < n; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            long count = Math.Min(batchSize, n - start);
            var logits = supernet.call(inputs.narrow(0, start, count));
            correct += logits.argmax(1).eq(labels.narrow(0, start, count)).sum().item<long>();
        }
        return 100.0 * correct / n;
    }

    /// <summary>
    /// The recalibration batch (<paramref name="calibration"/> images) and the batch <c>jacobian_isometry</c> is measured on
    /// (<paramref name="isometry"/> images, at most the split): both the first images of one <paramref name="rng"/>-shuffled
    /// order of the training split, so every supernet of a run is evaluated on the same images.
    /// </summary>
    public static (Tensor Calibration, Tensor Isometry) FixedBatches(LabeledDataset train, int calibration, int isometry, Random rng, Device? device)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(rng);
        var order = Enumerable.Range(0, train.Count).ToArray();
        rng.Shuffle(order);
        return (train.Subset(order[..calibration]).ToTensors(device).X, train.Subset(order[..Math.Min(isometry, train.Count)]).ToTensors(device).X);
    }

    /// <summary>Sets <paramref name="path"/> and recalibrates its batch norms; the supernet is left in eval mode.</summary>
    public void Prepare(IReadOnlyList<int> path)
    {
        supernet.SetPath(path);
        BatchNormRecalibration.Recalibrate(supernet, calibration);
    }
}
