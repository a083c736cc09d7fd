using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Training;

/// <summary>
/// Batch-norm recalibration: a weight-sharing supernet's running statistics mix every path's, so a path is evaluated after
/// its own are recomputed on training data (Guo et al., SPOS, ECCV 2020, arXiv 1904.00420, §3.3).
/// </summary>
public static class BatchNormRecalibration
{
    /// <summary>
    /// Resets every batch norm's running statistics, then sets them to those of <paramref name="calibration"/> passed as one
    /// batch in training mode with momentum 1 (each running mean is the batch mean of its layer's input, each running variance
    /// the unbiased batch variance, as PyTorch stores it), and leaves the model in eval mode with its momenta restored.
    /// </summary>
    public static void Recalibrate(nn.Module<Tensor, Tensor> model, Tensor calibration)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(calibration);
        var layers = model.modules().OfType<BatchNorm>().ToArray();
        var momenta = layers.Select(b => b.momentum).ToArray();
        try
        {
            foreach (var b in layers)
            {
                b.reset_running_stats();
                b.momentum = 1.0;
            }
            model.train();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            model.call(calibration);
        }
        finally
        {
            for (int i = 0; i < layers.Length; i++) layers[i].momentum = momenta[i];
            model.eval();
        }
    }
}
