using NasSharp.Spaces;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// The relaxed <c>mlp</c> network: the skeleton's dense layers and skips, and every hidden layer's activation the mixture
/// σ_α(h) = Σ_i w_{l,i} σ_i(h) over the candidate activations (Oymak, Li &amp; Soltanolkotabi, ICML 2021, the activation
/// search of their Section on NAS; DARTS' mixed operation on a layer's nonlinearity), the weights w set from outside, usually
/// softmax(α_l). With one shared group of weights every layer mixes with the same w. The dense layers are built exactly as
/// <see cref="MlpNetwork"/> builds them, so with one-hot weights the supernet is the network of the derived genotype.
/// </summary>
public sealed class MlpSupernet : RelaxedSupernet
{
    public const string GroupName = "activations";

    private readonly MlpNetwork network;
    private Tensor? weights;

    /// <param name="skeleton">Gives the width, depth and skips; its activations are not used.</param>
    /// <param name="shared">One row of mixing weights for every layer instead of one row per layer.</param>
    public MlpSupernet(MlpGenotype skeleton, IReadOnlyList<Activation> choices, bool shared, int inputDimension, int classes,
        NetworkOptions? options = null, Device? device = null) : base(nameof(MlpSupernet))
    {
        ArgumentNullException.ThrowIfNull(skeleton);
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0) throw new ArgumentException("A relaxed mlp needs at least one candidate activation.", nameof(choices));
        Choices = [.. choices];
        Shared = shared;
        network = new MlpNetwork(skeleton, inputDimension, classes, options, device);
        Group = new ArchitectureGroup(GroupName, shared ? 1 : skeleton.Depth, [.. Choices.Select(c => c.Token())]);
        RegisterComponents();
    }

    public IReadOnlyList<Activation> Choices { get; }
    public bool Shared { get; }
    public ArchitectureGroup Group { get; }
    public MlpGenotype Skeleton => network.Genotype;

    public override IReadOnlyList<ArchitectureGroup> Groups => [Group];

    public override void SetMixingWeights(IReadOnlyList<Tensor> weights)
    {
        CheckWeights(weights);
        this.weights = weights[0];
    }

    public override Tensor forward(Tensor input)
    {
        var w = weights ?? throw new InvalidOperationException("Set the mixing weights (SetMixingWeights) before running the supernet.");
        return network.Forward(input, (layer, h) =>
        {
            int row = Shared ? 0 : layer;
            Tensor? sum = null;
            for (int i = 0; i < Choices.Count; i++)
            {
                var y = Choices[i].Apply(h) * w[row, i];
                sum = sum is null ? y : sum + y;
            }
            return sum!;
        });
    }
}
