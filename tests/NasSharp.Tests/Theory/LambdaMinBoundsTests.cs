using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Theory;
using Xunit;
using Xunit.Abstractions;

namespace NasSharp.Tests.Theory;

[Collection(TorchCollection.Name)]
public class LambdaMinBoundsTests(ITestOutputHelper output)
{
    [Fact]
    public void BoundsBracketTheAnalyticMinEigenvalueOnRandomGenotypesAndData()
    {
        var rng = new Random(2024);
        var space = Activations.All;
        double worstLowerRatio = double.PositiveInfinity;
        for (int trial = 0; trial < 60; trial++)
        {
            // Random data: a few clusters in d dimensions, so inputs are correlated as real data are.
            int n = rng.Next(5, 14), d = rng.Next(3, 10), classes = rng.Next(2, 4);
            var centres = Enumerable.Range(0, classes).Select(_ => Enumerable.Range(0, d).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToArray();
            var labels = Enumerable.Range(0, n).Select(i => i % classes).ToArray();
            var x = new double[n * d];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++) x[i * d + j] = centres[labels[i]][j] + 0.6 * (rng.NextDouble() * 2 - 1);
            var batch = new SphereBatch(x, n, labels, classes);

            int depth = rng.Next(1, 5);
            var layers = Enumerable.Range(0, depth).Select(l => new MlpLayer(space[rng.Next(space.Count)],
                [.. Enumerable.Range(1, l).Where(_ => rng.NextDouble() < 0.4)])).ToList();
            var genotype = new MlpGenotype(1, layers);
            var options = NetworkOptions.Ntk(0.6 + rng.NextDouble(), 0.4 * rng.NextDouble());

            var bounds = LambdaMinBounds.Compute(genotype, options, batch);
            var spectrum = AnalyticNtk.FromInputGram(genotype, batch.Gram, n, options).Spectrum();
            double lambda = spectrum.LambdaMin;
            // Both sides are float64 eigenvalues of matrices of norm ≤ λ_max: allow rounding of 1e-10·λ_max.
            double slack = 1e-10 * spectrum.LambdaMax;
            Assert.True(bounds.Lower >= 0, $"{genotype}: negative lower bound {bounds.Lower}");
            Assert.True(bounds.Lower <= lambda + slack, $"{genotype} σ=({options.SigmaW:F3},{options.SigmaB:F3}): lower {bounds.Lower} > λ_min {lambda}");
            Assert.True(lambda <= bounds.Upper + slack, $"{genotype}: λ_min {lambda} > upper {bounds.Upper}");
            if (lambda > 0) worstLowerRatio = Math.Min(worstLowerRatio, bounds.Lower / lambda);
        }
        output.WriteLine($"smallest lower bound / λ_min over the trials: {worstLowerRatio:F3}");
    }

    [Fact]
    public void NearDuplicateInputsDriveTheUpperBoundAndLambdaMinToZero()
    {
        // Two inputs at correlation t → 1: the upper bound F(1) − F(t) → 0 and λ_min ≤ it.
        var genotype = MlpGenotype.Parse("w1/tanh-relu+1");
        double previous = double.PositiveInfinity;
        foreach (var eps in new[] { 1e-1, 1e-2, 1e-3 })
        {
            var x = new double[] { 1, 0, 0, 1, eps, 0, 0, 1, 0, 0, 0, 1 };
            var batch = new SphereBatch(x, 4, [0, 1, 0, 1], 2);
            var bounds = LambdaMinBounds.Compute(genotype, NetworkOptions.Ntk(), batch);
            var lambda = AnalyticNtk.FromInputGram(genotype, batch.Gram, 4, NetworkOptions.Ntk()).Spectrum().LambdaMin;
            Assert.True(bounds.Upper < previous);
            Assert.True(lambda <= bounds.Upper + 1e-12 && bounds.Lower <= lambda + 1e-12);
            previous = bounds.Upper;
        }
        // relu's tangent dual has a √(1 − t) term, so at 1 − t = 5e-7 the bound is ~1e-3 of the diagonal.
        Assert.True(previous < 1e-2 * NtkPowerSeries.Of(genotype, NetworkOptions.Ntk()).NtkAtOne, $"upper {previous}");
    }
}
