using System.Numerics;
using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// What every space shares: the typed view of its genotypes behind <see cref="ISearchSpace"/>, the seeding and the input
/// checks around its network builder, and a cost counter that reads the built network (<see cref="NetworkCost"/>).
/// </summary>
public abstract class SearchSpace<TGenotype> : ISearchSpace where TGenotype : class, IGenotype
{
    public abstract string SpaceName { get; }
    public abstract IReadOnlyDictionary<string, string> Settings { get; }
    public abstract BigInteger Count { get; }
    public abstract TGenotype Parse(string text);
    public abstract TGenotype Sample(Random rng);
    public abstract TGenotype Mutate(TGenotype genotype, Random rng);
    public abstract IEnumerable<TGenotype> Enumerate();
    public abstract string Describe();

    /// <summary>The parameterisations its networks can be built in (cell spaces: the standard one their papers trained).</summary>
    public virtual IReadOnlyList<Parameterization> Parameterizations => [Parameterization.Standard, Parameterization.Ntk];

    public virtual IRelaxation? Relaxation => null;

    public virtual IWeightSharing? WeightSharing => null;

    public virtual IGroundTruth? GroundTruth(string dataDirectory) => null;

    /// <summary>Why inputs of one sample's shape cannot go through this space's networks, or null.</summary>
    protected virtual string? CheckSampleShape(IReadOnlyList<int> sampleShape) => null;

    /// <summary>Builds the network; the caller has checked the inputs and seeded libtorch.</summary>
    protected abstract nn.Module<Tensor, Tensor> Build(TGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, Device? device);

    public string? CheckInput(IReadOnlyList<int> sampleShape, NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(options);
        if (!Parameterizations.Contains(options.Parameterization))
            return $"{SpaceName} networks are built in the {string.Join(" or ", Parameterizations.Select(p => p.ToString().ToLowerInvariant()))} parameterisation only";
        if (sampleShape.Count == 0 || sampleShape.Any(d => d < 1))
            return $"a sample shape needs positive dimensions, got [{string.Join(",", sampleShape)}]";
        return CheckSampleShape(sampleShape);
    }

    public nn.Module<Tensor, Tensor> BuildNetwork(IGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, long seed, Device? device = null)
    {
        var typed = Typed(genotype);
        if (CheckInput(sampleShape, options) is { } problem)
        {
            var message = $"Cannot build the {SpaceName} network for inputs [{string.Join(",", sampleShape)}]: {problem}.";
            throw Parameterizations.Contains(options.Parameterization) ? new ArgumentException(message) : new NotSupportedException(message);
        }
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        torch.random.manual_seed(seed);
        return Build(typed, sampleShape, classes, options, device);
    }

    /// <summary>Read off the network built in the standard parameterisation (the count does not depend on the weights).</summary>
    public NetworkCost Cost(IGenotype genotype, IReadOnlyList<int> sampleShape, int classes)
    {
        using var scope = NewDisposeScope();
        using var network = BuildNetwork(genotype, sampleShape, classes, new NetworkOptions(), seed: 0);
        return NetworkCost.Of(network, sampleShape);
    }

    /// <summary>This space's genotype type, or an error naming both spaces.</summary>
    protected TGenotype Typed(IGenotype genotype)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        return genotype as TGenotype ?? throw new ArgumentException($"'{genotype.Canonical}' is a {genotype.Space} genotype, not a {SpaceName} one.");
    }

    IGenotype ISearchSpace.Parse(string text) => Parse(text);
    IGenotype ISearchSpace.Sample(Random rng) => Sample(rng);
    IGenotype ISearchSpace.Mutate(IGenotype genotype, Random rng) => Mutate(Typed(genotype), rng);
    IEnumerable<IGenotype> ISearchSpace.Enumerate() => Enumerate();
}

/// <summary>Operations every space supports on top of <see cref="ISearchSpace"/>.</summary>
public static class SearchSpaceExtensions
{
    /// <summary>
    /// <paramref name="count"/> distinct genotypes sampled from <paramref name="rng"/>, in draw order (repeats are drawn
    /// again). Throws when the space has fewer genotypes than asked for.
    /// </summary>
    public static IReadOnlyList<IGenotype> SampleDistinct(this ISearchSpace space, int count, Random rng)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(rng);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Cannot sample a negative number of genotypes.");
        if (space.Count < count)
            throw new ArgumentException($"The space has only {space.Count} genotypes; ask for at most that many.");
        var seen = new HashSet<string>();
        var list = new List<IGenotype>(count);
        while (list.Count < count)
        {
            var g = space.Sample(rng);
            if (seen.Add(g.Canonical)) list.Add(g);
        }
        return list;
    }
}
