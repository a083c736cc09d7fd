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
        // Drawn in float32 whatever the dtype, then cast (NetworkOptions.WeightsDrawnIn): libtorch's float64 generators
        // consume the random stream differently, and a float64 network must be the float32 one, to check its precision.
        var w = torch.empty(outFeatures, inFeatures, dtype: ScalarType.Float32, device: device);
        var b = torch.empty(outFeatures, dtype: ScalarType.Float32, device: device);
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
        if (options.DType != ScalarType.Float32)
        {
            var (w32, b32) = (w, b);
            w = w32.to(options.DType);
            b = b32.to(options.DType);
            w32.Dispose();
            b32.Dispose();
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
