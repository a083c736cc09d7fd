using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// Runs a network in a batch-norm mode and restores its mode and buffers afterwards. A train-mode forward pass
/// updates BN running statistics; restoring them keeps a shared network's later eval-mode results independent of
/// which proxies ran before.
/// </summary>
internal sealed class BatchNormScope : IDisposable
{
    private readonly nn.Module network;
    private readonly bool wasTraining;
    private readonly (Tensor Buffer, Tensor Saved)[] saved;

    private BatchNormScope(nn.Module network, BatchNormMode mode)
    {
        this.network = network;
        wasTraining = network.training;
        using (no_grad())
            saved = mode == BatchNormMode.Train
                ? network.buffers().Select(b => (b, b.clone().DetachFromDisposeScope())).ToArray()
                : [];
        if (mode == BatchNormMode.Train) network.train();
        else network.eval();
    }

    public static BatchNormScope Enter(nn.Module network, BatchNormMode mode)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (mode == BatchNormMode.NotUsed) throw new ArgumentException("Choose Train or Eval to run a network.", nameof(mode));
        return new BatchNormScope(network, mode);
    }

    public void Dispose()
    {
        using (no_grad())
            foreach (var (buffer, copy) in saved)
            {
                buffer.copy_(copy);
                copy.Dispose();
            }
        network.train(wasTraining);
    }
}
