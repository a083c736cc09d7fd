using System.CommandLine;
using NasSharp.Experiments;
using NasSharp.Kernels;
using NasSharp.Networks;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas ntk</c>: the empirical NTK spectrum of one architecture at initialisation.</summary>
public static class NtkCommand
{
    public static Command Create(CliConsole console, Registries registries)
    {
        var cmd = new Command("ntk", "Empirical neural tangent kernel of one architecture at initialisation: λ_min, λ_max, trace, condition number.");
        var arch = new Option<string>("--arch") { Description = "Canonical genotype of --space, e.g. w256/relu-relu+1.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Number of inputs N (Θ is N×N).", DefaultValueFactory = _ => 64 };
        var seed = ExperimentCli.NewSeed();
        var output = new Option<string>("--output") { Description = "sum (Θ of Σ_k f_k, N×N) or per-logit (Θ of every logit, (N·K)×(N·K)).", DefaultValueFactory = _ => "sum" };
        var spectrum = new Option<bool>("--spectrum") { Description = "Include every eigenvalue in the output." };
        var method = new Option<string>("--method")
        {
            Description = "exact (one backward pass per row of J), fast (structured per-sample derivatives: one batched backward pass per logit) or auto (fast when every layer is supported).",
            DefaultValueFactory = _ => "auto",
        };
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces);
        foreach (var o in new Option[] { arch, batch, seed, output, spectrum, method }) cmd.Options.Add(o);
        var network = new SettingOptions(cmd, NetworkSettings.Specs(Parameterization.Ntk));
        var dataOptions = new DataOptions(cmd);
        cmd.SetAction(pr =>
        {
            var space = spaceOptions.Resolve(pr);
            var genotype = spaceOptions.Definition(pr).Parse(pr.GetValue(arch)!);
            long s = pr.GetValue(seed);
            var kernelOutput = Settings.Empty.With("output", pr.GetValue(output)).Choice("output", NtkOutput.SumOfLogits, ("sum", NtkOutput.SumOfLogits), ("per-logit", NtkOutput.PerLogit));
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            var experiment = new NtkExperiment(space, genotype, data, pr.GetValue(batch), NetworkSettings.Read(network.Read(pr), Parameterization.Ntk), kernelOutput,
                ParseMethod(pr.GetValue(method)), pr.GetValue(spectrum), s);
            var result = ExperimentCli.Run(pr, console, experiment, r =>
            {
                console.Out.WriteLine($"{r.Arch} on {r.Batch} {r.Dataset} inputs:");
                if (r.NonFiniteReason is { } why) console.Out.WriteLine($"  NON-FINITE kernel: {why}");
                console.Out.WriteLine($"  λ_min     {r.LambdaMin:G6}\n  λ_max     {r.LambdaMax:G6}\n  trace     {r.Trace:G6}\n  condition {r.Condition:G6}\n  ({r.Seconds:F2} s, {r.Method} method, run {r.RunId})");
                if (r.FastUnsupportedReason is not null) console.Out.WriteLine($"  (not fast: {r.FastUnsupportedReason})");
            }, resumable: false);
            return result.NonFiniteReason is null ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>exact, fast or auto.</summary>
    public static NtkMethod ParseMethod(string? value) =>
        Settings.Empty.With("method", value).Choice("method", NtkMethod.Auto, ("exact", NtkMethod.Exact), ("fast", NtkMethod.Fast), ("auto", NtkMethod.Auto));
}
