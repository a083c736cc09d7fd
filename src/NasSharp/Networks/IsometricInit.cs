using NasSharp.Theory;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// Initialisation for dynamical isometry: every convolution delta-orthogonal (Xiao, Bahri, Sohl-Dickstein, Schoenholz &amp;
/// Pennington, ICML 2018, arXiv 1806.05393, Alg. 2: an orthogonal matrix at the kernel's centre tap, zeros elsewhere, so the
/// layer multiplies every pixel by the same orthogonal matrix) and every linear layer orthogonal, both scaled by σ_w, biases
/// zero; batch norms and other modules are left as they are. σ_w² = 2 is relu's edge of chaos (χ₁ = σ_w²·E[relu'²] = 1; see
/// <see cref="MeanField"/>), the point Luo et al.'s dynamical-isometry NAS (arXiv 2307.02263) initialises its modules at.
/// </summary>
public static class IsometricInit
{
    /// <summary>relu's critical σ_w².</summary>
    public const double ReluCriticalSigmaW2 = 2.0;

    /// <summary>Re-initialises every <see cref="Conv2d"/> and <see cref="Linear"/> of <paramref name="module"/> from libtorch's
    /// generator (seed it first). A rectangular matrix is semi-orthogonal: orthonormal rows or columns, whichever are fewer.</summary>
    public static void Apply(nn.Module module, double sigmaW2 = ReluCriticalSigmaW2)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!(sigmaW2 > 0) || !double.IsFinite(sigmaW2)) throw new ArgumentOutOfRangeException(nameof(sigmaW2), sigmaW2, "σ_w² must be positive and finite.");
        double gain = Math.Sqrt(sigmaW2);
        using var noGrad = no_grad();
        foreach (var m in module.modules())
        {
            using var scope = NewDisposeScope();
            switch (m)
            {
                case Conv2d conv:
                    conv.weight!.copy_(DeltaOrthogonal(conv.weight.shape, conv.groups, gain));
                    conv.bias?.zero_();
                    break;
                case Linear linear:
                    linear.weight!.copy_(SemiOrthogonal(linear.weight.shape[0], linear.weight.shape[1]) * gain);
                    linear.bias?.zero_();
                    break;
            }
        }
    }

    /// <summary>A delta-orthogonal kernel [out, in/groups, kh, kw] in float64: per group a semi-orthogonal matrix at the centre tap.</summary>
    public static Tensor DeltaOrthogonal(long[] shape, long groups, double gain)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length != 4) throw new ArgumentException($"A 2-d convolution's kernel is [out, in/groups, kh, kw]; got [{string.Join(", ", shape)}].", nameof(shape));
        long inPerGroup = shape[1], outPerGroup = shape[0] / groups;
        var kernel = zeros(shape, dtype: ScalarType.Float64);
        for (long g = 0; g < groups; g++)
            kernel[TensorIndex.Slice(g * outPerGroup, (g + 1) * outPerGroup), TensorIndex.Colon, shape[2] / 2, shape[3] / 2] =
                SemiOrthogonal(outPerGroup, inPerGroup) * gain;
        return kernel;
    }

    /// <summary>A Haar-random [rows, columns] matrix with orthonormal rows (rows ≤ columns) or columns, in float64.</summary>
    public static Tensor SemiOrthogonal(long rows, long columns)
    {
        var q = JacobianSpectrum.HaarOrthogonal(checked((int)Math.Max(rows, columns)));
        return q[TensorIndex.Slice(0, rows), TensorIndex.Slice(0, columns)];
    }
}
