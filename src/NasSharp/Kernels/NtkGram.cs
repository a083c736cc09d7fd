using TorchSharp;

namespace NasSharp.Kernels;

/// <summary>
/// An empirical NTK Gram matrix Θ (Jacot et al. 2018), stored as a symmetric float64 row-major array.
/// The input is symmetrised, Θ ← (Θ + Θᵀ)/2, so that rounding in J Jᵀ cannot make the matrix handed to the
/// symmetric eigensolver (which reads one triangle only) differ from the one callers see.
/// </summary>
public sealed class NtkGram
{
    private readonly double[] _values;

    /// <param name="values">Θ row-major, <c>Size × Size</c> with <c>Size = sampleCount · logitsPerSample</c>.
    /// Copied; NaN and ±Inf are kept as they are.</param>
    /// <param name="sampleCount">N, the number of inputs.</param>
    /// <param name="logitsPerSample">1 for <see cref="NtkOutput.SumOfLogits"/>, K for <see cref="NtkOutput.PerLogit"/>
    /// (rows sample-major: n·K + k).</param>
    public NtkGram(double[] values, int sampleCount, int logitsPerSample = 1)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(logitsPerSample, 1);
        long size = (long)sampleCount * logitsPerSample;
        if (size * size != values.LongLength)
            throw new ArgumentException(
                $"A Gram of {sampleCount} samples × {logitsPerSample} logits is {size}×{size} = {size * size} values, but {values.LongLength} were given.",
                nameof(values));
        SampleCount = sampleCount;
        LogitsPerSample = logitsPerSample;
        Size = (int)size;
        _values = Symmetrise(values, Size);
    }

    /// <summary>N, the number of inputs.</summary>
    public int SampleCount { get; }

    /// <summary>1 for a sum-of-logits Gram, K for a per-logit Gram.</summary>
    public int LogitsPerSample { get; }

    /// <summary>Number of rows (and columns): N·K.</summary>
    public int Size { get; }

    /// <summary>Θ[i, j] of the symmetrised Gram.</summary>
    public double this[int i, int j]
    {
        get
        {
            if ((uint)i >= (uint)Size || (uint)j >= (uint)Size)
                throw new ArgumentOutOfRangeException(i >= Size || i < 0 ? nameof(i) : nameof(j), $"Index ({i}, {j}) outside a {Size}×{Size} Gram.");
            return _values[(long)i * Size + j];
        }
    }

    /// <summary>A row-major copy of the symmetrised Gram.</summary>
    public double[] ToArray() => (double[])_values.Clone();

    /// <summary>tr Θ, summed as stored: NaN or ±Inf if the diagonal has such entries.</summary>
    public double Trace()
    {
        double trace = 0;
        for (int i = 0; i < Size; i++) trace += _values[(long)i * Size + i];
        return trace;
    }

    /// <summary>
    /// Eigenvalues of Θ in float64 (<c>torch.linalg.eigvalsh</c>, LAPACK syevd). If Θ has NaN or ±Inf entries the
    /// decomposition is not attempted and the spectrum says why (<see cref="NtkSpectrum.NonFiniteReason"/>).
    /// </summary>
    public NtkSpectrum Spectrum()
    {
        long nan = 0, inf = 0;
        foreach (var v in _values)
        {
            if (double.IsNaN(v)) nan++;
            else if (double.IsInfinity(v)) inf++;
        }
        if (nan + inf > 0)
            return NtkSpectrum.NonFinite(Trace(), NonFiniteReason(nan, inf));

        using var scope = torch.NewDisposeScope();
        var theta = torch.tensor(_values, new long[] { Size, Size }, dtype: torch.ScalarType.Float64);
        var eigenvalues = torch.linalg.eigvalsh(theta).data<double>().ToArray();
        return NtkSpectrum.Finite(eigenvalues, Trace());
    }

    private static string NonFiniteReason(long nan, long inf)
    {
        static string Entries(long count) => count == 1 ? "entry" : "entries";
        if (nan > 0 && inf > 0) return $"Θ has {nan} NaN and {inf} Inf {Entries(nan + inf)}";
        return nan > 0 ? $"Θ has {nan} NaN {Entries(nan)}" : $"Θ has {inf} Inf {Entries(inf)}";
    }

    private static double[] Symmetrise(double[] values, int size)
    {
        var s = new double[values.LongLength];
        for (int i = 0; i < size; i++)
        {
            long ii = (long)i * size;
            s[ii + i] = values[ii + i];
            for (int j = i + 1; j < size; j++)
            {
                // 0.5a + 0.5b rather than (a + b)/2: cannot overflow, and is bitwise the same for (i,j) and (j,i).
                double m = 0.5 * values[ii + j] + 0.5 * values[(long)j * size + i];
                s[ii + j] = m;
                s[(long)j * size + i] = m;
            }
        }
        return s;
    }
}
