using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>Kernels as N×N row-major float64 matrices over a batch, means as length-N vectors.</summary>
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
        if (b.Length == n) // means
        {
            var m = new double[n];
            for (int i = 0; i < n; i++) m[i] = a[i] + s * b[i];
            return m;
        }
        var r = new double[a.Length];
        Rows(i =>
        {
            for (int j = i * n, end = j + n; j < end; j++) r[j] = a[j] + s * b[j];
        });
        return r;
    }

    public double[] Affine(double[] k, double s, double c)
    {
        var r = new double[k.Length];
        Rows(i =>
        {
            for (int j = i * n, end = j + n; j < end; j++) r[j] = s * k[j] + c;
        });
        return r;
    }

    public double[] Outer(double[] m)
    {
        var r = new double[n * n];
        Rows(i =>
        {
            for (int j = 0; j < n; j++) r[i * n + j] = m[i] * m[j];
        });
        return r;
    }

    public double[] Hadamard(double[] a, double[] b)
    {
        var r = new double[a.Length];
        Rows(i =>
        {
            for (int j = i * n, end = j + n; j < end; j++) r[j] = a[j] * b[j];
        });
        return r;
    }

    public (double[] Centered, double[] Derivative, double[] Mean) Dual(Activation activation, double[] covariance)
    {
        var (k, kd, mean) = DualActivation.For(activation).EvaluateMatrix(covariance, n);
        Rows(i =>
        {
            for (int j = 0; j < n; j++) k[i * n + j] -= mean[i] * mean[j];
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
