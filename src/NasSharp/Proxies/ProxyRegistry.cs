namespace NasSharp.Proxies;

/// <summary>Every proxy NasSharp implements, by name, in one explicit table.</summary>
public static class ProxyRegistry
{
    private static readonly IProxy[] Table =
    [
        new ParamsProxy(),
        new FlopsProxy(),
        new GradNormProxy(),
        new SnipProxy(),
        new GraspProxy(),
        new FisherProxy(),
        new SynflowProxy(),
        new JacobCovProxy(),
        new NaswotProxy(),
        new NtkConditionProxy(),
        new NtkTraceProxy(),
        new NtkMinEigenvalueProxy(),
        new ZicoProxy(),
        new MecoProxy(),
        new JacobianIsometryProxy(),
        new AzExpressivityProxy(),
        new AzProgressivityProxy(),
        new AzTrainabilityProxy(),
        new SwapProxy(),
        new SwapRegularisedProxy(),
    ];

    /// <summary>
    /// Variants measured against the defaults, by name, not part of <see cref="All"/>: the other forms of <c>ntk_min_eig</c>
    /// on cell spaces (<see cref="Kernels.NtkForm"/>; each costs about a kernel of its own), fisher's plain per-channel sum, and the
    /// label-aware <c>ntk_complexity</c> in the two forms that rank cells.
    /// </summary>
    private static readonly IProxy[] Variants =
    [
        .. new Kernels.NtkForm[]
        {
            new() { TraceNormalized = true },
            new() { BatchStatistics = true },
            new() { FrozenBatchStatistics = true },
            new() { NtkParameterization = true },
            new() { Output = Kernels.NtkOutput.PerLogit },
            new() { Initializations = 3 },
        }.SelectMany(f => new[] { f, f with { TraceNormalized = true } }).Distinct()
            .Select(f => new NtkMinEigenvalueProxy(f)),
        // The form that ranks (held batch statistics, trace-normalised) with each of the other options.
        .. new Kernels.NtkForm[]
        {
            new() { NtkParameterization = true },
            new() { Output = Kernels.NtkOutput.PerLogit },
            new() { Initializations = 3 },
        }.Select(f => new NtkMinEigenvalueProxy(f with { FrozenBatchStatistics = true, TraceNormalized = true })),
        new FisherProxy(weightedByFanIn: false),
        .. new Kernels.NtkForm[]
        {
            new() { FrozenBatchStatistics = true, TraceNormalized = true },
            new() { BatchStatistics = true, TraceNormalized = true },
        }.Select(f => new NtkComplexityProxy(f)),
    ];

    /// <summary>The names of the variants, which <see cref="Get"/> also knows.</summary>
    public static IReadOnlyList<string> VariantNames { get; } = Variants.Select(p => p.Name).ToArray();

    /// <summary>Every proxy with its default settings, in table order.</summary>
    public static IReadOnlyList<IProxy> All { get; } = Table;

    public static IReadOnlyList<string> Names { get; } = Table.Select(p => p.Name).ToArray();

    /// <summary>The proxy called <paramref name="name"/>; throws with the known names if there is none.</summary>
    public static IProxy Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Table.Concat(Variants).FirstOrDefault(p => p.Name == name.Trim())
            ?? throw new ArgumentException($"Unknown proxy '{name}'. Known proxies: {string.Join(", ", Names)}{Spelling.Suggestion(name.Trim(), Names)}.", nameof(name));
    }

    /// <summary>
    /// Proxies and aggregates (<see cref="ProxyAggregates"/>) from a comma-separated list such as <c>"naswot,az_nas"</c>:
    /// each aggregate's components join the proxies (once, after those listed); <c>"all"</c> gives every proxy and aggregate
    /// (with the variants an aggregate reads, e.g. <c>ensemble_full</c>'s form of λ_min).
    /// </summary>
    public static ProxySelection ParseSelection(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        bool all = list.Trim() == "all";
        var names = all ? [.. Names, .. ProxyAggregates.Names] : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var aggregates = names.Select(ProxyAggregates.Find).OfType<ProxyAggregate>().ToArray();
        var twice = aggregates.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new ArgumentException($"Aggregate '{twice.Key}' is listed twice in '{list}'.", nameof(list));
        var listed = names.Where(n => ProxyAggregates.Find(n) is null).ToArray();
        var proxies = listed.Length == 0 ? [] : Parse(string.Join(",", listed)).ToList();
        if (proxies.Count == 0 && aggregates.Length == 0)
            throw new ArgumentException($"No proxy named in '{list}'. Known proxies: {string.Join(", ", Names)}; aggregates: {string.Join(", ", ProxyAggregates.Names)}.", nameof(list));
        foreach (var component in aggregates.SelectMany(a => a.Components).Distinct())
            if (proxies.All(p => p.Name != component)) proxies.Add(Get(component));
        return new ProxySelection(proxies, aggregates);
    }

    /// <summary>Proxies from a comma-separated list such as <c>"synflow,naswot"</c>; <c>"all"</c> gives <see cref="All"/>.</summary>
    public static IReadOnlyList<IProxy> Parse(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        if (list.Trim() == "all") return All;
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0) throw new ArgumentException($"No proxy named in '{list}'. Known proxies: {string.Join(", ", Names)}.", nameof(list));
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Proxy '{duplicate.Key}' is listed twice in '{list}'.", nameof(list));
        return names.Select(Get).ToArray();
    }
}

/// <summary>Proxies to score each architecture with, and aggregates to compute over the scored set.</summary>
public sealed record ProxySelection(IReadOnlyList<IProxy> Proxies, IReadOnlyList<ProxyAggregate> Aggregates)
{
    /// <summary>The proxies' names, then the aggregates'.</summary>
    public IReadOnlyList<string> Names => [.. Proxies.Select(p => p.Name), .. Aggregates.Select(a => a.Name)];
}
