using System.Diagnostics;
using NasSharp.Data;
using NasSharp.Kernels;
using NasSharp.Networks;
using NasSharp.Spaces;
using NasSharp.Stats;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Theory;

public sealed record AgreementOptions
{
    /// <summary>Number of distinct genotypes sampled.</summary>
    public int Genotypes { get; init; } = 60;
    public int MinDepth { get; init; } = 3;
    public int MaxDepth { get; init; } = 5;
    /// <summary>Hidden width of the finite networks whose empirical NTK is measured.</summary>
    public int Width { get; init; } = 512;
    /// <summary>Inputs N of both kernels.</summary>
    public int Batch { get; init; } = 32;
    /// <summary>Initialisations averaged per genotype for the empirical λ_min.</summary>
    public int NtkSeeds { get; init; } = 2;
    public double SigmaW { get; init; } = 1.0;
    public double SigmaB { get; init; } = 0.1;
    public IReadOnlyList<Activation>? Activations { get; init; }
    public long Seed { get; init; }

    public void Validate()
    {
        if (Genotypes < 3) throw new ArgumentOutOfRangeException(nameof(Genotypes), Genotypes, "A rank correlation needs at least 3 genotypes.");
        if (MinDepth < 1 || MaxDepth < MinDepth) throw new ArgumentOutOfRangeException(nameof(MinDepth), $"Depths {MinDepth}..{MaxDepth}: need 1 ≤ min ≤ max.");
        if (Width < 1) throw new ArgumentOutOfRangeException(nameof(Width), Width, "Width must be positive.");
        if (Batch < 2) throw new ArgumentOutOfRangeException(nameof(Batch), Batch, "Need at least 2 inputs.");
        if (NtkSeeds < 1) throw new ArgumentOutOfRangeException(nameof(NtkSeeds), NtkSeeds, "Need at least one NTK seed.");
        AnalyticNtk.CheckOptions(NetworkOptions.Ntk(SigmaW, SigmaB));
    }
}

/// <param name="Analytic">λ_min of the analytic NTK of one logit.</param>
/// <param name="Empirical">λ_min of the empirical Gram of Σ_k f_k divided by K (it converges to K·Θ), averaged over seeds.</param>
public sealed record AgreementItem(string Arch, double Analytic, double Empirical, double AnalyticSeconds, double EmpiricalSeconds);

public sealed record AgreementResult(
    IReadOnlyList<AgreementItem> Items, double KendallTau, double Spearman, double MedianRelativeGap, int NonFinite, AgreementOptions Options);

/// <summary>
/// How well λ_min of the analytic (infinite-width) NTK ranks genotypes the way λ_min of the empirical NTK of finite
/// networks does: sample genotypes of the <c>mlp</c> space, compute both on the same inputs (projected onto the sphere
/// ‖x‖² = d, where the theory is stated), report Kendall's τ-b and Spearman's ρ.
/// </summary>
public static class AnalyticAgreement
{
    /// <param name="progress">Receives each genotype's measurements as soon as they are made (to be stored as produced).</param>
    public static AgreementResult Run(LabeledDataset train, AgreementOptions options, Device? device = null, IProgress<(int Done, int Total, AgreementItem Item)>? progress = null,
        CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        device ??= CPU;
        if (train.Count < options.Batch) throw new ArgumentException($"The training split has {train.Count} samples, fewer than the batch of {options.Batch}.");

        var rng = Seeds.Rng(options.Seed, "agreement-batch");
        var idx = Enumerable.Range(0, train.Count).ToArray();
        rng.Shuffle(idx);
        var subset = train.Subset(idx[..options.Batch]);
        var batch = SphereBatch.From(subset);
        var genotypes = Sample(options);
        var network = NetworkOptions.Ntk(options.SigmaW, options.SigmaB);

        var items = new List<AgreementItem>();
        for (int i = 0; i < genotypes.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var g = genotypes[i];
            var clock = Stopwatch.StartNew();
            double analytic = AnalyticNtk.FromInputGram(g, batch.Gram, batch.Count, network).Spectrum().LambdaMin;
            double analyticSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            double empirical = 0;
            for (int s = 0; s < options.NtkSeeds; s++)
            {
                using var scope = NewDisposeScope();
                using var model = new MlpSpace().BuildNetwork(g, subset.SampleShape, subset.NumClasses, network, Seeds.Derive(options.Seed, "agreement-init", g.Canonical, s), device);
                var x = tensor(batch.Inputs, new long[] { batch.Count }.Concat(subset.SampleShape.Select(v => (long)v)).ToArray(), ScalarType.Float32, device);
                empirical += EmpiricalNtk.Exact(model, x).Spectrum().LambdaMin / subset.NumClasses / options.NtkSeeds;
            }
            var item = new AgreementItem(g.Canonical, analytic, empirical, analyticSeconds, clock.Elapsed.TotalSeconds);
            items.Add(item);
            progress?.Report((i + 1, genotypes.Count, item));
        }

        var finite = items.Where(t => double.IsFinite(t.Analytic) && double.IsFinite(t.Empirical)).ToList();
        var a = finite.Select(t => t.Analytic).ToArray();
        var e = finite.Select(t => t.Empirical).ToArray();
        var gaps = finite.Select(t => Math.Abs(t.Empirical - t.Analytic) / Math.Abs(t.Analytic)).Order().ToArray();
        double median = gaps.Length == 0 ? double.NaN : gaps.Length % 2 == 1 ? gaps[gaps.Length / 2] : 0.5 * (gaps[gaps.Length / 2 - 1] + gaps[gaps.Length / 2]);
        return new AgreementResult(items, RankCorrelation.KendallTau(a, e), RankCorrelation.Spearman(a, e), median, items.Count - finite.Count, options);
    }

    /// <summary>Distinct genotypes, each with a depth drawn uniformly from MinDepth..MaxDepth.</summary>
    public static IReadOnlyList<MlpGenotype> Sample(AgreementOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var rng = Seeds.Rng(options.Seed, "agreement-genotypes");
        var seen = new HashSet<string>();
        var list = new List<MlpGenotype>();
        for (int attempts = 0; list.Count < options.Genotypes; attempts++)
        {
            if (attempts > 100 * options.Genotypes)
                throw new ArgumentException($"Could not draw {options.Genotypes} distinct genotypes of depth {options.MinDepth}..{options.MaxDepth}; ask for fewer.");
            int depth = rng.Next(options.MinDepth, options.MaxDepth + 1);
            var g = (MlpGenotype)new MlpSpace(depth, options.Width, options.Activations).Sample(rng);
            if (seen.Add(g.Canonical)) list.Add(g);
        }
        return list;
    }
}
