using static TorchSharp.torch;

namespace NasSharp.Spaces;

/// <summary>The per-layer activation choices of the activation search space (seed 000).</summary>
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

    /// <summary>The default choice set of the <c>mlp</c> space: the eight the issue names.</summary>
    public static IReadOnlyList<Activation> Default { get; } =
    [
        Activation.Relu, Activation.LeakyRelu, Activation.Tanh, Activation.Sigmoid,
        Activation.Swish, Activation.Gelu, Activation.Elu, Activation.Identity,
    ];

    public static string Token(this Activation a) => Table.First(t => t.Kind == a).Token;

    public static bool TryParse(string token, out Activation activation)
    {
        // "silu" is PyTorch's name for swish; accepted on input, printed as "swish".
        if (token == "silu") token = "swish";
        foreach (var (kind, t) in Table)
            if (t == token) { activation = kind; return true; }
        activation = default;
        return false;
    }

    public static string KnownTokens => string.Join(", ", Table.Select(t => t.Token));

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
}
