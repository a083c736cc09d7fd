using System.Collections.Immutable;
using System.Globalization;
using System.Numerics;
using NasSharp.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>
/// A MobileNetV2-like space at CIFAR scale (Sandler et al., CVPR 2018, arXiv 1801.04381), the layer-wise space of ProxylessNAS
/// (Cai, Zhu &amp; Han, ICLR 2019, arXiv 1812.00332), FBNet (Wu et al., CVPR 2019, arXiv 1812.03443) and FairNAS (Chu et al.,
/// ICCV 2021, arXiv 1907.01845): a fixed skeleton (<see cref="MobileNetNetworkOptions"/>) whose every searchable layer is an
/// inverted residual block of expansion 3 or 6 and kernel 3, 5 or 7, or <c>skip</c> where the identity fits (stride 1, equal
/// channels: every layer but a stage's first). With L₁ layers where skip fits and L₀ where it does not, 7^L₁ · 6^L₀ genotypes:
/// 7⁵ · 6⁵ = 130,691,232 for the default 10 layers. Its weight-sharing form is a single-path supernet (<see cref="WeightSharing"/>).
/// </summary>
public sealed class MobileNetSpace(MobileNetNetworkOptions? network = null, MobileNetSharing sharing = MobileNetSharing.Independent) : SearchSpace<MobileNetGenotype>
{
    public const string Name = "mobilenet";

    /// <summary>The most genotypes <see cref="Enumerate"/> lists.</summary>
    public const long EnumerationLimit = 10_000_000;

    public static SpaceDefinition Definition { get; } = new(Name,
        "MobileNetV2-like networks at CIFAR scale: per layer an inverted residual block (expansion 3/6, kernel 3/5/7) or skip; no table",
        [
            new("width-multiplier", "scales the channels of stem, stages (16, 24, 32, 64, 96, 160) and head, each rounded to a multiple of 8", "1"),
            new("layers", "searchable layers of each of the 6 stages, comma-separated (1..8 each)", "1,2,2,2,2,1"),
            new("weight-sharing", "the supernet's blocks of one layer: independent (each its own weights) or entangled (slices of one e6k7 block, as Once-for-All)", "independent"),
        ],
        settings =>
        {
            double multiplier = settings.Double("width-multiplier", 1.0);
            if (!(multiplier > 0 && multiplier <= MobileNetNetworkOptions.MaxWidthMultiplier))
                throw new SettingException($"--width-multiplier {settings.Text("width-multiplier")}: must be above 0 and at most {MobileNetNetworkOptions.MaxWidthMultiplier.ToString(CultureInfo.InvariantCulture)}.");
            var options = new MobileNetNetworkOptions { WidthMultiplier = multiplier, LayersPerStage = ParseLayers(settings.Text("layers")) };
            var sharing = MobileNetSharings.Parse(settings.Text("weight-sharing"));
            return options.Problem() is { } problem ? throw new SettingException($"--layers {settings.Text("layers")}: {problem}.") : new MobileNetSpace(options, sharing);
        },
        MobileNetGenotype.Parse);

    /// <summary>The skeleton of this space's networks and supernet.</summary>
    public MobileNetNetworkOptions Network { get; } = Validated(network ?? new MobileNetNetworkOptions());

    /// <summary>How the supernet's blocks of one layer share weights.</summary>
    public MobileNetSharing Sharing { get; } = Enum.IsDefined(sharing) ? sharing : throw new ArgumentOutOfRangeException(nameof(sharing), sharing, "Unknown weight sharing.");

    public override string SpaceName => Name;

    /// <summary>The settings that make this space; weight-sharing only when not the default, so the spaces of earlier runs keep their keys.</summary>
    public override IReadOnlyDictionary<string, string> Settings
    {
        get
        {
            var settings = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["width-multiplier"] = NasSharp.Settings.Format(Network.WidthMultiplier),
                ["layers"] = Network.LayersText,
            };
            if (Sharing != MobileNetSharing.Independent) settings["weight-sharing"] = Sharing.Token();
            return settings;
        }
    }

    private IReadOnlyList<MobileNetLayerSpec> Layers => Network.Layers();

    public override BigInteger Count => Layers.Aggregate(BigInteger.One, (n, layer) => n * layer.Candidates.Count);

    public override string Describe()
    {
        var layers = Layers;
        var stages = Enumerable.Range(0, MobileNetNetworkOptions.StageWidths.Length).Select(s =>
            $"{Network.StageChannels(s)}×{Network.LayersPerStage[s]}{(MobileNetNetworkOptions.StageStrides[s] == 2 ? "/2" : "")}");
        return $"mobilenet: stem {Network.StemChannels}, stages (channels×layers, /2 strided) {string.Join(" ", stages)}, head {Network.HeadChannels}; " +
               $"{layers.Count} searchable layers, each one of {{{MobileNetOperations.KnownTokens}}} (skip at layers " +
               $"{string.Join(",", layers.Where(l => l.SkipAllowed).Select(l => l.Index + 1))} only); {Count:N0} genotypes" +
               (Sharing == MobileNetSharing.Entangled ? "; supernet blocks of a layer entangled (slices of one e6k7 block)" : "");
    }

    /// <summary>Parses and checks that the genotype fits this space's skeleton.</summary>
    public override MobileNetGenotype Parse(string text)
    {
        var g = MobileNetGenotype.Parse(text);
        return Network.Misfit(g) is { } misfit
            ? throw new GenotypeFormatException($"{GenotypeFormatException.Quote(g.Canonical)} is not a genotype of this mobilenet space: {misfit}.")
            : g;
    }

    /// <summary>Each layer's candidate uniformly among those the layer allows.</summary>
    public override MobileNetGenotype Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return new MobileNetGenotype(Layers.Select(l => l.Candidates[rng.Next(l.Candidates.Count)]));
    }

    /// <summary>Changes the candidate of exactly one layer, uniformly over all one-layer neighbours.</summary>
    public override MobileNetGenotype Mutate(MobileNetGenotype genotype, Random rng)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(rng);
        if (Network.Misfit(genotype) is { } misfit) throw new ArgumentException($"Cannot mutate '{genotype}': {misfit}.", nameof(genotype));
        var neighbours = Layers.SelectMany(l => l.Candidates.Where(op => op != genotype.Operations[l.Index]).Select(op => genotype.With(l.Index, op))).ToList();
        return neighbours[rng.Next(neighbours.Count)];
    }

    /// <summary>Every genotype in mixed-radix order (the last layer varies fastest); throws above <see cref="EnumerationLimit"/>.</summary>
    public override IEnumerable<MobileNetGenotype> Enumerate()
    {
        if (Count > EnumerationLimit)
            throw new InvalidOperationException($"The mobilenet space has {Count:N0} genotypes, more than {EnumerationLimit:N0}: sample it instead (or use fewer --layers).");
        return Iterate(Layers);

        static IEnumerable<MobileNetGenotype> Iterate(IReadOnlyList<MobileNetLayerSpec> layers)
        {
            var digits = new int[layers.Count];
            while (true)
            {
                yield return new MobileNetGenotype(layers.Select(l => l.Candidates[digits[l.Index]]));
                int i = layers.Count - 1;
                while (i >= 0 && ++digits[i] == layers[i].Candidates.Count) digits[i--] = 0;
                if (i < 0) yield break;
            }
        }
    }

    public override IReadOnlyList<Parameterization> Parameterizations => [Parameterization.Standard];

    protected override string? CheckSampleShape(IReadOnlyList<int> sampleShape) =>
        MobileNetNetwork.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0);

    protected override nn.Module<Tensor, Tensor> Build(MobileNetGenotype genotype, IReadOnlyList<int> sampleShape, int classes, NetworkOptions options, Device? device) =>
        new MobileNetNetwork(genotype, sampleShape[0], classes, Network, device, options.DType);

    public override IWeightSharing WeightSharing => new MobileNetWeightSharing(this);

    /// <summary>"1,2,2,2,2,1" as layer counts; null for the default.</summary>
    private static ImmutableArray<int> ParseLayers(string? text)
    {
        if (text is null) return new MobileNetNetworkOptions().LayersPerStage;
        var parts = text.Split(',');
        var counts = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out counts[i]))
                throw new SettingException($"--layers {text}: expected {MobileNetNetworkOptions.StageWidths.Length} comma-separated whole numbers, one per stage, e.g. 1,2,2,2,2,1.");
        return [.. counts];
    }

    private static MobileNetNetworkOptions Validated(MobileNetNetworkOptions options)
    {
        options.Validate();
        return options;
    }
}

/// <summary>
/// The <c>mobilenet</c> space's single-path weight sharing: one choice point per searchable layer, its candidates in
/// <see cref="MobileNetOperation"/> order (7 where skip fits, the 6 blocks elsewhere), and <see cref="MobileNetSupernet"/>.
/// </summary>
public sealed class MobileNetWeightSharing(MobileNetSpace space) : IWeightSharing
{
    private readonly IReadOnlyList<MobileNetLayerSpec> layers = space.Network.Layers();

    public IReadOnlyList<int> ChoiceCounts => [.. layers.Select(l => l.Candidates.Count)];

    public IReadOnlyList<int> PathOf(IGenotype genotype)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        var g = genotype as MobileNetGenotype ?? throw new ArgumentException($"'{genotype.Canonical}' is a {genotype.Space} genotype, not a mobilenet one.", nameof(genotype));
        if (space.Network.Misfit(g) is { } misfit) throw new ArgumentException($"'{g}' has no path in this supernet: {misfit}.", nameof(genotype));
        // The blocks come first in every layer's candidates, so an operation's index is its position in the enum.
        return [.. g.Operations.Select(op => (int)op)];
    }

    public IGenotype GenotypeOf(IReadOnlyList<int> path)
    {
        MobileNetSupernet.CheckPath(path, ChoiceCounts);
        return new MobileNetGenotype(layers.Select(l => l.Candidates[path[l.Index]]));
    }

    public PathSupernet BuildSupernet(IReadOnlyList<int> sampleShape, int classes, long seed, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (MobileNetNetwork.CheckInputShape([.. sampleShape.Select(d => (long)d)], sampleShape.Count > 0 ? sampleShape[0] : 0) is { } problem)
            throw new ArgumentException($"Cannot build the mobilenet supernet for inputs [{string.Join(",", sampleShape)}]: {problem}.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        torch.random.manual_seed(seed);
        return new MobileNetSupernet(sampleShape[0], classes, space.Network, device, entangled: space.Sharing == MobileNetSharing.Entangled);
    }
}

/// <summary>How the blocks of one supernet layer hold their weights.</summary>
public enum MobileNetSharing
{
    /// <summary>Each block its own weights (<see cref="ChoiceLayer"/>).</summary>
    Independent,
    /// <summary>Every block a slice of the layer's one e6k7 block (<see cref="EntangledChoiceLayer"/>).</summary>
    Entangled,
}

public static class MobileNetSharings
{
    public static string Token(this MobileNetSharing sharing) => sharing switch
    {
        MobileNetSharing.Independent => "independent",
        MobileNetSharing.Entangled => "entangled",
        _ => throw new ArgumentOutOfRangeException(nameof(sharing), sharing, "Unknown weight sharing."),
    };

    /// <summary>Parses "independent" or "entangled"; null is the default, independent.</summary>
    public static MobileNetSharing Parse(string? token)
    {
        if (token is null) return MobileNetSharing.Independent;
        foreach (var s in Enum.GetValues<MobileNetSharing>())
            if (s.Token() == token.Trim()) return s;
        throw new SettingException($"--weight-sharing {token}: expected independent or entangled.");
    }
}
