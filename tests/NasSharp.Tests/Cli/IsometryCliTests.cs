using NasSharp.Cli;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class IsometryCliTests
{
    [Fact]
    public void IsometryReportsTheReferenceEdgeOfChaosAStoredRunAndAReportWithTheFigures()
    {
        using var cli = new CliHarness();
        var j = cli.Json("isometry", "--activations", "tanh,relu", "--sigma-b2", "0.05", "--spectra", "tanh,relu", "--depth", "4", "--width", "16",
            "--conv-channels", "2", "--conv-size", "3", "--threads", "1");
        var edges = j.GetProperty("edge_of_chaos");
        // Published values of the mean-field edge of chaos (Poole et al., NeurIPS 2016, arXiv 1606.05340; Schoenholz et al., ICLR 2017, arXiv 1611.01232):
        // tanh at σ_b² = 0.05 is critical at σ_w² = 1.761 with q* = 0.570; relu at σ_w² = 2.
        Assert.Equal(1.761, edges[0].GetProperty("sigma_w2").GetDouble(), 1e-3);
        Assert.Equal(0.570, edges[0].GetProperty("q_star").GetDouble(), 1e-3);
        Assert.Equal(2.0, edges[1].GetProperty("sigma_w2").GetDouble(), 1e-9);
        Assert.Equal("chaotic", j.GetProperty("points")[0].GetProperty("phase").GetString()); // tanh at σ_w² = 2 > 1.761
        // tanh and relu × dense and conv × Gaussian and orthogonal.
        Assert.Equal(8, j.GetProperty("spectra").GetArrayLength());

        string run = j.GetProperty("run_id").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string outDir = Path.Combine(cli.Directory, "report");
        var (code, _, err) = cli.Run("report", run, "--out", outDir);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(outDir, "phase_diagram.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "jacobian_spectra.png")));
        Assert.Contains("| tanh |", File.ReadAllText(Path.Combine(outDir, "report.md")));
    }

    [Theory]
    [InlineData("isometry --activations tanhh")]
    [InlineData("isometry --sigma-w2 -1")]
    [InlineData("isometry --depth 0")]
    public void BadInputIsOneLineAndExitCodeTwo(string args)
    {
        using var cli = new CliHarness();
        cli.AssertUsageError(args);
    }
}
