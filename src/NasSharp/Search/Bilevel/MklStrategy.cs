using NasSharp.Data;
using System.Diagnostics;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Theory;

namespace NasSharp.Search.Bilevel;

public sealed record MklOptions
{
    /// <summary>n_T: training samples of the lower level (kernel ridge regression).</summary>
    public int TrainPoints { get; init; } = 500;
    /// <summary>n_V: validation samples of the upper level.</summary>
    public int ValPoints { get; init; } = 250;
    /// <summary>Exponentiated-gradient steps on the simplex.</summary>
    public int Steps { get; init; } = 100;
    /// <summary>η: the largest change of a log-weight per step.</summary>
    public double StepSize { get; init; } = 0.5;
    /// <summary>λ of the kernel ridge regression, relative to kernels scaled to mean diagonal 1 on the training split.</summary>
    public double Ridge { get; init; } = 1e-3;
    public double SigmaW { get; init; } = 1.0;
    public double SigmaB { get; init; } = 0.1;

    public void Validate()
    {
        if (TrainPoints < 2) throw new SettingException($"--train-points {TrainPoints}: need at least 2.");
        if (ValPoints < 1) throw new SettingException($"--val-points {ValPoints}: need at least 1.");
        if (Steps < 0) throw new SettingException($"--steps {Steps}: must be non-negative.");
        if (!(StepSize > 0)) throw new SettingException($"--step-size {StepSize}: must be positive.");
        if (!(Ridge > 0)) throw new SettingException($"--ridge {Ridge}: must be positive.");
        if (!(SigmaW > 0)) throw new SettingException($"--sigma-w {SigmaW}: must be positive.");
        if (!(SigmaB >= 0)) throw new SettingException($"--sigma-b {SigmaB}: must be non-negative.");
    }
}

/// <summary>
/// The kernel view of activation search (Oymak, Li &amp; Soltanolkotabi, ICML 2021: NAS as multiple kernel learning): every
/// discrete architecture of the space's relaxation (for <c>mlp</c>, every activation assignment) gives its analytic
/// infinite-width NTK K_i on the sampled training and validation inputs (projected onto the sphere, as <c>nas theory</c>
/// does), each scaled to mean diagonal 1 on the training split; the lower level is kernel ridge regression on the training
/// split with K_α = Σ α_i K_i, the upper level its validation loss (<see cref="MultipleKernelRidge"/>), minimised over the
/// simplex by exponentiated gradient from uniform weights. The selected architecture has the largest weight; the ranked
/// candidates' scores are the weights α_i.
/// </summary>
public sealed class MklStrategy(MklOptions options) : SearchStrategy<MklOptions>(StrategyName, options)
{
    public const string StrategyName = "mkl";

    public override void Validate(ISearchSpace space, ExperimentData data)
    {
        ArgumentNullException.ThrowIfNull(space);
        Options.Validate();
        if (space is not IAnalyticNtkSpace || space.Relaxation is null)
            throw new SettingException($"--strategy mkl needs the analytic NTK of every candidate; the {space.SpaceName} space has none (mlp has).");
    }

    public override SearchOutcome Run(SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        Validate(context.Space, context.Data);
        var clock = Stopwatch.StartNew();
        var analytic = (IAnalyticNtkSpace)context.Space;
        var (candidates, sample) = SplitSample.Candidates(context, Name, Options.TrainPoints, Options.ValPoints);
        int nT = sample.Train.Count, nV = sample.Validation.Count, n = nT + nV, classes = context.Data.Classes;
        var inputs = SphereBatch.Project([.. sample.Train.Features.Concat(sample.Validation.Features).Select(v => (double)v)], n);

        var trainKernels = new double[candidates.Count][];
        var crossKernels = new double[candidates.Count][];
        var seconds = new double[candidates.Count];
        var timer = Stopwatch.StartNew();
        int done = 0;
        // The space computes the kernels in its own order, sharing work between candidates; a candidate's seconds are
        // what its kernel added to those before it.
        foreach (var (i, kernel) in analytic.Kernels(candidates, inputs, n, NetworkOptions.Ntk(Options.SigmaW, Options.SigmaB)))
        {
            (trainKernels[i], crossKernels[i]) = KernelBlocks.Split(kernel.NtkArray(), nT, nV);
            seconds[i] = timer.Elapsed.TotalSeconds;
            context.Report("kernels", ++done, candidates.Count, candidates[i].Canonical);
            context.Cancellation.ThrowIfCancellationRequested();
            timer.Restart();
        }
        double kernelSeconds = clock.Elapsed.TotalSeconds;
        using var problem = new MultipleKernelRidge(trainKernels, crossKernels, SplitSample.CenteredOneHot(sample.Train.Labels, classes),
            SplitSample.CenteredOneHot(sample.Validation.Labels, classes), classes, Options.Ridge);
        var alpha = Search(problem, Options, t => context.Report("steps", t, Options.Steps), context.Cancellation);
        double finalLoss = problem.ValidationLoss(alpha);
        var ranked = Candidates.Rank(candidates.Select((c, i) => new ScoredCandidate(i, c.Canonical, alpha[i], null, new Dictionary<string, double>
        {
            ["validation_loss_alone"] = problem.ValidationLoss(KernelBlocks.Vertex(candidates.Count, i)),
            ["validation_loss_mixture"] = finalLoss,
        }, seconds[i])));
        var arch = ranked[0].Arch;
        return new SearchOutcome(Name, arch)
        {
            Ranked = ranked,
            ScoringSeconds = kernelSeconds,
            SearchSeconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>
    /// The upper level of the search: exponentiated gradient on the simplex from uniform weights, <see cref="MklOptions.Steps"/>
    /// steps of size <see cref="MklOptions.StepSize"/> on the validation loss of <paramref name="problem"/>; the weights α.
    /// </summary>
    public static double[] Search(MultipleKernelRidge problem, MklOptions options, Action<int>? stepDone = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(options);
        var alpha = Enumerable.Repeat(1.0 / problem.Candidates, problem.Candidates).ToArray();
        for (int t = 0; t < options.Steps; t++)
        {
            cancellation.ThrowIfCancellationRequested();
            alpha = ExponentiatedGradient.Step(alpha, problem.Evaluate(alpha).Gradient, options.StepSize);
            stepDone?.Invoke(t + 1);
        }
        return alpha;
    }
}

/// <summary>Blocks of a kernel on [train; validation] inputs, and simplex vertices.</summary>
public static class KernelBlocks
{
    /// <summary>K[T,T] and K[V,T] of an (n_T + n_V)² kernel, both scaled by 1/mean(diag K[T,T]).</summary>
    public static (double[] TrainTrain, double[] ValidationTrain) Split(double[] kernel, int trainCount, int validationCount)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        int n = trainCount + validationCount;
        if (kernel.Length != n * n) throw new ArgumentException($"Expected a {n}×{n} kernel.", nameof(kernel));
        double scale = 0;
        for (int i = 0; i < trainCount; i++) scale += kernel[i * n + i];
        scale = trainCount / scale;
        if (!double.IsFinite(scale) || scale <= 0) throw new ArgumentException("The kernel's training diagonal is not positive.", nameof(kernel));
        var tt = new double[trainCount * trainCount];
        var vt = new double[validationCount * trainCount];
        for (int i = 0; i < trainCount; i++)
            for (int j = 0; j < trainCount; j++) tt[i * trainCount + j] = kernel[i * n + j] * scale;
        for (int i = 0; i < validationCount; i++)
            for (int j = 0; j < trainCount; j++) vt[i * trainCount + j] = kernel[(trainCount + i) * n + j] * scale;
        return (tt, vt);
    }

    /// <summary>e_i of R^h.</summary>
    public static double[] Vertex(int h, int i)
    {
        var e = new double[h];
        e[i] = 1;
        return e;
    }
}
