using System.Diagnostics;
using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Search.Nasi;

/// <summary>NASI's hyper-parameters (Shu et al. 2022, Sec. 4 and Appendix): T = 100, b = 64, μ = 2, ν = 100 (FIX) or adaptive from 500 (ADA), ξ = 1.</summary>
public sealed record NasiOptions
{
    /// <summary>T: Gumbel samples, each one gradient G_t.</summary>
    public int Steps { get; init; } = 100;
    /// <summary>b: the batch of the trace-norm approximation.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>μ: the penalty slope above ν (Eq. 14).</summary>
    public double Mu { get; init; } = 2;
    /// <summary>ν: the trace-norm level above which the penalty applies; with <see cref="AdaptiveNu"/>, its starting value.</summary>
    public double Nu { get; init; } = 100;
    /// <summary>
    /// NASI-ADA. The paper's exact adaptation rule was not available here; ours: after each step ν becomes the smaller of
    /// itself and the running mean of the trace norms observed so far, so the constraint tightens towards the typical
    /// trace norm of the space from a loose start.
    /// </summary>
    public bool AdaptiveNu { get; init; }
    /// <summary>ξ: the step size of the one-step update Δ*; it scales Δ* and so does not change its argmax.</summary>
    public double Xi { get; init; } = 1;
    /// <summary>
    /// τ of the Gumbel-softmax (the appendix's value could not be checked here). We use τ = 10, chosen by measurement
    /// (docs/experiments/nasi-nb201.md): a sample's weights over five operations then lie between about 0.16 and 0.27 (uniform: 0.2), so
    /// G_t is the gradient of the mixed supernet's trace norm near α₀, and the trace norms stay within a factor of 3 of each
    /// other. At τ = 1 the samples are nearly discrete cells whose trace norms span four orders of magnitude, and a few
    /// extreme samples decide Δ*.
    /// </summary>
    public double Temperature { get; init; } = 10;
    /// <summary>
    /// Straight-through samples: each step's forward pass is the discrete architecture argmax(α + g) (so R is evaluated on
    /// an architecture A, as Eq. 14 is written) and the gradient is the soft weights'. Off: every operation is mixed with
    /// its soft Gumbel-softmax weight.
    /// </summary>
    public bool Hard { get; init; }
    /// <summary>
    /// The parameters θ whose gradient norm is the trace norm: the stored weights (standard, PyTorch's initialisation) or the
    /// NTK parameters (the paper's setting; the supernet must have been put in it with
    /// <see cref="RelaxedSupernet.UseNtkParameterization"/>).
    /// </summary>
    public Parameterization Parameterization { get; init; } = Parameterization.Standard;
    /// <summary>How G_t's ∇_α of the trace norm is computed (<see cref="TraceNormGradient"/>): the exact double backward, or
    /// a central-difference Hessian-vector product with a fraction of its memory and time.</summary>
    public AlphaGradient AlphaGradient { get; init; } = AlphaGradient.Exact;
    /// <summary>The finite-difference path's step length ‖εv‖ in θ (<see cref="TraceNormGradient.Step"/>, DARTS' 0.01, by default).</summary>
    public double FiniteDifferenceStep { get; init; } = TraceNormGradient.Step;
    /// <summary>
    /// The seed of the Gumbel draws and the batches; null for the search's own seed. <c>nas bench search</c> draws them
    /// from the stream "nasi" of each seed (and the supernet from the seed itself), as its stored comparisons did.
    /// </summary>
    public long? SampleSeed { get; init; }

    public void Validate()
    {
        if (Steps < 1) throw new SettingException($"--steps {Steps}: NASI needs at least one step (the paper uses T = 100).");
        if (BatchSize < 2) throw new SettingException($"--batch {BatchSize}: the batch needs at least 2 samples (the paper uses b = 64).");
        if (!(Mu >= 0) || !double.IsFinite(Mu)) throw new SettingException($"--mu {Mu}: μ must be a finite non-negative number.");
        if (!(Nu > 0) || !double.IsFinite(Nu)) throw new SettingException($"--nu {Nu}: ν must be positive and finite.");
        if (!(Xi > 0) || !double.IsFinite(Xi)) throw new SettingException($"--xi {Xi}: ξ must be positive and finite.");
        if (!(Temperature > 0) || !double.IsFinite(Temperature)) throw new SettingException($"--tau {Temperature}: τ must be positive and finite.");
        if (!(FiniteDifferenceStep > 0) || !double.IsFinite(FiniteDifferenceStep))
            throw new SettingException($"--fd-step {FiniteDifferenceStep}: the step must be positive and finite.");
    }
}

/// <summary>One step: the sampled architecture's approximate trace norm, the objective R, ν in force, and ‖G_t‖.</summary>
public sealed record NasiStep(int Step, double TraceNorm, double Objective, double Nu, double GradientNorm);

/// <summary>The outcome: Δ* per group (the logits an <see cref="Spaces.IRelaxation"/> derives the architecture from), its
/// softmax probabilities, and the step log.</summary>
public sealed record NasiResult(
    IReadOnlyList<ArchitectureGroup> Groups, IReadOnlyList<double[,]> Logits,
    IReadOnlyList<double[,]> Probabilities, IReadOnlyList<NasiStep> Steps, double Seconds);

/// <summary>
/// NAS at initialisation (Shu, Cai, Dai, Ooi, Low, ICLR 2022): maximise E_{A∼p_α}[R(A)] with
/// R(A) = ‖Θ̃₀(A)‖_tr − μ·max(0, ‖Θ̃₀(A)‖_tr − ν) (Eqs. 13–14) by one first-order step from α₀ = 0:
/// G_t = ∇_α R(A(α₀, g_t)) for T Gumbel draws g_t, Δ* = (ξ/T) Σ_t G_t / max(‖G_1‖, …, ‖G_t‖), and the architecture is the
/// argmax of p_{α₀+Δ*} as the space's relaxation derives it (<see cref="NasiStrategy"/>; both spaces leave <c>none</c> out,
/// as DARTS does). We read the normaliser as the running maximum up to t (the only reading in which the index t
/// matters); any positive rescaling of the whole sum would select the same architecture.
/// </summary>
public static class NasiSearch
{
    /// <summary>
    /// Runs the search on a supernet at initialisation. <paramref name="batch"/> gives the t-th batch (inputs, labels) of
    /// <see cref="NasiOptions.BatchSize"/> samples (<see cref="Data.BatchSource.Step"/>); <paramref name="seed"/> seeds the
    /// Gumbel draws. Each step is kept in <paramref name="journal"/> (key <c>step/t</c>), so an interrupted search resumes
    /// at its first missing step with the same result.
    /// </summary>
    public static NasiResult Run(RelaxedSupernet supernet, Func<int, (Tensor X, Tensor Y)> batch, NasiOptions options, long seed,
        IProgress<NasiStep>? progress = null, CancellationToken cancellation = default, Store.IRunJournal? journal = null)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if ((options.Parameterization == Parameterization.Ntk) != (supernet.GradientFactors is not null))
            throw new ArgumentException(options.Parameterization == Parameterization.Ntk
                ? "NASI in the NTK parameterisation needs a supernet put in it (UseNtkParameterization)."
                : "The supernet is in the NTK parameterisation but the options say standard.", nameof(supernet));
        var clock = Stopwatch.StartNew();
        var groups = supernet.Groups;
        var device = supernet.parameters().First().device;
        var dtype = supernet.parameters().First().dtype;

        var sum = groups.Select(g => new double[g.Edges, g.Operations.Count]).ToArray();
        var steps = new List<NasiStep>(options.Steps);
        double maxNorm = 0, nu = options.Nu, traceSum = 0;
        supernet.train();
        for (int t = 0; t < options.Steps; t++)
        {
            cancellation.ThrowIfCancellationRequested();
            NasiStepRecord? stored = null;
            if (journal is not null && journal.TryFind<NasiStepRecord>($"step/{t + 1}", out var found)) stored = found;
            var (step, gradient) = stored is null ? Step(supernet, groups, batch, options, seed, t, nu, device, dtype) : (stored.Step, stored.Gradient);
            if (stored is null) journal?.Record($"step/{t + 1}", new NasiStepRecord(step, gradient));
            else if (stored.Step.Nu != nu || gradient.Length != groups.Sum(g => g.Edges * g.Operations.Count))
                throw new InvalidOperationException($"The stored step {t + 1} does not belong to this search (ν or the architecture groups differ).");
            double norm = step.GradientNorm;
            maxNorm = Math.Max(maxNorm, norm);
            if (maxNorm > 0)
                for (int i = 0, k = 0; i < groups.Count; i++)
                    for (int e = 0; e < groups[i].Edges; e++)
                        for (int o = 0; o < groups[i].Operations.Count; o++, k++)
                            sum[i][e, o] += gradient[k] / maxNorm;
            steps.Add(step);
            progress?.Report(step);
            traceSum += step.TraceNorm;
            if (options.AdaptiveNu) nu = Math.Min(nu, traceSum / (t + 1));
        }

        // Δ* = (ξ/T) Σ_t G_t / max_{s≤t} ‖G_s‖, and α = α₀ + Δ* = Δ*.
        var logits = sum.Select(s => Scale(s, options.Xi / options.Steps)).ToArray();
        var probabilities = logits.Select(Softmax).ToArray();
        return new NasiResult(groups, logits, probabilities, steps, clock.Elapsed.TotalSeconds);
    }

    /// <summary>G_t = ∇_α R(A(α₀, g_t)) at α₀ = 0 for the t-th Gumbel draw (its own seeded generator, so a resumed search
    /// draws the same noise) and the t-th batch; the gradient flattened group by group, edge-major.</summary>
    internal static (NasiStep Step, double[] Gradient) Step(RelaxedSupernet supernet, IReadOnlyList<ArchitectureGroup> groups,
        Func<int, (Tensor X, Tensor Y)> batch, NasiOptions options, long seed, int t, double nu, Device device, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var (alphas, mixingWeights) = Draw(groups, options, seed, t, device, dtype);
        var (x, y) = batch(t);
        var (traceValue, traceGradient) = TraceNormGradient.Compute(supernet, mixingWeights, alphas, x, y, options.AlphaGradient, options.FiniteDifferenceStep);
        if (!double.IsFinite(traceValue))
            throw new InvalidOperationException($"NASI step {t + 1}: the trace norm of the sampled architecture is {traceValue}; the supernet's gradients are not finite at initialisation.");
        // Eq. 14: R = t − μ·max(0, t − ν), so ∇_α R = (1 − μ·[t > ν]) ∇_α t.
        double objective = traceValue - options.Mu * Math.Max(0, traceValue - nu);
        double slope = traceValue > nu ? 1 - options.Mu : 1;
        var gradient = new List<double>();
        foreach (var g in traceGradient) gradient.AddRange(g.to_type(ScalarType.Float64).cpu().data<double>().ToArray().Select(v => slope * v));
        double norm = Math.Sqrt(gradient.Sum(v => v * v));
        if (!double.IsFinite(norm)) throw new InvalidOperationException($"NASI step {t + 1}: ∇_α R is not finite.");
        return (new NasiStep(t + 1, traceValue, objective, nu, norm), gradient.ToArray());
    }
    /// <summary>
    /// The t-th Gumbel draw at α₀ = 0 (its own seeded generator, so a resumed search draws the same noise): the architecture
    /// logits α (zeros that require grad) and the mixing weights built from them, a fresh graph per call.
    /// </summary>
    internal static (Tensor[] Alphas, Func<IReadOnlyList<Tensor>> MixingWeights) Draw(IReadOnlyList<ArchitectureGroup> groups, NasiOptions options,
        long seed, int t, Device device, ScalarType dtype)
    {
        using var generator = new Generator((ulong)Seeds.Derive(seed, "nasi-gumbel", t), device: CPU);
        var alphas = groups.Select(g => zeros(new long[] { g.Edges, g.Operations.Count }, dtype: dtype, device: device).requires_grad_(true)).ToArray();
        var noise = groups.Select(g => GumbelSoftmax.Noise([g.Edges, g.Operations.Count], generator).to(device)).ToArray();
        return (alphas, () => alphas.Select((a, i) => options.Hard
            ? GumbelSoftmax.HardWeights(a, noise[i], options.Temperature) : GumbelSoftmax.Weights(a, noise[i], options.Temperature)).ToArray());
    }

    private static double[,] Scale(double[,] a, double s)
    {
        var r = (double[,])a.Clone();
        for (int i = 0; i < r.GetLength(0); i++)
            for (int j = 0; j < r.GetLength(1); j++) r[i, j] *= s;
        return r;
    }

    private static double[,] Softmax(double[,] a)
    {
        var r = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++)
        {
            double max = double.NegativeInfinity, z = 0;
            for (int j = 0; j < a.GetLength(1); j++) max = Math.Max(max, a[i, j]);
            for (int j = 0; j < a.GetLength(1); j++) z += r[i, j] = Math.Exp(a[i, j] - max);
            for (int j = 0; j < a.GetLength(1); j++) r[i, j] /= z;
        }
        return r;
    }
}

/// <summary>A step as stored: its summary and G_t flattened group by group, edge-major.</summary>
public sealed record NasiStepRecord(NasiStep Step, double[] Gradient);
