using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// Parameters and multiply-adds of a network, read off the built network (an interpreter of whatever a space builds, so
/// every space gets one). The conventions are NAS-Bench-201's (AutoDL-Projects <c>xautodl/utils/flop_benchmark.py</c>,
/// <c>get_model_infos</c>), which reproduce its published figures exactly:
/// <list type="bullet">
/// <item><see cref="Parameters"/>: every trainable parameter, each shared tensor once (BN running statistics are buffers,
/// not counted). NAS-Bench-201's <c>params</c> is this / 10^6.</item>
/// <item><see cref="MultiplyAdds"/>: per sample, for each Conv2d call (output elements)·(C_in/groups)·k_h·k_w plus the
/// output elements when it has a bias, and for each Linear call (outputs)·(inputs) plus the outputs for the bias.
/// Pooling, BN, activations and additions are not counted. NAS-Bench-201's <c>flop</c> is this / 10^6.</item>
/// </list>
/// </summary>
public sealed record NetworkCost(long Parameters, long MultiplyAdds)
{
    public double ParametersInMillions => Parameters / 1e6;

    public double FlopsInMillions => MultiplyAdds / 1e6;

    /// <summary>
    /// Counts <paramref name="network"/> on one zero input of <paramref name="sampleShape"/> (eval mode, no gradient).
    /// Layers are seen through forward hooks, so a network must invoke them with <c>call()</c>, as this library's do.
    /// </summary>
    public static NetworkCost Of(nn.Module<Tensor, Tensor> network, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(sampleShape);
        var seen = new HashSet<IntPtr>();
        long parameters = network.parameters().Where(p => p.requires_grad && seen.Add(p.Handle)).Sum(p => p.numel());

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool wasTraining = network.training;
        network.eval();
        long macs = 0;
        var removers = new List<Action>();
        try
        {
            foreach (var (_, module) in network.named_modules())
                if (module is nn.Module<Tensor, Tensor> layer && Rule(layer) is { } rule)
                    removers.Add(layer.register_forward_hook((_, _, output) => { macs += rule(output); return output; }).remove);
            var first = network.parameters().FirstOrDefault();
            network.call(zeros([1, .. sampleShape.Select(d => (long)d)], dtype: first?.dtype ?? ScalarType.Float32, device: first?.device));
        }
        finally
        {
            foreach (var remove in removers) remove();
            network.train(wasTraining);
        }
        return new NetworkCost(parameters, macs);
    }

    /// <summary>Multiply-adds of one call from its output, or null for a layer that is not counted.</summary>
    private static Func<Tensor, long>? Rule(nn.Module module) => module switch
    {
        Conv2d c => output => output.numel() * (c.in_channels / c.groups) * c.kernel_size.Aggregate(1L, (a, b) => a * b)
                              + (c.bias is null ? 0 : output.numel()),
        Linear l => output => output.numel() * l.in_features + (l.bias is null ? 0 : output.numel()),
        ScaledLinear s => output => output.numel() * s.InFeatures + output.numel(),
        _ => null,
    };
}
