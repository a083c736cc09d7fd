using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace NasSharp.Spaces;

/// <summary>When two NAS-Bench-201 cells count as the same architecture.</summary>
public enum Nb201Equivalence
{
    /// <summary>
    /// NAS-Bench-201's own de-isomorphism, <c>Structure.to_unique_str(consider_zero=True)</c> in AutoDL-Projects
    /// (<c>xautodl/models/cell_searchs/genotypes.py</c>): a node is the sorted '+'-join of its incoming terms,
    /// <c>skip_connect</c> passes its input's string through, <c>none</c> or an input that is exactly '#' gives
    /// '#', any other op gives <c>(input)@op</c>. 6,466 classes over the 15,625 cells, the number the benchmark's
    /// papers cite. It is an approximation both ways: zero terms stay in sums ('#+x' ≠ 'x') and sums spliced in
    /// through a skip are joined as strings rather than re-sorted as terms, so some equal computations stay apart;
    /// and a convolution of an all-zero node counts as zero, although ReLU–Conv–BN of zeros is BN's learnable
    /// shift, so 101 of its classes merge cells that compute differently.
    /// </summary>
    NasBench201,

    /// <summary>
    /// The same computation graph up to relabelling the weights, each parameterised op taken as an arbitrary
    /// function: a node is the multiset of its terms (<c>op(input-terms)</c>, or the input's own terms through
    /// <c>skip_connect</c>); <c>none</c> edges contribute nothing; an all-zero node stays zero through
    /// <c>skip_connect</c> and <c>avg_pool_3x3</c> but a convolution of it is a term of its own (BN's shift); only
    /// what reaches node 3 matters. 5,545 classes. Linearity of average pooling beyond zero is not used.
    /// </summary>
    Computational,
}

/// <summary>
/// A NAS-Bench-201 cell (Dong &amp; Yang, ICLR 2020): nodes 0..3, node j = Σ_{i&lt;j} op_{j←i}(node i), output node 3.
/// The six operations are stored in the order of the canonical string
/// <c>|op~0|+|op~0|op~1|+|op~0|op~1|op~2|</c>: edges (1←0), (2←0), (2←1), (3←0), (3←1), (3←2).
/// </summary>
public sealed record Nb201Genotype : IGenotype
{
    public const int NodeCount = 4;
    public const int EdgeCount = 6;
    /// <summary>5^6 cells.</summary>
    public const int CellCount = 15_625;
    public const string ExpectedForm = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| (node j takes one edge from each of nodes 0..j-1; op is one of {0})";
    public const string Example = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";

    /// <summary>The edges (to, from) in canonical order.</summary>
    public static IReadOnlyList<(int To, int From)> Edges { get; } = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

    public Nb201Genotype(IEnumerable<Nb201Operation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        Operations = operations.ToImmutableArray();
        if (Operations.Length != EdgeCount)
            throw new ArgumentException($"An NB201 cell has {EdgeCount} edges, got {Operations.Length} operations.", nameof(operations));
        foreach (var op in Operations)
            if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(operations), op, "Not an NB201 operation.");
    }

    /// <summary>
    /// Degenerate when no path from the cell's input (node 0) to its output (node 3) over edges other than <c>none</c> has a
    /// convolution: the output is then zero, or the input passed through skips and pooling, and the cells' weights (all in
    /// convolutions) cannot change what the network computes.
    /// </summary>
    public string? Degeneracy
    {
        get
        {
            // reached[n]: some non-none path 0 → n; convolved[n]: one of them has a convolution.
            var reached = new bool[4];
            var convolved = new bool[4];
            reached[0] = true;
            for (int e = 0; e < EdgeCount; e++)
            {
                var (to, from) = Edges[e];
                var op = Operations[e];
                if (op == Nb201Operation.None || !reached[from]) continue;
                reached[to] = true;
                convolved[to] |= convolved[from] || op is Nb201Operation.NorConv1x1 or Nb201Operation.NorConv3x3;
            }
            if (!reached[3]) return "the cell's output is zero: every path from its input to its output has a none edge";
            return convolved[3] ? null
                : "no path from the cell's input to its output has a convolution: the cell is parameter-free (skips and pooling only), so its weights cannot change what the network computes";
        }
    }

    /// <summary>One operation per edge, in the order of <see cref="Edges"/>.</summary>
    public ImmutableArray<Nb201Operation> Operations { get; }

    public string Space => Nb201Space.Name;

    /// <summary>The operation on edge (to ← from), 0 ≤ from &lt; to ≤ 3.</summary>
    public Nb201Operation this[int to, int from] => Operations[EdgeIndex(to, from)];

    /// <summary>Position of edge (to ← from) in <see cref="Edges"/>.</summary>
    public static int EdgeIndex(int to, int from)
    {
        if (to is < 1 or > 3 || from < 0 || from >= to)
            throw new ArgumentOutOfRangeException(nameof(from), $"No edge {to}←{from}: node j (1..3) takes inputs from nodes 0..j-1.");
        return to * (to - 1) / 2 + from;
    }

    /// <summary>
    /// Position in <see cref="Nb201Space"/>'s enumeration: the operations read as a base-5 number, edge (1←0) the
    /// most significant digit, digits in <see cref="Nb201Operation"/> order. Not the benchmark table's index.
    /// </summary>
    public int Index
    {
        get
        {
            int index = 0;
            foreach (var op in Operations) index = index * 5 + (int)op;
            return index;
        }
    }

    public static Nb201Genotype FromIndex(int index)
    {
        if (index is < 0 or >= CellCount)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"An nb201 space index is in 0..{CellCount - 1}.");
        var ops = new Nb201Operation[EdgeCount];
        for (int e = EdgeCount - 1; e >= 0; e--) { ops[e] = (Nb201Operation)(index % 5); index /= 5; }
        return new Nb201Genotype(ops);
    }

    /// <summary>This cell with edge <paramref name="edge"/> (position in <see cref="Edges"/>) set to <paramref name="op"/>.</summary>
    public Nb201Genotype With(int edge, Nb201Operation op) => new(Operations.SetItem(edge, op));

    /// <summary>
    /// The cell a relaxed search's logits [6, 5] select: per edge the operation of the largest logit (the lowest index on
    /// ties); with <paramref name="excludeNone"/>, the largest among the operations other than <c>none</c>, as DARTS derives
    /// its cells (Liu, Simonyan &amp; Yang, ICLR 2019, arXiv 1806.09055, Sec. 2.4). Why that rule suits NASI's logits: under
    /// Gumbel-softmax weights w = softmax((α + g)/τ) none's output is zero, so its component of ∇_α R is
    /// −(w_none/τ) Σ_o w_o ∂R/∂w_o, the derivative of R along scaling the whole edge (tested): it says how large the edge
    /// should be, not which operation it should be.
    /// </summary>
    public static Nb201Genotype Derive(double[,] logits, bool excludeNone)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.GetLength(0) != EdgeCount || logits.GetLength(1) != Nb201Operations.All.Count)
            throw new ArgumentException($"NB201 logits are one [{EdgeCount}, {Nb201Operations.All.Count}] array (edges × operations {Nb201Operations.KnownTokens}), got [{logits.GetLength(0)}, {logits.GetLength(1)}].", nameof(logits));
        int first = excludeNone ? (int)Nb201Operation.None + 1 : 0;
        var ops = new Nb201Operation[EdgeCount];
        for (int e = 0; e < ops.Length; e++)
        {
            int best = first;
            for (int o = first + 1; o < logits.GetLength(1); o++)
                if (logits[e, o] > logits[e, best]) best = o;
            ops[e] = (Nb201Operation)best;
        }
        return new Nb201Genotype(ops);
    }

    public string Canonical
    {
        get
        {
            var sb = new StringBuilder();
            for (int to = 1; to < NodeCount; to++)
            {
                if (to > 1) sb.Append('+');
                sb.Append('|');
                for (int from = 0; from < to; from++)
                    sb.Append(this[to, from].Token()).Append('~').Append(from).Append('|');
            }
            return sb.ToString();
        }
    }

    public override string ToString() => Canonical;

    public bool Equals(Nb201Genotype? other) => other is not null && Operations.SequenceEqual(other.Operations);

    public override int GetHashCode() => Index;

    /// <summary>A string equal for two cells exactly when they are equivalent under <paramref name="equivalence"/>.</summary>
    public string EquivalenceKey(Nb201Equivalence equivalence) => equivalence switch
    {
        Nb201Equivalence.NasBench201 => NasBench201Key(),
        Nb201Equivalence.Computational => ComputationalKey(),
        _ => throw new ArgumentOutOfRangeException(nameof(equivalence), equivalence, "Unknown equivalence."),
    };

    // Structure.to_unique_str(consider_zero=True), AutoDL-Projects xautodl/models/cell_searchs/genotypes.py.
    private string NasBench201Key()
    {
        var nodes = new string[NodeCount];
        nodes[0] = "0";
        for (int to = 1; to < NodeCount; to++)
        {
            var terms = new List<string>(to);
            for (int from = 0; from < to; from++)
            {
                var op = this[to, from];
                terms.Add(op == Nb201Operation.None || nodes[from] == "#" ? "#"
                    : op == Nb201Operation.SkipConnect ? nodes[from]
                    : $"({nodes[from]})@{op.Token()}");
            }
            terms.Sort(StringComparer.Ordinal); // Python's sorted() on str: code-point order
            nodes[to] = string.Join("+", terms);
        }
        return nodes[NodeCount - 1];
    }

    private string ComputationalKey()
    {
        // Each node as a sorted multiset of terms; an empty multiset is the zero tensor.
        var nodes = new List<string>[NodeCount];
        nodes[0] = ["x"];
        for (int to = 1; to < NodeCount; to++)
        {
            var terms = new List<string>();
            for (int from = 0; from < to; from++)
            {
                var op = this[to, from];
                bool zeroInput = nodes[from].Count == 0;
                if (op == Nb201Operation.None || (zeroInput && !op.IsConvolution())) continue; // 0, skip(0), pool(0) are 0
                if (op == Nb201Operation.SkipConnect) terms.AddRange(nodes[from]);
                else terms.Add($"{op.Token()}({(zeroInput ? "0" : string.Join("+", nodes[from]))})");
            }
            terms.Sort(StringComparer.Ordinal);
            nodes[to] = terms;
        }
        return nodes[NodeCount - 1].Count == 0 ? "0" : string.Join("+", nodes[NodeCount - 1]);
    }

    /// <summary>
    /// Parses an arch string. The canonical form parses back exactly; a node's edges may also be listed in any
    /// order (<c>|skip_connect~1|none~0|</c>), as NAS-Bench-201's own parser allows. Surrounding whitespace is ignored.
    /// The string is read in place: a failure stops at the first wrong group or edge, so a parse allocates little
    /// however long the input.
    /// </summary>
    public static Nb201Genotype Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string Fail(string why) =>
            $"Malformed nb201 architecture {GenotypeFormatException.Quote(text)}: {why}. Expected {string.Format(CultureInfo.InvariantCulture, ExpectedForm, Nb201Operations.KnownTokens)}, e.g. {Example}";
        static string Q(ReadOnlySpan<char> part) => GenotypeFormatException.Quote(part);

        var s = text.AsSpan().Trim();
        if (s.Length == 0) throw new GenotypeFormatException(Fail("it is empty"));
        int groupCount = s.Count('+') + 1;
        if (groupCount != NodeCount - 1)
            throw new GenotypeFormatException(Fail($"it has {groupCount:N0} node group{(groupCount == 1 ? "" : "s")} separated by '+', NB201 cells have 3 (nodes 1, 2, 3)"));

        var ops = new Nb201Operation?[EdgeCount];
        int edges = 0, to = 0;
        foreach (var groupRange in s.Split('+'))
        {
            to++;
            var group = s[groupRange];
            if (group.Length < 2 || group[0] != '|' || group[^1] != '|')
                throw new GenotypeFormatException(Fail($"node {to}'s group {Q(group)} must start and end with '|'"));
            var inner = group[1..^1];
            foreach (var edgeRange in inner.Split('|'))
            {
                var edge = inner[edgeRange];
                if (edge.Length == 0)
                    throw new GenotypeFormatException(Fail($"node {to}'s group {Q(group)} has an empty edge between '|' bars"));
                int tilde = edge.IndexOf('~');
                if (tilde < 0 || edge[(tilde + 1)..].Contains('~'))
                    throw new GenotypeFormatException(Fail($"edge {Q(edge)} into node {to} is not of the form op~input"));
                if (!Nb201Operations.TryParse(edge[..tilde], out var op))
                    throw new GenotypeFormatException(Fail($"edge {Q(edge)} into node {to} has unknown operation {Q(edge[..tilde])} (known: {Nb201Operations.KnownTokens})"));
                var input = edge[(tilde + 1)..];
                if (!GenotypeNumber.TryParse(input, out var from))
                    throw new GenotypeFormatException(Fail($"edge {Q(edge)} into node {to} has input {Q(input)}, which is not a node number"));
                if (from >= to)
                    throw new GenotypeFormatException(Fail($"edge {Q(edge)} feeds node {to} from node {from}, but node {to} takes inputs from nodes 0..{to - 1} only"));
                int e = EdgeIndex(to, from);
                if (ops[e] is not null)
                    throw new GenotypeFormatException(Fail($"node {to} has two edges from node {from}"));
                ops[e] = op;
                edges++;
            }
        }
        if (edges != EdgeCount)
        {
            var missing = Enumerable.Range(0, EdgeCount).Where(e => ops[e] is null).Select(e => $"{Edges[e].To}←{Edges[e].From}");
            throw new GenotypeFormatException(Fail($"it has {edges} edges, NB201 cells need {EdgeCount} (missing {string.Join(", ", missing)})"));
        }
        return new Nb201Genotype(ops.Select(o => o!.Value));
    }
}
