using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>The per-layer activation choices of the activation search space (Zhu et al., NeurIPS 2022).</summary>
public enum Activation
{
    Relu,
    LeakyRelu,
    Tanh,
    Sigmoid,
    Swish,
    Gelu,
    Elu,
    Softplus,
    Erf,
    Identity,
}

public static class Activations
{
    /// <summary>Negative slope of leaky ReLU (PyTorch's default).</summary>
    public const double LeakyReluSlope = 0.01;

    // One table: canonical token ↔ enum. Order is the enumeration order of the space.
    private static readonly (Activation Kind, string Token)[] Table =
    [
        (Activation.Relu, "relu"),
        (Activation.LeakyRelu, "leaky_relu"),
        (Activation.Tanh, "tanh"),
        (Activation.Sigmoid, "sigmoid"),
        (Activation.Swish, "swish"),
        (Activation.Gelu, "gelu"),
        (Activation.Elu, "elu"),
        (Activation.Softplus, "softplus"),
        (Activation.Erf, "erf"),
        (Activation.Identity, "identity"),
    ];

    public static IReadOnlyList<Activation> All { get; } = Table.Select(t => t.Kind).ToArray();

    /// <summary>The default choice set of the <c>mlp</c> space: relu, leaky_relu, tanh, sigmoid, swish, gelu, elu and identity.</summary>
    public static IReadOnlyList<Activation> Default { get; } =
    [
        Activation.Relu, Activation.LeakyRelu, Activation.Tanh, Activation.Sigmoid,
        Activation.Swish, Activation.Gelu, Activation.Elu, Activation.Identity,
    ];

    public static string Token(this Activation a) => Table.First(t => t.Kind == a).Token;

    public static bool TryParse(ReadOnlySpan<char> token, out Activation activation)
    {
        // "silu" is PyTorch's name for swish; accepted on input, printed as "swish".
        if (token.SequenceEqual("silu")) token = "swish";
        foreach (var (kind, t) in Table)
            if (token.SequenceEqual(t)) { activation = kind; return true; }
        activation = default;
        return false;
    }

    public static string KnownTokens => string.Join(", ", Table.Select(t => t.Token));

    /// <summary>A comma-separated list of tokens, e.g. <c>"relu,tanh"</c>; an unknown token names <paramref name="option"/> and the known ones.</summary>
    public static List<Activation> ParseList(string list, string option)
    {
        ArgumentNullException.ThrowIfNull(list);
        var choices = new List<Activation>();
        foreach (var token in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            choices.Add(TryParse(token, out var a) ? a : throw new SettingException($"{option}: unknown activation '{token}'; known: {KnownTokens}."));
        return choices.Count > 0 ? choices : throw new SettingException($"{option}: no activation in '{list}'; known: {KnownTokens}.");
    }

    /// <summary>Applies the activation elementwise.</summary>
    public static Tensor Apply(this Activation a, Tensor x) => a switch
    {
        Activation.Relu => nn.functional.relu(x),
        Activation.LeakyRelu => nn.functional.leaky_relu(x, LeakyReluSlope),
        Activation.Tanh => x.tanh(),
        Activation.Sigmoid => x.sigmoid(),
        Activation.Swish => nn.functional.silu(x),
        Activation.Gelu => nn.functional.gelu(x),
        Activation.Elu => nn.functional.elu(x, 1.0),
        Activation.Softplus => nn.functional.softplus(x),
        Activation.Erf => x.erf(),
        Activation.Identity => x.alias(),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, null),
    };

    /// <summary>The scalar activation, for quadrature and theory code.</summary>
    public static double Evaluate(this Activation a, double x) => a switch
    {
        Activation.Relu => Math.Max(0, x),
        Activation.LeakyRelu => x >= 0 ? x : LeakyReluSlope * x,
        Activation.Tanh => Math.Tanh(x),
        Activation.Sigmoid => 1 / (1 + Math.Exp(-x)),
        Activation.Swish => x / (1 + Math.Exp(-x)),
        Activation.Gelu => 0.5 * x * (1 + MathNet.Numerics.SpecialFunctions.Erf(x / Math.Sqrt(2))),
        Activation.Elu => x >= 0 ? x : Math.Exp(x) - 1,
        Activation.Softplus => x > 30 ? x : Math.Log(1 + Math.Exp(x)),
        Activation.Erf => MathNet.Numerics.SpecialFunctions.Erf(x),
        Activation.Identity => x,
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, null),
    };

    /// <summary>
    /// σ'(x), for the tangent kernel's E[σ'(u)σ'(v)]. At a kink (x = 0 for relu, leaky relu) the right derivative
    /// is returned; the Gaussian expectations that use it do not see a single point.
    /// </summary>
    public static double Derivative(this Activation a, double x)
    {
        switch (a)
        {
            case Activation.Relu: return x > 0 ? 1 : 0;
            case Activation.LeakyRelu: return x >= 0 ? 1 : LeakyReluSlope;
            case Activation.Tanh: { double t = Math.Tanh(x); return 1 - t * t; }
            case Activation.Sigmoid: { double s = 1 / (1 + Math.Exp(-x)); return s * (1 - s); }
            case Activation.Swish: { double s = 1 / (1 + Math.Exp(-x)); return s * (1 + x * (1 - s)); }
            case Activation.Gelu: return 0.5 * (1 + MathNet.Numerics.SpecialFunctions.Erf(x / Math.Sqrt(2))) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);
            case Activation.Elu: return x >= 0 ? 1 : Math.Exp(x);
            case Activation.Softplus: return 1 / (1 + Math.Exp(-x));
            case Activation.Erf: return 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x);
            case Activation.Identity: return 1;
            default: throw new ArgumentOutOfRangeException(nameof(a), a, null);
        }
    }
}
