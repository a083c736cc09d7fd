using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// A network that is a chain of stages: each stage's output is the next stage's only input, so the feature maps between
/// stages and the Jacobian of each stage are well defined (AZ-NAS's "stages", Lee &amp; Ham, CVPR 2024, arXiv:2403.19232).
/// </summary>
public interface IStagedNetwork
{
    /// <summary>The stages in call order; each invoked once per forward pass with <c>call()</c> (so forward hooks see its output).</summary>
    IReadOnlyList<nn.Module<Tensor, Tensor>> Stages { get; }
}
