using System.Collections.Immutable;
using System.Globalization;
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

    /// <summary>
    /// The widest hidden layer: 2^14. One hidden-to-hidden layer of this width is 2^28 weights (1 GiB in float32), beyond
    /// what an empirical NTK on a CPU can take; without a limit a wider width reaches libtorch's allocator and fails there
    /// in a many-line dump instead of a message that names the width.
    /// </summary>
    public const int MaxWidth = 16_384;

    /// <summary>
    /// The most hidden layers: far deeper than a search of this space needs, and small enough that the genotype with
    /// every skip (about 110,000 characters) parses in a few megabytes.
    /// </summary>
    public const int MaxDepth = 256;

    public MlpGenotype(int width, IEnumerable<MlpLayer> layers)
    {
        if (width is < 1 or > MaxWidth) throw new ArgumentOutOfRangeException(nameof(width), width, $"Width must be in 1..{MaxWidth:N0}.");
        Width = width;
        Layers = layers.ToImmutableArray();
        if (Layers.Length == 0) throw new ArgumentException("An mlp genotype needs at least one hidden layer.", nameof(layers));
        if (Layers.Length > MaxDepth) throw new ArgumentException($"An mlp genotype has at most {MaxDepth} hidden layers, got {Layers.Length}.", nameof(layers));
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

    /// <summary>
    /// Parses the canonical form; the message of a failure shows the expected form. Limits are checked before anything is
    /// allocated: the width and depth against <see cref="MaxWidth"/> and <see cref="MaxDepth"/>, and a layer's skips end
    /// at the first one that is not an earlier layer, so what a parse allocates is bounded by the limits, not the input.
    /// </summary>
    public static MlpGenotype Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string Fail(string why) =>
            $"Malformed mlp architecture {GenotypeFormatException.Quote(text)}: {why}. Expected {string.Format(CultureInfo.InvariantCulture, ExpectedForm, Activations.KnownTokens)}.";

        var slash = text.IndexOf('/');
        if (slash < 0 || text.Length < 3 || text[0] != 'w')
            throw new GenotypeFormatException(Fail("it must start with the width, 'w<width>/'"));
        var widthText = text.AsSpan(1, slash - 1);
        if (!GenotypeNumber.IsNumeral(widthText) || widthText[0] == '0')
            throw new GenotypeFormatException(Fail($"{GenotypeFormatException.Quote(text.AsSpan(0, slash))} is not a positive width"));
        if (!GenotypeNumber.TryParse(widthText, out var width) || width > MaxWidth)
            throw new GenotypeFormatException(Fail($"width {GenotypeFormatException.Quote(widthText)} is above the limit of {MaxWidth:N0}"));
        var body = text.AsSpan(slash + 1);
        if (body.Length == 0) throw new GenotypeFormatException(Fail("it has no layers"));
        int depth = body.Count('-') + 1;
        if (depth > MaxDepth)
            throw new GenotypeFormatException(Fail($"it has {depth:N0} layers, above the limit of {MaxDepth:N0}"));

        var layers = new List<MlpLayer>(depth);
        foreach (var tokenRange in body.Split('-'))
        {
            var token = body[tokenRange];
            int layerNo = layers.Count + 1;
            var plus = token.IndexOf('+');
            var name = plus < 0 ? token : token[..plus];
            if (!Activations.TryParse(name, out var act))
                throw new GenotypeFormatException(Fail($"layer {layerNo} has unknown activation {GenotypeFormatException.Quote(name)}"));
            var skips = new List<int>();
            if (plus >= 0)
            {
                var skipText = token[(plus + 1)..];
                foreach (var skipRange in skipText.Split('+'))
                {
                    var p = skipText[skipRange];
                    if (!GenotypeNumber.TryParse(p, out var j))
                        throw new GenotypeFormatException(Fail($"layer {layerNo} has skip {GenotypeFormatException.Quote("+" + p.ToString())}, which is not a layer number"));
                    if (j < 1 || j >= layerNo)
                        throw new GenotypeFormatException(Fail($"layer {layerNo} takes a skip from layer {j}, but skips must come from earlier layers 1..{layerNo - 1}"));
                    if (skips.Count > 0 && j <= skips[^1])
                        throw new GenotypeFormatException(Fail($"layer {layerNo} lists skips out of order or twice; write them increasing"));
                    skips.Add(j);
                }
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
