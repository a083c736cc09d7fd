using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// The macro skeleton of DARTS' CIFAR networks (<c>NetworkCIFAR</c> in <c>model.py</c>, <c>Network</c> in
/// <c>model_search.py</c>): a stem of 3C channels, then <see cref="Layers"/> cells, those at ⌊layers/3⌋ and ⌊2·layers/3⌋
/// reductions that double C. DARTS searches with C = 16 and 8 cells and evaluates CIFAR-10 with C = 36 and 20.
/// </summary>
public sealed record DartsNetworkOptions
{
    /// <summary>Stem channels are <c>stem_multiplier</c> · C.</summary>
    public const int StemMultiplier = 3;

    /// <summary>C: channels of each node in the first cells (DARTS' <c>init_channels</c>).</summary>
    public int Channels { get; init; } = 16;
    /// <summary>Number of cells.</summary>
    public int Layers { get; init; } = 8;

    /// <summary>Throws when a size is not positive.</summary>
    public void Validate()
    {
        if (Channels < 1) throw new ArgumentOutOfRangeException(nameof(Channels), Channels, "DARTS networks need at least 1 channel (DARTS uses C = 16 to search, 36 to evaluate).");
        if (Layers < 1) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, "DARTS networks need at least 1 cell (DARTS uses 8 to search, 20 to evaluate).");
    }

    /// <summary>Whether cell <paramref name="i"/> is a reduction cell.</summary>
    public bool IsReduction(int i) => i == Layers / 3 || i == 2 * Layers / 3;

    /// <summary>Reduction cells: 2, or 1 when there is a single cell.</summary>
    public int ReductionCount => Enumerable.Range(0, Layers).Count(IsReduction);

    /// <summary>The cells in order, with the channels of their two inputs and of each of their nodes.</summary>
    public IEnumerable<DartsCellLayout> Cells()
    {
        Validate();
        int prevPrev = StemMultiplier * Channels, prev = prevPrev, c = Channels;
        bool reductionPrev = false;
        for (int i = 0; i < Layers; i++)
        {
            bool reduction = IsReduction(i);
            if (reduction) c *= 2;
            yield return new DartsCellLayout(reduction, reductionPrev, prevPrev, prev, c);
            reductionPrev = reduction;
            (prevPrev, prev) = (prev, DartsGenotype.NodeCount * c);
        }
    }

    /// <summary>Channels entering the classifier: the last cell's four nodes.</summary>
    public int FinalChannels => DartsGenotype.NodeCount * (Channels << ReductionCount);
}

/// <summary>
/// One cell of the skeleton: its inputs c_{k-2} (<paramref name="PrevPrevChannels"/>) and c_{k-1}
/// (<paramref name="PrevChannels"/>), brought to <paramref name="Channels"/>, a factorized reduction of c_{k-2} when the
/// previous cell halved the resolution.
/// </summary>
public readonly record struct DartsCellLayout(bool Reduction, bool ReductionPrev, int PrevPrevChannels, int PrevChannels, int Channels);

/// <summary>
/// One cell of a derived architecture (DARTS' <c>Cell</c> in <c>model.py</c>, without drop-path): the inputs preprocessed,
/// node k = op(s_a) + op(s_b) for its two genes, the output the concatenation of the four nodes. In a reduction cell the
/// genes reading the cell inputs (states 0 and 1) have stride 2.
/// </summary>
public sealed class DartsCell : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> preprocess0;
    private readonly ReluConvBn preprocess1;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> ops;
    private readonly int[] inputs;

    public DartsCell(DartsGenotype genotype, DartsCellLayout layout, bool affine = true) : base(nameof(DartsCell))
    {
        ArgumentNullException.ThrowIfNull(genotype);
        Layout = layout;
        var genes = genotype.Cell(layout.Reduction);
        preprocess0 = layout.ReductionPrev
            ? new FactorizedReduce(layout.PrevPrevChannels, layout.Channels, affine)
            : DartsOperations.Preprocess(layout.PrevPrevChannels, layout.Channels, affine);
        preprocess1 = DartsOperations.Preprocess(layout.PrevChannels, layout.Channels, affine);
        ops = new ModuleList<nn.Module<Tensor, Tensor>>();
        foreach (var gene in genes)
            ops.Add(DartsOperations.Create(gene.Operation, layout.Channels, layout.Reduction && gene.Input < 2 ? 2 : 1, affine));
        inputs = [.. genes.Select(g => g.Input)];
        RegisterComponents();
    }

    public DartsCellLayout Layout { get; }

    public override Tensor forward(Tensor s0, Tensor s1)
    {
        using var scope = torch.NewDisposeScope();
        var states = new List<Tensor>(2 + DartsGenotype.NodeCount) { preprocess0.call(s0), preprocess1.call(s1) };
        for (int k = 0; k < DartsGenotype.NodeCount; k++)
            states.Add(ops[2 * k].call(states[inputs[2 * k]]) + ops[2 * k + 1].call(states[inputs[2 * k + 1]]));
        return torch.cat(states.GetRange(2, DartsGenotype.NodeCount), 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The macro skeleton of DARTS' CIFAR networks (Liu, Simonyan &amp; Yang, ICLR 2019, arXiv 1806.09055, §3.2): stem Conv 3×3
/// (3C, no bias) + BN; the cells of <see cref="DartsNetworkOptions"/>, each reading the outputs of the two cells before
/// it (the stem's twice at first); global average pooling; linear classifier. The cells come from a factory, so the same
/// skeleton is the evaluation network of a genotype (<c>NetworkCIFAR</c> without the auxiliary head and drop-path, BN
/// affine everywhere: <see cref="DartsCell"/>) and the search network (<see cref="DartsSupernet"/>'s mixed cells). The
/// forward pass returns the logits [B, classes]. Height and width must be divisible by 2 per reduction cell
/// (<see cref="CheckInputShape"/>).
/// </summary>
public sealed class DartsNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Sequential stem;
    private readonly ModuleList<nn.Module<Tensor, Tensor, Tensor>> cells;
    private readonly AdaptiveAvgPool2d global_pooling;
    private readonly Linear classifier;

    /// <summary>The evaluation network of <paramref name="genotype"/>.</summary>
    public DartsNetwork(DartsGenotype genotype, int inputChannels, int classes, DartsNetworkOptions? options = null, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : this(inputChannels, classes, options ?? new DartsNetworkOptions(),
            layout => new DartsCell(genotype ?? throw new ArgumentNullException(nameof(genotype)), layout), device, dtype)
    {
        Genotype = genotype;
    }

    /// <summary>The skeleton with the cells <paramref name="cell"/> makes for each layout.</summary>
    public DartsNetwork(int inputChannels, int classes, DartsNetworkOptions options, Func<DartsCellLayout, nn.Module<Tensor, Tensor, Tensor>> cell,
        Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(DartsNetwork))
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(cell);
        if (inputChannels < 1) throw new ArgumentOutOfRangeException(nameof(inputChannels), inputChannels, "Input channels must be positive.");
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        options.Validate();
        InputChannels = inputChannels;
        Classes = classes;
        Options = options;

        int c = DartsNetworkOptions.StemMultiplier * options.Channels;
        stem = nn.Sequential(
            ("conv", nn.Conv2d(inputChannels, c, 3, padding: 1, bias: false)),
            ("bn", nn.BatchNorm2d(c)));
        cells = new ModuleList<nn.Module<Tensor, Tensor, Tensor>>();
        foreach (var layout in options.Cells()) cells.Add(cell(layout));
        global_pooling = nn.AdaptiveAvgPool2d(1);
        classifier = nn.Linear(options.FinalChannels, classes);
        RegisterComponents();
        ConvolutionBackend.Place(this, dtype, device);
    }

    /// <summary>The genotype of the cells; null for a skeleton with other cells (the supernet's).</summary>
    public DartsGenotype? Genotype { get; }
    public int InputChannels { get; }
    public int Classes { get; }
    public DartsNetworkOptions Options { get; }

    public IReadOnlyList<nn.Module<Tensor, Tensor, Tensor>> Cells => [.. cells];

    public Linear Classifier => classifier;

    /// <summary>Why an input of this shape cannot go through a DARTS network, or null when it can.</summary>
    public static string? CheckInputShape(IReadOnlyList<long> sampleShape, int inputChannels, DartsNetworkOptions options)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(options);
        if (sampleShape.Count != 3)
            return $"darts networks take images [channels, height, width], got a sample shape [{string.Join(",", sampleShape)}]";
        if (sampleShape[0] != inputChannels)
            return $"the network was built for {inputChannels} input channels, got {sampleShape[0]}";
        // A factorized reduction reads the pixels (2i, 2j) and (2i+1, 2j+1): both halves agree only on even sizes.
        long factor = 1L << options.ReductionCount;
        if (sampleShape[1] < factor || sampleShape[2] < factor || sampleShape[1] % factor != 0 || sampleShape[2] % factor != 0)
            return $"darts networks with {options.ReductionCount} reduction cell{(options.ReductionCount == 1 ? "" : "s")} need a height and width divisible by {factor}, got {sampleShape[1]}×{sampleShape[2]}";
        return null;
    }

    public override Tensor forward(Tensor input)
    {
        var problem = input.dim() != 4 ? $"expected a batch [B, {InputChannels}, H, W]" : CheckInputShape(input.shape[1..], InputChannels, Options);
        if (problem is not null)
            throw new ArgumentException($"DARTS network input of shape [{string.Join(",", input.shape)}]: {problem}.");
        using var scope = torch.NewDisposeScope();
        var s0 = stem.call(input);
        var s1 = s0;
        foreach (var cell in cells) (s0, s1) = (s1, cell.call(s0, s1));
        return classifier.call(global_pooling.call(s1).flatten(1)).MoveToOuterDisposeScope();
    }
}
