using NasSharp.Networks;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// The one-shot, single-path weight-sharing form of a space (SPOS, Guo et al. ECCV 2020, arXiv 1904.00420; FairNAS, Chu
/// et al. ICCV 2021, arXiv 1907.01845): a supernet that holds every candidate module of every choice point and runs one
/// path per forward pass, so a genotype's network inherits its weights. Unlike <see cref="IRelaxation"/>, nothing is mixed:
/// a path picks one candidate per choice point.
/// </summary>
public interface IWeightSharing
{
    /// <summary>Candidates per choice point, in path order (NB201: 6 edges of 5 operations).</summary>
    IReadOnlyList<int> ChoiceCounts { get; }

    /// <summary>The path of <paramref name="genotype"/>: the candidate index at each choice point.</summary>
    IReadOnlyList<int> PathOf(IGenotype genotype);

    /// <summary>The genotype a path selects.</summary>
    IGenotype GenotypeOf(IReadOnlyList<int> path);

    /// <summary>The supernet at initialisation, libtorch seeded with <paramref name="seed"/> right before it is built.</summary>
    PathSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null);
}

/// <summary>A single-path supernet: each forward pass runs the candidates of the path last set, and only those.</summary>
public abstract class PathSupernet(string name) : nn.Module<Tensor, Tensor>(name)
{
    /// <summary>The candidates the following forward passes run: one index per choice point of its space's <see cref="IWeightSharing.ChoiceCounts"/>.</summary>
    public abstract void SetPath(IReadOnlyList<int> path);
}
