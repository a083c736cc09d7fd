namespace NasSharp.Spaces;

/// <summary>
/// How to make a search space from settings: its name, one line on what it is, the settings it takes, and its factory.
/// <paramref name="ParseArchitecture"/> reads any genotype of the space's family for commands given one architecture
/// (<c>--arch</c>), whatever the sampling settings; by default the default space's <see cref="ISearchSpace.Parse"/>.
/// </summary>
public sealed record SpaceDefinition(
    string Name,
    string Summary,
    IReadOnlyList<SettingSpec> Settings,
    Func<Settings, ISearchSpace> Create,
    Func<string, IGenotype>? ParseArchitecture = null)
{
    /// <summary>The space of <paramref name="settings"/>; a setting of another space is an error.</summary>
    public ISearchSpace CreateFrom(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.RequireOnly(Settings, $"--space {Name}");
        return Create(settings);
    }

    public IGenotype Parse(string architecture) =>
        ParseArchitecture is { } parse ? parse(architecture) : Create(NasSharp.Settings.Empty).Parse(architecture);
}

/// <summary>
/// The search spaces NasSharp knows, in one explicit table: the only place that maps a space name to a space. A new space
/// is one file with its <see cref="SpaceDefinition"/> plus one line here (or <see cref="With"/> for a space of your own).
/// </summary>
public sealed class SpaceRegistry
{
    private readonly IReadOnlyList<SpaceDefinition> definitions;

    public SpaceRegistry(IEnumerable<SpaceDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        this.definitions = [.. definitions];
        var duplicate = this.definitions.GroupBy(d => d.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two spaces are named '{duplicate.Key}'.", nameof(definitions));
    }

    public static SpaceRegistry Default { get; } = new([MlpSpace.Definition, Nb201Space.Definition, DartsSpace.Definition, MobileNetSpace.Definition]);

    public IReadOnlyList<SpaceDefinition> Definitions => definitions;

    public IEnumerable<string> Names => definitions.Select(d => d.Name);

    /// <summary>This registry with <paramref name="definition"/> added.</summary>
    public SpaceRegistry With(SpaceDefinition definition) => new([.. definitions, definition]);

    public SpaceDefinition Get(string name) =>
        definitions.FirstOrDefault(d => d.Name == name)
        ?? throw new SettingException($"--space {name}: unknown space; known spaces: {string.Join(", ", Names)}{Spelling.Suggestion(name, Names)}.");

    /// <summary>The space <paramref name="name"/> with <paramref name="settings"/> (defaults for the rest).</summary>
    public ISearchSpace Create(string name, Settings? settings = null) => Get(name).CreateFrom(settings ?? Settings.Empty);

    /// <summary>A space again from what it reported as its <see cref="ISearchSpace.Settings"/> (e.g. read from a stored run).</summary>
    public ISearchSpace Recreate(string name, IReadOnlyDictionary<string, string> settings) =>
        Create(name, new Settings(settings.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value))));

    /// <summary>
    /// Every space's settings, one per name: a front end offers each once. Where spaces share a name, the description says
    /// what it means for each (e.g. <c>--cells</c>).
    /// </summary>
    public IReadOnlyList<SettingSpec> AllSettings() => MergeSettings(definitions.Select(d => (d.Name, d.Settings)));

    /// <summary>Settings of several owners merged by name; a shared name gets each owner's description and default.</summary>
    public static IReadOnlyList<SettingSpec> MergeSettings(IEnumerable<(string Owner, IReadOnlyList<SettingSpec> Settings)> owners)
    {
        var byName = new Dictionary<string, List<(string Owner, SettingSpec Spec)>>();
        var order = new List<string>();
        foreach (var (owner, settings) in owners)
            foreach (var spec in settings)
            {
                if (!byName.TryGetValue(spec.Name, out var list)) { byName[spec.Name] = list = []; order.Add(spec.Name); }
                list.Add((owner, spec));
            }
        return [.. order.Select(name =>
        {
            var list = byName[name];
            if (list.Count == 1)
                return list[0].Spec with { Description = $"{list[0].Owner}: {list[0].Spec.Description}" };
            if (list.Select(x => x.Spec.IsFlag).Distinct().Count() > 1)
                throw new InvalidOperationException($"--{name} is a flag for some owners and takes a value for others.");
            var description = string.Join("; ", list.Select(x => $"{x.Owner}: {x.Spec.Description}" + (x.Spec.Default is { } d ? $" (default {d})" : "")));
            return new SettingSpec(name, description, null, list[0].Spec.IsFlag);
        })];
    }
}
