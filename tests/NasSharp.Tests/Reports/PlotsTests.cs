using NasSharp.Reports;
using Xunit;

namespace NasSharp.Tests.Reports;

public class PlotsTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "nassharp-plots-" + Guid.NewGuid().ToString("N"));

    public PlotsTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static (int W, int H) PngSize(string path)
    {
        var b = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, b[..4]);
        // IHDR: width and height, big-endian, at bytes 16..23.
        return ((b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19], (b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23]);
    }

    [Fact]
    public void ScatterUsesALogAxisOnlyWhenScoresSpanDecades()
    {
        var acc = new double[] { 0.5, 0.6, 0.7, 0.8 };
        var (plot, log) = Plots.Scatter("synflow vs accuracy", "synflow", "test accuracy (%)", [1e2, 1e4, 1e6, 1e8], acc);
        Assert.True(log);
        Plots.SavePng(plot, Path.Combine(dir, "a.png"));
        Assert.False(Plots.Scatter("naswot vs accuracy", "naswot", "test accuracy (%)", [1, 2, 3, 4], acc).LogScale);
        Assert.False(Plots.Scatter("x", "x", "y", [-1, 2, 3e5, 4], acc).LogScale); // negative: no log
        Assert.Equal((Plots.Width, Plots.Height), PngSize(Path.Combine(dir, "a.png")));
    }

    [Fact]
    public void BarsAndRankCurvesAreWritten()
    {
        Plots.SavePng(Plots.GroupedBars("Kendall τ", "Kendall τ", ["params", "synflow"], ["cifar10", "cifar100"],
            (g, s) => g == "params" ? 0.5 : s == "cifar10" ? 0.55 : double.NaN), Path.Combine(dir, "tau.png"));
        Plots.SavePng(Plots.ScoreByRank("scores", "λ_min", [3, 2, 1, double.NaN]), Path.Combine(dir, "rank.png"));
        Assert.Equal((Plots.Width, Plots.Height), PngSize(Path.Combine(dir, "tau.png")));
        Assert.Equal((Plots.Width, Plots.Height), PngSize(Path.Combine(dir, "rank.png")));
    }
}
