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
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentNullException.ThrowIfNull(options);
        if (genotype is (Nb201Genotype or DartsGenotype) && options.Parameterization != Parameterization.Standard)
            throw new NotSupportedException($"{genotype.Space} networks are built in the standard parameterisation only (PyTorch's initialisation, as their papers trained them); the NTK parameterisation applies to mlp networks.");
        long[] sample = [.. inputShape.Select(d => (long)d)];
        int channels = inputShape.Length > 0 ? inputShape[0] : 0;
        var problem = genotype switch
        {
            Nb201Genotype => Nb201Network.CheckInputShape(sample, channels),
            DartsGenotype => DartsNetwork.CheckInputShape(sample, channels, options.Darts),
            _ => null,
        };
        if (problem is not null)
            throw new ArgumentException($"Cannot build the {genotype.Space} network for inputs [{string.Join(",", inputShape)}]: {problem}.");
        torch.random.manual_seed(seed);
        return genotype switch
        {
            MlpGenotype mlp => new MlpNetwork(mlp, inputShape.Aggregate(1, (a, b) => a * b), classes, options, device),
            Nb201Genotype cell => new Nb201Network(cell, inputShape[0], classes, options.Nb201, device, options.DType),
            DartsGenotype cells => new DartsNetwork(cells, inputShape[0], classes, options.Darts, device, options.DType),
            _ => throw new NotSupportedException($"No network builder for space '{genotype.Space}'."),
        };
    }
}
