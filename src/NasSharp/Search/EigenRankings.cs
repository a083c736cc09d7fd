using NasSharp.Kernels;
using NasSharp.Spaces;
using NasSharp.Theory;

namespace NasSharp.Search;

/// <summary>
/// How well the <c>eigen</c> strategy's empirical scores were measured to rank the cells of a cell space (a space whose
/// networks have no infinite-width kernel here: nb201, darts), so that a search there can say when its score is not known
/// to rank. Each entry is a measured Spearman ρ with trained test accuracy, from the experiment it names.
/// </summary>
public static class EigenRankings
{
    /// <summary>The ρ from which a form counts as ranking a space's cells.</summary>
    public const double RanksFrom = 0.3;

    /// <summary>One measurement: <paramref name="Spearman"/> over <paramref name="Cells"/> sampled cells, the kernel on
    /// <paramref name="Batch"/> inputs, against <paramref name="Target"/> test accuracy, written up in <paramref name="Source"/>.</summary>
    public sealed record Measurement(string Space, NtkForm Form, double Spearman, int Cells, int Batch, string Target, string Source);

    private const string LambdaMinNb201 = "docs/experiments/lambda-min-nb201.md";

    private static readonly Measurement[] Table =
    [
        new("nb201", NtkForm.Default, -0.228, 1000, 64, "CIFAR-10", "docs/experiments/proxies-nb201.md"),
        new("nb201", new() { TraceNormalized = true }, -0.113, 100, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { Initializations = 3 }, -0.419, 100, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { Initializations = 3, TraceNormalized = true }, -0.082, 100, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { FrozenBatchStatistics = true }, 0.633, 100, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { FrozenBatchStatistics = true, TraceNormalized = true }, 0.661, 100, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { BatchStatistics = true }, 0.571, 1000, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { BatchStatistics = true, TraceNormalized = true }, 0.652, 1000, 16, "CIFAR-10", LambdaMinNb201),
        new("nb201", new() { FrozenBatchStatistics = true, TraceNormalized = true, Initializations = 3 }, 0.692, 1000, 16, "CIFAR-10", LambdaMinNb201),
    ];

    public static IReadOnlyList<Measurement> All => Table;

    /// <summary>
    /// The eigen strategy's default N where it was measured. On NAS-Bench-201 the default form ranks better as N grows
    /// (Spearman ρ 0.662 at N = 16, 0.722 at 256 on 1,000 cells; expected best of 100 92.28 and 92.57) and at 256 its best of
    /// 100 averages 93.08 on CIFAR-10 over five seeds, against 92.23 at 16 (<see cref="LambdaMinNb201"/>). The kernel's per-layer
    /// records grow with N: about 6 GB resident at 256. Not measured on darts, whose networks are larger: it keeps the default.
    /// </summary>
    public static int? NtkBatch(ISearchSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        return space.SpaceName == Nb201Space.Name ? Nb201NtkBatch : null;
    }

    /// <summary>The eigen strategy's N on nb201 (see <see cref="NtkBatch"/>).</summary>
    public const int Nb201NtkBatch = 256;


    /// <summary>
    /// One line saying that the strategy's score is not known to rank <paramref name="space"/>'s cells, with the measured ρ
    /// (or that it was not measured there); null on spaces with an analytic kernel (the setting of the theory), for the
    /// theory scores, and for a form measured to rank the space (ρ ≥ <see cref="RanksFrom"/>).
    /// </summary>
    public static string? Caveat(ISearchSpace space, EigenSearchOptions options)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(options);
        if (space is IAnalyticNtkSpace || options.Score.IsTheoretical()) return null;
        var form = options.Score.On(space).Form(options.NtkSeeds);
        var measured = Table.FirstOrDefault(m => m.Space == space.SpaceName && m.Form == form);
        if (measured is { Spearman: >= RanksFrom }) return null;
        string name = $"the eigen score ({form.Describe()})";
        if (measured is not null)
            return $"{name} is not known to rank {space.SpaceName} cells: Spearman ρ {measured.Spearman:F3} with {measured.Target} test accuracy "
                + $"({measured.Cells} sampled cells, batch {measured.Batch}; {measured.Source}).";
        var elsewhere = Table.FirstOrDefault(m => m.Form == form);
        return $"{name} is not known to rank {space.SpaceName} cells: it was not measured there"
            + (elsewhere is null ? "." : $"; on {elsewhere.Space} it has Spearman ρ {elsewhere.Spearman:F3} with {elsewhere.Target} test accuracy ({elsewhere.Source}).");
    }
}
