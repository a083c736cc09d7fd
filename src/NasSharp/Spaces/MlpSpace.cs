using System.Numerics;

namespace NasSharp.Spaces;

/// <summary>
/// The activation + deep-layer-skip space of seed 000: depth L hidden layers of width m, each with an
/// activation from <see cref="Choices"/> and any subset of earlier hidden layers as skip inputs.
/// |space| = |A|^L · 2^{L(L−1)/2}.
/// </summary>
public sealed class MlpSpace : ISearchSpace
{
    public const string Name = "mlp";
    public const long EnumerationLimit = 10_000_000;

    public MlpSpace(int depth = 3, int width = 256, IReadOnlyList<Activation>? choices = null, double skipProbability = 0.5, bool allowSkips = true)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "Depth must be at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be at least 1.");
        if (skipProbability is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(skipProbability), skipProbability, "Must be in [0, 1].");
        Depth = depth;
        Width = width;
        Choices = choices?.Distinct().ToArray() ?? Activations.Default;
        if (Choices.Count == 0) throw new ArgumentException("At least one activation choice is needed.", nameof(choices));
        SkipProbability = skipProbability;
        AllowSkips = allowSkips;
    }

    public int Depth { get; }
    public int Width { get; }
    public IReadOnlyList<Activation> Choices { get; }
    public double SkipProbability { get; }
    public bool AllowSkips { get; }
    public string SpaceName => Name;

    private int SkipEdges => AllowSkips ? Depth * (Depth - 1) / 2 : 0;

    public BigInteger Count => BigInteger.Pow(Choices.Count, Depth) * BigInteger.Pow(2, SkipEdges);

    public string Describe() =>
        $"mlp: depth {Depth}, width {Width}, activations {{{string.Join(", ", Choices.Select(c => c.Token()))}}}, " +
        $"skips {(AllowSkips ? "from any earlier hidden layer" : "off")}; {Count:N0} genotypes";

    IGenotype ISearchSpace.Parse(string text) => Parse(text);

    /// <summary>Parses and checks membership (depth, width, activation choices, skips allowed).</summary>
    public MlpGenotype Parse(string text)
    {
        var g = MlpGenotype.Parse(text);
        Validate(g);
        return g;
    }

    public void Validate(MlpGenotype g)
    {
        if (g.Depth != Depth) throw new GenotypeFormatException($"'{g}' has {g.Depth} hidden layers; this space has depth {Depth} (use --depth {g.Depth}).");
        if (g.Width != Width) throw new GenotypeFormatException($"'{g}' has width {g.Width}; this space has width {Width} (use --width {g.Width}).");
        foreach (var (layer, i) in g.Layers.Select((l, i) => (l, i)))
        {
            if (!Choices.Contains(layer.Activation))
                throw new GenotypeFormatException($"'{g}': layer {i + 1} uses '{layer.Activation.Token()}', not among this space's activations {{{string.Join(", ", Choices.Select(c => c.Token()))}}}.");
            if (!AllowSkips && layer.Skips.Length > 0)
                throw new GenotypeFormatException($"'{g}': layer {i + 1} has skips, but this space has skips off.");
        }
    }

    IGenotype ISearchSpace.Sample(Random rng) => Sample(rng);

    public MlpGenotype Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var layers = new MlpLayer[Depth];
        for (int l = 0; l < Depth; l++)
        {
            var act = Choices[rng.Next(Choices.Count)];
            var skips = new List<int>();
            if (AllowSkips)
                for (int j = 1; j <= l; j++)
                    if (rng.NextDouble() < SkipProbability) skips.Add(j);
            layers[l] = new MlpLayer(act, [.. skips]);
        }
        return new MlpGenotype(Width, layers);
    }

    IGenotype ISearchSpace.Mutate(IGenotype genotype, Random rng) => Mutate(AsMlp(genotype), rng);

    /// <summary>Changes exactly one decision: one layer's activation, or one skip edge on/off.</summary>
    public MlpGenotype Mutate(MlpGenotype g, Random rng)
    {
        Validate(g);
        int actMoves = Choices.Count > 1 ? Depth : 0;
        int moves = actMoves + SkipEdges;
        if (moves == 0) throw new InvalidOperationException("This space has a single genotype; nothing to mutate.");
        int move = rng.Next(moves);
        var layers = g.Layers.ToArray();
        if (move < actMoves)
        {
            var current = layers[move].Activation;
            var others = Choices.Where(c => c != current).ToArray();
            layers[move] = layers[move] with { Activation = others[rng.Next(others.Length)] };
        }
        else
        {
            // Skip edges in order (2←1), (3←1), (3←2), ...
            int e = move - actMoves, l = 1;
            while (e >= l) { e -= l; l++; }
            int from = e + 1;
            var skips = layers[l].Skips.ToList();
            if (!skips.Remove(from)) { skips.Add(from); skips.Sort(); }
            layers[l] = layers[l] with { Skips = [.. skips] };
        }
        return new MlpGenotype(Width, layers);
    }

    IEnumerable<IGenotype> ISearchSpace.Enumerate() => Enumerate();

    /// <summary>All genotypes in a fixed mixed-radix order (activations first, then skip masks).</summary>
    public IEnumerable<MlpGenotype> Enumerate()
    {
        if (Count > EnumerationLimit)
            throw new InvalidOperationException($"The mlp space has {Count:N0} genotypes, more than {EnumerationLimit:N0}: sample it instead.");
        long total = (long)Count;
        int a = Choices.Count;
        for (long index = 0; index < total; index++)
        {
            long rest = index;
            var acts = new Activation[Depth];
            for (int l = 0; l < Depth; l++) { acts[l] = Choices[(int)(rest % a)]; rest /= a; }
            var layers = new MlpLayer[Depth];
            for (int l = 0; l < Depth; l++)
            {
                var skips = new List<int>();
                for (int j = 1; j <= l && AllowSkips; j++) { if ((rest & 1) == 1) skips.Add(j); rest >>= 1; }
                layers[l] = new MlpLayer(acts[l], [.. skips]);
            }
            yield return new MlpGenotype(Width, layers);
        }
    }

    private static MlpGenotype AsMlp(IGenotype g) =>
        g as MlpGenotype ?? throw new ArgumentException($"'{g.Canonical}' is a {g.Space} genotype, not an mlp one.");
}
