using System.CommandLine;
using NasSharp.Networks;
using NasSharp.Experiments;
using NasSharp.Spaces;
using NasSharp.Theory;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas theory</c>: the theory quantities of Zhu et al. (NeurIPS 2022) of one architecture (analytic λ_min, its bounds, yᵀΘ⁻¹y/N, Hermite
/// coefficients); <c>nas theory agreement</c>: rank agreement of analytic and empirical λ_min over sampled genotypes.
/// </summary>
public static class TheoryCommand
{
    public static Command Create(CliConsole console, Registries registries)
    {
        var cmd = new Command("theory", "Infinite-width NTK theory of one architecture, no network built: λ_min, its lower and upper bounds, " +
            "the complexity yᵀΘ⁻¹y/N and each layer's Hermite coefficients, on a batch projected onto the sphere ‖x‖² = d.");
        var arch = new Option<string?>("--arch") { Description = "Canonical genotype of --space, e.g. w256/relu-tanh+1 (the width does not enter the infinite-width kernel)." };
        var batch = new Option<int>("--batch") { Description = "Number of inputs N.", DefaultValueFactory = _ => 64 };
        var seed = ExperimentCli.NewSeed();
        var sigmaW = SigmaW();
        var sigmaB = SigmaB();
        var spaceOptions = new SpaceCliOptions(cmd, registries.Spaces);
        foreach (var o in new Option[] { arch, batch, seed, sigmaW, sigmaB }) cmd.Options.Add(o);
        var dataOptions = new DataOptions(cmd, batches: false);
        cmd.SetAction(pr =>
        {
            var text = pr.GetValue(arch) ?? throw new UsageException("--arch is required, e.g. --arch w256/relu-tanh+1.");
            var space = spaceOptions.Resolve(pr);
            var genotype = spaceOptions.Definition(pr).Parse(text);
            long s = pr.GetValue(seed);
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            var output = ExperimentCli.Run(pr, console, new TheoryExperiment(space, genotype, data, pr.GetValue(batch), Network(pr, sigmaW, sigmaB), s),
                o => Render(console, o.Dataset, o.Report), resumable: false);
            return output.Report.IsFinite ? 0 : 1;
        });
        cmd.Subcommands.Add(Agreement(console));
        return cmd;
    }

    private static Command Agreement(CliConsole console)
    {
        var cmd = new Command("agreement", "Kendall τ between λ_min of the analytic NTK and λ_min of empirical NTKs of finite networks (NTK parameterisation) " +
            "over sampled mlp genotypes, both on the same batch projected onto the sphere.");
        var n = new Option<int>("--n") { Description = "Number of sampled genotypes.", DefaultValueFactory = _ => 60 };
        var minDepth = new Option<int>("--min-depth") { Description = "Smallest depth sampled.", DefaultValueFactory = _ => 3 };
        var maxDepth = new Option<int>("--max-depth") { Description = "Largest depth sampled.", DefaultValueFactory = _ => 5 };
        var width = new Option<int>("--width") { Description = "Hidden width of the finite networks.", DefaultValueFactory = _ => 512 };
        var batch = new Option<int>("--batch") { Description = "Number of inputs N.", DefaultValueFactory = _ => 32 };
        var ntkSeeds = new Option<int>("--ntk-seeds") { Description = "Initialisations averaged per genotype.", DefaultValueFactory = _ => 2 };
        var seed = ExperimentCli.NewSeed();
        var sigmaW = SigmaW();
        var sigmaB = SigmaB();
        foreach (var o in new Option[] { n, minDepth, maxDepth, width, batch, ntkSeeds, seed, sigmaW, sigmaB }) cmd.Options.Add(o);
        var dataOptions = new DataOptions(cmd, batches: false);
        cmd.SetAction(pr =>
        {
            long s = pr.GetValue(seed);
            var network = Network(pr, sigmaW, sigmaB);
            var options = new AgreementOptions
            {
                Genotypes = pr.GetValue(n), MinDepth = pr.GetValue(minDepth), MaxDepth = pr.GetValue(maxDepth), Width = pr.GetValue(width),
                Batch = pr.GetValue(batch), NtkSeeds = pr.GetValue(ntkSeeds), SigmaW = network.SigmaW, SigmaB = network.SigmaB, Seed = s,
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e.Message.Split(" (Parameter")[0]); }
            var data = DataOptions.Load(pr, console, dataOptions.Spec(pr), s);
            ExperimentCli.Run(pr, console, new AgreementExperiment(data, options), o =>
                console.Out.WriteLine($"{o.Result.Items.Count} genotypes, depth {options.MinDepth}–{options.MaxDepth}, width {options.Width}, N = {options.Batch} {o.Dataset} inputs: " +
                    $"Kendall τ {o.Result.KendallTau:F3}, Spearman ρ {o.Result.Spearman:F3}, median |empirical − analytic|/analytic {o.Result.MedianRelativeGap:P1} (run {o.RunId})"),
                resumable: false);
            return 0;
        });
        return cmd;
    }

    private static Option<double> SigmaW() => new("--sigma-w") { Description = "σ_w of the NTK parameterisation.", DefaultValueFactory = _ => 1.0 };

    private static Option<double> SigmaB() => new("--sigma-b") { Description = "σ_b of the NTK parameterisation.", DefaultValueFactory = _ => 0.1 };

    private static NetworkOptions Network(ParseResult pr, Option<double> sigmaW, Option<double> sigmaB)
    {
        double w = pr.GetValue(sigmaW), b = pr.GetValue(sigmaB);
        if (!(w > 0) || !double.IsFinite(w)) throw new UsageException("--sigma-w must be a positive number.");
        if (!(b >= 0) || !double.IsFinite(b)) throw new UsageException("--sigma-b must be a non-negative number.");
        return NetworkOptions.Ntk(w, b);
    }

    private static void Render(CliConsole console, string dataset, TheoryReport r)
    {
        console.Out.WriteLine($"{r.Arch} on {r.SampleCount} {dataset} inputs (sphere ‖x‖² = d), NTK parameterisation σ_w = {r.SigmaW}, σ_b = {r.SigmaB}:");
        if (!r.IsFinite) console.Out.WriteLine($"  NON-FINITE kernel: {r.NonFiniteReason}");
        console.Out.WriteLine($"  λ_min (analytic)  {r.LambdaMin:G6}\n  lower bound       {r.LowerBound:G6}\n  upper bound       {r.UpperBound:G6}\n" +
            $"  yᵀΘ⁻¹y/N          {r.Complexity:G6}  (√(2·) = {r.GeneralizationTerm:G4})\n  λ_max, trace      {r.LambdaMax:G6}, {r.Trace:G6}");
        // μ_0 … μ_4; --json lists all reported coefficients.
        const int shown = 5;
        var table = new Table().AddColumn("layer").AddColumn("activation").AddColumn(new TableColumn("q").RightAligned());
        for (int k = 0; k < shown; k++) table.AddColumn(new TableColumn($"μ{k}").RightAligned());
        foreach (var layer in r.Layers)
            table.AddRow([layer.Layer.ToString(), layer.Activation.Token() + string.Concat(layer.Skips.Select(j => $"+{j}")), layer.Variance.ToString("G4"),
                .. layer.Hermite.Take(shown).Select(m => m.ToString("F4"))]);
        console.Ansi.Write(table);
        console.Out.WriteLine($"  ({r.Seconds:F2} s; the series accounts for {r.SeriesCapturedMass:P2} of Θ(x, x))");
    }
}
