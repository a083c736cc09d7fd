using NasSharp.Proxies;
using TorchSharp;
using Xunit;
using static NasSharp.Tests.Proxies.ManualMlp;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>
/// Loss-gradient proxies on d → h → k float64 MLPs, against backpropagation written out by hand (<see cref="ManualMlp"/>).
/// Both sides are float64 sums of a few hundred terms of order 1, so they agree to ~1e-14; 1e-10 relative leaves room.
/// </summary>
[Collection(TorchCollection.Name)]
public class GradientProxyTests
{
    private const int D = 4, Hidden = 5, K = 3, N = 6;
    private const double Tight = 1e-10;

    private static (Func<nn.Module<Tensor, Tensor>> Build, ManualMlp Manual, Tensor X, Tensor Y, double[][] Xs, int[] Ys) Setup(bool tanh = false, long seed = 11)
    {
        Func<nn.Module<Tensor, Tensor>> build = () => ManualMlp.Torch(seed, D, Hidden, K, tanh);
        using var probe = build();
        var manual = ManualMlp.From(probe, tanh);
        random.manual_seed(seed + 1);
        var x = randn(N, D, dtype: ScalarType.Float64);
        var y = tensor(new long[] { 0, 2, 1, 1, 0, 2 });
        return (build, manual, x, y, Rows(x), Ints(y));
    }

    private static void AssertRelative(double expected, ProxyScore actual, double tolerance)
    {
        Assert.True(actual.IsFinite, actual.ToString());
        double error = Math.Abs(actual.Value - expected) / Math.Abs(expected);
        Assert.True(error <= tolerance, $"expected {expected:R}, got {actual.Value:R} (relative error {error:E2} > {tolerance:E0})");
    }

    [Fact]
    public void GradNormIsTheSumOfWeightGradientNorms()
    {
        using var scope = NewDisposeScope();
        var (build, manual, x, y, xs, ys) = Setup();
        var g = manual.Gradients(xs, ys, 0, N);
        var score = ProxyNets.ScoreAlone(new GradNormProxy(), build, x, y, K);
        AssertRelative(Norm(g.W1) + Norm(g.W2), score, Tight);
    }

    [Fact]
    public void SnipIsTheSumOfAbsoluteWeightTimesGradient()
    {
        using var scope = NewDisposeScope();
        var (build, manual, x, y, xs, ys) = Setup();
        var g = manual.Gradients(xs, ys, 0, N);
        double expected = 0;
        for (int i = 0; i < Hidden; i++)
            for (int j = 0; j < D; j++) expected += Math.Abs(manual.W1[i, j] * g.W1[i, j]);
        for (int c = 0; c < K; c++)
            for (int i = 0; i < Hidden; i++) expected += Math.Abs(manual.W2[c, i] * g.W2[c, i]);
        AssertRelative(expected, ProxyNets.ScoreAlone(new SnipProxy(), build, x, y, K), Tight);
    }

    [Fact]
    public void NtkTraceIsTheSquaredNormOfTheMeanLossGradientOverAllParameters()
    {
        using var scope = NewDisposeScope();
        var (build, manual, x, y, xs, ys) = Setup();
        var g = manual.Gradients(xs, ys, 0, N);
        double expected = Math.Pow(Norm(g.W1), 2) + Math.Pow(Norm(g.B1), 2) + Math.Pow(Norm(g.W2), 2) + Math.Pow(Norm(g.B2), 2);
        AssertRelative(expected, ProxyNets.ScoreAlone(new NtkTraceProxy(), build, x, y, K), Tight);
    }

    [Fact]
    public void NtkTraceEqualsTheSquaredNormOfTheMeanOfPerSampleGradients()
    {
        using var scope = NewDisposeScope();
        var (build, _, x, y, _, _) = Setup(seed: 12);
        // NASI Eq. 12 written literally: b⁻¹ Σ_x ∇θ L_x, one backward pass per sample.
        using var model = build();
        var parameters = model.parameters().ToArray();
        var mean = parameters.Select(p => zeros_like(p)).ToArray();
        for (int n = 0; n < N; n++)
        {
            var loss = nn.functional.cross_entropy(model.call(x.narrow(0, n, 1)), y.narrow(0, n, 1));
            var grads = autograd.grad(new[] { loss }, parameters);
            for (int p = 0; p < parameters.Length; p++) mean[p] += grads[p] / N;
        }
        double expected = mean.Sum(m => m.square().sum().item<double>());
        AssertRelative(expected, ProxyNets.ScoreAlone(new NtkTraceProxy(), build, x, y, K), Tight);
    }

    [Fact]
    public void FisherSumsHalfTheMeanSquaredActivationTimesPerExampleGradientPerChannelWeightedByFanIn()
    {
        using var scope = NewDisposeScope();
        var (build, manual, x, y, xs, ys) = Setup();
        // Layers are the two Linear outputs: z = W1 x + b1 (channels = hidden units) and f = W2 σ(z) + b2.
        var hidden = new double[Hidden];
        var output = new double[K];
        for (int n = 0; n < N; n++)
        {
            var z = manual.Pre(xs[n]);
            var f = manual.Logits(xs[n]);
            var (dz, df) = manual.ExampleOutputGradients(xs[n], ys[n]);
            for (int i = 0; i < Hidden; i++) hidden[i] += Math.Pow(z[i] * dz[i], 2);
            for (int c = 0; c < K; c++) output[c] += Math.Pow(f[c] * df[c], 2);
        }
        // The reference code's sum spreads each channel's term over the channel's weights: layers weigh by their fan-in
        // (D inputs to the hidden layer, Hidden to the output layer).
        double expected = (D * hidden.Sum() + Hidden * output.Sum()) / (2.0 * N);
        AssertRelative(expected, ProxyNets.ScoreAlone(new FisherProxy(), build, x, y, K), Tight);
        double perChannel = (hidden.Sum() + output.Sum()) / (2.0 * N);
        AssertRelative(perChannel, ProxyNets.ScoreAlone(new FisherProxy(weightedByFanIn: false), build, x, y, K), Tight);
    }

    [Fact]
    public void GraspMatchesAHessianVectorProductFromCentralDifferencesOfHandGradients()
    {
        using var scope = NewDisposeScope();
        // tanh: smooth, so the gradient is differentiable everywhere and central differences converge.
        var (build, manual, x, y, xs, ys) = Setup(tanh: true, seed: 13);
        var g = manual.Gradients(xs, ys, 0, N);
        const double eps = 1e-5;
        double[,] Shift(double[,] w, double[,] d, double s)
        {
            var r = (double[,])w.Clone();
            for (int i = 0; i < r.GetLength(0); i++)
                for (int j = 0; j < r.GetLength(1); j++) r[i, j] += s * d[i, j];
            return r;
        }
        // H g over the weights only (biases fixed), as the proxy defines it.
        var plus = manual.Gradients(xs, ys, 0, N, Shift(manual.W1, g.W1, eps), Shift(manual.W2, g.W2, eps));
        var minus = manual.Gradients(xs, ys, 0, N, Shift(manual.W1, g.W1, -eps), Shift(manual.W2, g.W2, -eps));
        double expected = 0;
        for (int i = 0; i < Hidden; i++)
            for (int j = 0; j < D; j++) expected -= manual.W1[i, j] * (plus.W1[i, j] - minus.W1[i, j]) / (2 * eps);
        for (int c = 0; c < K; c++)
            for (int i = 0; i < Hidden; i++) expected -= manual.W2[c, i] * (plus.W2[c, i] - minus.W2[c, i]) / (2 * eps);
        // Truncation ε²|∇³L| ~ 1e-10 and rounding u|∇L|/ε ~ 1e-11 per entry.
        AssertRelative(expected, ProxyNets.ScoreAlone(new GraspProxy(), build, x, y, K), 1e-6);
    }

    [Fact]
    public void ZicoSumsLogInverseCoefficientsOfVariationOverTwoHalfBatches()
    {
        using var scope = NewDisposeScope();
        var (build, manual, x, y, xs, ys) = Setup();
        var first = manual.Gradients(xs, ys, 0, N / 2);
        var second = manual.Gradients(xs, ys, N / 2, N - N / 2);
        static double LayerTerm(double[,] a, double[,] b)
        {
            double sum = 0;
            for (int i = 0; i < a.GetLength(0); i++)
                for (int j = 0; j < a.GetLength(1); j++)
                {
                    double mean = (a[i, j] + b[i, j]) / 2, std = Math.Abs(a[i, j] - b[i, j]) / 2;
                    if (std > 0) sum += (Math.Abs(a[i, j]) + Math.Abs(b[i, j])) / 2 / std;
                    _ = mean;
                }
            return Math.Log(sum);
        }
        double expected = LayerTerm(first.W1, second.W1) + LayerTerm(first.W2, second.W2);
        AssertRelative(expected, ProxyNets.ScoreAlone(new ZicoProxy(), build, x, y, K), Tight);
    }

    [Fact]
    public void ZicoWithThreeMinibatchesUsesThePopulationStandardDeviation()
    {
        using var scope = NewDisposeScope();
        var (build, manual, x, y, xs, ys) = Setup(seed: 14);
        var parts = new[] { manual.Gradients(xs, ys, 0, 2), manual.Gradients(xs, ys, 2, 2), manual.Gradients(xs, ys, 4, 2) };
        double Term(Func<Grads, double[,]> pick)
        {
            var w = pick(parts[0]);
            double sum = 0;
            for (int i = 0; i < w.GetLength(0); i++)
                for (int j = 0; j < w.GetLength(1); j++)
                {
                    var v = parts.Select(p => pick(p)[i, j]).ToArray();
                    double mean = v.Average();
                    double std = Math.Sqrt(v.Sum(e => (e - mean) * (e - mean)) / v.Length);
                    if (std > 0) sum += v.Average(Math.Abs) / std;
                }
            return Math.Log(sum);
        }
        double expected = Term(p => p.W1) + Term(p => p.W2);
        AssertRelative(expected, ProxyNets.ScoreAlone(new ZicoProxy(minibatches: 3), build, x, y, K), Tight);
    }
}
