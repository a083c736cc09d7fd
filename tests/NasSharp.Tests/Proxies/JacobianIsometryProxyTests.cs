using MathNet.Numerics.LinearAlgebra;
using NasSharp.Proxies;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>jacobian_isometry against planted singular values, a hand-written Jacobian with MathNet's SVD, and its failure modes.</summary>
[Collection(TorchCollection.Name)]
public class JacobianIsometryProxyTests
{
    /// <summary>f(x) = A x with a fixed matrix A (K×d), no bias.</summary>
    private static Func<nn.Module<Tensor, Tensor>> Linear(double[,] a) => () =>
    {
        var net = nn.Linear(a.GetLength(1), a.GetLength(0), hasBias: false).to(ScalarType.Float64);
        using (no_grad()) net.weight!.copy_(tensor(a));
        return net;
    };

    [Fact]
    public void PlantedSingularValuesGiveTheirSpread()
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 5, 3 }, dtype: ScalarType.Float64);
        // Orthogonal rows scaled by 3: s = (3, 3), spread 0 (isometry up to scale).
        Assert.Equal(0.0, ProxyNets.ScoreAlone(new JacobianIsometryProxy(), Linear(new double[,] { { 0, 3, 0 }, { 0, 0, -3 } }), x, null, 2).Value, 1e-12);
        // s = (1, 2): s² = (1, 4), ⟨s²⟩ = 2.5, Var = 2.25, spread 2.25/6.25 = 0.36 for every sample.
        var score = ProxyNets.ScoreAlone(new JacobianIsometryProxy(), Linear(new double[,] { { 1, 0, 0 }, { 0, 2, 0 } }), x, null, 2);
        Assert.Equal(-0.36, score.Value, 1e-12);
    }

    [Theory]
    [InlineData(5, 3)]
    [InlineData(2, 4)] // fewer hidden units than logits: J_n = W2 ∂u_n/∂x_n through the linear head
    public void ScoreIsMinusTheMeanSpreadOfTheHandWrittenJacobians(int h, int k)
    {
        using var scope = NewDisposeScope();
        const int n = 4, d = 6;
        Func<nn.Module<Tensor, Tensor>> build = () =>
        {
            random.manual_seed(17);
            return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, k)).to(ScalarType.Float64);
        };
        var x = randn(new long[] { n, d }, dtype: ScalarType.Float64);
        double score = ProxyNets.ScoreAlone(new JacobianIsometryProxy(), build, x, null, k).Value;

        // J_n = W2 diag(1 − tanh²(W1 x_n + b1)) W1, singular values by MathNet.
        using var net = build();
        var p = net.parameters().Select(t => t.detach().to_type(ScalarType.Float64)).ToArray();
        var w1 = Matrix<double>.Build.DenseOfRowArrays(Rows(p[0], h, d));
        var b1 = p[1].data<double>().ToArray();
        var w2 = Matrix<double>.Build.DenseOfRowArrays(Rows(p[2], k, h));
        var xs = Rows(x, n, d);
        double expected = 0;
        foreach (var row in xs)
        {
            var pre = w1 * Vector<double>.Build.DenseOfArray(row) + Vector<double>.Build.DenseOfArray(b1);
            var j = w2 * Matrix<double>.Build.DiagonalOfDiagonalVector(pre.Map(v => 1 - Math.Tanh(v) * Math.Tanh(v))) * w1;
            var s2 = j.Svd(computeVectors: false).S.Select(v => v * v).ToArray();
            double mean = s2.Average();
            expected += (s2.Average(v => v * v) - mean * mean) / (mean * mean) / n;
        }
        Assert.Equal(-expected, score, 1e-10);
    }

    [Fact]
    public void AnOutputThatIgnoresTheInputHasNoSpreadAndOneLogitIsNotApplicable()
    {
        using var scope = NewDisposeScope();
        var x = randn(new long[] { 3, 3 }, dtype: ScalarType.Float64);
        var zero = ProxyNets.ScoreAlone(new JacobianIsometryProxy(), Linear(new double[3, 3]), x, null, 3);
        Assert.Equal(ProxyStatus.NonFinite, zero.Status);
        Assert.Contains("does not depend on the input", zero.Reason);
        var one = ProxyNets.ScoreAlone(new JacobianIsometryProxy(), Linear(new double[,] { { 1, 2, 3 } }), x, null, 1);
        Assert.Equal(ProxyStatus.NotApplicable, one.Status);
    }

    [Fact]
    public void EvalModeBatchNormMakesEachJacobianOneSamplesAndTheModeIsRestored()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(2, 6);
        using var context = ProxyNets.Context(() => TinyConvNet.Build(5), x, null, 3);
        var all = new JacobianIsometryProxy().Score(context);
        Assert.True(all.IsFinite, all.Reason);
        Assert.True(context.Network.training, "the network's mode is restored");
        // Per-sample Jacobians: the batch's score is the mean of each sample scored alone.
        double alone = Enumerable.Range(0, 6).Average(i =>
            ProxyNets.ScoreAlone(new JacobianIsometryProxy(), () => TinyConvNet.Build(5), x[TensorIndex.Slice(i, i + 1)], null, 3).Value);
        Assert.Equal(alone, all.Value, 1e-9);
    }

    [Fact]
    public void ALinearHeadWithFewerInputsThanLogitsGivesTheSameJacobiansInOnePassPerInput()
    {
        using var scope = NewDisposeScope();
        var x = ProxyNets.Images(4, 5);
        using var net = TinyConvNet.Build(3, channels: 4, classes: 12); // 8 pooled features → 12 logits
        net.eval();
        var viaHead = JacobianIsometryProxy.Jacobians(net, x, 12, scope, out int headPasses);
        Assert.Equal(8, headPasses);

        // The slower path: logits that are a copy of the head's output are differentiated one logit at a time.
        using var copied = new AfterHead(net, logits => logits.clone());
        var perLogit = JacobianIsometryProxy.Jacobians(copied, x, 12, scope, out int logitPasses);
        Assert.Equal(12, logitPasses);
        Assert.Equal(0.0, (viaHead - perLogit).abs().max().item<double>(), 1e-12);

        // The head's own output changed in place after it returned: not W u + b any more, so one pass per logit, J = 2 W ∂u/∂x.
        using var doubled = new AfterHead(net, logits => logits.mul_(2));
        var changed = JacobianIsometryProxy.Jacobians(doubled, x, 12, scope, out int changedPasses);
        Assert.Equal(12, changedPasses);
        Assert.Equal(0.0, (changed - 2 * viaHead).abs().max().item<double>(), 1e-12);
    }

    /// <summary>A network followed by an operation on its logits.</summary>
    private sealed class AfterHead : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> net;
        private readonly Func<Tensor, Tensor> then;

        public AfterHead(nn.Module<Tensor, Tensor> net, Func<Tensor, Tensor> then) : base(nameof(AfterHead))
        {
            (this.net, this.then) = (net, then);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => then(net.call(x));
    }

    private static double[][] Rows(Tensor t, int rows, int cols)
    {
        var v = t.contiguous().data<double>().ToArray();
        return [.. Enumerable.Range(0, rows).Select(r => v[(r * cols)..((r + 1) * cols)])];
    }
}
