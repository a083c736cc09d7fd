using NasSharp.Experiments;
using Xunit;

namespace NasSharp.Tests.Experiments;

[Collection(TorchCollection.Name)]
public class SpectralErrorExperimentTests
{
    [Fact]
    public void WithoutNoiseAlternatingLeastSquaresIsExactAndTheSpectralEstimateImprovesWithN()
    {
        var config = new SpectralErrorConfig(Candidates: 3, Features: 6, Noise: 0, Multiples: [5, 40], Seeds: 2, AlsIterations: 30, LearningRate: 0.5, GdSteps: 10);
        var output = new SpectralErrorExperiment(config, seed: 1).Run(new ExperimentContext());
        Assert.Equal(6, output.Rows.Count);
        Assert.All(output.Rows.Where(r => r.Method == "spectral+als"), r => Assert.True(r.MeanError < 1e-8, $"n = {r.Samples}: {r.MeanError}"));
        var spectral = output.Rows.Where(r => r.Method == "spectral").OrderBy(r => r.Samples).ToList();
        // The moment estimate's error is O(√(ph/n)): twenty times the samples, about 4.5 times smaller; 2 is a safe margin.
        Assert.True(spectral[1].MeanError < spectral[0].MeanError / 2, $"{spectral[0].MeanError} at n = {spectral[0].Samples}, {spectral[1].MeanError} at n = {spectral[1].Samples}");
    }
}
