using NasSharp.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Tests.Kernels;

/// <summary>
/// Tiny networks and independent ways of computing their NTK, to check <see cref="EmpiricalNtk.Exact"/> against.
/// </summary>
internal static class TinyNets
{
    /// <summary>Casts every parameter and buffer to float64 (float32 → float64 is exact, so values are unchanged).</summary>
    public static T AsFloat64<T>(this T model) where T : nn.Module => model.to(ScalarType.Float64);

    /// <summary>d → h → h → k with tanh, biases everywhere: smooth, so central differences are accurate.</summary>
    public static nn.Module<Tensor, Tensor> TanhMlp(long seed, int d, int h, int k)
    {
        random.manual_seed(seed);
        return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, k)).AsFloat64();
    }

    /// <summary>d → h → k with ReLU: piecewise linear, central differences are exact away from kinks.</summary>
    public static nn.Module<Tensor, Tensor> ReluMlp(long seed, int d, int h, int k)
    {
        random.manual_seed(seed);
        return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k)).AsFloat64();
    }

    /// <summary>f(x) = V tanh(W x), no biases, so the NTK has the closed form of <see cref="TwoLayerClosedForm"/>.</summary>
    public static nn.Module<Tensor, Tensor> TwoLayerTanh(long seed, int d, int h, int k)
    {
        random.manual_seed(seed);
        return nn.Sequential(nn.Linear(d, h, hasBias: false), nn.Tanh(), nn.Linear(h, k, hasBias: false)).AsFloat64();
    }

    public static Tensor Inputs(long seed, int n, int d, ScalarType dtype = ScalarType.Float64)
    {
        random.manual_seed(seed);
        return randn(n, d, dtype: dtype);
    }

    /// <summary>
    /// Θ in closed form for f_k(x) = v_kᵀ tanh(W x), in C# doubles, rows sample-major (n·K + k):
    /// Θ_(n,k),(m,k') = δ_kk' φ(Wx_n)ᵀφ(Wx_m) + Σ_i v_ki v_k'i φ'(w_iᵀx_n) φ'(w_iᵀx_m) x_nᵀx_m,
    /// the first term from ∂/∂V, the second from ∂/∂W (Jacot et al. 2018, Θ = Σ_p ∂_p f ⊗ ∂_p f).
    /// With <paramref name="sumOfLogits"/> it returns Σ_{k,k'} of each K×K block.
    /// </summary>
    public static double[] TwoLayerClosedForm(double[,] w, double[,] v, double[,] x, bool sumOfLogits)
    {
        int h = w.GetLength(0), d = w.GetLength(1), k = v.GetLength(0), n = x.GetLength(0);
        var pre = new double[n, h];
        for (int s = 0; s < n; s++)
            for (int i = 0; i < h; i++)
            {
                double z = 0;
                for (int j = 0; j < d; j++) z += w[i, j] * x[s, j];
                pre[s, i] = z;
            }

        int rows = sumOfLogits ? n : n * k;
        var theta = new double[rows * rows];
        for (int a = 0; a < n; a++)
            for (int b = 0; b < n; b++)
            {
                double xx = 0;
                for (int j = 0; j < d; j++) xx += x[a, j] * x[b, j];
                double phiPhi = 0;
                for (int i = 0; i < h; i++) phiPhi += Math.Tanh(pre[a, i]) * Math.Tanh(pre[b, i]);
                for (int ka = 0; ka < k; ka++)
                    for (int kb = 0; kb < k; kb++)
                    {
                        double value = ka == kb ? phiPhi : 0;
                        for (int i = 0; i < h; i++)
                        {
                            double ta = Math.Tanh(pre[a, i]), tb = Math.Tanh(pre[b, i]);
                            value += v[ka, i] * v[kb, i] * (1 - ta * ta) * (1 - tb * tb) * xx;
                        }
                        if (sumOfLogits) theta[a * rows + b] += value;
                        else theta[(a * k + ka) * rows + (b * k + kb)] = value;
                    }
            }
        return theta;
    }

    /// <summary>
    /// Θ = J Jᵀ with J from central differences, J[:, i] ≈ (F(θ + ε e_i) − F(θ − ε e_i)) / 2ε, one parameter
    /// element at a time, restoring each element exactly. F is the sum of logits or all logits sample-major, of the model in
    /// its current mode (in training mode a BN layer's batch statistics follow each perturbation). With
    /// <paramref name="factors"/> (by parameter name, absent = 1) it is the weighted Θ = Σ_p f_p J_p J_pᵀ.
    /// </summary>
    public static double[] FiniteDifferenceNtk(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output, double epsilon,
        IReadOnlyDictionary<string, double>? factors = null)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double[] F()
        {
            using var s = NewDisposeScope();
            var y = model.call(x);
            return (output == NtkOutput.SumOfLogits ? y.sum(1) : y.reshape(-1)).data<double>().ToArray();
        }

        var columns = new List<double[]>();
        foreach (var (name, p) in model.named_parameters())
        {
            // Θ = Σ_p f_p J_p J_pᵀ: scale parameter p's columns by √f_p.
            double root = Math.Sqrt(factors is not null && factors.TryGetValue(name, out var f) ? f : 1.0);
            var flat = p.view(-1);
            for (long i = 0; i < flat.shape[0]; i++)
            {
                var element = flat[i];
                double original = element.item<double>();
                element.fill_(original + epsilon);
                var plus = F();
                element.fill_(original - epsilon);
                var minus = F();
                element.fill_(original);
                columns.Add(plus.Select((fp, r) => root * (fp - minus[r]) / (2 * epsilon)).ToArray());
            }
        }

        int rows = columns[0].Length;
        var theta = new double[rows * rows];
        for (int a = 0; a < rows; a++)
            for (int b = 0; b < rows; b++)
            {
                double sum = 0;
                foreach (var c in columns) sum += c[a] * c[b];
                theta[a * rows + b] = sum;
            }
        return theta;
    }

    /// <summary>‖A − B‖_F / ‖B‖_F.</summary>
    public static double RelativeFrobeniusError(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"Sizes differ: {a.Count} vs {b.Count}.");
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Count; i++)
        {
            diff += (a[i] - b[i]) * (a[i] - b[i]);
            norm += b[i] * b[i];
        }
        return Math.Sqrt(diff / norm);
    }

    public static void AssertRelativeFrobenius(IReadOnlyList<double> actual, IReadOnlyList<double> expected, double tolerance)
    {
        double error = RelativeFrobeniusError(actual, expected);
        Xunit.Assert.True(error <= tolerance, $"Relative Frobenius error {error:E3} exceeds {tolerance:E0}.");
    }

    public static double[,] ToMatrix(Tensor t)
    {
        var values = t.to_type(ScalarType.Float64).data<double>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var m = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                m[i, j] = values[i * cols + j];
        return m;
    }
}
