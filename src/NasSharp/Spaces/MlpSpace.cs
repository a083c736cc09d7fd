using System.Numerics;
using NasSharp.Networks;
using NasSharp.Theory;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// The activation + deep-layer-skip space of Zhu, Liu, Chrysos &amp; Cevher (NeurIPS 2022, arXiv 2209.07238): depth L hidden
/// layers of width m, each with an activation from <see cref="Choices"/> and any subset of earlier hidden layers as skip
/// inputs. |space| = |A|^L · 2^{L(L−1)/2}. Its networks are <see cref="MlpNetwork"/>s, in either parameterisation; its
/// infinite-width NTK is analytic (<see cref="IAnalyticNtkSpace"/>).
/// </summary>
public sealed class MlpSpace : SearchSpace<MlpGenotype>, IAnalyticNtkSpace
{
    public const string Name = "mlp";
    public const long EnumerationLimit = 10_000_000;

    public static SpaceDefinition Definition { get; } = new(Name,
        "fully connected networks: an activation per hidden layer and skips from any earlier hidden layer; no table",
        [
            new("depth", "number of hidden layers L", "3"),
            new("width", "hidden width m", "256"),
            new("activations", "comma-separated activation choices", string.Join(",", Activations.Default.Select(a => a.Token()))),
            new("no-skips", "plain fully connected networks only", IsFlag: true),
        ],
        settings =>
        {
            var choices = settings.Text("activations") is { } list ? Activations.ParseList(list, "--activations") : null;
            return new MlpSpace(settings.Int("depth", 3, min: 1, max: MlpGenotype.MaxDepth), settings.Int("width", 256, min: 1, max: MlpGenotype.MaxWidth),
                choices, allowSkips: !settings.Flag("no-skips"));
        },
        MlpGenotype.Parse);

    public MlpSpace(int depth = 3, int width = 256, IReadOnlyList<Activation>? choices = null, double skipProbability = 0.5, bool allowSkips = true)
    {
        if (depth is < 1 or > MlpGenotype.MaxDepth) throw new ArgumentOutOfRangeException(nameof(depth), depth, $"Depth must be in 1..{MlpGenotype.MaxDepth}.");
        if (width is < 1 or > MlpGenotype.MaxWidth) throw new ArgumentOutOfRangeException(nameof(width), width, $"Width must be in 1..{MlpGenotype.MaxWidth:N0}.");
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
    public override string SpaceName => Name;

    public override IReadOnlyDictionary<string, string> Settings => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["depth"] = Depth.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["width"] = Width.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["activations"] = string.Join(",", Choices.Select(c => c.Token())),
        ["no-skips"] = AllowSkips ? "false" : "true",
    };

    private int SkipEdges => AllowSkips ? Depth * (Depth - 1) / 2 : 0;

    public override BigInteger Count => BigInteger.Pow(Choices.Count, Depth) * BigInteger.Pow(2, SkipEdges);

    public override string Describe() =>
        $"mlp: depth {Depth}, width {Width}, activations {{{string.Join(", ", Choices.Select(c => c.Token()))}}}, " +
        $"skips {(AllowSkips ? "from any earlier hidden layer" : "off")}; {Count:N0} genotypes";

    /// <summary>Parses and checks membership (depth, width, activation choices, skips allowed).</summary>
    public override MlpGenotype Parse(string text)
    {
        var g = MlpGenotype.Parse(text);
        Validate(g);
        return g;
    }

    public void Validate(MlpGenotype g)
    {
        if (g.Depth != Depth) throw new GenotypeFormatException($"{GenotypeFormatException.Quote(g.Canonical)} has {g.Depth} hidden layers; this space has depth {Depth} (use --depth {g.Depth}).");
        if (g.Width != Width) throw new GenotypeFormatException($"{GenotypeFormatException.Quote(g.Canonical)} has width {g.Width}; this space has width {Width} (use --width {g.Width}).");
        foreach (var (layer, i) in g.Layers.Select((l, i) => (l, i)))
        {
            if (!Choices.Contains(layer.Activation))
                throw new GenotypeFormatException($"{GenotypeFormatException.Quote(g.Canonical)}: layer {i + 1} uses '{layer.Activation.Token()}', not among this space's activations {{{string.Join(", ", Choices.Select(c => c.Token()))}}}.");
            if (!AllowSkips && layer.Skips.Length > 0)
                throw new GenotypeFormatException($"{GenotypeFormatException.Quote(g.Canonical)}: layer {i + 1} has skips, but this space has skips off.");
        }
    }

    public override MlpGenotype Sample(Random rng)
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

    /// <summary>Changes exactly one decision: one layer's activation, or one skip edge on/off.</summary>
    public override MlpGenotype Mutate(MlpGenotype g, Random rng)
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

    /// <summary>All genotypes in a fixed mixed-radix order (activations first, then skip masks).</summary>
    public override IEnumerable<MlpGenotype> Enumerate()
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

    /// <summary>Any mlp genotype is built, whatever this space's depth, width and activations (the genotype says them).</summary>
    protected override nn.Module<Tensor, Tensor> Build(MlpGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, Device? device) =>
        new MlpNetwork(genotype, sampleShape.Aggregate(1, (a, b) => a * b), classes, options, device);

    public TheoryReport Analyze(IGenotype genotype, SphereBatch data, NetworkOptions options) => NtkTheory.Analyze(Typed(genotype), data, options);
}
