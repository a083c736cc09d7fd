namespace NasSharp.Kernels;

/// <summary>How <see cref="EmpiricalNtk.Compute(TorchSharp.torch.nn.Module{TorchSharp.torch.Tensor, TorchSharp.torch.Tensor}, TorchSharp.torch.Tensor, NtkOutput, NtkMethod)"/> builds Θ.</summary>
public enum NtkMethod
{
    /// <summary>Direct Jacobian contraction: one backward pass per row of J (<see cref="EmpiricalNtk.Exact"/>).</summary>
    Exact,

    /// <summary>
    /// Structured per-sample derivatives: one batched forward and one batched backward pass per logit
    /// (<see cref="EmpiricalNtk.Fast"/>). Only for networks whose trainable parameters all sit in supported
    /// layers; otherwise it throws <see cref="FastNtkNotSupportedException"/>.
    /// </summary>
    Fast,

    /// <summary><see cref="Fast"/> when the network supports it, otherwise <see cref="Exact"/>.</summary>
    Auto,
}

/// <summary>Which method an <see cref="NtkMethod.Auto"/> computation used, and why not the fast one if it fell back.</summary>
/// <param name="Used"><see cref="NtkMethod.Exact"/> or <see cref="NtkMethod.Fast"/>.</param>
/// <param name="FastUnsupportedReason">Why the fast method could not be used; null when it was.</param>
public readonly record struct NtkMethodChoice(NtkMethod Used, string? FastUnsupportedReason);
