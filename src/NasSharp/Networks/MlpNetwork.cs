using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// The network of an <see cref="MlpGenotype"/>: x_0 = flatten(input); for each hidden layer
/// x_l = σ_l(W_l x_{l−1} + b_l) + Σ_{j∈S_l} x_j (deep layer skips, Zhu et al., NeurIPS 2022); output f = W_{L+1} x_L + b_{L+1}.
/// </summary>
public sealed class MlpNetwork : nn.Module<Tensor, Tensor>, IFunctionalRelus
{
    private readonly ModuleList<ScaledLinear> hidden;
    private readonly ScaledLinear readout;

    public MlpNetwork(MlpGenotype genotype, int inputDimension, int outputs, NetworkOptions? options = null, Device? device = null)
        : base(nameof(MlpNetwork))
    {
        ArgumentNullException.ThrowIfNull(genotype);
        if (inputDimension < 1) throw new ArgumentOutOfRangeException(nameof(inputDimension), inputDimension, "Input dimension must be positive.");
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Number of outputs must be positive.");
        options ??= new NetworkOptions();
        Genotype = genotype;
        InputDimension = inputDimension;
        Outputs = outputs;
        Options = options;
        hidden = new ModuleList<ScaledLinear>();
        long fanIn = inputDimension;
        foreach (var _ in genotype.Layers)
        {
            hidden.Add(new ScaledLinear(fanIn, genotype.Width, options, device));
            fanIn = genotype.Width;
        }
        readout = new ScaledLinear(fanIn, outputs, options, device);
        RegisterComponents();
    }

    public MlpGenotype Genotype { get; }
    public int InputDimension { get; }
    public int Outputs { get; }
    public NetworkOptions Options { get; }

    /// <summary>The dense layers in call order (hidden layers, then the readout).</summary>
    public IReadOnlyList<ScaledLinear> DenseLayers => [.. hidden, readout];

    /// <summary>The hidden layers whose activation is relu: their dense layer's output is the ReLU's input.</summary>
    public IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer)> ReluInputs =>
        [.. Enumerable.Range(0, Genotype.Depth).Where(l => Genotype.Layers[l].Activation == Activation.Relu).Select(l => ($"hidden.{l}", (nn.Module<Tensor, Tensor>)hidden[l]))];

    public override Tensor forward(Tensor input) => Forward(input, (l, h) => Genotype.Layers[l].Activation.Apply(h));

    /// <summary>
    /// The forward pass with each hidden layer's activation given by <paramref name="activate"/> (hidden layer index from 0,
    /// pre-activation) and the genotype's skips: the relaxed supernet (<see cref="MlpSupernet"/>) mixes activations through it.
    /// </summary>
    internal Tensor Forward(Tensor input, Func<int, Tensor, Tensor> activate)
    {
        if (input.dim() < 2 || input.shape.Skip(1).Aggregate(1L, (a, b) => a * b) != InputDimension)
            throw new ArgumentException($"MlpNetwork expects inputs of {InputDimension} features per sample, got shape [{string.Join(",", input.shape)}].");
        using var scope = torch.NewDisposeScope();
        var outputs = new Tensor[Genotype.Depth + 1];
        outputs[0] = input.reshape(input.shape[0], InputDimension);
        // Submodules are invoked with call(), not forward(): TorchSharp runs forward hooks only from call(), and
        // proxies (FLOPs, Fisher, NASWOT's ReLU codes) and the fast empirical NTK observe the dense layers through hooks.
        for (int l = 1; l <= Genotype.Depth; l++)
        {
            var x = activate(l - 1, hidden[l - 1].call(outputs[l - 1]));
            foreach (var j in Genotype.Layers[l - 1].Skips) x = x + outputs[j];
            outputs[l] = x;
        }
        return readout.call(outputs[Genotype.Depth]).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A network that applies ReLU as a function rather than as a module, and says where: each named layer's output is the
/// input of a ReLU. Proxies that read ReLU codes (NASWOT) find them through it, since no ReLU module is called.
/// </summary>
public interface IFunctionalRelus
{
    IReadOnlyList<(string Name, nn.Module<Tensor, Tensor> Layer)> ReluInputs { get; }
}
