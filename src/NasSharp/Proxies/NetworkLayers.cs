using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>A layer with a weight matrix or kernel: Conv2d, Linear or <see cref="ScaledLinear"/>.</summary>
/// <param name="Name">The module's path in the network (<c>""</c> for the network itself).</param>
public sealed record WeightLayer(string Name, nn.Module<Tensor, Tensor> Module, Parameter Weight);

/// <summary>
/// Finds the modules proxies look at. Forward hooks (which TorchSharp runs only when a module is invoked with
/// <c>call()</c>, not <c>forward()</c>) see Conv2d/Linear/ReLU outputs, so networks must call their submodules.
/// </summary>
public static class NetworkLayers
{
    /// <summary>The network and all its submodules, each once, with their paths.</summary>
    public static IReadOnlyList<(string Name, nn.Module Module)> All(nn.Module network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var seen = new HashSet<nn.Module>(ReferenceEqualityComparer.Instance) { network };
        var list = new List<(string, nn.Module)> { ("", network) };
        foreach (var (name, module) in network.named_modules())
            if (seen.Add(module)) list.Add((name, module));
        return list;
    }

    /// <summary>
    /// The "prunable" layers of Abdelfattah et al. 2021 (their <c>get_layer_metric_array</c>): Conv2d and Linear
    /// modules, plus NasSharp's <see cref="ScaledLinear"/>; only their weights count (biases and BN parameters do not).
    /// </summary>
    public static IReadOnlyList<WeightLayer> WeightLayers(nn.Module network)
    {
        var layers = new List<WeightLayer>();
        foreach (var (name, module) in All(network))
        {
            var weight = module switch
            {
                Conv2d c => c.weight,
                Linear l => l.weight,
                ScaledLinear s => s.Weight,
                _ => null,
            };
            if (weight is not null && weight.requires_grad) layers.Add(new WeightLayer(name, (nn.Module<Tensor, Tensor>)module, weight));
        }
        return layers;
    }

    /// <summary>The network's last <see cref="Linear"/> module (in module order): its classifier when it ends in one; null if it has none.</summary>
    public static Linear? LastLinear(nn.Module network) => All(network).Select(m => m.Module).OfType<Linear>().LastOrDefault();

    /// <summary>All parameters with requires_grad, each once.</summary>
    public static Parameter[] TrainableParameters(nn.Module network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var seen = new HashSet<IntPtr>();
        return network.parameters().Where(p => p.requires_grad && seen.Add(p.Handle)).ToArray();
    }

    /// <summary>
    /// Registers a forward hook on each module, with (path, module output); returns a handle that removes them all.
    /// The hook sees the output of every <c>call()</c>, so a module used twice is seen twice.
    /// </summary>
    internal static HookSet Observe<TModule>(IEnumerable<(string Name, TModule Module)> modules, Func<string, TModule, Tensor, Tensor?> hook)
        where TModule : nn.Module<Tensor, Tensor>
    {
        var set = new HookSet();
        try
        {
            foreach (var (name, module) in modules)
            {
                var (n, m) = (name, module);
                set.Add(m.register_forward_hook((_, _, output) => hook(n, m, output) ?? output));
            }
        }
        catch
        {
            set.Dispose();
            throw;
        }
        return set;
    }

    /// <summary>ReLU units of the network as (path, module producing the ReLU's input or output, code of one output).</summary>
    internal static IReadOnlyList<ReluSite> ReluSites(nn.Module network)
    {
        var sites = new List<ReluSite>();
        foreach (var (name, module) in All(network))
        {
            if (module is ReLU relu)
                sites.Add(new ReluSite(name, relu, ReluSiteKind.ReluOutput));
            else if (module is IFunctionalRelus functional)
            {
                // Activations applied as functions: the named layer's output is the ReLU's input, whose sign is the code (1[z > 0]).
                foreach (var (layer, dense) in functional.ReluInputs)
                    sites.Add(new ReluSite($"{name}{(name.Length > 0 ? "." : "")}{layer}", dense, ReluSiteKind.PreActivation));
            }
        }
        return sites;
    }
}

internal enum ReluSiteKind { ReluOutput, PreActivation }

/// <summary>A module whose output determines ReLU codes: relu(z) > 0 ⇔ z > 0, so both kinds give 1[z > 0].</summary>
internal sealed record ReluSite(string Name, nn.Module<Tensor, Tensor> Module, ReluSiteKind Kind);

/// <summary>Forward hooks removed together.</summary>
internal sealed class HookSet : IDisposable
{
    private readonly List<Action> removers = [];

    public void Add(nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover remover) =>
        removers.Add(remover.remove);

    public void Dispose()
    {
        foreach (var remove in removers) remove();
        removers.Clear();
    }
}
