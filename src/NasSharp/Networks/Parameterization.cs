namespace NasSharp.Networks;

/// <summary>How a network's weights are initialised and scaled.</summary>
public enum Parameterization
{
    /// <summary>PyTorch's default: weights U(−1/√fan_in, 1/√fan_in) stored directly (Kaiming-uniform, a=√5).</summary>
    Standard,
    /// <summary>Jacot et al. 2018: W, b ~ N(0,1); each layer computes (σ_w/√fan_in) W x + σ_b b.</summary>
    Ntk,
}

/// <summary>How a network of any space is parameterised and in which dtype (a space's own skeleton, e.g. NB201's C and N, is one of the space's settings).</summary>
public sealed record NetworkOptions
{
    public Parameterization Parameterization { get; init; } = Parameterization.Standard;
    /// <summary>σ_w of the NTK parameterisation (ignored in standard).</summary>
    public double SigmaW { get; init; } = 1.0;
    /// <summary>σ_b of the NTK parameterisation (ignored in standard).</summary>
    public double SigmaB { get; init; } = 0.1;
    public TorchSharp.torch.ScalarType DType { get; init; } = TorchSharp.torch.ScalarType.Float32;

    /// <summary>
    /// The dtype weights are drawn in before the network is cast to <see cref="DType"/>: float32 for every dtype, so a
    /// float64 network has exactly the float32 network's weights. Written (and so part of a run's key) only when it
    /// differs from the dtype: float32 configurations, and their keys, stay as they were, while a float64 run of a build
    /// that drew in float64 has no such field and is not resumed under these draws.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? WeightsDrawnIn => DType == TorchSharp.torch.ScalarType.Float32 ? null : "float32";

    public static NetworkOptions Ntk(double sigmaW = 1.0, double sigmaB = 0.1) =>
        new() { Parameterization = Parameterization.Ntk, SigmaW = sigmaW, SigmaB = sigmaB };
}
