using MathNet.Numerics.LinearAlgebra;
using NasSharp.Kernels;
using Xunit;

namespace NasSharp.Tests.Kernels;

public class NtkGramTests
{
    /// <summary>Q diag(λ) Qᵀ with Q orthogonal from the QR factorisation of a seeded random matrix (MathNet, not libtorch).</summary>
    private static double[] Planted(double[] lambda, int seed)
    {
        int n = lambda.Length;
        var random = new Random(seed);
        var a = Matrix<double>.Build.Dense(n, n, (_, _) => random.NextDouble() - 0.5);
        var q = a.QR().Q;
        var m = q * Matrix<double>.Build.DenseOfDiagonalArray(lambda) * q.Transpose();
        return m.ToRowMajorArray();
    }

    [Fact]
    public void SpectrumOfAPlantedMatrixReturnsItsEigenvaluesTraceAndCondition()
    {
        var lambda = new[] { 4.0, 0.5, 8.0, 1.0, 2.0 };
        var spectrum = new NtkGram(Planted(lambda, seed: 1), sampleCount: 5).Spectrum();

        Assert.True(spectrum.IsFinite);
        Assert.Null(spectrum.NonFiniteReason);
        var expected = lambda.Order().ToArray();
        // Backward-stable eigensolver: |Δλ| ≲ n·u·‖Θ‖ ≈ 1e-14 here.
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], spectrum.Eigenvalues[i], 1e-12);
        Assert.Equal(0.5, spectrum.LambdaMin, 1e-12);
        Assert.Equal(8.0, spectrum.LambdaMax, 1e-12);
        Assert.Equal(15.5, spectrum.Trace, 1e-12);
        Assert.Equal(16.0, spectrum.Condition, 1e-10);
    }

    [Fact]
    public void ConditionIsInfiniteWhenTheSmallestEigenvalueIsNotPositive()
    {
        Assert.Equal(double.PositiveInfinity, new NtkGram(new double[9], sampleCount: 3).Spectrum().Condition);
        var indefinite = new NtkGram(Planted(new[] { -1e-3, 1.0, 2.0 }, seed: 2), sampleCount: 3).Spectrum();
        Assert.Equal(-1e-3, indefinite.LambdaMin, 1e-12);
        Assert.Equal(double.PositiveInfinity, indefinite.Condition);
    }

    [Fact]
    public void SymmetrisesToTheMeanOfThetaAndItsTranspose()
    {
        var values = new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
        var gram = new NtkGram(values, sampleCount: 3);

        Assert.Equal(new double[] { 1, 3, 5, 3, 5, 7, 5, 7, 9 }, gram.ToArray());
        Assert.Equal(2.0, values[1]); // the caller's array is not modified
    }

    [Fact]
    public void NanEntriesMakeTheSpectrumNonFiniteWithoutSubstitution()
    {
        var values = Planted(new[] { 1.0, 2.0, 3.0 }, seed: 3);
        values[1] = double.NaN; // becomes NaN at (0,1) and (1,0) after symmetrisation
        var spectrum = new NtkGram(values, sampleCount: 3).Spectrum();

        Assert.False(spectrum.IsFinite);
        Assert.Equal("Θ has 2 NaN entries", spectrum.NonFiniteReason);
        Assert.Empty(spectrum.Eigenvalues);
        Assert.True(double.IsNaN(spectrum.LambdaMin));
        Assert.True(double.IsNaN(spectrum.LambdaMax));
        Assert.True(double.IsNaN(spectrum.Condition));
        Assert.Equal(6.0, spectrum.Trace, 1e-12); // the diagonal is finite, so the trace is still honest
    }

    [Fact]
    public void InfEntriesAreReportedAndTheTraceIsInfinite()
    {
        var values = Planted(new[] { 1.0, 2.0 }, seed: 4);
        values[3] = double.PositiveInfinity;
        var spectrum = new NtkGram(values, sampleCount: 2).Spectrum();

        Assert.False(spectrum.IsFinite);
        Assert.Equal("Θ has 1 Inf entry", spectrum.NonFiniteReason);
        Assert.Equal(double.PositiveInfinity, spectrum.Trace);
        Assert.True(double.IsNaN(spectrum.Condition));
    }

    [Fact]
    public void MixedNonFiniteEntriesAreCountedSeparately()
    {
        var values = new double[] { double.NaN, 0, 0, double.NegativeInfinity };
        Assert.Equal("Θ has 1 NaN and 1 Inf entries", new NtkGram(values, sampleCount: 2).Spectrum().NonFiniteReason);
    }

    [Fact]
    public void RejectsValuesThatDoNotFormTheDeclaredShape()
    {
        Assert.Throws<ArgumentException>(() => new NtkGram(new double[8], sampleCount: 3));
        Assert.Throws<ArgumentException>(() => new NtkGram(new double[9], sampleCount: 3, logitsPerSample: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtkGram([], sampleCount: 0));
    }
}
