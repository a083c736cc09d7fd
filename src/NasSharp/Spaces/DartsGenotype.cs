using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace NasSharp.Spaces;

/// <summary>One gene of a DARTS node: the node adds <paramref name="Operation"/> applied to state <paramref name="Input"/>.</summary>
/// <param name="Input">0 = the cell input c_{k-2}, 1 = c_{k-1}, 2 + j = intermediate node j.</param>
public readonly record struct DartsEdge(DartsOperation Operation, int Input)
{
    public override string ToString() => $"{Operation.Token()}~{Input.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// A DARTS architecture (Liu, Simonyan &amp; Yang, ICLR 2019, §2.1 and §2.4): a normal and a reduction cell, each with
/// intermediate nodes 0..3, node k = o₁(s_a) + o₂(s_b) over two distinct earlier states a, b &lt; k + 2 (states 0 and 1
/// are the cell inputs c_{k-2} and c_{k-1}, state 2 + j is node j), the cell output the concatenation of the four
/// nodes. Each node's two pairs are stored in canonical order (by input), so equal cells have one string:
/// <c>normal=op~a,op~b|…|…|…;reduce=…</c>. Operations never include <c>none</c>.
/// </summary>
public sealed record DartsGenotype : IGenotype
{
    public const int NodeCount = 4;
    /// <summary>Genes per cell: two per node.</summary>
    public const int GeneCount = 2 * NodeCount;
    /// <summary>Edges of a relaxed cell: node k has one from each of its k + 2 predecessors, 2 + 3 + 4 + 5.</summary>
    public const int MixedEdgeCount = 14;
    public const string ExpectedForm =
        "normal=op~a,op~b|op~a,op~b|op~a,op~b|op~a,op~b;reduce=(the same) (four nodes per cell separated by '|', two op~input pairs each; " +
        "node k = 0..3 takes two distinct inputs below k+2: 0 = c_{{k-2}}, 1 = c_{{k-1}}, 2+j = node j; op is one of {0})";
    public const string PythonForm =
        "Genotype(normal=[('op', input), … 8 pairs], normal_concat=range(2, 6), reduce=[… 8 pairs], reduce_concat=range(2, 6))";
    /// <summary>DARTS-V2, the published second-order cell (DARTS' <c>genotypes.py</c>).</summary>
    public const string Example =
        "normal=sep_conv_3x3~0,sep_conv_3x3~1|sep_conv_3x3~0,sep_conv_3x3~1|skip_connect~0,sep_conv_3x3~1|skip_connect~0,dil_conv_3x3~2;" +
        "reduce=max_pool_3x3~0,max_pool_3x3~1|max_pool_3x3~1,skip_connect~2|max_pool_3x3~0,skip_connect~2|max_pool_3x3~1,skip_connect~2";

    /// <summary>The edges (node, input) of a relaxed cell in DARTS' order: the rows of the architecture logits.</summary>
    public static IReadOnlyList<(int Node, int Input)> MixedEdges { get; } =
        [.. Enumerable.Range(0, NodeCount).SelectMany(k => Enumerable.Range(0, k + 2).Select(i => (k, i)))];

    /// <param name="normal">Eight genes, node k's at positions 2k and 2k + 1, in either order.</param>
    /// <param name="reduce">The same for the reduction cell.</param>
    public DartsGenotype(IEnumerable<DartsEdge> normal, IEnumerable<DartsEdge> reduce)
    {
        ArgumentNullException.ThrowIfNull(normal);
        ArgumentNullException.ThrowIfNull(reduce);
        Normal = Canonicalize([.. normal]);
        Reduce = Canonicalize([.. reduce]);
        if (CellProblem("normal", Normal) is { } n) throw new ArgumentException(n + ".", nameof(normal));
        if (CellProblem("reduce", Reduce) is { } r) throw new ArgumentException(r + ".", nameof(reduce));
    }

    /// <summary>The normal cell's genes: node k's two at 2k and 2k + 1, the lower input first.</summary>
    public ImmutableArray<DartsEdge> Normal { get; }

    /// <summary>The reduction cell's genes, in the same layout.</summary>
    public ImmutableArray<DartsEdge> Reduce { get; }

    public ImmutableArray<DartsEdge> Cell(bool reduction) => reduction ? Reduce : Normal;

    /// <summary>
    /// Degenerate when every edge of the normal cell is parameter-free (pooling, skip_connect, none): the normal cells, most
    /// of the network, then learn nothing, and only the two reduction cells, the stem and the classifier have weights.
    /// </summary>
    public string? Degeneracy =>
        Normal.All(e => e.Operation is DartsOperation.None or DartsOperation.MaxPool3x3 or DartsOperation.AvgPool3x3 or DartsOperation.SkipConnect)
            ? $"every edge of the normal cell is parameter-free ({string.Join(", ", Normal.GroupBy(e => e.Operation).OrderByDescending(g => g.Count()).Select(g => $"{g.Key.Token()} ×{g.Count()}"))}): the normal cells learn nothing"
            : null;

    public string Space => DartsSpace.Name;

    /// <summary>Row of edge (node ← input) in the [14, 8] logits: DARTS' order, node by node, inputs ascending.</summary>
    public static int EdgeIndex(int node, int input)
    {
        if (node is < 0 or >= NodeCount || input < 0 || input >= node + 2)
            throw new ArgumentOutOfRangeException(nameof(input), $"No edge {node}←{input}: node k (0..3) takes inputs 0..k+1.");
        return node * (node + 3) / 2 + input;
    }

    public string Canonical
    {
        get
        {
            var sb = new StringBuilder("normal=");
            AppendCell(sb, Normal);
            sb.Append(";reduce=");
            AppendCell(sb, Reduce);
            return sb.ToString();
        }
    }

    public override string ToString() => Canonical;

    /// <summary>The genotype as DARTS' Python code prints it, for pasting into DARTS-derived code.</summary>
    public string ToPython()
    {
        static string Genes(ImmutableArray<DartsEdge> cell) =>
            string.Join(", ", cell.Select(e => $"('{e.Operation.Token()}', {e.Input.ToString(CultureInfo.InvariantCulture)})"));
        return $"Genotype(normal=[{Genes(Normal)}], normal_concat=range(2, 6), reduce=[{Genes(Reduce)}], reduce_concat=range(2, 6))";
    }

    public bool Equals(DartsGenotype? other) => other is not null && Normal.SequenceEqual(other.Normal) && Reduce.SequenceEqual(other.Reduce);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var e in Normal) hash.Add(e);
        foreach (var e in Reduce) hash.Add(e);
        return hash.ToHashCode();
    }

    /// <summary>
    /// DARTS' derivation (§2.4; <c>Network.genotype()</c> in <c>model_search.py</c>): the logits of each edge go through a
    /// softmax over all eight operations; each node keeps the two incoming edges whose strongest operation other than
    /// <c>none</c> has the largest weight, each with that operation. Ties go to the lower edge and the lower operation
    /// (Python's stable sort and strict comparison in the reference).
    /// </summary>
    /// <param name="normalLogits">[14, 8]: rows in <see cref="MixedEdges"/> order, columns in <see cref="DartsOperation"/> order.</param>
    /// <param name="reduceLogits">The same for the reduction cell.</param>
    public static DartsGenotype Derive(double[,] normalLogits, double[,] reduceLogits) =>
        new(DeriveCell(normalLogits, nameof(normalLogits)), DeriveCell(reduceLogits, nameof(reduceLogits)));

    private static DartsEdge[] DeriveCell(double[,] logits, string name)
    {
        ArgumentNullException.ThrowIfNull(logits, name);
        int ops = DartsPrimitives.All.Count;
        if (logits.GetLength(0) != MixedEdgeCount || logits.GetLength(1) != ops)
            throw new ArgumentException($"DARTS logits of a cell are [{MixedEdgeCount}, {ops}] (edges × operations {DartsPrimitives.KnownTokens}), got [{logits.GetLength(0)}, {logits.GetLength(1)}].", name);
        var weights = new double[MixedEdgeCount, ops];
        for (int e = 0; e < MixedEdgeCount; e++)
        {
            double max = double.NegativeInfinity;
            for (int o = 0; o < ops; o++)
            {
                if (!double.IsFinite(logits[e, o]))
                    throw new ArgumentException($"Logit [{e}, {o}] is {logits[e, o]}; a derivation needs finite logits.", name);
                max = Math.Max(max, logits[e, o]);
            }
            double sum = 0;
            for (int o = 0; o < ops; o++) sum += weights[e, o] = Math.Exp(logits[e, o] - max);
            for (int o = 0; o < ops; o++) weights[e, o] /= sum;
        }

        int BestOperation(int e)
        {
            int best = (int)DartsOperation.None + 1;
            for (int o = best + 1; o < ops; o++)
                if (weights[e, o] > weights[e, best]) best = o;
            return best;
        }

        var genes = new DartsEdge[GeneCount];
        for (int k = 0; k < NodeCount; k++)
        {
            // OrderByDescending is stable: equal strengths keep the lower input first.
            var kept = Enumerable.Range(0, k + 2)
                .Select(i => (Input: i, Op: BestOperation(EdgeIndex(k, i))))
                .OrderByDescending(c => weights[EdgeIndex(k, c.Input), c.Op])
                .Take(2).ToArray();
            genes[2 * k] = new DartsEdge((DartsOperation)kept[0].Op, kept[0].Input);
            genes[2 * k + 1] = new DartsEdge((DartsOperation)kept[1].Op, kept[1].Input);
        }
        return genes;
    }

    /// <summary>
    /// Parses the canonical form (the two pairs of a node may come in either order; surrounding whitespace is ignored) or
    /// the repr of DARTS' <c>Genotype</c> namedtuple as papers print it, optionally with its assignment
    /// (<c>DARTS_V2 = Genotype(normal=[('sep_conv_3x3', 0), …], normal_concat=[2, 3, 4, 5], reduce=[…], reduce_concat=range(2, 6))</c>).
    /// </summary>
    public static DartsGenotype Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Contains('(') ? new ReprParser(text).Read() : ParseCanonical(text);
    }

    private static string Expected => string.Format(CultureInfo.InvariantCulture, ExpectedForm, DartsPrimitives.CandidateTokens);

    private static DartsGenotype ParseCanonical(string text)
    {
        GenotypeFormatException Fail(string why) =>
            new($"Malformed darts genotype {GenotypeFormatException.Quote(text)}: {why}. Expected {Expected}, e.g. {Example}; or DARTS' {PythonForm}");
        static string Q(ReadOnlySpan<char> part) => GenotypeFormatException.Quote(part);
        static string Plural(int n, string noun) => $"{n:N0} {noun}{(n == 1 ? "" : "s")}";

        // Read in place, counting separators before splitting: what a parse allocates does not grow with the input.
        var s = text.AsSpan().Trim();
        if (s.Length == 0) throw Fail("it is empty");
        int cellCount = s.Count(';') + 1;
        if (cellCount != 2)
            throw Fail($"it has {Plural(cellCount, "part")} separated by ';', a darts genotype has 2 (normal=…;reduce=…)");
        var parsed = new ImmutableArray<DartsEdge>[2];
        string[] names = ["normal", "reduce"];
        int c = 0;
        foreach (var cellRange in s.Split(';'))
        {
            var cell = s[cellRange];
            var prefix = names[c] + "=";
            if (!cell.StartsWith(prefix, StringComparison.Ordinal))
                throw Fail($"part {c + 1} {Q(cell)} must start with '{prefix}'");
            var body = cell[prefix.Length..];
            int nodeCount = body.Count('|') + 1;
            if (nodeCount != NodeCount)
                throw Fail($"the {names[c]} cell has {Plural(nodeCount, "node group")} separated by '|', DARTS cells have {NodeCount}");
            var genes = new List<(string Op, int Input)>(GeneCount);
            int k = 0;
            foreach (var nodeRange in body.Split('|'))
            {
                var node = body[nodeRange];
                int pairCount = node.Count(',') + 1;
                if (pairCount != 2)
                    throw Fail($"node {k} of the {names[c]} cell, {Q(node)}, has {Plural(pairCount, "pair")} separated by ',', DARTS nodes have 2");
                foreach (var pairRange in node.Split(','))
                {
                    var pair = node[pairRange];
                    int tilde = pair.IndexOf('~');
                    if (tilde < 0 || pair[(tilde + 1)..].Contains('~'))
                        throw Fail($"{Q(pair)} in node {k} of the {names[c]} cell is not of the form op~input");
                    var input = pair[(tilde + 1)..];
                    if (!GenotypeNumber.TryParse(input, out var i))
                        throw Fail($"{Q(pair)} in node {k} of the {names[c]} cell has input {Q(input)}, which is not a state number");
                    genes.Add((pair[..tilde].ToString(), i));
                }
                k++;
            }
            parsed[c] = CellFrom(names[c], genes, Fail);
            c++;
        }
        return new DartsGenotype(parsed[0], parsed[1]);
    }

    /// <summary>Checks operation names and the cell's structure, raising <paramref name="fail"/> with the first problem.</summary>
    private static ImmutableArray<DartsEdge> CellFrom(string cell, IReadOnlyList<(string Op, int Input)> genes, Func<string, GenotypeFormatException> fail)
    {
        if (genes.Count != GeneCount)
            throw fail($"the {cell} cell has {genes.Count} (op, input) pairs, DARTS cells have {GeneCount} (two for each of {NodeCount} nodes)");
        var edges = new DartsEdge[GeneCount];
        for (int g = 0; g < GeneCount; g++)
        {
            if (!DartsPrimitives.TryParse(genes[g].Op, out var op))
                throw fail($"node {g / 2} of the {cell} cell has unknown operation {GenotypeFormatException.Quote(genes[g].Op)} (known: {DartsPrimitives.KnownTokens})");
            edges[g] = new DartsEdge(op, genes[g].Input);
        }
        var canonical = Canonicalize(edges);
        return CellProblem(cell, canonical) is { } problem ? throw fail(problem) : canonical;
    }

    /// <summary>Why the genes do not form a DARTS cell, or null.</summary>
    private static string? CellProblem(string cell, ImmutableArray<DartsEdge> genes)
    {
        if (genes.Length != GeneCount)
            return $"The {cell} cell has {genes.Length} genes, DARTS cells have {GeneCount} (two for each of {NodeCount} nodes)";
        for (int g = 0; g < GeneCount; g++)
        {
            var (op, input) = (genes[g].Operation, genes[g].Input);
            int k = g / 2;
            if (!Enum.IsDefined(op))
                return $"node {k} of the {cell} cell has operation {(int)op}, not a DARTS operation";
            if (op == DartsOperation.None)
                return $"node {k} of the {cell} cell uses 'none', which a derived DARTS cell never contains (the derivation skips it); choose one of the other operations";
            if (input < 0 || input >= k + 2)
                return $"node {k} of the {cell} cell takes input {input}, but node {k} takes inputs 0..{k + 1} only (0 = c_{{k-2}}, 1 = c_{{k-1}}, 2+j = node j)";
        }
        for (int k = 0; k < NodeCount; k++)
            if (genes[2 * k].Input == genes[2 * k + 1].Input)
                return $"node {k} of the {cell} cell takes input {genes[2 * k].Input} twice; a DARTS node combines two distinct inputs";
        return null;
    }

    /// <summary>Orders each node's two genes by input, then operation; leaves the array alone if it has the wrong length.</summary>
    private static ImmutableArray<DartsEdge> Canonicalize(DartsEdge[] genes)
    {
        if (genes.Length == GeneCount)
            for (int k = 0; k < NodeCount; k++)
                if ((genes[2 * k].Input, (int)genes[2 * k].Operation).CompareTo((genes[2 * k + 1].Input, (int)genes[2 * k + 1].Operation)) > 0)
                    (genes[2 * k], genes[2 * k + 1]) = (genes[2 * k + 1], genes[2 * k]);
        return [.. genes];
    }

    private static void AppendCell(StringBuilder sb, ImmutableArray<DartsEdge> genes)
    {
        for (int k = 0; k < NodeCount; k++)
        {
            if (k > 0) sb.Append('|');
            sb.Append(genes[2 * k]).Append(',').Append(genes[2 * k + 1]);
        }
    }

    /// <summary>
    /// A reader of the Python repr <c>[NAME =] Genotype(normal=[('op', i), …], normal_concat=…, reduce=[…], reduce_concat=…)</c>,
    /// keywords in any order, the concats optional but, when given, nodes 2..5 (<c>range(2, 6)</c> or <c>[2, 3, 4, 5]</c>).
    /// </summary>
    private sealed class ReprParser(string text)
    {
        private int pos;

        private const string ConcatRule = "but cells of this space concatenate all four intermediate nodes, states 2..5 (range(2, 6))";

        private GenotypeFormatException Fail(string why) =>
            new($"Malformed darts genotype {GenotypeFormatException.Quote(text)}: {why}. Expected {PythonForm} with op one of {DartsPrimitives.CandidateTokens}, or the canonical {Expected}");

        private GenotypeFormatException FailHere(string expected) =>
            Fail(pos < text.Length ? $"expected {expected} at character {pos + 1:N0}, found {Q(text.AsSpan(pos, 1))}" : $"expected {expected}, but the text ends");

        private static string Q(ReadOnlySpan<char> part) => GenotypeFormatException.Quote(part);

        public DartsGenotype Read()
        {
            var name = Identifier("'Genotype'");
            if (name != "Genotype")
            {
                Expect('=', "'=' or 'Genotype('");
                name = Identifier("'Genotype'");
            }
            if (name != "Genotype") throw Fail($"it calls {Q(name)}, not Genotype(...)");
            Expect('(', "'('");
            var cells = new Dictionary<string, List<(string, int)>>();
            var seen = new HashSet<string>();
            while (true)
            {
                var key = Identifier("a keyword (normal, normal_concat, reduce, reduce_concat)");
                if (!seen.Add(key)) throw Fail($"{Q(key)} is given twice");
                Expect('=', $"'=' after {Q(key)}");
                switch (key)
                {
                    case "normal" or "reduce":
                        cells[key] = Genes(key);
                        break;
                    case "normal_concat" or "reduce_concat":
                        Concat(key);
                        break;
                    default:
                        throw Fail($"unknown keyword {Q(key)} (a Genotype has normal, normal_concat, reduce, reduce_concat)");
                }
                if (Accept(','))
                {
                    if (Accept(')')) break;
                    continue;
                }
                Expect(')', "',' or ')'");
                break;
            }
            SkipSpace();
            if (pos < text.Length) throw Fail($"unexpected text after the closing parenthesis at character {pos + 1}");
            foreach (var key in new[] { "normal", "reduce" })
                if (!cells.ContainsKey(key)) throw Fail($"it has no {key}=[...] list");
            return new DartsGenotype(CellFrom("normal", cells["normal"], Fail), CellFrom("reduce", cells["reduce"], Fail));
        }

        private List<(string, int)> Genes(string key)
        {
            var genes = new List<(string, int)>();
            Expect('[', $"'[' opening the {key} list");
            if (Accept(']')) return genes;
            while (true)
            {
                Expect('(', $"'(' opening an ('op', input) pair of {key}");
                var op = Quoted();
                Expect(',', $"',' after {Q(op)} in {key}");
                var input = Integer($"the input state of {Q(op)} in {key}");
                if (!Accept(')'))
                    throw Fail($"a pair of {key} that starts ({Q(op)}, {input}) has more than two entries or lacks ')' at character {pos + 1:N0}; pairs are ('op', input)");
                genes.Add((op, input));
                // Stop at the first pair too many, so a long list is never held.
                if (genes.Count > GeneCount)
                    throw Fail($"the {key} cell has more than {GeneCount} (op, input) pairs, DARTS cells have {GeneCount} (two for each of {NodeCount} nodes)");
                if (Accept(','))
                {
                    if (Accept(']')) return genes;
                    continue;
                }
                Expect(']', $"',' or ']' in the {key} list");
                return genes;
            }
        }

        /// <summary>
        /// Reads <c>[2, 3, 4, 5]</c> or <c>range(2, 6)</c> and refuses anything else without enumerating it: a range is
        /// compared by its ends (<c>range(0, 2147483647)</c> would be two billion states), a list stops at its fifth state.
        /// </summary>
        private void Concat(string key)
        {
            SkipSpace();
            if (Accept('['))
            {
                var values = new List<int>(NodeCount);
                if (!Accept(']'))
                    while (true)
                    {
                        values.Add(Integer($"a state number in {key}"));
                        if (values.Count > NodeCount) throw Fail($"{key} lists more than {NodeCount} states, {ConcatRule}");
                        if (Accept(','))
                        {
                            if (Accept(']')) break;
                            continue;
                        }
                        Expect(']', $"',' or ']' in {key}");
                        break;
                    }
                if (!values.SequenceEqual([2, 3, 4, 5])) throw Fail($"{key} is [{string.Join(", ", values)}], {ConcatRule}");
                return;
            }
            var name = Identifier($"range(2, 6) or [2, 3, 4, 5] for {key}");
            if (name != "range") throw Fail($"{key} is {Q(name)}…; expected range(2, 6) or [2, 3, 4, 5]");
            Expect('(', "'(' after range");
            int start = Integer("the start of the range");
            Expect(',', "',' in range(start, stop)");
            int stop = Integer("the stop of the range");
            Expect(')', "')' closing range(start, stop)");
            if ((start, stop) != (2, 2 + NodeCount)) throw Fail($"{key} is range({start}, {stop}), {ConcatRule}");
        }

        private void SkipSpace()
        {
            while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
        }

        private bool Accept(char c)
        {
            SkipSpace();
            if (pos < text.Length && text[pos] == c) { pos++; return true; }
            return false;
        }

        private void Expect(char c, string what)
        {
            if (!Accept(c)) throw FailHere(what);
        }

        private string Identifier(string what)
        {
            SkipSpace();
            int start = pos;
            while (pos < text.Length && (char.IsAsciiLetterOrDigit(text[pos]) || text[pos] == '_')) pos++;
            if (pos == start || char.IsAsciiDigit(text[start])) { pos = start; throw FailHere(what); }
            return text[start..pos];
        }

        private string Quoted()
        {
            SkipSpace();
            if (pos >= text.Length || (text[pos] != '\'' && text[pos] != '"')) throw FailHere("a quoted operation name");
            char quote = text[pos];
            int end = text.IndexOf(quote, pos + 1);
            if (end < 0) throw Fail($"the quote at character {pos + 1} is never closed");
            var s = text[(pos + 1)..end];
            pos = end + 1;
            return s;
        }

        private int Integer(string what)
        {
            SkipSpace();
            int start = pos;
            while (pos < text.Length && char.IsAsciiDigit(text[pos])) pos++;
            if (pos == start) throw FailHere(what);
            if (!int.TryParse(text.AsSpan(start, pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                throw Fail($"{what} at character {start + 1:N0} is {Q(text.AsSpan(start, pos - start))}, too large a number");
            return value;
        }
    }
}
