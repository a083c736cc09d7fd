using System.Diagnostics;
using NasSharp.Spaces;
using NasSharp.Theory;

namespace NasSharp.Experiments;

/// <summary>What <c>nas isometry</c> computes; every field changes its results.</summary>
public sealed record IsometryOptions
{
    /// <summary>Activations analysed by mean field and drawn in the phase diagram.</summary>
    public IReadOnlyList<Activation> Activations { get; init; } = Spaces.Activations.Default;
    /// <summary>The point (σ_w², σ_b²) every activation is analysed at.</summary>
    public double SigmaW2 { get; init; } = 2.0;
    public double SigmaB2 { get; init; } = 0.05;
    /// <summary>The σ_w² axis of the phase diagram (geometric from min to max).</summary>
    public double MinSigmaW2 { get; init; } = 0.25;
    public double MaxSigmaW2 { get; init; } = 64;
    public int SigmaW2Points { get; init; } = 33;
    /// <summary>The σ_b² axis of the phase diagram (linear from 0 to max).</summary>
    public double MaxSigmaB2 { get; init; } = 1.0;
    public int SigmaB2Points { get; init; } = 11;
    /// <summary>Activations whose Jacobian spectra are measured at their critical σ_w² for <see cref="SpectraSigmaB2"/>.</summary>
    public IReadOnlyList<Activation> SpectraActivations { get; init; } = [Activation.Tanh, Activation.Relu];
    public double SpectraSigmaB2 { get; init; } = 1e-3;
    public int Depth { get; init; } = 32;
    public int Width { get; init; } = 256;
    /// <summary>Channels and image side of the convolutional networks (0 channels: none).</summary>
    public int ConvChannels { get; init; } = 16;
    public int ConvImageSize { get; init; } = 4;
    public long Seed { get; init; }

    public void Validate()
    {
        if (Activations.Count == 0) throw new ArgumentException("Give at least one activation.");
        if (!(SigmaW2 > 0) || !double.IsFinite(SigmaW2)) throw new ArgumentException($"σ_w² = {SigmaW2}: it must be positive and finite.");
        if (!(SigmaB2 >= 0) || !double.IsFinite(SigmaB2)) throw new ArgumentException($"σ_b² = {SigmaB2}: it must be non-negative and finite.");
        if (!(SpectraSigmaB2 >= 0) || !double.IsFinite(SpectraSigmaB2)) throw new ArgumentException($"spectra σ_b² = {SpectraSigmaB2}: it must be non-negative and finite.");
        if (!(MinSigmaW2 > 0) || !(MaxSigmaW2 > MinSigmaW2) || SigmaW2Points < 2)
            throw new ArgumentException($"The σ_w² axis {MinSigmaW2}..{MaxSigmaW2} with {SigmaW2Points} points: need 0 < min < max and at least 2 points.");
        if (!(MaxSigmaB2 > 0) || SigmaB2Points < 2) throw new ArgumentException($"The σ_b² axis 0..{MaxSigmaB2} with {SigmaB2Points} points: need max > 0 and at least 2 points.");
        if (Depth < 1 || Width < 2) throw new ArgumentException($"Depth {Depth}, width {Width}: need depth ≥ 1 and width ≥ 2.");
        if (ConvChannels < 0 || (ConvChannels > 0 && ConvImageSize < 1)) throw new ArgumentException($"Convolutions with {ConvChannels} channels on {ConvImageSize}² images: need channels ≥ 0 and a positive size.");
    }
}

/// <summary>One measured spectrum of <see cref="JacobianSpectrum"/>, beside what mean field predicts for it.</summary>
/// <param name="Layer">dense or conv.</param>
/// <param name="Chi1PowerDepth">χ₁^L, the mean-field value of <paramref name="MeanSquare"/>.</param>
/// <param name="PredictedSpread">The infinite-width spread of a dense network at the input variance (exact at a finite q*, and for
/// a homogeneous φ such as relu at any variance), else null.</param>
/// <param name="SingularValues">All singular values of J, descending.</param>
public sealed record SpectrumSummary(string Activation, WeightInit Weights, string Layer, double SigmaW2, double SigmaB2, int Depth, int Dimension,
    double InputVariance, double MeanSquare, double Chi1PowerDepth, double Spread, double? PredictedSpread, double MaxSingularValue, double MinSingularValue,
    IReadOnlyList<double> SingularValues);

/// <summary>What <c>nas isometry</c> reports.</summary>
/// <param name="Points">Every activation's mean-field quantities at (σ_w², σ_b²).</param>
/// <param name="EdgeOfChaos">Every activation's critical σ_w² at σ_b².</param>
public sealed record IsometryOutput(long? RunId, double SigmaW2, double SigmaB2, IReadOnlyList<MeanFieldPoint> Points, IReadOnlyList<EdgeOfChaosPoint> EdgeOfChaos,
    IReadOnlyList<PhaseDiagram> Phases, IReadOnlyList<SpectrumSummary> Spectra, double Seconds);

/// <summary>
/// Mean-field signal propagation and Jacobian spectra (<see cref="ExperimentKind.Isometry"/>): each activation's q*, χ₁, phase,
/// depth scales and edge of chaos (<see cref="MeanField"/>), its phase diagram, and the singular values of deep random
/// networks' Jacobians at criticality, Gaussian against orthogonal weights (<see cref="JacobianSpectrum"/>): the standard
/// results that Luo et al.'s dynamical-isometry NAS (arXiv 2307.02263) builds on.
/// </summary>
public sealed class IsometryExperiment(IsometryOptions options) : IExperiment<IsometryOutput>
{
    private readonly Dictionary<Activation, EdgeOfChaosPoint> criticalPoints = [];

    public ExperimentKind Kind => ExperimentKind.Isometry;
    public object Config => options;
    public long Seed => options.Seed;

    public IsometryOutput Run(ExperimentContext context)
    {
        options.Validate();
        var clock = Stopwatch.StartNew();
        var points = new List<MeanFieldPoint>();
        var edges = new List<EdgeOfChaosPoint>();
        var phases = new List<PhaseDiagram>();
        var sigmaW2 = MeanField.Geometric(options.MinSigmaW2, options.MaxSigmaW2, options.SigmaW2Points);
        double[] sigmaB2 = [.. Enumerable.Range(0, options.SigmaB2Points).Select(i => options.MaxSigmaB2 * i / (options.SigmaB2Points - 1))];
        for (int i = 0; i < options.Activations.Count; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var activation = options.Activations[i];
            var field = new MeanField(activation);
            context.Report("mean field", i, options.Activations.Count, activation.Token());
            var point = field.Analyze(options.SigmaW2, options.SigmaB2);
            var edge = field.EdgeOfChaos(options.SigmaB2, options.MinSigmaW2, options.MaxSigmaW2);
            var diagram = field.Phases(sigmaW2, sigmaB2);
            context.Journal.Record($"mean-field/{activation.Token()}", point);
            context.Journal.Record($"edge/{activation.Token()}", edge);
            context.Journal.Record($"phases/{activation.Token()}", diagram);
            points.Add(point);
            edges.Add(edge);
            phases.Add(diagram);
        }

        var spectra = new List<SpectrumSummary>();
        int[] layers = options.ConvChannels > 0 ? [0, options.ConvChannels] : [0];
        var cases = (from a in options.SpectraActivations from c in layers from w in new[] { WeightInit.Gaussian, WeightInit.Orthogonal } select (a, c, w)).ToList();
        for (int i = 0; i < cases.Count; i++)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var (activation, conv, weights) = cases[i];
            string layer = conv > 0 ? "conv" : "dense";
            string key = $"spectrum/{activation.Token()}/{layer}/{weights.ToString().ToLowerInvariant()}";
            context.Report("Jacobian spectra", i, cases.Count, key);
            var summary = Spectrum(activation, conv, weights, Seeds.Derive(options.Seed, key));
            context.Journal.Record(key, summary with { SingularValues = [] });
            spectra.Add(summary);
        }
        return new IsometryOutput(context.RunId, options.SigmaW2, options.SigmaB2, points, edges, phases, spectra, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The spectrum at the activation's edge of chaos for the spectra's σ_b², from inputs at q* (or at variance 1 when q* is not finite, as for relu).</summary>
    private SpectrumSummary Spectrum(Activation activation, int channels, WeightInit weights, long seed)
    {
        var field = new MeanField(activation);
        if (!criticalPoints.TryGetValue(activation, out var edge))
            criticalPoints[activation] = edge = field.EdgeOfChaos(options.SpectraSigmaB2, options.MinSigmaW2, options.MaxSigmaW2);
        if (!double.IsFinite(edge.SigmaW2) || edge.Reason is not null)
            throw new InvalidOperationException($"{activation.Token()} has no edge of chaos at σ_b² = {options.SpectraSigmaB2}: {edge.Reason}; measure spectra of other activations (--spectra).");
        double q = double.IsFinite(edge.QStar) ? edge.QStar : 1;
        var network = new RandomNetwork(activation, edge.SigmaW2, options.SpectraSigmaB2, options.Depth, channels > 0 ? channels : options.Width, weights, q,
            channels > 0 ? options.ConvImageSize : 0);
        var s = JacobianSpectrum.SingularValues(network, seed);
        double chi1 = edge.SigmaW2 * field.At(q).Dphi2;
        double? predicted = channels == 0 ? JacobianSpectrum.PredictedSpread(activation, q, options.Depth, weights) : null;
        return new SpectrumSummary(activation.Token(), weights, channels > 0 ? "conv" : "dense", edge.SigmaW2, options.SpectraSigmaB2, options.Depth, network.Dimension, q,
            JacobianSpectrum.MeanSquare(s), Math.Pow(chi1, options.Depth), JacobianSpectrum.Spread(s), predicted, s[0], s[^1], s);
    }
}
