using System.Numerics;
using NasSharp.Kernels;
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
            new("relaxed-skips", "the skips of the relaxed network (bilevel, mkl, spectral search activations only): none, residual or dense", "none"),
            new("shared-alpha", "the relaxed network mixes activations with one α shared by every layer, not one per layer", IsFlag: true),
        ],
        settings =>
        {
            var choices = settings.Text("activations") is { } list ? Activations.ParseList(list, "--activations") : null;
            var relaxedSkips = settings.Choice("relaxed-skips", MlpSkipPattern.None,
                ("none", MlpSkipPattern.None), ("residual", MlpSkipPattern.Residual), ("dense", MlpSkipPattern.Dense));
            bool allowSkips = !settings.Flag("no-skips");
            if (!allowSkips && relaxedSkips != MlpSkipPattern.None)
                throw new SettingException($"--relaxed-skips {relaxedSkips.ToString().ToLowerInvariant()}: the space has --no-skips; drop one of them.");
            return new MlpSpace(settings.Int("depth", 3, min: 1, max: MlpGenotype.MaxDepth), settings.Int("width", 256, min: 1, max: MlpGenotype.MaxWidth),
                choices, allowSkips: allowSkips, relaxedSkips: relaxedSkips, sharedAlpha: settings.Flag("shared-alpha"));
        },
        MlpGenotype.Parse);

    public MlpSpace(int depth = 3, int width = 256, IReadOnlyList<Activation>? choices = null, double skipProbability = 0.5, bool allowSkips = true,
        MlpSkipPattern relaxedSkips = MlpSkipPattern.None, bool sharedAlpha = false)
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
        RelaxedSkips = relaxedSkips;
        SharedAlpha = sharedAlpha;
    }

    public int Depth { get; }
    public int Width { get; }
    public IReadOnlyList<Activation> Choices { get; }
    public double SkipProbability { get; }
    public bool AllowSkips { get; }
    /// <summary>The skips the relaxed network keeps fixed while its activations are searched.</summary>
    public MlpSkipPattern RelaxedSkips { get; }
    /// <summary>Whether the relaxed network mixes every layer's activation with one shared α.</summary>
    public bool SharedAlpha { get; }
    public override string SpaceName => Name;

    public override IReadOnlyDictionary<string, string> Settings => new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["depth"] = Depth.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["width"] = Width.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["activations"] = string.Join(",", Choices.Select(c => c.Token())),
        ["no-skips"] = AllowSkips ? "false" : "true",
        ["relaxed-skips"] = RelaxedSkips.ToString().ToLowerInvariant(),
        ["shared-alpha"] = SharedAlpha ? "true" : "false",
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

    public AnalyticKernel Kernel(IGenotype genotype, double[] inputs, int count, NetworkOptions options) => AnalyticNtk.Compute(Typed(genotype), inputs, count, options);

    public IEnumerable<(int Index, AnalyticKernel Kernel)> Kernels(IReadOnlyList<IGenotype> genotypes, double[] inputs, int count, NetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(genotypes);
        var typed = genotypes.Select(Typed).ToList();
        return AnalyticNtk.OnInputs(inputs, count, options).ComputeAll(typed);
    }

    /// <summary>The activation relaxation: the skeleton of <see cref="RelaxedSkips"/>, α per layer or shared (<see cref="SharedAlpha"/>).</summary>
    public override IRelaxation Relaxation => new MlpRelaxation(this, Skeleton(RelaxedSkips), SharedAlpha);

    /// <summary>A genotype of this space's width and depth with the skips of <paramref name="pattern"/> (activations: the first choice).</summary>
    public MlpGenotype Skeleton(MlpSkipPattern pattern)
    {
        var activations = Enumerable.Repeat(Choices[0], Depth).ToArray();
        return pattern switch
        {
            MlpSkipPattern.None => MlpGenotype.Plain(Width, activations),
            MlpSkipPattern.Residual => MlpGenotype.Residual(Width, activations),
            MlpSkipPattern.Dense => MlpGenotype.Dense(Width, activations),
            _ => throw new ArgumentOutOfRangeException(nameof(pattern), pattern, null),
        };
    }
}

/// <summary>The skip patterns a relaxed mlp can keep fixed (<see cref="MlpGenotype.Plain"/>, <see cref="MlpGenotype.Residual"/>, <see cref="MlpGenotype.Dense"/>).</summary>
public enum MlpSkipPattern { None, Residual, Dense }

/// <summary>
/// The <c>mlp</c> space's relaxation, activation search with the skips fixed by a skeleton genotype: one group
/// "activations" of logits, one row per hidden layer (or one shared row), over the space's activation choices; the supernet
/// is <see cref="MlpSupernet"/>; the derivation (<c>argmax</c>) takes each layer's most probable activation.
/// </summary>
public sealed class MlpRelaxation : IRelaxation
{
    public const string Argmax = "argmax";

    private readonly MlpSpace space;

    public MlpRelaxation(MlpSpace space, MlpGenotype skeleton, bool shared)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(skeleton);
        this.space = space;
        Skeleton = new MlpGenotype(space.Width, skeleton.Layers.Select(l => l with { Activation = space.Choices[0] }));
        space.Validate(Skeleton);
        Shared = shared;
    }

    public MlpGenotype Skeleton { get; }
    public bool Shared { get; }

    public IReadOnlyList<ArchitectureGroup> Groups =>
        [new ArchitectureGroup(MlpSupernet.GroupName, Shared ? 1 : space.Depth, [.. space.Choices.Select(c => c.Token())])];

    public IReadOnlyList<string> Derivations => [Argmax];

    public RelaxedSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null) =>
        BuildSupernet(sampleShape, classes, new NetworkOptions(), seed, device);

    /// <summary>The supernet in <paramref name="options"/> (parameterisation, dtype), libtorch seeded right before.</summary>
    public MlpSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, long seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (space.CheckInput(sampleShape, options) is { } problem)
            throw new ArgumentException($"Cannot build the relaxed mlp for inputs [{string.Join(",", sampleShape)}]: {problem}.");
        TorchSharp.torch.random.manual_seed(seed);
        return new MlpSupernet(Skeleton, space.Choices, Shared, sampleShape.Aggregate(1, (a, b) => a * b), classes, options, device);
    }

    public IGenotype Derive(IReadOnlyList<double[,]> logits, string? rule = null)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if ((rule ?? Argmax) != Argmax) throw new ArgumentException($"Unknown mlp derivation '{rule}'; known: {Argmax}.", nameof(rule));
        var group = Groups[0];
        if (logits.Count != 1 || logits[0].GetLength(0) != group.Edges || logits[0].GetLength(1) != group.Operations.Count)
            throw new ArgumentException($"Relaxed mlp logits are one [{group.Edges}, {group.Operations.Count}] array.", nameof(logits));
        var a = logits[0];
        return new MlpGenotype(space.Width, Skeleton.Layers.Select((layer, l) =>
        {
            int row = Shared ? 0 : l, best = 0;
            for (int i = 1; i < a.GetLength(1); i++) if (a[row, i] > a[row, best]) best = i;
            return layer with { Activation = space.Choices[best] };
        }));
    }
}
