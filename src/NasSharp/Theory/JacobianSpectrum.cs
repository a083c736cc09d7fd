using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Theory;

/// <summary>How the weights of a deep random network are drawn.</summary>
public enum WeightInit
{
    /// <summary>W_ij ~ N(0, σ_w²/fan_in).</summary>
    Gaussian,
    /// <summary>σ_w times a Haar-random orthogonal matrix; for convolutions the delta-orthogonal kernel (Xiao et al. 2018).</summary>
    Orthogonal,
}

/// <summary>A deep random network whose input–output Jacobian is measured.</summary>
/// <param name="Width">Units per layer (dense), or channels (convolutional).</param>
/// <param name="ImageSize">0 for a dense network; else the side of the square feature maps of a 3×3 convolutional network with circular padding.</param>
/// <param name="InputVariance">The variance of the pre-activations h⁰ the input is made from (x⁰ = φ(h⁰)): q* keeps every layer at its fixed point.</param>
public sealed record RandomNetwork(Activation Activation, double SigmaW2, double SigmaB2, int Depth, int Width, WeightInit Weights, double InputVariance, int ImageSize = 0)
{
    public bool IsConvolutional => ImageSize > 0;

    /// <summary>The Jacobian's size: Width (dense) or Width·ImageSize² (convolutional).</summary>
    public int Dimension => IsConvolutional ? Width * ImageSize * ImageSize : Width;

    public void Validate()
    {
        if (Depth < 1) throw new ArgumentOutOfRangeException(nameof(Depth), Depth, "The depth must be at least 1.");
        if (Width < 1) throw new ArgumentOutOfRangeException(nameof(Width), Width, "The width must be at least 1.");
        if (ImageSize < 0) throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize, "The image size must be 0 (dense) or positive.");
        if (!(SigmaW2 > 0) || !double.IsFinite(SigmaW2)) throw new ArgumentOutOfRangeException(nameof(SigmaW2), SigmaW2, "σ_w² must be positive and finite.");
        if (!(SigmaB2 >= 0) || !double.IsFinite(SigmaB2)) throw new ArgumentOutOfRangeException(nameof(SigmaB2), SigmaB2, "σ_b² must be non-negative and finite.");
        if (!(InputVariance >= 0) || !double.IsFinite(InputVariance)) throw new ArgumentOutOfRangeException(nameof(InputVariance), InputVariance, "The input variance must be non-negative and finite.");
    }
}

/// <summary>
/// The singular values of the input–output Jacobian J = ∂x^L/∂x⁰ = D^L W^L ⋯ D¹ W¹ (D^l = diag φ'(h^l)) of a deep random
/// network at initialisation, in float64 (Pennington, Schoenholz &amp; Ganguli, NeurIPS 2017, "Resurrecting the sigmoid").
/// </summary>
/// <remarks>
/// J is built by pushing the identity through the linearised network, so it is exact (no autograd through a graph of L
/// layers); its singular values come from a float64 SVD. The network is h^l = W^l x^{l−1} + b^l, x^l = φ(h^l), the
/// mean-field model of <see cref="MeanField"/>: each layer's mean squared singular value is χ₁ (at q*), so that of J is χ₁^L.
/// </remarks>
public static class JacobianSpectrum
{
    /// <summary>The singular values of J, in descending order. Seeds libtorch with <paramref name="seed"/> first.</summary>
    public static double[] SingularValues(RandomNetwork network, long seed)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.Validate();
        using var scope = NewDisposeScope();
        random.manual_seed(seed);
        var j = network.IsConvolutional ? Convolutional(network) : Dense(network);
        return linalg.svdvals(j).data<double>().ToArray();
    }

    /// <summary>⟨s²⟩ = tr(JJᵀ)/N, the mean squared singular value (→ χ₁^L at infinite width).</summary>
    public static double MeanSquare(IReadOnlyList<double> singularValues)
    {
        ArgumentNullException.ThrowIfNull(singularValues);
        return singularValues.Average(s => s * s);
    }

    /// <summary>
    /// The spread of the spectrum: Var(s²)/⟨s²⟩², the variance of the eigenvalues of JJᵀ relative to their squared mean. It is
    /// 0 exactly when every singular value is equal (dynamical isometry up to a scale), does not change when J is scaled, and
    /// at χ₁ = 1 it is Pennington et al.'s σ²_{JJᵀ}. NaN when J = 0.
    /// </summary>
    public static double Spread(IReadOnlyList<double> singularValues)
    {
        ArgumentNullException.ThrowIfNull(singularValues);
        double m1 = MeanSquare(singularValues);
        double m2 = singularValues.Average(s => s * s * s * s);
        return m1 > 0 ? m2 / (m1 * m1) - 1 : double.NaN;
    }

    /// <summary>
    /// The infinite-width spread of a dense network at its length fixed point q*: L·(E[φ'⁴]/E[φ'²]² − 1 + g), g = 1 for
    /// Gaussian and 0 for orthogonal weights.
    /// </summary>
    /// <remarks>
    /// Free probability, as in Pennington et al. (2017): the spectrum of JJᵀ is the free multiplicative convolution of L
    /// copies of W Wᵀ and of D², and for free a, b with means 1, m₂(ab) − 1 = (m₂(a) − 1) + (m₂(b) − 1), so relative
    /// variances add. W Wᵀ of a square Gaussian W is Marchenko–Pastur with relative variance 1; an orthogonal one has 0; D²
    /// has E[φ'⁴]/E[φ'²]² − 1. This gives Pennington et al.'s linear (L for Gaussian, 0 orthogonal) and relu (2L Gaussian, L
    /// orthogonal) values. Finite width adds O(L/N) (a square Gaussian W Wᵀ has m₂ = 2 + 1/N).
    /// </remarks>
    public static double PredictedSpread(Activation activation, double qStar, int depth, WeightInit weights)
    {
        var m = new MeanField(activation).At(qStar);
        return depth * (m.Dphi4 / (m.Dphi2 * m.Dphi2) - 1 + (weights == WeightInit.Gaussian ? 1 : 0));
    }

    /// <summary>A Haar-random orthogonal n×n matrix: Q of the QR decomposition of a Gaussian matrix, columns signed by diag R (Mezzadri 2007).</summary>
    public static Tensor HaarOrthogonal(int n)
    {
        var (q, r) = linalg.qr(randn(n, n, dtype: ScalarType.Float64));
        return q * r.diagonal().sign().unsqueeze(0);
    }

    private static Tensor Dense(RandomNetwork net)
    {
        int n = net.Width;
        var x = net.Activation.Apply(randn(n, 1, dtype: ScalarType.Float64) * Math.Sqrt(net.InputVariance));
        var jacobian = eye(n, dtype: ScalarType.Float64);
        for (int l = 0; l < net.Depth; l++)
        {
            using var layer = NewDisposeScope();
            var w = net.Weights == WeightInit.Orthogonal ? HaarOrthogonal(n) * Math.Sqrt(net.SigmaW2) : randn(n, n, dtype: ScalarType.Float64) * Math.Sqrt(net.SigmaW2 / n);
            var b = randn(n, 1, dtype: ScalarType.Float64) * Math.Sqrt(net.SigmaB2);
            var h = w.mm(x) + b;
            var (value, derivative) = ValueAndDerivative(net.Activation, h);
            x = value.MoveToOuterDisposeScope();
            jacobian = (derivative * w.mm(jacobian)).MoveToOuterDisposeScope();
        }
        return jacobian;
    }

    /// <summary>3×3 convolutions with circular padding; J's columns are the linearised network applied to each basis image.</summary>
    private static Tensor Convolutional(RandomNetwork net)
    {
        int c = net.Width, s = net.ImageSize, m = net.Dimension;
        const int k = 3;
        var x = net.Activation.Apply(randn(1, c, s, s, dtype: ScalarType.Float64) * Math.Sqrt(net.InputVariance));
        var tangents = eye(m, dtype: ScalarType.Float64).reshape(m, c, s, s);
        for (int l = 0; l < net.Depth; l++)
        {
            using var layer = NewDisposeScope();
            Tensor w;
            if (net.Weights == WeightInit.Orthogonal)
            {
                // Delta-orthogonal (Xiao et al. 2018, Algorithm 2): an orthogonal matrix at the kernel's centre, zeros elsewhere,
                // so each layer acts on every pixel by the same orthogonal matrix.
                w = zeros(c, c, k, k, dtype: ScalarType.Float64);
                w[TensorIndex.Colon, TensorIndex.Colon, k / 2, k / 2] = HaarOrthogonal(c) * Math.Sqrt(net.SigmaW2);
            }
            else w = randn(c, c, k, k, dtype: ScalarType.Float64) * Math.Sqrt(net.SigmaW2 / (c * k * k));
            var b = randn(c, dtype: ScalarType.Float64) * Math.Sqrt(net.SigmaB2);
            var h = nn.functional.conv2d(Circular(x), w, b);
            var (value, derivative) = ValueAndDerivative(net.Activation, h);
            x = value.MoveToOuterDisposeScope();
            tangents = (derivative * nn.functional.conv2d(Circular(tangents), w)).MoveToOuterDisposeScope();
        }
        // Row i of the tangents is J e_i.
        return tangents.reshape(m, m).t();
    }

    private static Tensor Circular(Tensor x) => nn.functional.pad(x, [1, 1, 1, 1], PaddingModes.Circular);

    /// <summary>φ(h) and φ'(h) elementwise, φ' by autograd of <see cref="Activations.Apply"/> (one definition of each activation).</summary>
    private static (Tensor Value, Tensor Derivative) ValueAndDerivative(Activation activation, Tensor h)
    {
        using var grad = enable_grad();
        var input = h.detach().requires_grad_(true);
        var value = activation.Apply(input);
        var derivative = autograd.grad([value.sum()], [input], allow_unused: true)[0];
        if (derivative.IsInvalid) derivative = zeros_like(h);
        return (value.detach(), derivative.detach());
    }
}
