using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>Builds the network of a genotype, seeding libtorch right before so the same seed gives the same weights.</summary>
public static class NetworkFactory
{
    public static nn.Module<Tensor, Tensor> Build(IGenotype genotype, int[] inputShape, int classes, NetworkOptions options, long seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        torch.random.manual_seed(seed);
        return genotype switch
        {
            MlpGenotype mlp => new MlpNetwork(mlp, inputShape.Aggregate(1, (a, b) => a * b), classes, options, device),
            _ => throw new NotSupportedException($"No network builder for space '{genotype.Space}'."),
        };
    }
}
