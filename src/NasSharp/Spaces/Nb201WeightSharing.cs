using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// NAS-Bench-201's single-path weight-sharing form: 6 edges of 5 operations (in <see cref="Nb201Operations.All"/> order), the
/// path supernet <see cref="Nb201PathSupernet"/> of the space's skeleton with batch norms that track running statistics.
/// </summary>
public sealed class Nb201WeightSharing(Nb201NetworkOptions network) : IWeightSharing
{
    public IReadOnlyList<int> ChoiceCounts { get; } = [.. Enumerable.Repeat(Nb201Operations.All.Count, Nb201Genotype.EdgeCount)];

    /// <summary>The skeleton of the supernet: the space's, with running statistics kept in every batch norm.</summary>
    public Nb201NetworkOptions Network { get; } = (network ?? throw new ArgumentNullException(nameof(network))) with { TrackRunningStats = true };

    public IReadOnlyList<int> PathOf(IGenotype genotype) => genotype is Nb201Genotype cell
        ? [.. cell.Operations.Select(o => (int)o)]
        : throw new ArgumentException($"'{genotype}' is not an NB201 cell.", nameof(genotype));

    public IGenotype GenotypeOf(IReadOnlyList<int> path)
    {
        Nb201PathSupernet.CheckPath(path);
        return new Nb201Genotype(path.Select(p => Nb201Operations.All[p]));
    }

    public PathSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null) =>
        Build(sampleShape, classes, seed, device, ScalarType.Float32);

    /// <summary>The supernet in <paramref name="dtype"/> (float64 for exact comparisons).</summary>
    public Nb201PathSupernet Build(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (Nb201Network.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0) is { } problem)
            throw new ArgumentException($"Cannot build the nb201 path supernet for inputs [{string.Join(",", sampleShape)}]: {problem}.");
        torch.random.manual_seed(seed);
        return new Nb201PathSupernet(sampleShape[0], classes, Network, device, dtype);
    }
}
