using System.Collections.Immutable;
using System.Text;

namespace NasSharp.Spaces;

/// <summary>
/// One hidden layer of an <c>mlp</c> genotype: its activation and the earlier hidden layers (1-based)
/// whose outputs are added to its own ("deep layer skip", Zhu et al., NeurIPS 2022): x_l = σ_l(W_l x_{l−1}) + Σ_{j∈S_l} x_j.
/// </summary>
public sealed record MlpLayer(Activation Activation, ImmutableArray<int> Skips)
{
    public bool Equals(MlpLayer? other) =>
        other is not null && Activation == other.Activation && Skips.SequenceEqual(other.Skips);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Activation);
        foreach (var s in Skips) h.Add(s);
        return h.ToHashCode();
    }
}

/// <summary>
/// A fully connected / residual network of the activation + skip-connection search space of Zhu, Liu, Chrysos &amp; Cevher (NeurIPS 2022, arXiv 2209.07238).
/// Canonical form: <c>w256/relu-tanh+1-gelu+1+2</c> — the hidden width, then one token per hidden layer,
/// each an activation optionally followed by <c>+j</c> for every earlier layer j whose output it adds.
/// A plain FC net has no skips; a standard residual net has <c>+(l−1)</c> on every layer l ≥ 2.
/// </summary>
public sealed record MlpGenotype : IGenotype
{
    public const string ExpectedForm = "w<width>/<act>[+j...]-<act>[+j...]-..., e.g. w256/relu-tanh+1-gelu+1+2 (activations: {0})";

    public MlpGenotype(int width, IEnumerable<MlpLayer> layers)
    {
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be at least 1.");
        Width = width;
        Layers = layers.ToImmutableArray();
        if (Layers.Length == 0) throw new ArgumentException("An mlp genotype needs at least one hidden layer.", nameof(layers));
        for (int l = 0; l < Layers.Length; l++)
        {
            var skips = Layers[l].Skips;
            for (int i = 0; i < skips.Length; i++)
            {
                // Skips come from earlier hidden layers only (the input has another width), strictly increasing.
                if (skips[i] < 1 || skips[i] > l)
                    throw new ArgumentException($"Layer {l + 1} cannot take a skip from layer {skips[i]}: skips must come from earlier hidden layers 1..{l}.");
                if (i > 0 && skips[i] <= skips[i - 1])
                    throw new ArgumentException($"Layer {l + 1}: skips must be distinct and in increasing order, got +{string.Join("+", skips)}.");
            }
        }
    }

    public int Width { get; }
    public ImmutableArray<MlpLayer> Layers { get; }
    public int Depth => Layers.Length;
    public string Space => MlpSpace.Name;

    public string Canonical
    {
        get
        {
            var sb = new StringBuilder().Append('w').Append(Width).Append('/');
            for (int l = 0; l < Layers.Length; l++)
            {
                if (l > 0) sb.Append('-');
                sb.Append(Layers[l].Activation.Token());
                foreach (var s in Layers[l].Skips) sb.Append('+').Append(s);
            }
            return sb.ToString();
        }
    }

    public override string ToString() => Canonical;

    public bool Equals(MlpGenotype? other) =>
        other is not null && Width == other.Width && Layers.SequenceEqual(other.Layers);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Width);
        foreach (var l in Layers) h.Add(l);
        return h.ToHashCode();
    }

    /// <summary>Parses the canonical form; the message of a failure shows the expected form.</summary>
    public static MlpGenotype Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string Fail(string why) => $"Malformed mlp architecture '{text}': {why}. Expected {string.Format(ExpectedForm, Activations.KnownTokens)}.";

        var slash = text.IndexOf('/');
        if (slash < 0 || text.Length < 3 || text[0] != 'w')
            throw new GenotypeFormatException(Fail("it must start with the width, 'w<width>/'"));
        if (!int.TryParse(text.AsSpan(1, slash - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var width) || width < 1
            || text[1] == '0')
            throw new GenotypeFormatException(Fail($"'{text[..slash]}' is not a positive width"));
        var body = text[(slash + 1)..];
        if (body.Length == 0) throw new GenotypeFormatException(Fail("it has no layers"));

        var layers = new List<MlpLayer>();
        foreach (var token in body.Split('-'))
        {
            int layerNo = layers.Count + 1;
            var parts = token.Split('+');
            if (!Activations.TryParse(parts[0], out var act))
                throw new GenotypeFormatException(Fail($"layer {layerNo} has unknown activation '{parts[0]}'"));
            var skips = new List<int>();
            foreach (var p in parts.Skip(1))
            {
                if (!int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var j)
                    || p.Length == 0 || (p.Length > 1 && p[0] == '0'))
                    throw new GenotypeFormatException(Fail($"layer {layerNo} has skip '+{p}', which is not a layer number"));
                if (j < 1 || j >= layerNo)
                    throw new GenotypeFormatException(Fail($"layer {layerNo} takes a skip from layer {j}, but skips must come from earlier layers 1..{layerNo - 1}"));
                if (skips.Count > 0 && j <= skips[^1])
                    throw new GenotypeFormatException(Fail($"layer {layerNo} lists skips out of order or twice; write them increasing"));
                skips.Add(j);
            }
            layers.Add(new MlpLayer(act, [.. skips]));
        }
        return new MlpGenotype(width, layers);
    }

    /// <summary>Plain fully connected network: no skips.</summary>
    public static MlpGenotype Plain(int width, params Activation[] activations) =>
        new(width, activations.Select(a => new MlpLayer(a, [])));

    /// <summary>Standard residual network: every layer from the second on adds its input.</summary>
    public static MlpGenotype Residual(int width, params Activation[] activations) =>
        new(width, activations.Select((a, i) => new MlpLayer(a, i == 0 ? [] : [i])));

    /// <summary>DenseNet-like sums: every layer adds every earlier hidden layer's output.</summary>
    public static MlpGenotype Dense(int width, params Activation[] activations) =>
        new(width, activations.Select((a, i) => new MlpLayer(a, [.. Enumerable.Range(1, i)])));
}
