using System.Collections.Immutable;
using System.Globalization;
using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// The fixed macro skeleton of the <c>mobilenet</c> space: MobileNetV2's stages (Sandler et al., CVPR 2018, arXiv
/// 1801.04381, Table 2) without its last 320-channel stage, at CIFAR resolution. Stages of 16, 24, 32, 64, 96, 160 channels
/// (times <see cref="WidthMultiplier"/>, rounded to a multiple of 8 as MobileNetV2's code does) with strides 1, 1, 2, 2, 1,
/// 2: a 32×32 image is 32×32 up to the 24-channel stage, then 16, 8, 8, 4 (MobileNetV2 strides its 24-channel stage and its
/// stem for 224×224 inputs; CIFAR versions stride neither). Only a stage's first layer strides or changes channels.
/// The stem is a 16-channel 3×3 convolution, the head a 1×1 convolution to 4× the last stage's channels (MobileNetV2:
/// 1280 = 4 × 320).
/// </summary>
public sealed record MobileNetNetworkOptions
{
    /// <summary>Channels of the six stages at width multiplier 1.</summary>
    public static ImmutableArray<int> StageWidths { get; } = [16, 24, 32, 64, 96, 160];

    /// <summary>Stride of each stage's first layer.</summary>
    public static ImmutableArray<int> StageStrides { get; } = [1, 1, 2, 2, 1, 2];

    public const int StemWidth = 16;
    public const int HeadExpansion = 4;
    public const int MaxLayersPerStage = 8;
    public const double MaxWidthMultiplier = 4;

    /// <summary>Scales every channel count (stem, stages, head), each rounded to a multiple of 8 (at least 8).</summary>
    public double WidthMultiplier { get; init; } = 1.0;

    /// <summary>Searchable layers per stage (1..8 each); the default has 10, MobileNetV2's own 1, 2, 3, 4, 3, 3 has 16.</summary>
    public ImmutableArray<int> LayersPerStage { get; init; } = [1, 2, 2, 2, 2, 1];

    /// <summary>Why the options make no skeleton, or null.</summary>
    public string? Problem()
    {
        if (!(WidthMultiplier > 0 && WidthMultiplier <= MaxWidthMultiplier))
            return $"the width multiplier must be in (0, {MaxWidthMultiplier.ToString(CultureInfo.InvariantCulture)}], got {WidthMultiplier.ToString(CultureInfo.InvariantCulture)}";
        if (LayersPerStage.IsDefault || LayersPerStage.Length != StageWidths.Length)
            return $"the skeleton has {StageWidths.Length} stages, so it needs {StageWidths.Length} layer counts, got {(LayersPerStage.IsDefault ? 0 : LayersPerStage.Length)}";
        if (LayersPerStage.Any(n => n is < 1 or > MaxLayersPerStage))
            return $"each stage has 1..{MaxLayersPerStage} layers, got {LayersText}";
        return null;
    }

    public void Validate()
    {
        if (Problem() is { } problem) throw new ArgumentException($"Invalid mobilenet skeleton: {problem}.");
    }

    /// <summary>The layer counts as the <c>--layers</c> setting spells them, e.g. "1,2,2,2,2,1".</summary>
    public string LayersText => LayersPerStage.IsDefault ? "" : string.Join(",", LayersPerStage);

    /// <summary>
    /// <c>_make_divisible(v, 8)</c> of MobileNetV2's reference code: the nearest multiple of 8, at least 8, and never more than
    /// 10% below <paramref name="channels"/>.
    /// </summary>
    public static int Round(double channels)
    {
        int v = Math.Max(8, (int)(channels + 4) / 8 * 8);
        return v < 0.9 * channels ? v + 8 : v;
    }

    public int StemChannels => Round(StemWidth * WidthMultiplier);

    public int StageChannels(int stage) => Round(StageWidths[stage] * WidthMultiplier);

    public int HeadChannels => Round(HeadExpansion * StageWidths[^1] * WidthMultiplier);

    /// <summary>The searchable layers in network order.</summary>
    public IReadOnlyList<MobileNetLayerSpec> Layers()
    {
        Validate();
        var layers = new List<MobileNetLayerSpec>();
        int channels = StemChannels;
        for (int stage = 0; stage < StageWidths.Length; stage++)
            for (int i = 0; i < LayersPerStage[stage]; i++)
            {
                int output = StageChannels(stage);
                layers.Add(new MobileNetLayerSpec(layers.Count, stage, channels, output, i == 0 ? StageStrides[stage] : 1));
                channels = output;
            }
        return layers;
    }

    /// <summary>Why <paramref name="genotype"/> does not fit this skeleton (its length, a skip where the identity does not fit), or null.</summary>
    public string? Misfit(MobileNetGenotype genotype)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        var layers = Layers();
        if (genotype.Operations.Length != layers.Count)
            return $"it has {genotype.Operations.Length} layers, the skeleton has {layers.Count} (--layers {LayersText})";
        foreach (var layer in layers)
            if (genotype.Operations[layer.Index] == MobileNetOperation.Skip && !layer.SkipAllowed)
                return $"layer {layer.Index + 1} is skip, but that layer {layer.Change}, so the identity does not fit there; skip is allowed at layers {string.Join(", ", layers.Where(l => l.SkipAllowed).Select(l => l.Index + 1))}";
        return null;
    }
}

/// <summary>One searchable layer of the skeleton: its position, stage, channels and stride.</summary>
public readonly record struct MobileNetLayerSpec(int Index, int Stage, int InChannels, int OutChannels, int Stride)
{
    /// <summary>
    /// Whether <c>skip</c> is a candidate: only where the identity maps the input to the output's shape. Where the layer
    /// strides or changes channels skip is not offered (a projection there would be a seventh kind of block, not a skip), as
    /// ProxylessNAS and FairNAS fix the first layer of each stage to a block.
    /// </summary>
    public bool SkipAllowed => Stride == 1 && InChannels == OutChannels;

    /// <summary>The candidates of this layer in path order.</summary>
    public IReadOnlyList<MobileNetOperation> Candidates => SkipAllowed ? MobileNetOperations.All : MobileNetOperations.Blocks;

    /// <summary>What the layer changes, for messages: "has stride 2", "maps 16 to 24 channels".</summary>
    public string Change => Stride != 1 ? $"has stride {Stride}" : $"maps {InChannels} to {OutChannels} channels";
}

/// <summary>
/// MobileNetV2's inverted residual block (Sandler et al., CVPR 2018, Table 1): 1×1 convolution expanding to e·C_in channels,
/// BN, ReLU; depthwise k×k convolution (stride s, padding k/2), BN, ReLU; 1×1 linear projection to C_out, BN; plus the input
/// when s = 1 and C_in = C_out. ReLU, not MobileNetV2's ReLU6 (a cap meant for low-precision inference): the activation
/// proxies (NASWOT's codes, Mellor et al., ICML 2021, arXiv 2006.04647) find ReLU modules.
/// </summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>
{
    private readonly Sequential expand;
    private readonly Sequential depthwise;
    private readonly Sequential project;

    public InvertedResidual(int inChannels, int outChannels, int stride, int expansion, int kernel) : base(nameof(InvertedResidual))
    {
        int hidden = inChannels * expansion;
        expand = nn.Sequential(
            ("conv", nn.Conv2d(inChannels, hidden, 1, bias: false)), ("bn", nn.BatchNorm2d(hidden)), ("relu", nn.ReLU()));
        depthwise = nn.Sequential(
            ("conv", nn.Conv2d(hidden, hidden, kernel, stride: stride, padding: kernel / 2, groups: hidden, bias: false)),
            ("bn", nn.BatchNorm2d(hidden)), ("relu", nn.ReLU()));
        project = nn.Sequential(("conv", nn.Conv2d(hidden, outChannels, 1, bias: false)), ("bn", nn.BatchNorm2d(outChannels)));
        Residual = stride == 1 && inChannels == outChannels;
        RegisterComponents();
    }

    /// <summary>Whether the block adds its input to its output.</summary>
    public bool Residual { get; }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var y = project.call(depthwise.call(expand.call(input)));
        return (Residual ? y + input : y).MoveToOuterDisposeScope();
    }
}

/// <summary>The <c>skip</c> candidate: the identity.</summary>
public sealed class IdentityLayer() : ParameterLessModule<Tensor, Tensor>(nameof(IdentityLayer))
{
    public override Tensor forward(Tensor input) => input.alias();
}

/// <summary>
/// The <c>mobilenet</c> space's network: stem (3×3 convolution, BN, ReLU), the searchable layers of
/// <see cref="MobileNetNetworkOptions"/>, head (1×1 convolution, BN, ReLU), global average pooling, linear classifier. The
/// layers come from a factory, so the same skeleton is the network of a genotype and the weight-sharing supernet
/// (<see cref="MobileNetSupernet"/>). Inputs are [B, channels, H, W] of any size (strides round up).
/// </summary>
public sealed class MobileNetNetwork : nn.Module<Tensor, Tensor>, IStagedNetwork
{
    private readonly Sequential stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    private readonly Sequential head;
    private readonly AdaptiveAvgPool2d global_pooling;
    private readonly Linear classifier;

    /// <summary>The network of <paramref name="genotype"/>, which must fit the skeleton (<see cref="MobileNetNetworkOptions.Misfit"/>).</summary>
    public MobileNetNetwork(MobileNetGenotype genotype, int inputChannels, int classes, MobileNetNetworkOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : this(inputChannels, classes, Fitted(genotype, options ?? new MobileNetNetworkOptions()), layer => Candidate(genotype.Operations[layer.Index], layer), device, dtype)
    {
        Genotype = genotype;
    }

    /// <summary>The skeleton with the layers <paramref name="layer"/> makes for each searchable layer.</summary>
    public MobileNetNetwork(int inputChannels, int classes, MobileNetNetworkOptions options, Func<MobileNetLayerSpec, nn.Module<Tensor, Tensor>> layer,
        Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(MobileNetNetwork))
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(layer);
        if (inputChannels < 1) throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, "Input channels must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        InputChannels = inputChannels;
        Options = options;
        stem = nn.Sequential(
            ("conv", nn.Conv2d(inputChannels, options.StemChannels, 3, padding: 1, bias: false)),
            ("bn", nn.BatchNorm2d(options.StemChannels)), ("relu", nn.ReLU()));
        var specs = options.Layers();
        layers = new ModuleList<nn.Module<Tensor, Tensor>>([.. specs.Select(layer)]);
        head = nn.Sequential(
            ("conv", nn.Conv2d(specs[^1].OutChannels, options.HeadChannels, 1, bias: false)),
            ("bn", nn.BatchNorm2d(options.HeadChannels)), ("relu", nn.ReLU()));
        global_pooling = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(options.HeadChannels, classes);
        RegisterComponents();
        ConvolutionBackend.Place(this, dtype, device);
    }

    /// <summary>The genotype of the layers; null for a skeleton with other layers (the supernet's).</summary>
    public MobileNetGenotype? Genotype { get; }
    public int InputChannels { get; }
    public MobileNetNetworkOptions Options { get; }

    /// <summary>The searchable layers in call order.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Layers => [.. layers];

    /// <summary>Stem, every searchable layer, head: a chain (AZ-NAS's stages). Pooling and the classifier are not a stage.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Stages => [stem, .. layers, head];

    /// <summary>The module of one candidate at one layer: an inverted residual block or the identity.</summary>
    public static nn.Module<Tensor, Tensor> Candidate(MobileNetOperation op, MobileNetLayerSpec layer)
    {
        if (op == MobileNetOperation.Skip)
            return layer.SkipAllowed ? new IdentityLayer()
                : throw new ArgumentException($"Layer {layer.Index + 1} {layer.Change}: skip does not fit there.", nameof(op));
        return new InvertedResidual(layer.InChannels, layer.OutChannels, layer.Stride, op.Expansion(), op.Kernel());
    }

    /// <summary>Why an input of one sample's shape cannot go through the network, or null.</summary>
    public static string? CheckInputShape(IReadOnlyList<long> sampleShape, int inputChannels)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count != 3)
            return $"mobilenet networks take images [channels, height, width], got a sample shape [{string.Join(",", sampleShape)}]";
        return sampleShape[0] == inputChannels ? null : $"the network was built for {inputChannels} input channels, got {sampleShape[0]}";
    }

    public override Tensor forward(Tensor input)
    {
        var problem = input.dim() != 4 ? $"expected a batch [B, {InputChannels}, H, W]" : CheckInputShape(input.shape[1..], InputChannels);
        if (problem is not null)
            throw new ArgumentException($"MobileNetNetwork input of shape [{string.Join(",", input.shape)}]: {problem}.");
        using var scope = torch.NewDisposeScope();
        // Submodules are invoked through call(), which runs the forward hooks proxies and the cost counter rely on.
        var x = stem.call(input);
        foreach (var layer in layers) x = layer.call(x);
        x = global_pooling.call(head.call(x)).flatten(1);
        return classifier.call(x).MoveToOuterDisposeScope();
    }

    private static MobileNetNetworkOptions Fitted(MobileNetGenotype genotype, MobileNetNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.Misfit(genotype) is { } misfit
            ? throw new ArgumentException($"'{genotype.Canonical}' does not fit the mobilenet skeleton: {misfit}.", nameof(genotype))
            : options;
    }
}

/// <summary>A searchable layer of <see cref="MobileNetSupernet"/>: the candidates of one <see cref="MobileNetLayerSpec"/>, of which a forward pass runs the selected one.</summary>
public abstract class MobileNetChoice(string name, MobileNetLayerSpec layer) : nn.Module<Tensor, Tensor>(name)
{
    public MobileNetLayerSpec Layer { get; } = layer;

    /// <summary>The candidate a forward pass runs, an index into <see cref="MobileNetLayerSpec.Candidates"/>.</summary>
    public int Selected { get; set; }

    public int Count => Layer.Candidates.Count;

    /// <summary>Copies candidate <paramref name="index"/>'s weights and batch-norm statistics into <paramref name="target"/>, that
    /// candidate's stand-alone module (<see cref="MobileNetNetwork.Candidate"/>).</summary>
    public abstract void CopyCandidateInto(int index, nn.Module target);

    /// <summary>Copies every entry of <paramref name="source"/>'s state into <paramref name="target"/>'s entry of the same name, which
    /// may be smaller: then its leading slice, and for a convolution kernel's two spatial dimensions the centred window.</summary>
    internal static void CopyState(nn.Module source, nn.Module target)
    {
        var from = source.state_dict();
        var to = target.state_dict();
        if (from.Count != to.Count || from.Keys.Except(to.Keys).Any())
            throw new ArgumentException($"Cannot copy a {source.GetName()} into a {target.GetName()}: their parameters differ.");
        foreach (var (name, tensor) in to)
        {
            var value = from[name];
            if (value.dim() != tensor.dim()) throw new ArgumentException($"Cannot copy {name}: [{string.Join(",", value.shape)}] into [{string.Join(",", tensor.shape)}].");
            for (int d = 0; d < tensor.dim(); d++)
            {
                long size = tensor.shape[d], full = value.shape[d];
                if (size > full) throw new ArgumentException($"Cannot copy {name}: [{string.Join(",", value.shape)}] into the larger [{string.Join(",", tensor.shape)}].");
                bool spatial = tensor.dim() == 4 && d >= 2;
                value = value.narrow(d, spatial ? (full - size) / 2 : 0, size);
            }
            tensor.copy_(value);
        }
    }
}

/// <summary>
/// A searchable layer with every candidate its own module (SPOS, Guo et al., ECCV 2020, arXiv 1904.00420): nothing is
/// shared between candidates.
/// </summary>
public sealed class ChoiceLayer : MobileNetChoice
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> candidates;

    public ChoiceLayer(MobileNetLayerSpec layer) : base(nameof(ChoiceLayer), layer)
    {
        candidates = new ModuleList<nn.Module<Tensor, Tensor>>([.. layer.Candidates.Select(op => MobileNetNetwork.Candidate(op, layer))]);
        RegisterComponents();
    }

    public IReadOnlyList<nn.Module<Tensor, Tensor>> Candidates => [.. candidates];

    public override void CopyCandidateInto(int index, nn.Module target) => CopyState(candidates[index], target);

    public override Tensor forward(Tensor input) => candidates[Selected].call(input);
}

/// <summary>
/// A searchable layer whose blocks share one set of weights (weight entanglement: Once-for-All's elastic kernel and width,
/// Cai, Gan, Wang, Zhang &amp; Han, ICLR 2020, arXiv 1908.09791, without its kernel transformation matrices). The layer holds
/// the largest block, e6k7; a block of expansion e uses the first e·C_in hidden channels of its 1×1 convolutions and batch
/// norms, and a k×k depthwise kernel is the centred k×k window of the 7×7 one. So every block of the layer starts from and
/// trains the same features, and what follows the layer sees one basis whichever block a step draws; with independent
/// blocks, a layer that strides or changes channels hands on one of six unrelated bases per step, and the supernet learns
/// far more slowly than any of its networks. <c>skip</c> is the identity.
/// </summary>
public sealed class EntangledChoiceLayer : MobileNetChoice
{
    private readonly Sequential expand;
    private readonly Sequential depthwise;
    private readonly Sequential project;
    // The three stages' modules, taken once (a plain record, so RegisterComponents does not register them a second time).
    private readonly Parts parts;

    public EntangledChoiceLayer(MobileNetLayerSpec layer) : base(nameof(EntangledChoiceLayer), layer)
    {
        int hidden = layer.InChannels * MaxExpansion;
        expand = nn.Sequential(
            ("conv", nn.Conv2d(layer.InChannels, hidden, 1, bias: false)), ("bn", nn.BatchNorm2d(hidden)), ("relu", nn.ReLU()));
        depthwise = nn.Sequential(
            ("conv", nn.Conv2d(hidden, hidden, MaxKernel, stride: layer.Stride, padding: MaxKernel / 2, groups: hidden, bias: false)),
            ("bn", nn.BatchNorm2d(hidden)), ("relu", nn.ReLU()));
        project = nn.Sequential(("conv", nn.Conv2d(hidden, layer.OutChannels, 1, bias: false)), ("bn", nn.BatchNorm2d(layer.OutChannels)));
        RegisterComponents();
        parts = new Parts(expand, depthwise, project);
    }

    private static int MaxExpansion => MobileNetOperations.Blocks.Max(o => o.Expansion());
    private static int MaxKernel => MobileNetOperations.Blocks.Max(o => o.Kernel());

    public override void CopyCandidateInto(int index, nn.Module target)
    {
        if (Layer.Candidates[index] == MobileNetOperation.Skip) return;
        CopyState(this, target);
    }

    public override Tensor forward(Tensor input)
    {
        var op = Layer.Candidates[Selected];
        if (op == MobileNetOperation.Skip) return input.alias();
        using var scope = torch.NewDisposeScope();
        long hidden = Layer.InChannels * op.Expansion();
        int k = op.Kernel(), offset = (MaxKernel - k) / 2;
        var x = Normalise(parts.ExpandBn, nn.functional.conv2d(input, parts.ExpandConv.weight!.narrow(0, 0, hidden)), hidden);
        x = parts.ExpandRelu.call(x);
        // Contiguous: libtorch's depthwise convolution takes a slow path for a strided kernel (a probe: 23× slower, the same
        // outputs and gradients to the bit).
        var kernel = parts.DepthConv.weight!.narrow(0, 0, hidden).narrow(2, offset, k).narrow(3, offset, k).contiguous();
        x = nn.functional.conv2d(x, kernel, strides: [Layer.Stride, Layer.Stride], padding: [k / 2, k / 2], groups: hidden);
        x = parts.DepthRelu.call(Normalise(parts.DepthBn, x, hidden));
        x = nn.functional.conv2d(x, parts.ProjectConv.weight!.narrow(1, 0, hidden));
        x = Normalise(parts.ProjectBn, x, Layer.OutChannels);
        // The input is added where the identity fits, as in InvertedResidual.
        var y = Layer.SkipAllowed ? x + input : x;
        return y.MoveToOuterDisposeScope();
    }

    private sealed record Parts(Conv2d ExpandConv, BatchNorm2d ExpandBn, ReLU ExpandRelu, Conv2d DepthConv, BatchNorm2d DepthBn, ReLU DepthRelu,
        Conv2d ProjectConv, BatchNorm2d ProjectBn)
    {
        public Parts(Sequential expand, Sequential depthwise, Sequential project)
            : this(Child<Conv2d>(expand, 0), Child<BatchNorm2d>(expand, 1), Child<ReLU>(expand, 2), Child<Conv2d>(depthwise, 0),
                Child<BatchNorm2d>(depthwise, 1), Child<ReLU>(depthwise, 2), Child<Conv2d>(project, 0), Child<BatchNorm2d>(project, 1)) { }

        private static T Child<T>(Sequential block, int index) where T : nn.Module => (T)block.children().ElementAt(index);
    }

    /// <summary>The batch norm of the first <paramref name="channels"/> channels: its affine parameters and running statistics
    /// are leading slices (views), so training-mode passes update the shared statistics in place.</summary>
    private Tensor Normalise(BatchNorm2d bn, Tensor x, long channels)
    {
        bool batchStatistics = training || bn.running_mean is null;
        if (training && bn.num_batches_tracked is { } tracked)
        {
            using var noGrad = torch.no_grad();
            tracked.add_(1);
        }
        return nn.functional.batch_norm(x, bn.running_mean?.narrow(0, 0, channels), bn.running_var?.narrow(0, 0, channels),
            bn.weight?.narrow(0, 0, channels), bn.bias?.narrow(0, 0, channels), batchStatistics, bn.momentum ?? 0.1, bn.eps);
    }
}

/// <summary>
/// The <c>mobilenet</c> space's single-path supernet (SPOS, Guo et al., ECCV 2020, arXiv 1904.00420): the skeleton of
/// <see cref="MobileNetNetwork"/> with a <see cref="MobileNetChoice"/> at every searchable layer, so the network of a path
/// inherits the supernet's stem, head, classifier and the path's candidates. The candidates of a layer are independent
/// modules (<see cref="ChoiceLayer"/>) or share one block's weights (<see cref="EntangledChoiceLayer"/>).
/// </summary>
public sealed class MobileNetSupernet : PathSupernet
{
    private readonly MobileNetNetwork network;

    public MobileNetSupernet(int inputChannels, int classes, MobileNetNetworkOptions options, Device? device = null, ScalarType dtype = ScalarType.Float32,
        bool entangled = false)
        : base(nameof(MobileNetSupernet))
    {
        network = new MobileNetNetwork(inputChannels, classes, options,
            layer => entangled ? new EntangledChoiceLayer(layer) : new ChoiceLayer(layer), device, dtype);
        RegisterComponents();
        Choices = [.. network.Layers.Cast<MobileNetChoice>()];
    }

    /// <summary>The choice layers in network order.</summary>
    public IReadOnlyList<MobileNetChoice> Choices { get; }

    public IReadOnlyList<int> ChoiceCounts => [.. Choices.Select(c => c.Count)];

    /// <summary>The path the next forward passes run.</summary>
    public IReadOnlyList<int> Path => [.. Choices.Select(c => c.Selected)];

    public override void SetPath(IReadOnlyList<int> path)
    {
        CheckPath(path, ChoiceCounts);
        for (int i = 0; i < path.Count; i++) Choices[i].Selected = path[i];
    }

    /// <summary>Throws unless <paramref name="path"/> has, for each searchable layer, an index below its candidate count.</summary>
    public static void CheckPath(IReadOnlyList<int> path, IReadOnlyList<int> choiceCounts)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(choiceCounts);
        if (path.Count != choiceCounts.Count)
            throw new ArgumentException($"A mobilenet path has one index per searchable layer ({choiceCounts.Count}), got {path.Count}.", nameof(path));
        for (int i = 0; i < path.Count; i++)
            if (path[i] < 0 || path[i] >= choiceCounts[i])
                throw new ArgumentOutOfRangeException(nameof(path), path[i], $"Layer {i + 1} has candidates 0..{choiceCounts[i] - 1}.");
    }

    /// <summary>
    /// Copies the supernet's weights and batch-norm statistics of <paramref name="path"/> into <paramref name="target"/>, the
    /// stand-alone network of that path's genotype (built from the same skeleton): weight inheritance, so the target
    /// computes what the supernet computes on that path.
    /// </summary>
    public void CopyPathInto(MobileNetNetwork target, IReadOnlyList<int> path)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(path);
        if (target.Options.LayersText != network.Options.LayersText || target.Layers.Count != path.Count)
            throw new ArgumentException("The target network has another skeleton than the supernet.", nameof(target));
        using var noGrad = torch.no_grad();
        // Modules in the same order: stem, every layer (the path's candidate), head, pooling, classifier.
        var sources = network.children().ToList();
        var targets = target.children().ToList();
        for (int m = 0; m < sources.Count; m++)
        {
            if (sources[m] is ModuleList<nn.Module<Tensor, Tensor>>)
            {
                for (int i = 0; i < path.Count; i++) Choices[i].CopyCandidateInto(path[i], target.Layers[i]);
                continue;
            }
            MobileNetChoice.CopyState(sources[m], targets[m]);
        }
    }

    public override Tensor forward(Tensor input) => network.call(input);
}
