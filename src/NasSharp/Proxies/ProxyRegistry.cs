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
    ];

    /// <summary>Every proxy with its default settings, in table order.</summary>
    public static IReadOnlyList<IProxy> All { get; } = Table;

    public static IReadOnlyList<string> Names { get; } = Table.Select(p => p.Name).ToArray();

    /// <summary>The proxy called <paramref name="name"/>; throws with the known names if there is none.</summary>
    public static IProxy Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Table.FirstOrDefault(p => p.Name == name.Trim())
            ?? throw new ArgumentException($"Unknown proxy '{name}'. Known proxies: {string.Join(", ", Names)}{Spelling.Suggestion(name.Trim(), Names)}.", nameof(name));
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
