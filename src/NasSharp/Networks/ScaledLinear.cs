using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// A dense layer in either parameterisation. NTK: h = (σ_w/√fan_in) W x + σ_b b with W, b ~ N(0,1)
/// (Jacot et al. 2018, Eq. 1), so the gradient flow sees O(1) parameters at any width.
/// Standard: h = W x + b with PyTorch's initialisation.
/// </summary>
public sealed class ScaledLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double weightScale;
    private readonly double biasScale;

    public ScaledLinear(long inFeatures, long outFeatures, NetworkOptions options, Device? device = null) : base(nameof(ScaledLinear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = torch.empty(outFeatures, inFeatures, dtype: options.DType, device: device);
        var b = torch.empty(outFeatures, dtype: options.DType, device: device);
        using (torch.no_grad())
        {
            if (options.Parameterization == Parameterization.Ntk)
            {
                nn.init.normal_(w);
                nn.init.normal_(b);
                weightScale = options.SigmaW / Math.Sqrt(inFeatures);
                biasScale = options.SigmaB;
            }
            else
            {
                // Same as torch.nn.Linear.reset_parameters.
                var bound = 1.0 / Math.Sqrt(inFeatures);
                nn.init.uniform_(w, -bound, bound);
                nn.init.uniform_(b, -bound, bound);
                weightScale = 1.0;
                biasScale = 1.0;
            }
        }
        weight = new Parameter(w);
        bias = new Parameter(b);
        RegisterComponents();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Parameter Weight => weight;
    public Parameter Bias => bias;
    public double WeightScale => weightScale;
    public double BiasScale => biasScale;

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var w = weightScale == 1.0 ? weight : weight * weightScale;
        var b = biasScale == 1.0 ? bias : bias * biasScale;
        return nn.functional.linear(x, w, b).MoveToOuterDisposeScope();
    }
}
