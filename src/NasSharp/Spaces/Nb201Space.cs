using System.Numerics;

namespace NasSharp.Spaces;

/// <summary>
/// The NAS-Bench-201 cell space: 5 operations on each of 6 edges, 5^6 = 15,625 cells, enumerated in
/// <see cref="Nb201Genotype.Index"/> order. With <see cref="DistinctUnder"/> set, the space lists one cell per
/// equivalence class instead (the lowest-index member): 6,466 under NAS-Bench-201's own definition,
/// 5,545 under <see cref="Nb201Equivalence.Computational"/>.
/// </summary>
public sealed class Nb201Space(Nb201Equivalence? distinctUnder = null) : ISearchSpace
{
    public const string Name = "nb201";

    private static readonly Lazy<Classes>[] ClassTables =
        [.. Enum.GetValues<Nb201Equivalence>().Select(e => new Lazy<Classes>(() => Classes.Build(e)))];

    /// <summary>When set, equivalent cells are listed, counted and sampled once.</summary>
    public Nb201Equivalence? DistinctUnder { get; } = distinctUnder is null || Enum.IsDefined(distinctUnder.Value) ? distinctUnder
        : throw new ArgumentOutOfRangeException(nameof(distinctUnder), distinctUnder, "Unknown equivalence.");

    public string SpaceName => Name;

    public BigInteger Count => DistinctUnder is { } e ? ClassCount(e) : Nb201Genotype.CellCount;

    /// <summary>Number of equivalence classes of the 15,625 cells.</summary>
    public static int ClassCount(Nb201Equivalence equivalence) => Table(equivalence).Representatives.Count;

    /// <summary>The lowest-index cell equivalent to <paramref name="genotype"/>.</summary>
    public static Nb201Genotype Representative(Nb201Genotype genotype, Nb201Equivalence equivalence)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        return Nb201Genotype.FromIndex(Table(equivalence).RepresentativeOf[genotype.Index]);
    }

    /// <summary>One cell per class, the lowest-index member, in index order.</summary>
    public static IReadOnlyList<Nb201Genotype> Representatives(Nb201Equivalence equivalence) => Table(equivalence).Representatives;

    public string Describe()
    {
        var classes = $"{ClassCount(Nb201Equivalence.NasBench201):N0} distinct under NAS-Bench-201's isomorphism, " +
                      $"{ClassCount(Nb201Equivalence.Computational):N0} computationally distinct";
        var listed = DistinctUnder is { } e ? $"; listing one cell per {(e == Nb201Equivalence.NasBench201 ? "NAS-Bench-201" : "computational")} class: {Count:N0}" : "";
        return $"nb201: NAS-Bench-201 cells, 4 nodes, 6 edges (node j takes inputs from nodes 0..j-1), " +
               $"operations {{{Nb201Operations.KnownTokens}}}; {Nb201Genotype.CellCount:N0} cells ({classes}){listed}";
    }

    IGenotype ISearchSpace.Parse(string text) => Parse(text);

    /// <summary>Every cell belongs to the space, also when it lists one cell per class.</summary>
    public Nb201Genotype Parse(string text) => Nb201Genotype.Parse(text);

    IGenotype ISearchSpace.Sample(Random rng) => Sample(rng);

    /// <summary>A uniform cell, or with <see cref="DistinctUnder"/> a uniform class (its representative).</summary>
    public Nb201Genotype Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (DistinctUnder is { } e)
        {
            var reps = Table(e).Representatives;
            return reps[rng.Next(reps.Count)];
        }
        return Nb201Genotype.FromIndex(rng.Next(Nb201Genotype.CellCount));
    }

    IGenotype ISearchSpace.Mutate(IGenotype genotype, Random rng) => Mutate(AsNb201(genotype), rng);

    /// <summary>
    /// Changes the operation of exactly one edge, uniformly over the 24 one-edge neighbours; with
    /// <see cref="DistinctUnder"/>, uniformly over the neighbours that fall in another class.
    /// </summary>
    public Nb201Genotype Mutate(Nb201Genotype genotype, Random rng)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        ArgumentNullException.ThrowIfNull(rng);
        var neighbours = new List<Nb201Genotype>(Nb201Genotype.EdgeCount * 4);
        for (int edge = 0; edge < Nb201Genotype.EdgeCount; edge++)
            foreach (var op in Nb201Operations.All)
                if (op != genotype.Operations[edge]) neighbours.Add(genotype.With(edge, op));
        if (DistinctUnder is { } e)
        {
            var classOf = Table(e).RepresentativeOf;
            int own = classOf[genotype.Index];
            neighbours.RemoveAll(n => classOf[n.Index] == own);
            if (neighbours.Count == 0)
                throw new InvalidOperationException($"No one-edge change of '{genotype}' leaves its equivalence class.");
        }
        return neighbours[rng.Next(neighbours.Count)];
    }

    IEnumerable<IGenotype> ISearchSpace.Enumerate() => Enumerate();

    /// <summary>All 15,625 cells in index order, or one per class (the representatives) with <see cref="DistinctUnder"/>.</summary>
    public IEnumerable<Nb201Genotype> Enumerate() =>
        DistinctUnder is { } e ? Table(e).Representatives : Enumerable.Range(0, Nb201Genotype.CellCount).Select(Nb201Genotype.FromIndex);

    private static Classes Table(Nb201Equivalence equivalence) =>
        Enum.IsDefined(equivalence) ? ClassTables[(int)equivalence].Value
            : throw new ArgumentOutOfRangeException(nameof(equivalence), equivalence, "Unknown equivalence.");

    private static Nb201Genotype AsNb201(IGenotype g) =>
        g as Nb201Genotype ?? throw new ArgumentException($"'{g.Canonical}' is a {g.Space} genotype, not an nb201 one.");

    private sealed record Classes(int[] RepresentativeOf, IReadOnlyList<Nb201Genotype> Representatives)
    {
        public static Classes Build(Nb201Equivalence equivalence)
        {
            var first = new Dictionary<string, int>(StringComparer.Ordinal);
            var representativeOf = new int[Nb201Genotype.CellCount];
            var representatives = new List<Nb201Genotype>();
            for (int i = 0; i < Nb201Genotype.CellCount; i++)
            {
                var g = Nb201Genotype.FromIndex(i);
                var key = g.EquivalenceKey(equivalence);
                if (!first.TryGetValue(key, out var rep))
                {
                    rep = i;
                    first.Add(key, i);
                    representatives.Add(g);
                }
                representativeOf[i] = rep;
            }
            return new Classes(representativeOf, representatives.AsReadOnly());
        }
    }
}
