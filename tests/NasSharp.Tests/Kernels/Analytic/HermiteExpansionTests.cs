using NasSharp.Kernels;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Kernels.Analytic;

public class HermiteExpansionTests
{
    // Reference μ_0 … μ_4 and E[σ²] at unit variance, computed independently by quadrature.
    public static TheoryData<Activation, double[], double> Reference => new()
    {
        { Activation.Relu, [0.39894, 0.5, 0.28209, 0, -0.08143], 0.5 },
        { Activation.Tanh, [0, 0.60571, 0, -0.14844, 0], 0.39429 },
        { Activation.Sigmoid, [0.5, 0.20662, 0, -0.02547, 0], 0.29338 },
        { Activation.Swish, [0.20662, 0.5, 0.24809, 0, -0.03781], 0.35578 },
        { Activation.Gelu, [0.28209, 0.5, 0.29921, 0, -0.07198], 0.42522 },
        { Activation.Elu, [0.16052, 0.76158, 0.18496, -0.05608, -0.02804], 0.64495 },
        { Activation.Softplus, [0.80606, 0.5, 0.14610, 0, -0.01274], 0.92125 },
    };

    [Theory]
    [MemberData(nameof(Reference))]
    public void UnitCoefficientsMatchThePublishedValues(Activation a, double[] mu, double secondMoment)
    {
        var computed = HermiteExpansion.UnitCoefficients(a, mu.Length);
        // The references have 5 decimals: agreement within half a unit of the last digit.
        for (int r = 0; r < mu.Length; r++) Assert.True(Math.Abs(computed[r] - mu[r]) <= 5e-6, $"{a} μ_{r}: {computed[r]} vs {mu[r]}");
        Assert.True(Math.Abs(HermiteExpansion.Of(a).SecondMoment - secondMoment) <= 5e-6);
    }

    [Fact]
    public void ReluCoefficientsMatchTheirClosedFormAndScaleWithTheStandardDeviation()
    {
        // E[relu(z) He_r(z)] = φ(0) He_{r−2}(0) for r ≥ 2 (integrate by parts twice), He_{2k}(0) = (−1)^k (2k−1)!!.
        static double HeAtZero(int r) => r % 2 == 1 ? 0 : Enumerable.Range(1, r / 2).Aggregate(1.0, (p, k) => -p * (2 * k - 1));
        static double Factorial(int r) => Enumerable.Range(1, r).Aggregate(1.0, (p, k) => p * k);
        double phi0 = 1 / Math.Sqrt(2 * Math.PI);
        foreach (var q in new[] { 1.0, 0.3, 25.0 })
        {
            var a = HermiteExpansion.Of(Activation.Relu, q, 30).Coefficients;
            // relu is positively homogeneous: relu(√q z) = √q relu(z), so a_r(q) = √q μ_r.
            Assert.Equal(Math.Sqrt(q) * phi0, a[0], 1e-12 * Math.Sqrt(q));
            Assert.Equal(Math.Sqrt(q) * 0.5, a[1], 1e-12 * Math.Sqrt(q));
            for (int r = 2; r <= 30; r++)
                Assert.Equal(Math.Sqrt(q) * phi0 * HeAtZero(r - 2) / Math.Sqrt(Factorial(r)), a[r], 1e-11 * Math.Sqrt(q));
        }
    }

    [Fact]
    public void SmoothActivationsAreFullyCapturedByTheSeriesAndKinksLeaveAKnownTail()
    {
        // Parseval: Σ_r a_r² = E[σ²]. tanh is analytic in a strip, so its coefficients decay like e^{−c√r}.
        var tanh = HermiteExpansion.Of(Activation.Tanh);
        Assert.True(tanh.Tail <= 1e-12 * tanh.SecondMoment, $"tanh tail {tanh.Tail}");
        // relu's a_r² decay like r^{−5/2}; summing the closed form above over even r > 128 gives a tail of 2.9126e-5.
        var relu = HermiteExpansion.Of(Activation.Relu);
        Assert.Equal(2.9126e-5, relu.Tail, 1e-9);
        // identity is one term.
        var identity = HermiteExpansion.Of(Activation.Identity, 2.0);
        Assert.Equal(Math.Sqrt(2.0), identity.Coefficients[1], 1e-13);
        Assert.True(identity.Tail <= 1e-13);
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HermiteExpansion.Of(Activation.Tanh, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => HermiteExpansion.Of(Activation.Tanh, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => HermiteExpansion.Of(Activation.Tanh, 1, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => HermiteExpansion.UnitCoefficients(Activation.Tanh, 0));
    }
}
