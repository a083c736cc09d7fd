using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// The macro skeleton of NAS-Bench-201's networks. The defaults (C = 16, N = 5, affine BN that tracks running
/// statistics) are those the benchmark trained (<c>TinyNetwork</c>, <c>InferCell</c> and <c>ResNetBasicblock</c>
/// defaults in AutoDL-Projects).
/// </summary>
public sealed record Nb201NetworkOptions
{
    /// <summary>C: channels of the first stage; the stages have C, 2C, 4C.</summary>
    public int Channels { get; init; } = 16;
    /// <summary>N: cells per stage.</summary>
    public int CellsPerStage { get; init; } = 5;
    /// <summary>BN with learnable scale and shift in the cells' and reductions' ReLU–Conv–BN (the stem and final BN always have them, as in the reference).</summary>
    public bool Affine { get; init; } = true;
    /// <summary>BN keeps running statistics in the cells' and reductions' ReLU–Conv–BN.</summary>
    public bool TrackRunningStats { get; init; } = true;

    /// <summary>Throws when a size is not positive.</summary>
    public void Validate()
    {
        if (Channels < 1) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "NB201 needs at least 1 channel (the benchmark uses C = 16).");
        if (CellsPerStage < 0) throw new ArgumentOutOfRangeException(nameof(CellsPerStage), CellsPerStage, "Cells per stage cannot be negative (the benchmark uses N = 5).");
    }

    /// <summary>
    /// The blocks after the stem, in order: N cells at C, a reduction to 2C, N cells at 2C, a reduction to 4C,
    /// N cells at 4C (<c>layer_channels</c> / <c>layer_reductions</c> in <c>TinyNetwork</c>).
    /// </summary>
    public IEnumerable<Nb201Block> Blocks()
    {
        Validate();
        for (int stage = 0; stage < 3; stage++)
        {
            int c = Channels << stage;
            if (stage > 0) yield return new Nb201Block(IsReduction: true, c / 2, c);
            for (int i = 0; i < CellsPerStage; i++) yield return new Nb201Block(IsReduction: false, c, c);
        }
    }

    /// <summary>Channels entering the classifier (4C).</summary>
    public int FinalChannels => Channels * 4;
}

/// <summary>One block of the skeleton: a cell (stride 1, <paramref name="InChannels"/> = <paramref name="OutChannels"/>) or a stride-2 reduction.</summary>
public readonly record struct Nb201Block(bool IsReduction, int InChannels, int OutChannels);

/// <summary>
/// The macro skeleton of NAS-Bench-201's networks (<c>TinyNetwork</c>, Dong &amp; Yang ICLR 2020 Fig. 1): stem Conv 3×3 (C)
/// + BN; N cells at C; residual reduction to 2C; N cells; reduction to 4C; N cells; BN + ReLU; global average pooling;
/// linear classifier. The cells come from a factory, so the same skeleton is the benchmark's network of a genotype
/// (<see cref="Nb201Cell"/>) and the relaxed search network (<see cref="Nb201Supernet"/>'s mixed cells). The forward pass
/// returns the logits [B, classes]. Inputs must be [B, channels, H, W] with H and W divisible by 4 (two stride-2
/// reductions whose conv and pooling paths must agree in size).
/// </summary>
public sealed class Nb201Network : nn.Module<Tensor, Tensor>, IStagedNetwork
{
    private readonly Sequential stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> cells;
    private readonly Sequential lastact;
    private readonly AdaptiveAvgPool2d global_pooling;
    private readonly Linear classifier;

    /// <summary>The benchmark's network of <paramref name="genotype"/>: every cell is that genotype's cell.</summary>
    public Nb201Network(Nb201Genotype genotype, int inputChannels, int classes, Nb201NetworkOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : this(inputChannels, classes, options ?? new Nb201NetworkOptions(),
            (o, channels) => new Nb201Cell(genotype ?? throw new ArgumentNullException(nameof(genotype)), channels, o.Affine, o.TrackRunningStats), device, dtype)
    {
        Genotype = genotype;
    }

    /// <summary>The skeleton with the cells <paramref name="cell"/> makes for the options and a stage's channel count.</summary>
    public Nb201Network(int inputChannels, int classes, Nb201NetworkOptions options, Func<Nb201NetworkOptions, long, nn.Module<Tensor, Tensor>> cell,
        Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(Nb201Network))
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cell);
        if (inputChannels < 1) throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, "Input channels must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        options.Validate();
        InputChannels = inputChannels;
        Classes = classes;
        Options = options;

        int c = options.Channels;
        stem = nn.Sequential(
            ("conv", nn.Conv2d(inputChannels, c, 3, stride: 1, padding: 1, bias: false)),
            ("bn", nn.BatchNorm2d(c)));
        cells = new ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (var block in options.Blocks())
            cells.Add(block.IsReduction
                ? new Nb201ReductionBlock(block.InChannels, block.OutChannels, options.Affine, options.TrackRunningStats)
                : cell(options, block.OutChannels));
        lastact = nn.Sequential(("bn", nn.BatchNorm2d(options.FinalChannels)), ("relu", nn.ReLU()));
        global_pooling = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(options.FinalChannels, classes);
        RegisterComponents();
        ConvolutionBackend.Place(this, dtype, device);
    }

    /// <summary>The genotype of every cell; null for a skeleton with other cells (the supernet's).</summary>
    public Nb201Genotype? Genotype { get; }
    public int InputChannels { get; }
    public int Classes { get; }
    public Nb201NetworkOptions Options { get; }

    /// <summary>The blocks after the stem: cells and reduction blocks, in call order.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Blocks => [.. cells];

    public Linear Classifier => classifier;

    /// <summary>The stem (conv + BN), then every cell and reduction block: the feature maps AZ-NAS compares (its reference's
    /// <c>extract_cell_features</c>). The final BN + ReLU, pooling and classifier are not a stage.</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Stages => [stem, .. cells];

    /// <summary>Why an input of this shape cannot go through the network, or null when it can.</summary>
    public static string? CheckInputShape(IReadOnlyList<long> sampleShape, int inputChannels)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        if (sampleShape.Count != 3)
            return $"nb201 networks take images [channels, height, width], got a sample shape [{string.Join(",", sampleShape)}]";
        if (sampleShape[0] != inputChannels)
            return $"the network was built for {inputChannels} input channels, got {sampleShape[0]}";
        if (sampleShape[1] < 4 || sampleShape[2] < 4 || sampleShape[1] % 4 != 0 || sampleShape[2] % 4 != 0)
            return $"nb201 networks need a height and width divisible by 4 (two stride-2 reductions), got {sampleShape[1]}×{sampleShape[2]}";
        return null;
    }

    public override Tensor forward(Tensor input)
    {
        var problem = input.dim() != 4 ? $"expected a batch [B, {InputChannels}, H, W]" : CheckInputShape(input.shape[1..], InputChannels);
        if (problem is not null)
            throw new ArgumentException($"Nb201Network input of shape [{string.Join(",", input.shape)}]: {problem}.");
        using var scope = torch.NewDisposeScope();
        // Submodules are invoked through call(), which runs their forward hooks (proxies hook ReLUs and convs).
        var x = stem.call(input);
        foreach (var cell in cells) x = cell.call(x);
        x = global_pooling.call(lastact.call(x)).flatten(1);
        return classifier.call(x).MoveToOuterDisposeScope();
    }
}
