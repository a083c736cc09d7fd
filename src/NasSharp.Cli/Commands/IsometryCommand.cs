using System.CommandLine;
using NasSharp.Experiments;
using NasSharp.Spaces;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary>
/// <c>nas isometry</c>: mean-field signal propagation (q*, χ₁, phase, depth scales, edge of chaos, phase diagram) per activation,
/// and the Jacobian spectra of deep random networks at criticality, Gaussian against orthogonal weights.
/// </summary>
public static class IsometryCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("isometry", "Mean-field theory of deep random networks (Poole et al. 2016, Schoenholz et al. 2017): for each activation the length " +
            "fixed point q*, χ₁, ordered or chaotic, the depth scales ξ_q and ξ_c, the correlation fixed point c*, the edge of chaos and the phase diagram; " +
            "and the singular values of deep networks' input–output Jacobians at criticality (Pennington et al. 2017), Gaussian against orthogonal weights.");
        var defaults = new IsometryOptions();
        var activations = new Option<string>("--activations") { Description = $"Activations analysed, comma-separated (known: {Activations.KnownTokens}).", DefaultValueFactory = _ => string.Join(",", defaults.Activations.Select(a => a.Token())) };
        var sigmaW2 = new Option<double>("--sigma-w2") { Description = "σ_w², the weight variance times fan-in, of the analysed point.", DefaultValueFactory = _ => defaults.SigmaW2 };
        var sigmaB2 = new Option<double>("--sigma-b2") { Description = "σ_b², the bias variance, of the analysed point and its edge of chaos.", DefaultValueFactory = _ => defaults.SigmaB2 };
        var maxSigmaW2 = new Option<double>("--max-sigma-w2") { Description = "Largest σ_w² of the phase diagram and of the search for the edge of chaos.", DefaultValueFactory = _ => defaults.MaxSigmaW2 };
        var maxSigmaB2 = new Option<double>("--max-sigma-b2") { Description = "Largest σ_b² of the phase diagram.", DefaultValueFactory = _ => defaults.MaxSigmaB2 };
        var spectra = new Option<string>("--spectra") { Description = "Activations whose Jacobian spectra are measured at criticality (comma-separated; 'none' for none).", DefaultValueFactory = _ => "tanh,relu" };
        var spectraSigmaB2 = new Option<double>("--spectra-sigma-b2") { Description = "σ_b² of the spectra (each at its activation's critical σ_w²); small σ_b² gives small q*.", DefaultValueFactory = _ => defaults.SpectraSigmaB2 };
        var depth = new Option<int>("--depth") { Description = "Layers L of the networks whose Jacobians are measured.", DefaultValueFactory = _ => defaults.Depth };
        var width = new Option<int>("--width") { Description = "Units per layer of the dense networks.", DefaultValueFactory = _ => defaults.Width };
        var convChannels = new Option<int>("--conv-channels") { Description = "Channels of the 3×3 convolutional networks (circular padding; 0 for none).", DefaultValueFactory = _ => defaults.ConvChannels };
        var convSize = new Option<int>("--conv-size") { Description = "Side of the convolutional networks' square images.", DefaultValueFactory = _ => defaults.ConvImageSize };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { activations, sigmaW2, sigmaB2, maxSigmaW2, maxSigmaB2, spectra, spectraSigmaB2, depth, width, convChannels, convSize, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            string spectraList = pr.GetValue(spectra)!;
            var options = defaults with
            {
                Activations = Activations.ParseList(pr.GetValue(activations)!, "--activations"),
                SigmaW2 = pr.GetValue(sigmaW2),
                SigmaB2 = pr.GetValue(sigmaB2),
                MaxSigmaW2 = pr.GetValue(maxSigmaW2),
                MaxSigmaB2 = pr.GetValue(maxSigmaB2),
                SpectraActivations = spectraList.Trim() == "none" ? [] : Activations.ParseList(spectraList, "--spectra"),
                SpectraSigmaB2 = pr.GetValue(spectraSigmaB2),
                Depth = pr.GetValue(depth),
                Width = pr.GetValue(width),
                ConvChannels = pr.GetValue(convChannels),
                ConvImageSize = pr.GetValue(convSize),
                Seed = pr.GetValue(seed),
            };
            try { options.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            ExperimentCli.Run(pr, console, new IsometryExperiment(options), o => Render(console, o), resumable: false);
            return 0;
        });
        return cmd;
    }

    private static string G(double v, string format = "G4") => double.IsFinite(v) ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : v > 0 ? "∞" : "—";

    private static void Render(CliConsole console, IsometryOutput o)
    {
        console.Out.WriteLine($"Mean field at σ_w² = {o.SigmaW2}, σ_b² = {o.SigmaB2} (run {o.RunId}):");
        var table = new Table().AddColumn("activation").AddColumn(new TableColumn("q*").RightAligned()).AddColumn(new TableColumn("χ₁").RightAligned()).AddColumn("phase")
            .AddColumn(new TableColumn("ξ_q").RightAligned()).AddColumn(new TableColumn("c*").RightAligned()).AddColumn(new TableColumn("ξ_c").RightAligned())
            .AddColumn(new TableColumn($"critical σ_w² (σ_b² = {o.SigmaB2})").RightAligned()).AddColumn(new TableColumn("q* there").RightAligned());
        foreach (var (p, e) in o.Points.Zip(o.EdgeOfChaos))
            table.AddRow(p.Activation, G(p.QStar), G(p.Chi1, "F4"), p.Phase.ToString().ToLowerInvariant(), G(p.XiQ), G(p.CStar, "F4"), G(p.XiC), G(e.SigmaW2, "F4"), G(e.QStar));
        console.Ansi.Write(table);
        foreach (var (p, e) in o.Points.Zip(o.EdgeOfChaos))
        {
            foreach (var why in new[] { p.QStarReason, p.CStarReason }.OfType<string>().Distinct())
                console.Out.WriteLine($"  {p.Activation}: {why}");
            if (e.Reason is { } edge) console.Out.WriteLine($"  {p.Activation}, edge of chaos: {edge}");
        }
        if (o.Spectra.Count > 0)
        {
            console.Out.WriteLine($"Jacobian spectra at the edge of chaos (σ_b² = {o.Spectra[0].SigmaB2}, depth {o.Spectra[0].Depth}); spread = Var(s²)/⟨s²⟩², 0 for isometry:");
            var spectra = new Table().AddColumn("activation").AddColumn("layer").AddColumn("weights").AddColumn(new TableColumn("σ_w²").RightAligned())
                .AddColumn(new TableColumn("⟨s²⟩").RightAligned()).AddColumn(new TableColumn("χ₁^L").RightAligned()).AddColumn(new TableColumn("spread").RightAligned())
                .AddColumn(new TableColumn("predicted").RightAligned()).AddColumn(new TableColumn("s_max").RightAligned()).AddColumn(new TableColumn("s_min").RightAligned());
            foreach (var s in o.Spectra)
                spectra.AddRow(s.Activation, s.Layer, s.Weights.ToString().ToLowerInvariant(), G(s.SigmaW2, "F4"), G(s.MeanSquare), G(s.Chi1PowerDepth), G(s.Spread),
                    s.PredictedSpread is { } p ? G(p) : "", G(s.MaxSingularValue), G(s.MinSingularValue));
            console.Ansi.Write(spectra);
        }
        console.Out.WriteLine($"  ({o.Seconds:F1} s; `nas report {o.RunId} --out DIR` draws the phase diagram and the spectra)");
    }
}
