using TorchSharp;

namespace NasSharp.Networks;

/// <summary>The settings of <see cref="NetworkOptions"/>, described as data for any front end.</summary>
public static class NetworkSettings
{
    public static IReadOnlyList<SettingSpec> Specs(Parameterization defaultParameterization) =>
    [
        new("parameterization", "ntk (Jacot et al.: N(0,1) weights scaled by σ_w/√fan_in) or standard (PyTorch's initialisation)", Name(defaultParameterization)),
        new("sigma-w", "σ_w of the NTK parameterisation", "1"),
        new("sigma-b", "σ_b of the NTK parameterisation", "0.1"),
        new("dtype", "float32 or float64 for the network and its Jacobian (a Gram matrix is always decomposed in float64)", "float32"),
    ];

    public static string Name(Parameterization p) => p.ToString().ToLowerInvariant();

    public static Parameterization ReadParameterization(Settings settings, Parameterization fallback) =>
        settings.Choice("parameterization", fallback, ("ntk", Parameterization.Ntk), ("standard", Parameterization.Standard));

    public static NetworkOptions Read(Settings settings, Parameterization defaultParameterization)
    {
        ArgumentNullException.ThrowIfNull(settings);
        double w = settings.Double("sigma-w", 1.0), b = settings.Double("sigma-b", 0.1);
        if (!(w > 0)) throw new SettingException($"--sigma-w {settings.Text("sigma-w")}: must be a positive number.");
        if (!(b >= 0)) throw new SettingException($"--sigma-b {settings.Text("sigma-b")}: must be a non-negative number.");
        return new NetworkOptions
        {
            Parameterization = ReadParameterization(settings, defaultParameterization),
            SigmaW = w,
            SigmaB = b,
            DType = settings.Choice("dtype", torch.ScalarType.Float32, ("float32", torch.ScalarType.Float32), ("float64", torch.ScalarType.Float64)),
        };
    }
}
