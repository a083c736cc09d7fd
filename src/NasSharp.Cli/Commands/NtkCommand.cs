using System.CommandLine;
using NasSharp.Kernels;
using NasSharp.Networks;
using TorchSharp;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas ntk</c>: the empirical NTK spectrum of one architecture at initialisation.</summary>
public static class NtkCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("ntk", "Empirical neural tangent kernel of one architecture at initialisation: λ_min, λ_max, trace, condition number.");
        var arch = new Option<string>("--arch") { Description = "Canonical genotype, e.g. w256/relu-relu+1.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Number of inputs N (Θ is N×N).", DefaultValueFactory = _ => 64 };
        var seed = SpaceOptions.NewSeed();
        var output = new Option<string>("--output") { Description = "sum (Θ of Σ_k f_k, N×N) or per-logit (Θ of every logit, (N·K)×(N·K)).", DefaultValueFactory = _ => "sum" };
        var spectrum = new Option<bool>("--spectrum") { Description = "Include every eigenvalue in the output." };
        var method = new Option<string>("--method")
        {
            Description = "exact (one backward pass per row of J), fast (structured per-sample derivatives: one batched backward pass per logit) or auto (fast when every layer is supported).",
            DefaultValueFactory = _ => "auto",
        };
        var network = new NetworkCliOptions(cmd);
        var spaceOptions = new SpaceOptions(cmd);
        cmd.Options.Add(arch);
        cmd.Options.Add(batch);
        cmd.Options.Add(seed);
        cmd.Options.Add(output);
        cmd.Options.Add(spectrum);
        cmd.Options.Add(method);
        var dataOptions = new DataOptions(cmd);
        cmd.SetAction(pr =>
        {
            var genotype = spaceOptions.ParseArch(pr, pr.GetValue(arch)!);
            var device = GlobalOptions.ResolveDevice(pr);
            long s = pr.GetValue(seed);
            int n = pr.GetValue(batch);
            if (n < 2) throw new UsageException("--batch must be at least 2.");
            var options = network.Resolve(pr);
            var kernelOutput = pr.GetValue(output) switch
            {
                "sum" => NtkOutput.SumOfLogits,
                "per-logit" => NtkOutput.PerLogit,
                var other => throw new UsageException($"--output {other}: use sum or per-logit."),
            };
            var ntkMethod = ParseMethod(pr.GetValue(method));
            var data = dataOptions.Load(pr, console, s);
            if (data.Train.Count < n) throw new UsageException($"--batch {n} is larger than the training split ({data.Train.Count} samples).");
            using var recorder = RunRecorder.Start(pr, console, "ntk", new { arch = genotype.Canonical, dataset = data.Name, batch = n, network = options, output = pr.GetValue(output), method = pr.GetValue(method) }, s);

            var inputs = NasSharp.Search.EigenSearch.NtkInputs(data.Train, n, s);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            NtkSpectrum sp;
            NtkMethodChoice choice;
            using (var scope = torch.NewDisposeScope())
            {
                using var model = NetworkFactory.Build(genotype, inputs.SampleShape, inputs.NumClasses, options, Seeds.Derive(s, "ntk-init", genotype.Canonical, 0), device);
                var (x, _) = inputs.ToTensors(device);
                sp = EmpiricalNtk.Compute(model, x.to(options.DType), kernelOutput, ntkMethod, out choice).Spectrum();
            }
            var result = new NtkOutputJson(genotype.Canonical, data.Name, n, sp.LambdaMin, sp.LambdaMax, sp.Trace, sp.Condition,
                sp.IsFinite, sp.NonFiniteReason, choice.Used, ntkMethod == NtkMethod.Auto ? choice.FastUnsupportedReason : null,
                clock.Elapsed.TotalSeconds, pr.GetValue(spectrum) ? sp.Eigenvalues.ToArray() : null, recorder.RunId);
            recorder.AddResult("0", genotype.Canonical, scores: new()
            {
                ["lambda_min"] = sp.LambdaMin, ["lambda_max"] = sp.LambdaMax, ["trace"] = sp.Trace, ["condition"] = sp.Condition,
            }, metrics: new() { ["seconds"] = result.Seconds }, note: sp.NonFiniteReason);
            recorder.Complete(result);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(result);
            else
            {
                console.Out.WriteLine($"{genotype.Canonical} on {n} {data.Name} inputs ({options.Parameterization} parameterisation):");
                if (!sp.IsFinite) console.Out.WriteLine($"  NON-FINITE kernel: {sp.NonFiniteReason}");
                console.Out.WriteLine($"  λ_min     {sp.LambdaMin:G6}\n  λ_max     {sp.LambdaMax:G6}\n  trace     {sp.Trace:G6}\n  condition {sp.Condition:G6}\n  ({result.Seconds:F2} s, {result.Method} method, run {recorder.RunId})");
                if (result.FastUnsupportedReason is not null) console.Out.WriteLine($"  (not fast: {result.FastUnsupportedReason})");
            }
            return sp.IsFinite ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>exact, fast or auto.</summary>
    public static NtkMethod ParseMethod(string? value) => value switch
    {
        "exact" => NtkMethod.Exact,
        "fast" => NtkMethod.Fast,
        "auto" => NtkMethod.Auto,
        var other => throw new UsageException($"--method {other}: use exact, fast or auto."),
    };

    public sealed record NtkOutputJson(string Arch, string Dataset, int Batch, double LambdaMin, double LambdaMax, double Trace, double Condition,
        bool Finite, string? NonFiniteReason, NtkMethod Method, string? FastUnsupportedReason, double Seconds, double[]? Eigenvalues, long? RunId);
}

/// <summary>How to build the network that is scored: parameterisation, σ_w, σ_b, dtype.</summary>
public sealed class NetworkCliOptions
{
    public NetworkCliOptions(Command cmd, Parameterization defaultParameterization = NasSharp.Networks.Parameterization.Ntk)
    {
        Parameterization = new("--parameterization") { Description = "ntk (Jacot et al.: N(0,1) weights scaled by σ_w/√fan_in) or standard.", DefaultValueFactory = _ => defaultParameterization };
        foreach (var o in new Option[] { Parameterization, SigmaW, SigmaB, DType }) cmd.Options.Add(o);
    }

    public Option<Parameterization> Parameterization { get; }
    public Option<double> SigmaW { get; } = new("--sigma-w") { Description = "σ_w of the NTK parameterisation.", DefaultValueFactory = _ => 1.0 };
    public Option<double> SigmaB { get; } = new("--sigma-b") { Description = "σ_b of the NTK parameterisation.", DefaultValueFactory = _ => 0.1 };
    public Option<string> DType { get; } = new("--dtype") { Description = "float32 or float64 for the network and its Jacobian (the Gram is always decomposed in float64).", DefaultValueFactory = _ => "float32" };

    public NetworkOptions Resolve(ParseResult pr)
    {
        var dtype = pr.GetValue(DType) switch
        {
            "float32" => torch.ScalarType.Float32,
            "float64" => torch.ScalarType.Float64,
            var other => throw new UsageException($"--dtype {other}: use float32 or float64."),
        };
        double w = pr.GetValue(SigmaW), b = pr.GetValue(SigmaB);
        if (!(w > 0) || !double.IsFinite(w)) throw new UsageException("--sigma-w must be a positive number.");
        if (!(b >= 0) || !double.IsFinite(b)) throw new UsageException("--sigma-b must be a non-negative number.");
        return new NetworkOptions { Parameterization = pr.GetValue(Parameterization), SigmaW = w, SigmaB = b, DType = dtype };
    }
}
