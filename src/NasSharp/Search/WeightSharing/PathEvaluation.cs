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

    /// <summary>Sets <paramref name="path"/> and recalibrates its batch norms; the supernet is left in eval mode.</summary>
    public void Prepare(IReadOnlyList<int> path)
    {
        supernet.SetPath(path);
        BatchNormRecalibration.Recalibrate(supernet, calibration);
    }
}
