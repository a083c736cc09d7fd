using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>
/// The Gumbel-softmax relaxation of a categorical choice (Jang et al. 2017; Maddison et al. 2017): with g_i = −log(−log u_i),
/// u_i ~ U(0, 1), the weights softmax((α + g)/τ) tend to the one-hot argmax of α + g (a sample of the categorical
/// p = softmax(α)) as τ → 0, and to uniform weights as τ → ∞.
/// </summary>
public static class GumbelSoftmax
{
    /// <summary>Gumbel(0, 1) noise of the given shape from <paramref name="generator"/>, in float64 (cast by the caller).</summary>
    public static Tensor Noise(long[] shape, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        // u in (0, 1): rand is in [0, 1), and u = 0 would give −log(−log 0) = −∞.
        var u = rand(shape, dtype: ScalarType.Float64, generator: generator).clamp_(double.Epsilon, 1.0);
        return u.log_().neg_().log_().neg_();
    }

    /// <summary>softmax((α + g)/τ) along the last dimension (the operations of each edge).</summary>
    public static Tensor Weights(Tensor logits, Tensor noise, double temperature)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(noise);
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The Gumbel-softmax temperature must be positive and finite.");
        return ((logits + noise.to_type(logits.dtype)) / temperature).softmax(-1);
    }

    /// <summary>
    /// The straight-through sample (Jang et al. 2017, Sec. 2.2; PyTorch's <c>gumbel_softmax(hard=True)</c>): the forward value is
    /// the one-hot argmax of α + g, a discrete architecture, and the gradient is that of the soft weights,
    /// y_hard − stop_grad(y_soft) + y_soft.
    /// </summary>
    public static Tensor HardWeights(Tensor logits, Tensor noise, double temperature)
    {
        var soft = Weights(logits, noise, temperature);
        var hard = nn.functional.one_hot(soft.argmax(-1), soft.shape[^1]).to_type(soft.dtype);
        return hard - soft.detach() + soft;
    }
}
