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
        if (genotype is Nb201Genotype)
        {
            if (options.Parameterization != Parameterization.Standard)
                throw new NotSupportedException("nb201 networks are built in the standard parameterisation only (PyTorch's initialisation, as NAS-Bench-201 trained them); the NTK parameterisation applies to mlp networks.");
            if (Nb201Network.CheckInputShape([.. inputShape.Select(d => (long)d)], inputShape.Length > 0 ? inputShape[0] : 0) is { } problem)
                throw new ArgumentException($"Cannot build an nb201 network for inputs [{string.Join(",", inputShape)}]: {problem}.");
        }
        torch.random.manual_seed(seed);
        return genotype switch
        {
            MlpGenotype mlp => new MlpNetwork(mlp, inputShape.Aggregate(1, (a, b) => a * b), classes, options, device),
            Nb201Genotype cell => new Nb201Network(cell, inputShape[0], classes, options.Nb201, device, options.DType),
            _ => throw new NotSupportedException($"No network builder for space '{genotype.Space}'."),
        };
    }
}
