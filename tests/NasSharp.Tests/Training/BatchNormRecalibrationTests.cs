using NasSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Training;

/// <summary>Recalibration against the calibration set's batch statistics, computed directly layer by layer in float64.</summary>
[Collection(TorchCollection.Name)]
public class BatchNormRecalibrationTests
{
    [Fact]
    public void RunningStatisticsBecomeTheCalibrationBatchStatistics()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var conv1 = nn.Conv2d(3, 4, 3, padding: 1);
        var bn1 = nn.BatchNorm2d(4);
        var conv2 = nn.Conv2d(4, 5, 1);
        var bn2 = nn.BatchNorm2d(5);
        using var model = nn.Sequential(("conv1", conv1), ("bn1", bn1), ("relu", nn.ReLU()), ("conv2", conv2), ("bn2", bn2)).to(ScalarType.Float64);
        using (no_grad())
        {
            // Stale statistics and a non-trivial affine map, as a supernet's would be after training other paths.
            foreach (var bn in new[] { bn1, bn2 })
            {
                bn.running_mean!.copy_(randn_like(bn.running_mean));
                bn.running_var!.copy_(rand_like(bn.running_var) + 3);
                bn.weight!.copy_(randn_like(bn.weight));
                bn.bias!.copy_(randn_like(bn.bias));
            }
        }
        var x = randn(7, 3, 6, 6, dtype: ScalarType.Float64);
        BatchNormRecalibration.Recalibrate(model, x);

        using var noGrad = no_grad();
        var h1 = conv1.call(x);
        var (mean1, var1) = Statistics(h1);
        Assert.True((bn1.running_mean! - mean1).abs().max().item<double>() < 1e-12);
        Assert.True((bn1.running_var! - var1).abs().max().item<double>() < 1e-12);
        // Layer 2 sees layer 1 normalised by its batch statistics (biased variance), as in the training-mode pass.
        var biased1 = var1 * (h1.numel() / 4 - 1) / (h1.numel() / 4);
        var a1 = nn.functional.relu((h1 - mean1.reshape(1, 4, 1, 1)) / (biased1.reshape(1, 4, 1, 1) + bn1.eps).sqrt() * bn1.weight!.reshape(1, 4, 1, 1) + bn1.bias!.reshape(1, 4, 1, 1));
        var (mean2, var2) = Statistics(conv2.call(a1));
        Assert.True((bn2.running_mean! - mean2).abs().max().item<double>() < 1e-12);
        Assert.True((bn2.running_var! - var2).abs().max().item<double>() < 1e-12);
        Assert.False(model.training);
        Assert.Equal(0.1, bn1.momentum);
    }

    /// <summary>Per-channel mean and unbiased variance over batch and pixels.</summary>
    private static (Tensor Mean, Tensor Var) Statistics(Tensor h)
    {
        long c = h.shape[1];
        var flat = h.transpose(0, 1).reshape(c, -1);
        var mean = flat.mean([1]);
        var centred = flat - mean.unsqueeze(1);
        return (mean, (centred * centred).sum(1) / (flat.shape[1] - 1));
    }
}
