using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Tests.Proxies;

/// <summary>
/// f(x) = W2 σ(W1 x + b1) + b2 with softmax cross-entropy, written out in C# doubles (backpropagation by hand),
/// as an independent check of the autograd-based proxies. σ is ReLU or tanh.
/// </summary>
internal sealed class ManualMlp
{
    public ManualMlp(double[,] w1, double[] b1, double[,] w2, double[] b2, bool tanh)
    {
        W1 = w1; B1 = b1; W2 = w2; B2 = b2; Tanh = tanh;
    }

    public double[,] W1 { get; }
    public double[] B1 { get; }
    public double[,] W2 { get; }
    public double[] B2 { get; }
    public bool Tanh { get; }
    public int D => W1.GetLength(1);
    public int H => W1.GetLength(0);
    public int K => W2.GetLength(0);

    /// <summary>Reads the weights of nn.Sequential(Linear(d,h), ReLU|Tanh, Linear(h,k)).</summary>
    public static ManualMlp From(nn.Module model, bool tanh)
    {
        var p = model.parameters().ToArray();
        return new ManualMlp(Matrix(p[0]), Vector(p[1]), Matrix(p[2]), Vector(p[3]), tanh);
    }

    public static nn.Module<Tensor, Tensor> Torch(long seed, int d, int h, int k, bool tanh)
    {
        random.manual_seed(seed);
        nn.Module<Tensor, Tensor> act = tanh ? nn.Tanh() : nn.ReLU();
        return nn.Sequential(nn.Linear(d, h), act, nn.Linear(h, k)).to(ScalarType.Float64);
    }

    public double Act(double z) => Tanh ? Math.Tanh(z) : Math.Max(z, 0);
    public double DAct(double z) => Tanh ? 1 - Math.Tanh(z) * Math.Tanh(z) : (z > 0 ? 1 : 0);

    public double[] Pre(double[] x)
    {
        var z = new double[H];
        for (int i = 0; i < H; i++)
        {
            z[i] = B1[i];
            for (int j = 0; j < D; j++) z[i] += W1[i, j] * x[j];
        }
        return z;
    }

    public double[] Logits(double[] x)
    {
        var z = Pre(x);
        var f = new double[K];
        for (int c = 0; c < K; c++)
        {
            f[c] = B2[c];
            for (int i = 0; i < H; i++) f[c] += W2[c, i] * Act(z[i]);
        }
        return f;
    }

    /// <summary>∂L_n/∂f for L_n = −log softmax(f)_y: softmax(f) − e_y.</summary>
    public static double[] SoftmaxMinusOneHot(double[] f, int y)
    {
        double max = f.Max();
        var e = f.Select(v => Math.Exp(v - max)).ToArray();
        double s = e.Sum();
        var g = e.Select(v => v / s).ToArray();
        g[y] -= 1;
        return g;
    }

    public sealed record Grads(double[,] W1, double[] B1, double[,] W2, double[] B2, double Loss);

    /// <summary>Gradients of the mean cross-entropy over rows [start, start + count) of X.</summary>
    public Grads Gradients(double[][] x, int[] y, int start, int count, double[,]? w1 = null, double[,]? w2 = null)
    {
        w1 ??= W1; w2 ??= W2;
        var m = new ManualMlp(w1, B1, w2, B2, Tanh);
        var gW1 = new double[H, D]; var gB1 = new double[H]; var gW2 = new double[K, H]; var gB2 = new double[K];
        double loss = 0;
        for (int n = start; n < start + count; n++)
        {
            var z = m.Pre(x[n]);
            var f = m.Logits(x[n]);
            double max = f.Max();
            loss += -(f[y[n]] - max - Math.Log(f.Sum(v => Math.Exp(v - max)))) / count;
            var df = SoftmaxMinusOneHot(f, y[n]);
            for (int c = 0; c < K; c++)
            {
                gB2[c] += df[c] / count;
                for (int i = 0; i < H; i++) gW2[c, i] += df[c] * m.Act(z[i]) / count;
            }
            for (int i = 0; i < H; i++)
            {
                double dz = 0;
                for (int c = 0; c < K; c++) dz += w2[c, i] * df[c];
                dz *= m.DAct(z[i]);
                gB1[i] += dz / count;
                for (int j = 0; j < D; j++) gW1[i, j] += dz * x[n][j] / count;
            }
        }
        return new Grads(gW1, gB1, gW2, gB2, loss);
    }

    /// <summary>∂L_n/∂z (hidden pre-activation) and ∂L_n/∂f for one example's own loss.</summary>
    public (double[] Dz, double[] Df) ExampleOutputGradients(double[] x, int y)
    {
        var z = Pre(x);
        var df = SoftmaxMinusOneHot(Logits(x), y);
        var dz = new double[H];
        for (int i = 0; i < H; i++)
        {
            for (int c = 0; c < K; c++) dz[i] += W2[c, i] * df[c];
            dz[i] *= DAct(z[i]);
        }
        return (dz, df);
    }

    /// <summary>∂(Σ_k f_k(x))/∂x = W1ᵀ (σ'(z) ⊙ W2ᵀ 1).</summary>
    public double[] InputGradient(double[] x)
    {
        var z = Pre(x);
        var g = new double[D];
        for (int i = 0; i < H; i++)
        {
            double back = 0;
            for (int c = 0; c < K; c++) back += W2[c, i];
            back *= DAct(z[i]);
            for (int j = 0; j < D; j++) g[j] += W1[i, j] * back;
        }
        return g;
    }

    public static double[,] Matrix(Tensor t) => Kernels.TinyNets.ToMatrix(t);

    public static double[] Vector(Tensor t) => t.to_type(ScalarType.Float64).data<double>().ToArray();

    public static double[][] Rows(Tensor x)
    {
        var m = Matrix(x.reshape(x.shape[0], -1));
        return Enumerable.Range(0, m.GetLength(0)).Select(r => Enumerable.Range(0, m.GetLength(1)).Select(c => m[r, c]).ToArray()).ToArray();
    }

    public static int[] Ints(Tensor y) => y.data<long>().Select(v => (int)v).ToArray();

    public static double Norm(double[,] a) => Math.Sqrt(a.Cast<double>().Sum(v => v * v));
    public static double Norm(double[] a) => Math.Sqrt(a.Sum(v => v * v));
}
