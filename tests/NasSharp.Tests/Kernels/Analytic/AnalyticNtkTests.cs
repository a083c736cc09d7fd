using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Kernels.Analytic;

[Collection(TorchCollection.Name)]
public class AnalyticNtkTests
{
    private static double[] RandomInputs(int n, int d, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n * d).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
    }

    /// <summary>
    /// The deep ReLU NTK recursion of Jacot et al. (2018) / Arora et al. (2019, Eqs. 7–9) with the arc-cosine kernel,
    /// for a plain network (no skips), in NTK parameterisation with biases; written independently of the library.
    /// </summary>
    private static (double[] Nngp, double[] Ntk) PlainReluKernel(double[] x, int n, int d, int depth, double sw, double sb)
    {
        var sigma = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                sigma[i * n + j] = sw * sw * Enumerable.Range(0, d).Sum(t => x[i * d + t] * x[j * d + t]) / d + sb * sb;
        var theta = (double[])sigma.Clone();
        for (int l = 0; l < depth; l++)
        {
            var next = new double[n * n];
            var dot = new double[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    double norm = Math.Sqrt(sigma[i * n + i] * sigma[j * n + j]);
                    double angle = Math.Acos(Math.Clamp(sigma[i * n + j] / norm, -1, 1));
                    next[i * n + j] = sw * sw * norm * (Math.Sin(angle) + (Math.PI - angle) * Math.Cos(angle)) / (2 * Math.PI) + sb * sb;
                    dot[i * n + j] = sw * sw * (Math.PI - angle) / (2 * Math.PI);
                }
            for (int k = 0; k < n * n; k++) theta[k] = next[k] + dot[k] * theta[k];
            sigma = next;
        }
        return (sigma, theta);
    }

    [Fact]
    public void PlainReluNetworkMatchesTheArcCosineRecursion()
    {
        const int n = 7, d = 4;
        var x = RandomInputs(n, d, 1);
        foreach (var (depth, sw, sb) in new[] { (1, 1.0, 0.0), (3, 1.4, 0.1), (5, 0.9, 0.5) })
        {
            var genotype = MlpGenotype.Plain(1, Enumerable.Repeat(Activation.Relu, depth).ToArray());
            var kernel = AnalyticNtk.Compute(genotype, x, n, NetworkOptions.Ntk(sw, sb));
            var (nngp, ntk) = PlainReluKernel(x, n, d, depth, sw, sb);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                {
                    // Same closed form, different summation order: a few ulps.
                    Assert.Equal(ntk[i * n + j], kernel.Ntk(i, j), 1e-12 * Math.Abs(ntk[i * n + i]));
                    Assert.Equal(nngp[i * n + j], kernel.Nngp(i, j), 1e-12 * Math.Abs(nngp[i * n + i]));
                }
        }
    }

    [Fact]
    public void TheSeriesInterpreterAgreesWithTheMatrixInterpreterOnTheSphere()
    {
        // Two interpreters of one genotype: on sphere inputs Θ_ij = F(G_ij) with F(t) = Σ_s θ_s t^s, θ_s ≥ 0. The series
        // is truncated (it keeps a fraction `captured` of F(1)), so for t ≥ 0 its partial sum lies in
        // [F(t) − (F(1) − Σθ_s), F(t)], and its exact F(1) is the matrix diagonal.
        const int n = 10, d = 6;
        var x = NasSharp.Theory.SphereBatch.Project(RandomInputs(n, d, 2).Select(v => v + 0.3).ToArray(), n);
        var gram = AnalyticNtk.InputGram(x, n);
        var options = NetworkOptions.Ntk(1.2, 0.2);
        foreach (var arch in new[] { "w1/tanh-relu+1-gelu+1+2", "w1/elu-sigmoid+1-softplus+2-swish+1+3", "w1/leaky_relu-erf-identity+1+2" })
        {
            var genotype = MlpGenotype.Parse(arch);
            var kernel = AnalyticNtk.FromInputGram(genotype, gram, n, options);
            var series = NtkPowerSeries.Of(genotype, options);
            Assert.All(series.NtkCoefficients, c => Assert.True(c >= 0));
            double missing = series.NtkAtOne - series.NtkCoefficients.Sum();
            Assert.True(missing >= 0 && series.CapturedMass > 0.9, $"{arch}: captured {series.CapturedMass}");
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(series.NtkAtOne, kernel.Ntk(i, i), 1e-9 * series.NtkAtOne);
                for (int j = 0; j < n; j++)
                {
                    double t = gram[i * n + j];
                    if (t < 0) continue;
                    double partial = series.NtkCoefficients.Select((c, s) => c * Math.Pow(t, s)).Sum();
                    double f = kernel.Ntk(i, j), slack = 1e-9 * series.NtkAtOne;
                    Assert.True(partial <= f + slack && f <= partial + missing + slack, $"{arch} ({i},{j}): partial {partial}, F {f}, missing {missing}");
                }
            }
        }
    }

    [Fact]
    public void ABatchSharingLayerPrefixesGivesEachGenotypesKernelExactly()
    {
        // Independent path: each genotype's kernel computed alone (its own input Gram, its own walk from the first layer).
        const int n = 9, d = 5;
        var x = RandomInputs(n, d, 3);
        var options = NetworkOptions.Ntk(1.3, 0.2);
        Activation[] acts = [Activation.Relu, Activation.Tanh, Activation.Sigmoid];
        var genotypes = (from a in acts from b in acts from c in acts select MlpGenotype.Plain(16, a, b, c)).Reverse().ToList();
        genotypes.Add(MlpGenotype.Residual(16, Activation.Tanh, Activation.Relu, Activation.Relu));
        genotypes.Add(MlpGenotype.Dense(16, Activation.Tanh, Activation.Relu, Activation.Sigmoid));
        genotypes.Add(MlpGenotype.Plain(16, Activation.Tanh, Activation.Relu));

        var batch = AnalyticNtk.OnInputs(x, n, options);
        var seen = new List<int>();
        int computedLayers = 0;
        foreach (var (i, kernel) in batch.ComputeAll(genotypes))
        {
            seen.Add(i);
            computedLayers += genotypes[i].Depth - batch.SharedLayers;
            Assert.Same(genotypes[i], kernel.Genotype);
            var alone = AnalyticNtk.Compute(genotypes[i], x, n, options);
            // The same operations on the same values, up to the last bits of the input Gram's matrix product.
            AssertClose(alone.NtkArray(), kernel.NtkArray(), 1e-12);
            AssertClose(alone.NngpArray(), kernel.NngpArray(), 1e-12);
        }
        Assert.Equal(Enumerable.Range(0, genotypes.Count), seen.Order());
        // In canonical order the 27 plain depth-3 genotypes alone take 3 + 9 + 27 layers. Before the plain tanh group come
        // tanh-relu (2 layers; then tanh-relu-relu takes 2, not 3), tanh-relu+1-relu+2 (2: only "tanh" is shared, its
        // second layer has a skip) and tanh-relu+1-sigmoid+1+2 (1: it shares the residual one's first two layers).
        Assert.Equal(3 + 9 + 27 + 2 - 1 + 2 + 1, computedLayers);
    }

    private static void AssertClose(double[] expected, double[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * scale, $"entry {i}: {actual[i]} against {expected[i]}");
    }

    [Fact]
    public void BadInputsAreRefusedWithAReason()
    {
        var g = MlpGenotype.Parse("w1/relu");
        var e1 = Assert.Throws<ArgumentException>(() => AnalyticNtk.Compute(g, [1, 2, 3], 2, NetworkOptions.Ntk()));
        Assert.Contains("do not split", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => AnalyticNtk.Compute(g, [1, 2], 2, new NetworkOptions()));
        Assert.Contains("NTK parameterisation", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => AnalyticNtk.Compute(g, [1, double.NaN], 2, NetworkOptions.Ntk()));
        Assert.Contains("NaN", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => AnalyticNtk.Compute(g, [0, 0, 1, 1], 2, NetworkOptions.Ntk(1, 0)));
        Assert.Contains("Input 0 is zero", e4.Message);
    }
}
