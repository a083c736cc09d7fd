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
public sealed class MlpSupernet : SingleGroupSupernet
{
    public const string GroupName = "activations";

    private readonly MlpNetwork network;

    /// <param name="skeleton">Gives the width, depth and skips; its activations are not used.</param>
    /// <param name="shared">One row of mixing weights for every layer instead of one row per layer.</param>
    public MlpSupernet(MlpGenotype skeleton, IReadOnlyList<Activation> choices, bool shared, int inputDimension, int classes,
        NetworkOptions? options = null, Device? device = null)
        : base(nameof(MlpSupernet), GroupOf(skeleton, choices, shared))
    {
        Choices = [.. choices];
        Shared = shared;
        network = new MlpNetwork(skeleton, inputDimension, classes, options, device);
        RegisterComponents();
    }

    public IReadOnlyList<Activation> Choices { get; }
    public bool Shared { get; }
    public MlpGenotype Skeleton => network.Genotype;

    private static ArchitectureGroup GroupOf(MlpGenotype skeleton, IReadOnlyList<Activation> choices, bool shared)
    {
        ArgumentNullException.ThrowIfNull(skeleton);
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0) throw new ArgumentException("A relaxed mlp needs at least one candidate activation.", nameof(choices));
        return new ArchitectureGroup(GroupName, shared ? 1 : skeleton.Depth, [.. choices.Select(c => c.Token())]);
    }

    public override Tensor forward(Tensor input)
    {
        var w = MixingWeights;
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
