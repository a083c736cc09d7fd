namespace NasSharp.Spaces;

/// <summary>What every relaxation supports on top of <see cref="IRelaxation"/>.</summary>
public static class RelaxationExtensions
{
    /// <summary>
    /// The discrete architectures the relaxation mixes: the genotype its default derivation gives for every one-hot choice
    /// of one operation per edge of every group, distinct, in mixed-radix order (the first edge varies fastest). The
    /// kernel and low-rank views of a relaxed search (<c>mkl</c>, <c>spectral</c>) weight these. Throws above
    /// <paramref name="limit"/> choices.
    /// </summary>
    public static IReadOnlyList<IGenotype> DiscreteArchitectures(this IRelaxation relaxation, int limit = 4096)
    {
        ArgumentNullException.ThrowIfNull(relaxation);
        var cells = relaxation.Groups.SelectMany((g, gi) => Enumerable.Range(0, g.Edges).Select(e => (Group: gi, Edge: e, Options: g.Operations.Count))).ToList();
        double total = cells.Aggregate(1.0, (p, c) => p * c.Options);
        if (total > limit)
            throw new ArgumentException($"The relaxation mixes {total:G6} discrete architectures, more than {limit}: search it by gradient (bilevel), or shrink the space (fewer layers or activations, --shared-alpha).");
        var seen = new HashSet<string>();
        var list = new List<IGenotype>();
        for (long index = 0; index < (long)total; index++)
        {
            var logits = relaxation.Groups.Select(g => new double[g.Edges, g.Operations.Count]).ToList();
            long rest = index;
            foreach (var (group, edge, options) in cells)
            {
                logits[group][edge, (int)(rest % options)] = 1;
                rest /= options;
            }
            var genotype = relaxation.Derive(logits);
            if (seen.Add(genotype.Canonical)) list.Add(genotype);
        }
        return list;
    }
}
