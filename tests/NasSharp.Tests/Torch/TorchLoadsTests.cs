using TorchSharp;
using Xunit;

namespace NasSharp.Tests.Torch;

public class TorchLoadsTests
{
    [Fact]
    public void LibTorchInitialisesAndComputes()
    {
        using var a = torch.tensor(new double[] { 1, 2, 3 });
        using var s = (a * a).sum();
        Assert.Equal(14.0, s.item<double>());
    }
}
