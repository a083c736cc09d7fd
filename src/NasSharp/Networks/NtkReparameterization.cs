using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// The NTK parameterisation (Jacot et al. 2018) of an existing network, without new layer types: a Conv2d or Linear layer
/// that computes (σ_w/√fan_in)·θ∗x + σ_b·β with θ, β ~ N(0, 1) computes the same as a plain layer whose weight
/// W = (σ_w/√fan_in)·θ ~ N(0, σ_w²/fan_in) and bias b = σ_b·β ~ N(0, σ_b²); only the gradient differs, by the chain rule
/// ∂L/∂θ = (σ_w/√fan_in)·∂L/∂W and ∂L/∂β = σ_b·∂L/∂b. So we draw W and b from those normals and keep, per parameter, the
/// factor s² by which ‖∂L/∂W‖² must be multiplied to give ‖∂L/∂θ‖² (e.g. NASI's trace norm, which its paper computes in
/// the NTK parameterisation). Batch-norm scales and shifts are not part of the parameterisation (factor 1).
/// </summary>
public static class NtkReparameterization
{
    /// <summary>
    /// Redraws every Conv2d and Linear weight (and bias) of <paramref name="model"/> from the global torch generator and
    /// returns the squared gradient factors by parameter name (as <c>named_parameters()</c> names them); parameters not
    /// listed have factor 1.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Apply(nn.Module model, double sigmaW = 1.0, double sigmaB = 0.1)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(sigmaW > 0) || !double.IsFinite(sigmaW)) throw new ArgumentOutOfRangeException(nameof(sigmaW), sigmaW, "σ_w must be positive and finite.");
        if (!(sigmaB >= 0) || !double.IsFinite(sigmaB)) throw new ArgumentOutOfRangeException(nameof(sigmaB), sigmaB, "σ_b must be non-negative and finite.");
        var factors = new Dictionary<string, double>();
        using var noGrad = no_grad();
        foreach (var (name, module) in model.named_modules())
        {
            (Parameter? weight, Parameter? bias) = module switch
            {
                Conv2d c => (c.weight, c.bias),
                Linear l => (l.weight, l.bias),
                _ => (null, null),
            };
            if (weight is null) continue;
            // Conv2d weight [out, in/groups, kh, kw], Linear [out, in]: fan-in is the product of all but the first dimension.
            long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            double scale = sigmaW / Math.Sqrt(fanIn);
            nn.init.normal_(weight, 0, scale);
            string prefix = name.Length == 0 ? "" : name + ".";
            factors[prefix + "weight"] = scale * scale;
            if (bias is not null)
            {
                if (sigmaB > 0) nn.init.normal_(bias, 0, sigmaB); else bias.zero_();
                factors[prefix + "bias"] = sigmaB * sigmaB;
            }
        }
        if (factors.Count == 0) throw new ArgumentException("The model has no Conv2d or Linear layer to reparameterise.", nameof(model));
        return factors;
    }
}
