using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Networks;

/// <summary>The check behind "a supernet with one-hot weights is the derived network": one float64 batch through both.</summary>
internal static class SameFunction
{
    /// <summary>
    /// Puts both modules in training mode (batch statistics in every BN), runs one random float64 batch of
    /// <paramref name="shape"/> through both and asserts the outputs agree to 1e-12; returns the batch and the network's output.
    /// </summary>
    public static (Tensor Input, Tensor Output) AssertInTraining(nn.Module<Tensor, Tensor> supernet, nn.Module<Tensor, Tensor> network, long[] shape)
    {
        supernet.train();
        network.train();
        var x = torch.randn(shape, dtype: ScalarType.Float64);
        var expected = network.forward(x);
        var actual = supernet.forward(x);
        Assert.True(torch.allclose(actual, expected, rtol: 1e-12, atol: 1e-12), $"max |Δ| = {(actual - expected).abs().max().item<double>()}");
        return (x, expected);
    }
}
