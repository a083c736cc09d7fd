using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Training;

/// <summary>
/// Stochastic gradient descent with heavy-ball momentum and L2 weight decay, step for step TorchSharp's <c>optim.SGD</c>
/// (dampening 0, no Nesterov): g ← ∇θ + λθ; b ← g on the first step, else b ← μb + g; θ ← θ − lr·b.
/// </summary>
/// <remarks>
/// Why not <c>optim.SGD</c> itself: its step converts each coefficient to a <see cref="Scalar"/> on the fly, and nothing keeps
/// that object alive while the native call reads it, so a garbage collection during the call can run its finalizer and free
/// the native scalar in use ("Expected false to be true" from c10's Scalar::toFloat, which aborted training runs here every
/// few dozen networks). Here every scalar is created once per step and disposed after the last call that reads it.
/// </remarks>
public sealed class MomentumSgd : IDisposable
{
    private readonly Parameter[] parameters;
    private readonly Tensor?[] buffers;
    private readonly double momentum;
    private readonly double weightDecay;

    public MomentumSgd(IEnumerable<Parameter> parameters, double learningRate, double momentum, double weightDecay)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        this.parameters = [.. parameters];
        buffers = new Tensor?[this.parameters.Length];
        (LearningRate, this.momentum, this.weightDecay) = (learningRate, momentum, weightDecay);
    }

    /// <summary>The learning rate of the next step.</summary>
    public double LearningRate { get; set; }

    /// <summary>Zeroes every gradient in place, as TorchSharp's <c>Optimizer.zero_grad()</c> does.</summary>
    public void ZeroGrad()
    {
        foreach (var p in parameters)
        {
            using var grad = p.grad;
            grad?.zero_();
        }
    }

    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using Scalar decay = weightDecay, mu = momentum, one = 1.0, step = -LearningRate;
        for (int k = 0; k < parameters.Length; k++)
        {
            var p = parameters[k];
            var grad = p.grad;
            if (grad is null) continue;
            if (weightDecay != 0) grad = grad.add(p, alpha: decay);
            if (momentum != 0)
            {
                if (buffers[k] is null) buffers[k] = grad.clone().detach().DetachFromDisposeScope();
                else buffers[k]!.mul_(mu).add_(grad, alpha: one);
                grad = buffers[k]!;
            }
            p.add_(grad, alpha: step);
        }
    }

    public void Dispose()
    {
        foreach (var b in buffers) b?.Dispose();
        Array.Clear(buffers);
    }
}
