using MathNet.Numerics.LinearAlgebra;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>naswot, jacob_cov and meco against planted codes, closed forms and slow implementations in C# doubles.</summary>
[Collection(TorchCollection.Name)]
public class ActivationProxyTests
{
    private static readonly int[][] PlantedCodes =
    [
        [1, 1, 0, 0, 0, 0],
        [0, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 1],
        [1, 0, 1, 0, 1, 0],
    ];

    /// <summary>Linear(I) → ReLU → Linear(I) → ReLU → Linear: both ReLUs see the sign pattern of the input.</summary>
    private static nn.Module<Tensor, Tensor> IdentityReluNet(int d)
    {
        random.manual_seed(3);
        var first = nn.Linear(d, d, hasBias: false);
        var second = nn.Linear(d, d, hasBias: false);
        using (no_grad())
        {
            first.weight.copy_(eye(d));
            second.weight.copy_(eye(d));
        }
        return nn.Sequential(first, nn.ReLU(), second, nn.ReLU(), nn.Linear(d, 2)).to(ScalarType.Float64);
    }

    private static Tensor PlantedInputs(int[][] codes)
    {
        // +1 where the code is 1, −1 where it is 0 (scaled per row so the inputs are not just the codes).
        var values = codes.SelectMany((c, n) => c.Select(b => (b == 1 ? 1.0 : -1.0) * (n + 1))).ToArray();
        return tensor(values, new long[] { codes.Length, codes[0].Length }, dtype: ScalarType.Float64);
    }

    [Fact]
    public void NaswotIsLogDetOfUnitsMinusHammingDistancesOfPlantedCodes()
    {
        using var scope = NewDisposeScope();
        int n = PlantedCodes.Length, d = PlantedCodes[0].Length;
        // Two ReLU layers with the same codes: N_A = 2d and K = 2 (d − d_H).
        var k = Matrix<double>.Build.Dense(n, n, (i, j) => 2 * (d - PlantedCodes[i].Zip(PlantedCodes[j], (a, b) => a != b ? 1 : 0).Sum()));
        double expected = Math.Log(Math.Abs(k.Determinant()));

        using var context = ProxyNets.Context(() => IdentityReluNet(d), PlantedInputs(PlantedCodes), null, 2);
        var codes = context.ReluCodes();
        Assert.Equal(2 * d, codes.Units);
        var kernel = codes.Kernel.data<double>().ToArray();
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) Assert.Equal(k[i, j], kernel[i * n + j]);
        var score = new NaswotProxy().Score(context);
        Assert.True(Math.Abs(score.Value - expected) <= 1e-12 * Math.Abs(expected), $"expected {expected:R}, got {score}");
    }

    [Fact]
    public void NaswotIsNonFiniteWhenTwoInputsShareTheirCodes()
    {
        using var scope = NewDisposeScope();
        int[][] codes = [PlantedCodes[0], PlantedCodes[1], PlantedCodes[0]];
        var score = ProxyNets.ScoreAlone(new NaswotProxy(), () => IdentityReluNet(6), PlantedInputs(codes), null, 2);
        Assert.Equal(ProxyStatus.NonFinite, score.Status);
        Assert.Equal(double.NegativeInfinity, score.Value);
        Assert.Contains("singular", score.Reason);
    }

    [Fact]
    public void NaswotOnAnMlpNetworkUsesItsReluLayersAndIsNotApplicableWithoutThem()
    {
        using var scope = NewDisposeScope();
        var options = new NetworkOptions { DType = ScalarType.Float64 };
        var x = randn(new long[] { 5, 4 }, dtype: ScalarType.Float64);
        var relu = MlpGenotype.Parse("w32/relu-tanh+1");
        using (var context = ProxyNets.Context(() => new MlpSpace().BuildNetwork(relu, [4], 3, options, seed: 2), x, null, 3))
        {
            var codes = context.ReluCodes();
            Assert.Equal(32, codes.Units);
            // Independently: the codes are the signs of the first hidden layer's pre-activation.
            var net = (MlpNetwork)context.Network;
            var c = (net.DenseLayers[0].forward(x) > 0).to_type(ScalarType.Float64);
            var expected = c.mm(c.t()) + (1 - c).mm((1 - c).t());
            Assert.True((expected == codes.Kernel).all().item<bool>(), $"{expected.ToString(TorchSharp.TensorStringStyle.Julia)} vs {codes.Kernel.ToString(TorchSharp.TensorStringStyle.Julia)}");
            var score = new NaswotProxy().Score(context);
            Assert.True(score.IsFinite, score.ToString());
        }
        var tanh = MlpGenotype.Parse("w8/tanh-tanh");
        var none = ProxyNets.ScoreAlone(new NaswotProxy(), () => new MlpSpace().BuildNetwork(tanh, [4], 3, options, seed: 2), x, null, 3);
        Assert.Equal(ProxyStatus.NotApplicable, none.Status);
    }

    private static double JacobCovScore(double[][] rows)
    {
        // Pearson correlation of the rows, eigenvalues by MathNet, Mellor et al.'s −Σ log(λ+k) + 1/(λ+k).
        int n = rows.Length;
        var c = Matrix<double>.Build.Dense(n, n, (i, j) =>
        {
            double mi = rows[i].Average(), mj = rows[j].Average();
            double sij = rows[i].Zip(rows[j], (a, b) => (a - mi) * (b - mj)).Sum();
            double si = Math.Sqrt(rows[i].Sum(a => (a - mi) * (a - mi))), sj = Math.Sqrt(rows[j].Sum(b => (b - mj) * (b - mj)));
            return sij / (si * sj);
        });
        return -c.Evd(Symmetricity.Symmetric).EigenValues.Sum(l => Math.Log(l.Real + JacobCovProxy.K) + 1 / (l.Real + JacobCovProxy.K));
    }

    [Fact]
    public void JacobCovMatchesHandJacobiansOfAReluMlp()
    {
        using var scope = NewDisposeScope();
        Func<nn.Module<Tensor, Tensor>> build = () => ManualMlp.Torch(21, 5, 7, 3, tanh: false);
        using var probe = build();
        var manual = ManualMlp.From(probe, tanh: false);
        random.manual_seed(22);
        var x = randn(new long[] { 4, 5 }, dtype: ScalarType.Float64);
        double expected = JacobCovScore(ManualMlp.Rows(x).Select(manual.InputGradient).ToArray());
        var score = ProxyNets.ScoreAlone(new JacobCovProxy(), build, x, null, 3);
        // The score has terms 1/(λ+k) up to 1e5 for near-zero λ, so compare with a relative 1e-9.
        Assert.True(Math.Abs(score.Value - expected) <= 1e-9 * Math.Abs(expected), $"expected {expected:R}, got {score}");
    }

    [Fact]
    public void JacobCovOfALinearNetHasAllCorrelationsOne()
    {
        using var scope = NewDisposeScope();
        // f(x) = W2 W1 x: every input has the same Jacobian, C = 11ᵀ with eigenvalues N and 0 (N−1 times).
        const int n = 5;
        const double k = JacobCovProxy.K;
        double expected = -(Math.Log(n + k) + 1 / (n + k) + (n - 1) * (Math.Log(k) + 1 / k));
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(4);
            return nn.Sequential(nn.Linear(6, 4, hasBias: false), nn.Linear(4, 3, hasBias: false)).to(ScalarType.Float64);
        };
        var score = ProxyNets.ScoreAlone(new JacobCovProxy(), build, randn(new long[] { n, 6 }, dtype: ScalarType.Float64), null, 3);
        // Rounding moves the zero eigenvalues by ~1e-15, changing 1/(λ+k) by ~1e-5 relative to 1e5: 1e-9 of the score.
        Assert.True(Math.Abs(score.Value - expected) <= 1e-9 * Math.Abs(expected), $"expected {expected:R}, got {score}");
    }

    /// <summary>Zero-padded 3×3 convolution of one [C, H, W] map in C# doubles.</summary>
    private static double[,,] Conv(double[,,] x, double[,,,] w, double[] b, int pad)
    {
        int cin = x.GetLength(0), h = x.GetLength(1), wd = x.GetLength(2), cout = w.GetLength(0), k = w.GetLength(2);
        int ho = h + 2 * pad - k + 1, wo = wd + 2 * pad - k + 1;
        var y = new double[cout, ho, wo];
        for (int o = 0; o < cout; o++)
            for (int i = 0; i < ho; i++)
                for (int j = 0; j < wo; j++)
                {
                    double s = b[o];
                    for (int c = 0; c < cin; c++)
                        for (int u = 0; u < k; u++)
                            for (int v = 0; v < k; v++)
                            {
                                int r = i + u - pad, q = j + v - pad;
                                if (r >= 0 && r < h && q >= 0 && q < wd) s += w[o, c, u, v] * x[c, r, q];
                            }
                    y[o, i, j] = s;
                }
        return y;
    }

    private static double MinCorrelationEigenvalue(double[,,] f)
    {
        int c = f.GetLength(0), m = f.GetLength(1) * f.GetLength(2);
        var rows = Enumerable.Range(0, c).Select(ch => Enumerable.Range(0, m).Select(p => f[ch, p / f.GetLength(2), p % f.GetLength(2)]).ToArray()).ToArray();
        var p = Matrix<double>.Build.Dense(c, c, (i, j) =>
        {
            double mi = rows[i].Average(), mj = rows[j].Average();
            return rows[i].Zip(rows[j], (a, b) => (a - mi) * (b - mj)).Sum()
                / Math.Sqrt(rows[i].Sum(a => (a - mi) * (a - mi)) * rows[j].Sum(b => (b - mj) * (b - mj)));
        });
        return p.Evd(Symmetricity.Symmetric).EigenValues.Min(e => e.Real);
    }

    private static double[,,,] Kernel4(Tensor t)
    {
        var s = t.shape;
        var v = t.to_type(ScalarType.Float64).data<double>().ToArray();
        var r = new double[s[0], s[1], s[2], s[3]];
        int idx = 0;
        for (int a = 0; a < s[0]; a++) for (int b = 0; b < s[1]; b++) for (int c = 0; c < s[2]; c++) for (int d = 0; d < s[3]; d++) r[a, b, c, d] = v[idx++];
        return r;
    }

    /// <summary>The proxy's input: one N(0, I) sample [2, 6, 6] from the seed derived for meco.</summary>
    private static double[,,] MecoSample(long seed)
    {
        using var generator = new Generator(unchecked((ulong)Seeds.Derive(seed, "meco")));
        var xv = randn(new long[] { 1, 2, 6, 6 }, dtype: ScalarType.Float64, generator: generator).data<double>().ToArray();
        var x = new double[2, 6, 6];
        for (int i = 0; i < xv.Length; i++) x[i / 36, i / 6 % 6, i % 6] = xv[i];
        return x;
    }

    [Fact]
    public void MecoSumsMinimumEigenvaluesOfChannelCorrelationsOfEachConv()
    {
        using var scope = NewDisposeScope();
        const long seed = 42;
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(8);
            return nn.Sequential(nn.Conv2d(2, 3, 3, padding: 1), nn.ReLU(), nn.Conv2d(3, 4, 3)).to(ScalarType.Float64);
        };
        using var probe = build();
        var p = probe.parameters().ToArray();
        var x = MecoSample(seed);

        var f1 = Conv(x, Kernel4(p[0]), ManualMlp.Vector(p[1]), pad: 1);
        var a1 = new double[3, 6, 6];
        for (int c = 0; c < 3; c++) for (int i = 0; i < 6; i++) for (int j = 0; j < 6; j++) a1[c, i, j] = Math.Max(0, f1[c, i, j]);
        var f2 = Conv(a1, Kernel4(p[2]), ManualMlp.Vector(p[3]), pad: 0);
        double expected = MinCorrelationEigenvalue(f1) + MinCorrelationEigenvalue(f2);

        var batch = randn(new long[] { 3, 2, 6, 6 }, dtype: ScalarType.Float64); // only its shape is used
        var score = ProxyNets.ScoreAlone(new MecoProxy(), build, batch, null, 4 * 4 * 4, seed);
        Assert.True(Math.Abs(score.Value - expected) <= 1e-12, $"expected {expected:R}, got {score}");
    }

    [Fact]
    public void AConstantChannelMakesItsLayersMinimumEigenvalueZeroAndTheScoreFinite()
    {
        using var scope = NewDisposeScope();
        const long seed = 42;
        // The second conv's channel 1 has zero weights and bias 0.7: constant over the map, it centres to the zero vector,
        // so that layer's P is singular and contributes λ_min = 0; the output still depends on the input through channel 0.
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(8);
            var half = nn.Conv2d(3, 2, 3, padding: 1);
            using (no_grad()) { half.weight[1].zero_(); half.bias![1].fill_(0.7); }
            return nn.Sequential(nn.Conv2d(2, 3, 3, padding: 1), half, nn.Flatten(), nn.Linear(2 * 6 * 6, 2)).to(ScalarType.Float64);
        };
        using var probe = build();
        var p = probe.parameters().ToArray();
        double expected = MinCorrelationEigenvalue(Conv(MecoSample(seed), Kernel4(p[0]), ManualMlp.Vector(p[1]), pad: 1)) + 0;

        var score = ProxyNets.ScoreAlone(new MecoProxy(), build, randn(new long[] { 2, 2, 6, 6 }, dtype: ScalarType.Float64), null, 2, seed);
        Assert.True(score.IsFinite, score.ToString());
        Assert.True(Math.Abs(score.Value - expected) <= 1e-12, $"expected {expected:R}, got {score}");
    }

    [Fact]
    public void MecoSaysSoWhenTheOutputDoesNotDependOnTheInputAndIsNotApplicableWithoutConvolutions()
    {
        using var scope = NewDisposeScope();
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(8);
            var dead = nn.Conv2d(3, 2, 3, padding: 1);
            using (no_grad()) { dead.weight.zero_(); dead.bias!.zero_(); }
            return nn.Sequential(nn.Conv2d(2, 3, 3, padding: 1), dead, nn.Flatten(), nn.Linear(2 * 5 * 5, 2)).to(ScalarType.Float64);
        };
        var constant = ProxyNets.ScoreAlone(new MecoProxy(), build, randn(new long[] { 2, 2, 5, 5 }, dtype: ScalarType.Float64), null, 2);
        Assert.Equal(ProxyStatus.NotApplicable, constant.Status);
        Assert.True(double.IsNaN(constant.Value));
        Assert.Contains("does not depend on its input", constant.Reason);

        var mlp = ProxyNets.ScoreAlone(new MecoProxy(),
            () => new MlpSpace().BuildNetwork(MlpGenotype.Parse("w8/relu"), [4], 3, new NetworkOptions(), seed: 1), randn(3, 4), null, 3);
        Assert.Equal(ProxyStatus.NotApplicable, mlp.Status);
    }
}
