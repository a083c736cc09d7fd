using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static NasSharp.Tests.Kernels.TinyNets;
using static TorchSharp.torch;

namespace NasSharp.Tests.Kernels;

/// <summary>
/// <see cref="EmpiricalNtk.Fast"/> against <see cref="EmpiricalNtk.Exact"/> (one backward pass per row of J, itself
/// checked against closed forms and finite differences in <see cref="EmpiricalNtkTests"/>), layer kind by layer kind.
/// </summary>
[Collection(TorchCollection.Name)]
public class FastNtkTests
{
    // Both sides are float64 sums of products of the same float64 pieces, associated differently (observed ≤ 2e-15);
    // 1e-8 is the bound the fast path promises in float64.
    private const double Float64Tolerance = 1e-8;

    private static void AssertFastMatchesExact(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output = NtkOutput.SumOfLogits, double tolerance = Float64Tolerance)
    {
        var exact = EmpiricalNtk.Exact(model, x, output);
        var fast = EmpiricalNtk.Fast(model, x, output);
        Assert.Equal(exact.Size, fast.Size);
        Assert.Equal(exact.LogitsPerSample, fast.LogitsPerSample);
        AssertRelativeFrobenius(fast.ToArray(), exact.ToArray(), tolerance);
    }

    private static Tensor Images(long seed, int n, int c, int h, int w, ScalarType dtype = ScalarType.Float64)
    {
        random.manual_seed(seed);
        return randn(new long[] { n, c, h, w }, dtype: dtype);
    }

    [Theory]
    [InlineData(NtkOutput.SumOfLogits)]
    [InlineData(NtkOutput.PerLogit)]
    public void LinearLayersWithBiases(NtkOutput output)
    {
        using var scope = NewDisposeScope();
        AssertFastMatchesExact(TanhMlp(seed: 1, d: 5, h: 9, k: 3), Inputs(seed: 2, n: 7, d: 5), output);
    }

    [Theory]
    [InlineData(Parameterization.Ntk, NtkOutput.SumOfLogits)]
    [InlineData(Parameterization.Ntk, NtkOutput.PerLogit)]
    [InlineData(Parameterization.Standard, NtkOutput.SumOfLogits)]
    [InlineData(Parameterization.Standard, NtkOutput.PerLogit)]
    public void ScaledLinearMlpWithSkipsInBothParameterisations(Parameterization parameterization, NtkOutput output)
    {
        using var scope = NewDisposeScope();
        // σ_w, σ_b ≠ 1 so the scales s, s_b of h = s·W x + s_b·b are exercised (NTK: s = σ_w/√fan_in).
        var options = new NetworkOptions { Parameterization = parameterization, SigmaW = 1.4, SigmaB = 0.3, DType = ScalarType.Float64 };
        var model = new MlpSpace().BuildNetwork(MlpGenotype.Parse("w12/relu-tanh+1-gelu+1+2"), [2, 3], 4, options, seed: 3);
        AssertFastMatchesExact(model, Inputs(seed: 4, n: 9, d: 6).reshape(9, 2, 3), output);
    }

    [Theory]
    [InlineData(NtkOutput.SumOfLogits)]
    [InlineData(NtkOutput.PerLogit)]
    public void Conv2dWithStridePaddingDilationGroupsAndBias(NtkOutput output)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var model = nn.Sequential(
            nn.Conv2d(3, 6, 3, stride: 2, padding: 1),
            nn.Tanh(),
            nn.Conv2d(6, 4, (2, 3), stride: (1, 2), padding: (1, 0), dilation: (2, 1)),
            nn.ReLU(),
            nn.Conv2d(4, 8, 3, padding: 1, groups: 2),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(8 * 5 * 2, 3)).AsFloat64();
        // 9×10 → (stride 2, pad 1) 5×5 → (kernel 2×3, dilation (2, 1), stride (1, 2), pad (1, 0)) 5×2 → 5×2.
        AssertFastMatchesExact(model, Images(seed: 6, n: 5, c: 3, h: 9, w: 10), output);
    }

    [Theory]
    [InlineData(NtkOutput.SumOfLogits)]
    [InlineData(NtkOutput.PerLogit)]
    public void FewOutputPositionsUseTheContractedFormIncludingGroups(NtkOutput output)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(45);
        // 4×4 → 2×2 (P = 4) and 2×2 → 1×1: with N = 6 the contraction costs (N·K·P)²·out + (N·P)²·in ≈ 5·10⁴
        // multiply-adds against ≈ 3·10⁴ (×4) materialised, so AccumulateWeight contracts.
        var model = nn.Sequential(
            nn.Conv2d(8, 8, 3), nn.Tanh(),
            nn.Conv2d(8, 8, 3, padding: 1, groups: 2), nn.ReLU(),
            nn.Conv2d(8, 6, 2), nn.Flatten(), nn.Linear(6, 3)).AsFloat64();
        AssertFastMatchesExact(model, Images(seed: 46, n: 6, c: 8, h: 4, w: 4), output);
    }

    [Fact]
    public void AWideLinearLayerAtTwoPositionsUsesTheContractedForm()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(47);
        // [N, 2, 64] through Linear(64, 64): P = 2, N = 4 contracts (8²·64 + 8²·64) against 4·2·64² + 4²·64² materialised.
        var model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Flatten(), nn.Linear(128, 2)).AsFloat64();
        AssertFastMatchesExact(model, Inputs(seed: 48, n: 4, d: 128).reshape(4, 2, 64));
        AssertFastMatchesExact(model, Inputs(seed: 49, n: 3, d: 128).reshape(3, 2, 64), NtkOutput.PerLogit);
    }

    [Fact]
    public void Conv2dWithSamePaddingOfAnEvenKernelIsPaddedAsymmetrically()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(7);
        var model = nn.Sequential(
            nn.Conv2d(2, 3, (4, 2), padding: TorchSharp.Padding.Same),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(3 * 6 * 5, 2)).AsFloat64();
        AssertFastMatchesExact(model, Images(seed: 8, n: 4, c: 2, h: 6, w: 5));
    }

    [Theory]
    [InlineData(NtkOutput.SumOfLogits)]
    [InlineData(NtkOutput.PerLogit)]
    public void BatchNormInEvalModeWithNonTrivialRunningStatistics(NtkOutput output)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(9);
        var bn2 = nn.BatchNorm2d(4);
        var bn1 = nn.BatchNorm1d(5);
        var model = nn.Sequential(nn.Conv2d(2, 4, 3), bn2, nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 5), bn1, nn.Tanh(), nn.Linear(5, 2)).AsFloat64();
        using (no_grad())
            foreach (var bn in new BatchNorm[] { bn2, bn1 })
            {
                // γ, β away from their (1, 0) initialisation and running statistics away from (0, 1).
                bn.weight.uniform_(0.5, 1.5);
                bn.bias!.normal_();
                bn.running_mean!.normal_();
                bn.running_var!.uniform_(0.5, 2.0);
            }
        model.eval();
        AssertFastMatchesExact(model, Images(seed: 10, n: 6, c: 2, h: 5, w: 5), output);
    }

    [Fact]
    public void ConvResNetWithResidualSumsAndProjectionShortcut()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var model = new ConvResNet(inChannels: 3, classes: 4, width: 4, dtype: ScalarType.Float64);
        model.eval();
        AssertFastMatchesExact(model, Images(seed: 12, n: 6, c: 3, h: 8, w: 8));
        AssertFastMatchesExact(model, Images(seed: 13, n: 3, c: 3, h: 6, w: 6), NtkOutput.PerLogit);
    }

    [Fact]
    public void ConvResNetHasTheDocumentedParameterCount()
    {
        using var scope = NewDisposeScope();
        var model = new ConvResNet(inChannels: 3, classes: 10);
        // stem 3·36·9 + BN 72; block 1: 2·(36·36·9 + 72); block 2: 36·72·9 + 72·72·9 + 36·72 + 3·144; readout 72·10 + 10.
        long expected = 972 + 72 + 2 * (11664 + 72) + (23328 + 46656 + 2592 + 3 * 144) + 730;
        Assert.Equal(98_254, expected);
        Assert.Equal(expected, model.parameters().Sum(p => p.numel()));
        Assert.Equal(new long[] { 2, 10 }, model.call(randn(2, 3, 32, 32)).shape);
    }

    [Fact]
    public void ALinearLayerAtSeveralPositionsAndCalledTwiceIsMaterialised()
    {
        using var scope = NewDisposeScope();
        var model = new SharedLinear(seed: 14);
        AssertFastMatchesExact(model, Inputs(seed: 15, n: 5, d: 12).reshape(5, 3, 4));
        AssertFastMatchesExact(model, Inputs(seed: 16, n: 4, d: 12).reshape(4, 3, 4), NtkOutput.PerLogit);
    }

    [Fact]
    public void InPlaceOperationsOnALayerOutputDoNotChangeTheKernel()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(17);
        var model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace: true), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 2)).AsFloat64();
        AssertFastMatchesExact(model, Inputs(seed: 18, n: 5, d: 4));
    }

    [Fact]
    public void WithoutInPlaceOperationsTheNetworkContinuesWithTheRecordedOutputNotACopy()
    {
        // Memory: a copy would hold every layer output twice (a gigabyte at N = 256 on an NB201 cell). Shared storage
        // shows as a write into the tensor the next module received reaching the tensor the layer returned.
        using var scope = NewDisposeScope();
        random.manual_seed(21);
        var first = nn.Linear(4, 6, dtype: ScalarType.Float64);
        var probe = new InputProbe();
        var model = nn.Sequential(first, probe, nn.Tanh(), nn.Linear(6, 2, dtype: ScalarType.Float64));
        Tensor? returned = null;
        var hook = first.register_forward_hook((_, _, result) =>
        {
            returned = result.alias().DetachFromDisposeScope();
            return null!;
        });
        AssertFastMatchesExact(model, Inputs(seed: 22, n: 5, d: 4));
        hook.remove();
        using var seen = probe.Seen!;
        using var layerOutput = returned!;
        using (no_grad()) seen.fill_(7.0);
        Assert.True(layerOutput.eq(7.0).all().item<bool>());
    }

    [Fact]
    public void FrozenParametersAreLeftOutOfThetaLikeInTheExactPath()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 19, d: 3, h: 5, k: 2);
        var parameters = model.parameters().ToArray();
        parameters[1].requires_grad = false; // first bias
        parameters[2].requires_grad = false; // second weight
        AssertFastMatchesExact(model, Inputs(seed: 20, n: 6, d: 3));
    }

    [Fact]
    public void Float32ModelAgreesWithTheExactPathToFloat32Rounding()
    {
        using var scope = NewDisposeScope();
        var options = NetworkOptions.Ntk() with { DType = ScalarType.Float32 };
        var model = new MlpSpace().BuildNetwork(MlpGenotype.Parse("w64/relu-swish+1"), [20], 5, options, seed: 21);
        // Both paths take float32 pieces of J and float64 products; only the float32 forward/backward rounding
        // (u = 6e-8, a few layers deep) and J's entries rounded to float32 in the exact path differ (observed 8e-9).
        AssertFastMatchesExact(model, Inputs(seed: 22, n: 16, d: 20, ScalarType.Float32), tolerance: 1e-5);
    }

    [Fact]
    public void NanWeightsGiveANonFiniteGramRatherThanAnException()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 23, d: 3, h: 4, k: 2);
        using (no_grad()) model.parameters().First().fill_(double.NaN);
        var spectrum = EmpiricalNtk.Fast(model, Inputs(seed: 24, n: 3, d: 3)).Spectrum();
        Assert.False(spectrum.IsFinite);
        Assert.Contains("NaN", spectrum.NonFiniteReason);
    }

    [Fact]
    public void RecordedTensorsAreReleasedWithTheComputation()
    {
        // Regression: a tensor moved into the dispose scope that already owned it was orphaned by TorchSharp 0.107 and
        // its finalizer threw on the disposed scope, killing the process at the next garbage collection.
        using (NewDisposeScope()) EmpiricalNtk.Fast(TanhMlp(seed: 39, d: 3, h: 4, k: 2), Inputs(seed: 40, n: 4, d: 3), NtkOutput.PerLogit);
        EmpiricalNtk.Fast(TanhMlp(seed: 41, d: 3, h: 4, k: 2), Inputs(seed: 42, n: 4, d: 3));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void BatchNormInTrainingModeIsRefusedAndAutoUsesTheExactPath()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(25);
        var model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2)).AsFloat64();
        model.train();
        var x = Inputs(seed: 26, n: 5, d: 3);

        var reason = EmpiricalNtk.FastUnsupportedReason(model);
        Assert.NotNull(reason);
        Assert.Contains("'1' (BatchNorm1d) is in training mode", reason);
        var ex = Assert.Throws<FastNtkNotSupportedException>(() => EmpiricalNtk.Fast(model, x));
        Assert.Contains("model.eval()", ex.Message);

        var auto = EmpiricalNtk.Compute(model, x, NtkOutput.SumOfLogits, NtkMethod.Auto, out var choice);
        Assert.Equal(NtkMethod.Exact, choice.Used);
        Assert.Equal(reason, choice.FastUnsupportedReason);
        Assert.Equal(EmpiricalNtk.Exact(model, x).ToArray(), auto.ToArray());
    }

    [Fact]
    public void BatchNormWithoutRunningStatisticsIsRefusedEvenInEvalMode()
    {
        using var scope = NewDisposeScope();
        var model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, affine: false, track_running_stats: false), nn.Linear(4, 2)).AsFloat64();
        model.eval();
        Assert.Contains("no running statistics", EmpiricalNtk.FastUnsupportedReason(model));
    }

    [Fact]
    public void AnUnsupportedParameterisedModuleIsNamedAndAutoFallsBackToExact()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(27);
        var model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 2)).AsFloat64();
        var x = Inputs(seed: 28, n: 4, d: 3);

        var ex = Assert.Throws<FastNtkNotSupportedException>(() => EmpiricalNtk.Fast(model, x));
        Assert.Contains("module '1' (LayerNorm)", ex.Message);
        Assert.Contains("NtkMethod.Exact", ex.Message);

        var auto = EmpiricalNtk.Compute(model, x, NtkOutput.SumOfLogits, NtkMethod.Auto, out var choice);
        Assert.Equal(NtkMethod.Exact, choice.Used);
        Assert.Equal(EmpiricalNtk.Exact(model, x).ToArray(), auto.ToArray());
    }

    [Fact]
    public void ParametersHeldDirectlyByACustomModuleAreUnsupported()
    {
        using var scope = NewDisposeScope();
        var model = new DirectParameter(seed: 29);
        var reason = EmpiricalNtk.FastUnsupportedReason(model);
        Assert.Contains("module '(root)' (DirectParameter) holds trainable parameters (scale)", reason);
    }

    [Fact]
    public void ALayerRunWithForwardInsteadOfCallIsCaughtByTheBatchGradientCheck()
    {
        using var scope = NewDisposeScope();
        var model = new BypassesHooks(seed: 30);
        var x = Inputs(seed: 31, n: 5, d: 3);
        Assert.Null(EmpiricalNtk.FastUnsupportedReason(model)); // structurally fine: only running it shows the problem

        var ex = Assert.Throws<FastNtkNotSupportedException>(() => EmpiricalNtk.Fast(model, x));
        Assert.Contains("'second'", ex.Message);
        Assert.Contains(".forward() instead of .call()", ex.Message);

        var auto = EmpiricalNtk.Compute(model, x, NtkOutput.SumOfLogits, NtkMethod.Auto, out var choice);
        Assert.Equal(NtkMethod.Exact, choice.Used);
        Assert.Equal(ex.Message, choice.FastUnsupportedReason);
        Assert.Equal(EmpiricalNtk.Exact(model, x).ToArray(), auto.ToArray());
    }

    [Fact]
    public void ALayerAlsoUsedOutsideItsHookedCallIsCaught()
    {
        using var scope = NewDisposeScope();
        var model = new BypassesHooks(seed: 43, alsoThroughCall: true);
        var x = Inputs(seed: 44, n: 5, d: 3);
        // The hooked call alone gives a well-formed but wrong Θ (half of the second layer's use is missing); the
        // projected batch-gradient check sees the difference.
        var ex = Assert.Throws<FastNtkNotSupportedException>(() => EmpiricalNtk.Fast(model, x));
        Assert.Contains("weight of module 'second'", ex.Message);
    }

    [Fact]
    public void TiedWeightsAreRefused()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(32);
        var first = nn.Linear(4, 4, dtype: ScalarType.Float64);
        var second = nn.Linear(4, 4, dtype: ScalarType.Float64);
        second.weight = first.weight;
        var model = nn.Sequential(first, nn.Tanh(), second);
        Assert.Contains("shared", EmpiricalNtk.FastUnsupportedReason(model));
    }

    [Fact]
    public void AutoUsesTheFastPathWhenSupportedAndExplicitMethodsAreHonoured()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 33, d: 3, h: 5, k: 2);
        var x = Inputs(seed: 34, n: 4, d: 3);
        var auto = EmpiricalNtk.Compute(model, x, NtkOutput.SumOfLogits, NtkMethod.Auto, out var choice);
        Assert.Equal(new NtkMethodChoice(NtkMethod.Fast, null), choice);
        Assert.Equal(EmpiricalNtk.Fast(model, x).ToArray(), auto.ToArray());
        EmpiricalNtk.Compute(model, x, NtkOutput.SumOfLogits, NtkMethod.Exact, out choice);
        Assert.Equal(NtkMethod.Exact, choice.Used);
        Assert.Throws<ArgumentOutOfRangeException>(() => EmpiricalNtk.Compute(model, x, NtkOutput.SumOfLogits, (NtkMethod)7));
    }

    [Fact]
    public void InputValidationIsTheSameAsTheExactPath()
    {
        using var scope = NewDisposeScope();
        var model = TanhMlp(seed: 35, d: 3, h: 4, k: 2);
        Assert.Throws<ArgumentException>(() => EmpiricalNtk.Fast(model, tensor(1.0)));
        var ex = Assert.Throws<ArgumentException>(() => EmpiricalNtk.Fast(model, Inputs(seed: 36, n: 2, d: 3, ScalarType.Float32)));
        Assert.Contains("Float64", ex.Message);
        random.manual_seed(37);
        var notNByK = nn.Sequential(nn.Linear(3, 1), nn.Flatten(start_dim: 0)).AsFloat64();
        Assert.Contains("[N, K]", Assert.Throws<ArgumentException>(() => EmpiricalNtk.Fast(notNByK, Inputs(seed: 38, n: 2, d: 3))).Message);
    }

    /// <summary>One Linear(4→3) applied to each of 3 positions and then again to its own tanh: 6 positions in all.</summary>
    /// <summary>Passes its input on and keeps the last one it saw.</summary>
    private sealed class InputProbe() : nn.Module<Tensor, Tensor>(nameof(InputProbe))
    {
        public Tensor? Seen { get; private set; }

        public override Tensor forward(Tensor x)
        {
            Seen?.Dispose();
            Seen = x.alias().DetachFromDisposeScope();
            // Not x itself: Sequential disposes each intermediate result once the next module has returned.
            return x.alias();
        }
    }

    private sealed class SharedLinear : nn.Module<Tensor, Tensor>
    {
        private readonly Linear layer;
        private readonly Linear head;

        public SharedLinear(long seed) : base(nameof(SharedLinear))
        {
            random.manual_seed(seed);
            layer = nn.Linear(4, 4, dtype: ScalarType.Float64);
            head = nn.Linear(12, 2, dtype: ScalarType.Float64);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => head.call(layer.call(layer.call(x).tanh()).tanh().flatten(1));
    }

    private sealed class DirectParameter : nn.Module<Tensor, Tensor>
    {
        private readonly Linear layer;
        private readonly Parameter scale;

        public DirectParameter(long seed) : base(nameof(DirectParameter))
        {
            random.manual_seed(seed);
            layer = nn.Linear(3, 2, dtype: ScalarType.Float64);
            scale = nn.Parameter(ones(1, dtype: ScalarType.Float64));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => layer.call(x) * scale;
    }

    /// <summary>Runs its second layer with .forward (no hooks), and optionally a second time with .call.</summary>
    private sealed class BypassesHooks : nn.Module<Tensor, Tensor>
    {
        private readonly Linear first;
        private readonly Linear second;
        private readonly bool alsoThroughCall;

        public BypassesHooks(long seed, bool alsoThroughCall = false) : base(nameof(BypassesHooks))
        {
            random.manual_seed(seed);
            first = nn.Linear(3, 5, dtype: ScalarType.Float64);
            second = nn.Linear(5, 2, dtype: ScalarType.Float64);
            this.alsoThroughCall = alsoThroughCall;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = first.call(x).tanh();
            var y = second.forward(h);
            return alsoThroughCall ? y + second.call(h.square()) : y;
        }
    }
}
