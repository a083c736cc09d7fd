using NasSharp.Spaces;

namespace NasSharp.Networks;

/// <summary>
/// Parameters and FLOPs of an NB201 network, read off the genotype and the skeleton without building it (a second
/// interpreter of the architecture beside <see cref="Nb201Network"/>).
/// Conventions are NAS-Bench-201's (AutoDL-Projects <c>xautodl/utils/flop_benchmark.py</c>, <c>get_model_infos</c>):
/// <list type="bullet">
/// <item><see cref="Parameters"/>: every trainable parameter (conv and linear weights and biases, BN scale and shift;
/// BN running statistics are buffers, not counted). The benchmark's <c>params</c> is this / 10^6 ("MB").</item>
/// <item><see cref="MultiplyAdds"/>: per image, k_h·k_w·C_in·C_out·H_out·W_out for each Conv2d plus C_out·H_out·W_out
/// when it has a bias, and in·out (+ out for the bias) for the Linear layer. Pooling, BN, ReLU and the additions are
/// not counted. The benchmark's <c>flop</c> is this / 10^6 (reported as "FLOPs (M)").</item>
/// </list>
/// </summary>
public sealed record Nb201Cost(long Parameters, long MultiplyAdds)
{
    /// <summary>NAS-Bench-201's <c>params</c>: parameters / 10^6.</summary>
    public double ParametersInMillions => Parameters / 1e6;

    /// <summary>NAS-Bench-201's <c>flop</c>: multiply-adds per image / 10^6.</summary>
    public double FlopsInMillions => MultiplyAdds / 1e6;

    /// <summary>
    /// The cost of the network of <paramref name="genotype"/> for <paramref name="classes"/> classes on
    /// <paramref name="inputChannels"/>×<paramref name="height"/>×<paramref name="width"/> images
    /// (CIFAR: 3×32×32; ImageNet16-120: 3×16×16 with 120 classes).
    /// </summary>
    public static Nb201Cost Of(Nb201Genotype genotype, int classes, Nb201NetworkOptions? options = null, int inputChannels = 3, int height = 32, int width = 32)
    {
        ArgumentNullException.ThrowIfNull(genotype);
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "Number of classes must be positive.");
        if (Nb201Network.CheckInputShape([inputChannels, height, width], inputChannels) is { } problem)
            throw new ArgumentException($"Cannot cost an nb201 network for inputs [{inputChannels},{height},{width}]: {problem}.");
        options ??= new Nb201NetworkOptions();
        options.Validate();
        bool convBias = !options.Affine; // ReLUConvBN: Conv2d(bias = not affine)
        long BnParameters(long c, bool affine) => affine ? 2 * c : 0;

        long parameters = 0, macs = 0;
        void Conv(long cin, long cout, long k, long h, long w, bool bias)
        {
            parameters += k * k * cin * cout + (bias ? cout : 0);
            macs += k * k * cin * cout * h * w + (bias ? cout * h * w : 0);
        }

        // Stem: Conv 3×3 (no bias) + BN (affine).
        long c0 = options.Channels, hh = height, ww = width;
        Conv(inputChannels, c0, 3, hh, ww, bias: false);
        parameters += BnParameters(c0, true);

        foreach (var block in options.Blocks())
        {
            long cin = block.InChannels, cout = block.OutChannels;
            if (block.IsReduction)
            {
                hh /= 2; ww /= 2;
                Conv(cin, cout, 3, hh, ww, convBias);    // conv_a, stride 2
                parameters += BnParameters(cout, options.Affine);
                Conv(cout, cout, 3, hh, ww, convBias);   // conv_b
                parameters += BnParameters(cout, options.Affine);
                Conv(cin, cout, 1, hh, ww, bias: false); // shortcut: AvgPool2d(2) then Conv 1×1
                continue;
            }
            foreach (var op in genotype.Operations)
            {
                if (!op.IsConvolution()) continue; // none, skip_connect and avg_pool_3x3 have no weights and no counted FLOPs
                Conv(cout, cout, op == Nb201Operation.NorConv3x3 ? 3 : 1, hh, ww, convBias);
                parameters += BnParameters(cout, options.Affine);
            }
        }

        long final = options.FinalChannels;
        parameters += BnParameters(final, true);     // lastact BN
        parameters += final * classes + classes; // classifier
        macs += final * classes + classes;
        return new Nb201Cost(parameters, macs);
    }
}
