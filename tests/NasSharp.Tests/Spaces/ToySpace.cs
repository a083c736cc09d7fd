using System.Numerics;
using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Tests.Spaces;

/// <summary>A toy genotype: a fully connected network of <paramref name="Depth"/> ReLU layers of <paramref name="Width"/> units.</summary>
public sealed record ToyGenotype(int Depth, int Width) : IGenotype
{
    public string Space => ToySpace.Name;
    public string Canonical => $"d{Depth}-w{Width}";
}

/// <summary>
/// A space of this test project only, written as a new space is written (this one file plus one registry line): ten small
/// networks, and a planted ground-truth table whose accuracy grows strictly with the parameter count, so that the
/// <c>params</c> proxy ranks it perfectly (Kendall τ = 1) and anything else that ranks it can be checked against it.
/// </summary>
public sealed class ToySpace : SearchSpace<ToyGenotype>
{
    public const string Name = "toy";
    private static readonly int[] Widths = [2, 4, 8, 16, 32];

    public static SpaceDefinition Definition { get; } = new(Name, "ten small fully connected networks with a planted table", [], _ => new ToySpace());

    public override string SpaceName => Name;
    public override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();
    public override BigInteger Count => 2 * Widths.Length;
    public override string Describe() => $"toy: depth 1 or 2, width {string.Join("/", Widths)}; {Count} genotypes";

    public override ToyGenotype Parse(string text)
    {
        var parts = text.Split('-');
        if (parts.Length == 2 && parts[0] is "d1" or "d2" && parts[1].StartsWith('w') && int.TryParse(parts[1][1..], out var w) && Widths.Contains(w))
            return new ToyGenotype(parts[0][1] - '0', w);
        throw new GenotypeFormatException($"'{text}' is not a toy genotype: expected d1-w8 (depth 1 or 2, width {string.Join("/", Widths)}).");
    }

    public override ToyGenotype Sample(Random rng) => new(1 + rng.Next(2), Widths[rng.Next(Widths.Length)]);
    public override ToyGenotype Mutate(ToyGenotype genotype, Random rng) => Sample(rng) is var g && g != genotype ? g : Mutate(genotype, rng);
    public override IEnumerable<ToyGenotype> Enumerate() => [.. new[] { 1, 2 }.SelectMany(d => Widths.Select(w => new ToyGenotype(d, w)))];

    protected override nn.Module<Tensor, Tensor> Build(ToyGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, Device? device)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("flatten", nn.Flatten()) };
        long inputs = sampleShape.Aggregate(1, (a, b) => a * b);
        for (int l = 0; l < genotype.Depth; l++)
        {
            layers.Add(($"linear{l}", nn.Linear(inputs, genotype.Width)));
            layers.Add(($"relu{l}", nn.ReLU()));
            inputs = genotype.Width;
        }
        layers.Add(("readout", nn.Linear(inputs, classes)));
        var network = nn.Sequential(layers);
        if (options.DType != ScalarType.Float32) network.to(options.DType);
        return device is null ? network : network.to(device);
    }

    public override IGroundTruth GroundTruth(string dataDirectory) => new PlantedTable(this);

    /// <summary>Accuracy 50% + 40% · (parameters on iris / the largest network's): strictly increasing in the parameter count.</summary>
    private sealed class PlantedTable(ToySpace space) : IGroundTruth
    {
        private static readonly int[] Iris = [4];

        public string Source => "the toy space's planted table";
        public IReadOnlyList<GroundTruthTarget> Targets { get; } = [new("iris", 3)];
        public IReadOnlyList<GroundTruthEntry> Entries => [.. space.Enumerate().Select(Entry)];
        public IReadOnlyDictionary<string, PublishedFigure> PublishedCorrelations { get; } = new Dictionary<string, PublishedFigure>();
        public IReadOnlyDictionary<string, PublishedFigure> PublishedSearches { get; } = new Dictionary<string, PublishedFigure>();

        public IReadOnlyList<GroundTruthEntry> Sample(int count, Random rng) => [.. space.SampleDistinct(count, rng).Select(Entry)];

        public GroundTruthEntry? Lookup(IGenotype arch) => arch is ToyGenotype ? Entry(arch) : null;

        private GroundTruthEntry Entry(IGenotype g)
        {
            double max = space.Cost(new ToyGenotype(2, 32), Iris, 3).Parameters;
            return new(g, new Dictionary<string, double> { ["iris"] = 50 + 40 * space.Cost(g, Iris, 3).Parameters / max });
        }
    }
}
