using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// Kernels as N×N row-major float64 matrices over a batch, means as length-N vectors. Each operation is one pass
/// over the matrix, parallel over rows: at N = 1000 a pass is memory-bound, so fusing matters more than arithmetic.
/// </summary>
internal sealed class MatrixAlgebra : IKernelAlgebra<double[], double[]>
{
    private readonly int n;

    public MatrixAlgebra(double[] inputGram, int n)
    {
        this.n = n;
        Input = inputGram;
        Zero = new double[n * n];
        ZeroMean = new double[n];
    }

    public double[] Input { get; }
    public double[] Zero { get; }
    public double[] ZeroMean { get; }

    public double[] AddScaled(double[] a, double[] b, double s)
    {
        var m = new double[n];
        for (int i = 0; i < n; i++) m[i] = a[i] + s * b[i];
        return m;
    }

    public double[] Combine(IReadOnlyList<(double[] Kernel, double Scale)> terms, double[] outer, double outerScale, double shift)
    {
        var terms2 = terms.Where(t => t.Scale != 0 && !ReferenceEquals(t.Kernel, Zero)).ToArray();
        var r = new double[n * n];
        Rows(i =>
        {
            var row = r.AsSpan(i * n, n);
            double mi = outerScale * outer[i];
            for (int j = 0; j < n; j++) row[j] = shift + mi * outer[j];
            foreach (var (k, s) in terms2)
            {
                var src = k.AsSpan(i * n, n);
                for (int j = 0; j < n; j++) row[j] += s * src[j];
            }
        });
        return r;
    }

    public (double[] Centered, double[] Tangent, double[] Mean) Activate(Activation activation, double[] covariance, double[] tangent)
    {
        var (k, kd, mean) = DualActivation.For(activation).EvaluateMatrix(covariance, n);
        Rows(i =>
        {
            double mi = mean[i];
            for (int j = i * n, end = j + n, c = 0; j < end; j++, c++)
            {
                k[j] -= mi * mean[c];  // Cov[σ(u), σ(v)] = E[σσ] − E[σ]E[σ]
                kd[j] *= tangent[j];   // E[σ'σ'] ∘ Θ^h
            }
        });
        return (k, kd, mean);
    }

    private void Rows(Action<int> body)
    {
        // Below ~10⁴ entries a thread hand-off costs more than the loop.
        if (n < 100) for (int i = 0; i < n; i++) body(i);
        else Parallel.For(0, n, body);
    }
}
