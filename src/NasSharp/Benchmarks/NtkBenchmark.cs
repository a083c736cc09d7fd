using System.Diagnostics;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Benchmarks;

/// <summary>How <c>nas bench ntk</c> runs.</summary>
public sealed record NtkBenchSettings
{
    /// <summary>Timed repetitions of each computation; the median is reported.</summary>
    public int Repeats { get; init; } = 5;
    /// <summary>dtype of the networks, inputs and Jacobian pieces (Θ is always accumulated in float64).</summary>
    public ScalarType DType { get; init; } = ScalarType.Float32;
    /// <summary>Small networks and batches, seconds in all (for tests).</summary>
    public bool Quick { get; init; }
    public long Seed { get; init; }
    /// <summary>libtorch intra-op threads during the run (restored afterwards); null keeps the current setting.</summary>
    public int? Threads { get; init; }

    public void Validate()
    {
        if (Repeats < 1) throw new ArgumentOutOfRangeException(nameof(Repeats), Repeats, "Need at least one timed repetition.");
        if (Threads is < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Need at least one thread.");
        if (DType is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentOutOfRangeException(nameof(DType), DType, "The benchmark runs in float32 or float64.");
    }
}

/// <summary>
/// One case of the benchmark. Seconds are medians over the repetitions; a quantity that was not measured is null
/// (e.g. <see cref="ExactS"/> where the exact path would take too long), never a stand-in number.
/// </summary>
/// <param name="RelErr">‖Θ_fast − Θ_exact‖_F / ‖Θ_exact‖_F.</param>
/// <param name="FwdBwdS">One batched forward pass and backward pass of Σ f on the same network and batch.</param>
/// <param name="PeakMb">Resident-memory increase during one fast computation (<see cref="ResidentMemory.Method"/>).</param>
/// <param name="ProcessPeakMb">The whole process's resident peak during that computation.</param>
public sealed record NtkBenchRow(
    string Name, int N, long Parameters, double? ExactS, double? FastS, double? Speedup, double? RelErr, double? FwdBwdS,
    double? PeakMb, double? ProcessPeakMb);

/// <summary>
/// A case of <c>nas bench ntk</c>: it builds its own network and inputs and measures what applies to it. The empirical
/// cases are <see cref="EmpiricalNtkBenchCase"/>; other kernels (e.g. an analytic one) implement this interface and are
/// listed in <see cref="NtkBenchmark.DefaultCases"/>.
/// </summary>
public interface INtkBenchCase
{
    string Name { get; }
    int N { get; }
    /// <summary>What the network is (architecture, parameterisation), for the report.</summary>
    string Description { get; }
    NtkBenchRow Run(NtkBenchSettings settings, Action<string> progress);
}

public sealed record NtkBenchReport(
    string Dtype, int Repeats, int TorchThreads, string Inputs, string PeakMemory, IReadOnlyDictionary<string, string> Networks,
    IReadOnlyList<NtkBenchRow> Cases);

/// <summary>Fast against exact empirical NTK, side by side on the same networks and inputs.</summary>
public static class NtkBenchmark
{
    /// <summary>
    /// The benchmark's table: the 784-512-512-10 ReLU MLP in the NTK parameterisation (σ_w = 1, σ_b = 0.1, the eigen
    /// search's scoring network) at N = 32…256 against the exact path and at N = 1024 fast only (the exact J would be
    /// 1024 × 670k floats and ~1000 backward passes), and the <see cref="ConvResNet"/> (width 36, eval mode) on
    /// 3×32×32 inputs at N = 32, 64, and the analytic kernel of a depth-10 mixed-activation genotype with skips at
    /// N = 1000 (<see cref="AnalyticNtkBenchCase"/>). <paramref name="quick"/>: the same kinds of case at toy sizes.
    /// </summary>
    public static IReadOnlyList<INtkBenchCase> DefaultCases(bool quick)
    {
        int width = quick ? 32 : 512, convWidth = quick ? 4 : 36, image = quick ? 8 : 32;
        var mlpGenotype = MlpGenotype.Parse($"w{width}/relu-relu");
        string mlpName = $"mlp-784-{width}-{width}-10";
        string mlpDescription = $"MlpNetwork {mlpGenotype.Canonical} on 784 inputs, 10 logits, NTK parameterisation (σ_w = 1, σ_b = 0.1)";
        nn.Module<Tensor, Tensor> Mlp(ScalarType dtype, long seed) =>
            new MlpSpace().BuildNetwork(mlpGenotype, [784], 10, NetworkOptions.Ntk() with { DType = dtype }, seed);
        string convName = $"conv-resnet-w{convWidth}-{image}x{image}";
        string convDescription = $"ConvResNet width {convWidth} (conv–BN–ReLU stem, two basic blocks, pool, linear) on 3×{image}×{image}, 10 logits, eval mode, PyTorch initialisation";
        nn.Module<Tensor, Tensor> Conv(ScalarType dtype, long seed)
        {
            random.manual_seed(seed);
            return new ConvResNet(3, 10, convWidth, dtype);
        }

        var cases = new List<INtkBenchCase>();
        foreach (int n in quick ? [8] : new[] { 32, 64, 128, 256 })
            cases.Add(new EmpiricalNtkBenchCase(mlpName, n, mlpDescription, Mlp, [784], compareExact: true));
        cases.Add(new EmpiricalNtkBenchCase(mlpName, quick ? 16 : 1024, mlpDescription, Mlp, [784], compareExact: false));
        foreach (int n in quick ? [4] : new[] { 32, 64 })
            cases.Add(new EmpiricalNtkBenchCase(convName, n, convDescription, Conv, [3, image, image], compareExact: true));
        cases.Add(new AnalyticNtkBenchCase(quick ? 50 : 1000));
        return cases;
    }

    public static NtkBenchReport Run(IReadOnlyList<INtkBenchCase> cases, NtkBenchSettings settings, Action<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(cases);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        progress ??= _ => { };
        var rows = new List<NtkBenchRow>();
        int previousThreads = get_num_threads();
        if (settings.Threads is int threads) set_num_threads(threads);
        int usedThreads = get_num_threads();
        try
        {
            foreach (var c in cases)
            {
                cancellation.ThrowIfCancellationRequested();
                rows.Add(c.Run(settings, progress));
            }
        }
        finally
        {
            set_num_threads(previousThreads);
        }
        return new NtkBenchReport(settings.DType == ScalarType.Float64 ? "float64" : "float32", settings.Repeats, usedThreads,
            "standard normal, seeded from the benchmark seed, case name and N", ResidentMemory.Method,
            cases.GroupBy(c => c.Name).ToDictionary(g => g.Key, g => g.First().Description), rows);
    }

    /// <summary>Median of the values (the mean of the middle two for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("No values.", nameof(values));
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}

/// <summary>
/// An empirical-NTK case: after one untimed warm-up of each computation, the repetitions interleave forward+backward,
/// fast and exact, so that load from other processes falls on all three alike; then one more fast computation measures
/// the peak memory.
/// </summary>
public sealed class EmpiricalNtkBenchCase(
    string name, int n, string description, Func<ScalarType, long, nn.Module<Tensor, Tensor>> build, long[] sampleShape, bool compareExact)
    : INtkBenchCase
{
    public string Name { get; } = name;
    public int N { get; } = n;
    public string Description { get; } = description;

    public NtkBenchRow Run(NtkBenchSettings settings, Action<string> progress)
    {
        using var scope = NewDisposeScope();
        long seed = Seeds.Derive(settings.Seed, "bench-ntk", Name, N);
        using var model = build(settings.DType, seed);
        model.eval();
        random.manual_seed(Seeds.Derive(seed, "inputs"));
        var x = randn([N, .. sampleShape], dtype: settings.DType);
        long parameters = model.parameters().Sum(p => p.numel());
        string label = $"{Name} N={N}";

        progress($"{label}: warm-up");
        ForwardBackward(model, x);
        EmpiricalNtk.Fast(model, x);
        if (compareExact) EmpiricalNtk.Exact(model, x);

        var forwardBackward = new List<double>();
        var fast = new List<double>();
        var exact = new List<double>();
        NtkGram? fastGram = null, exactGram = null;
        for (int r = 0; r < settings.Repeats; r++)
        {
            progress($"{label}: repetition {r + 1}/{settings.Repeats}");
            forwardBackward.Add(Seconds(() => ForwardBackward(model, x)));
            fast.Add(Seconds(() => fastGram = EmpiricalNtk.Fast(model, x)));
            if (compareExact) exact.Add(Seconds(() => exactGram = EmpiricalNtk.Exact(model, x)));
        }
        progress($"{label}: peak memory of the fast method");
        var peak = ResidentMemory.Measure(() => EmpiricalNtk.Fast(model, x));

        double fastS = NtkBenchmark.Median(fast);
        double? exactS = compareExact ? NtkBenchmark.Median(exact) : null;
        double? relErr = exactGram is null ? null : RelativeFrobeniusError(fastGram!, exactGram);
        var row = new NtkBenchRow(Name, N, parameters, exactS, fastS, exactS / fastS, relErr, NtkBenchmark.Median(forwardBackward),
            peak?.IncreaseMb, peak?.ProcessMb);
        progress($"{label}: fast {fastS:G3} s" + (exactS is null ? "" : $", exact {exactS:G3} s, speedup {row.Speedup:G3}, rel_err {relErr:G3}"));
        return row;
    }

    private static void ForwardBackward(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        model.zero_grad();
        model.call(x).sum().backward();
    }

    private static double Seconds(Action work)
    {
        var clock = Stopwatch.StartNew();
        work();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>‖A − B‖_F / ‖B‖_F over the symmetrised Grams.</summary>
    public static double RelativeFrobeniusError(NtkGram a, NtkGram b)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        if (x.Length != y.Length) throw new ArgumentException($"Gram sizes differ: {a.Size} and {b.Size}.");
        double difference = 0, norm = 0;
        for (int i = 0; i < x.Length; i++)
        {
            difference += (x[i] - y[i]) * (x[i] - y[i]);
            norm += y[i] * y[i];
        }
        return Math.Sqrt(difference / norm);
    }
}

/// <summary>
/// The analytic infinite-width NTK (<see cref="AnalyticNtk"/>) of a depth-10 genotype mixing closed-form and quadrature
/// activations, with skip connections, on N standard-normal 784-dimensional inputs scaled onto the sphere ‖x‖² = d, the
/// setting of the theory and of every analytic score (<see cref="Theory.SphereBatch"/>): equal variances let each
/// quadrature activation be tabulated once per layer. (Inputs of unequal norms evaluate every pair's Mehler series
/// instead, several times slower.) It is timed as <see cref="NtkBenchRow.FastS"/>
/// (from the inputs to Θ; no network is built, so there is no exact path or forward/backward floor to compare with), and
/// the float64 eigendecomposition that a search would add is reported in the progress line only.
/// </summary>
public sealed class AnalyticNtkBenchCase(int n) : INtkBenchCase
{
    /// <summary>Ten layers: closed-form duals (relu, leaky relu, erf) mixed with quadrature ones (tanh, gelu, swish, elu, sigmoid), skips up to 4 layers back.</summary>
    public static readonly MlpGenotype Genotype =
        MlpGenotype.Parse("w512/relu-tanh+1-gelu+1+2-swish+2-erf+1-elu+3-sigmoid+1-leaky_relu+2-tanh+1+4-gelu+1");

    public string Name => "analytic-depth10";
    public int N { get; } = n;
    public string Description => $"AnalyticNtk of {Genotype.Canonical} (infinite width, NTK parameterisation σ_w = 1, σ_b = 0.1) on 784 inputs on the sphere ‖x‖² = 784";

    public NtkBenchRow Run(NtkBenchSettings settings, Action<string> progress)
    {
        var generator = new Random((int)(Seeds.Derive(settings.Seed, "bench-ntk", Name, N) & int.MaxValue));
        var inputs = new double[N * 784];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = Math.Sqrt(-2 * Math.Log(1 - generator.NextDouble())) * Math.Cos(2 * Math.PI * generator.NextDouble());
        for (int r = 0; r < N; r++)
        {
            var row = inputs.AsSpan(r * 784, 784);
            double norm = 0;
            foreach (var v in row) norm += v * v;
            double scale = Math.Sqrt(784 / norm);
            for (int c = 0; c < row.Length; c++) row[c] *= scale;
        }
        var options = NetworkOptions.Ntk();
        string label = $"{Name} N={N}";
        progress($"{label}: warm-up");
        AnalyticNtk.Compute(Genotype, inputs, N, options);
        var kernel = new List<double>();
        var eigen = new List<double>();
        for (int r = 0; r < settings.Repeats; r++)
        {
            progress($"{label}: repetition {r + 1}/{settings.Repeats}");
            AnalyticKernel? result = null;
            kernel.Add(Seconds(() => result = AnalyticNtk.Compute(Genotype, inputs, N, options)));
            eigen.Add(Seconds(() => result!.Spectrum()));
        }
        progress($"{label}: peak memory");
        var peak = ResidentMemory.Measure(() => AnalyticNtk.Compute(Genotype, inputs, N, options));
        double seconds = NtkBenchmark.Median(kernel);
        progress($"{label}: kernel {seconds:G3} s, float64 eigendecomposition {NtkBenchmark.Median(eigen):G3} s");
        return new NtkBenchRow(Name, N, 0, null, seconds, null, null, null, peak?.IncreaseMb, peak?.ProcessMb);
    }

    private static double Seconds(Action work)
    {
        var clock = Stopwatch.StartNew();
        work();
        return clock.Elapsed.TotalSeconds;
    }
}
