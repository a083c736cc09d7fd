using NasSharp.Networks;
using NasSharp.Spaces;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Search.Bilevel;

/// <summary>The settings of a planted activation-search problem.</summary>
public sealed record PlantedSettings
{
    /// <summary>
    /// The h candidate activations. No candidate is an affine image of another (sigmoid(z) = (1 + tanh(z/2))/2 would be, and
    /// with it the interpolants of the two span nearly the same functions), and each alone interpolates (the identity's
    /// features span only d directions).
    /// </summary>
    public IReadOnlyList<Activation> Activations { get; init; } = [Activation.Relu, Activation.Tanh, Activation.Swish, Activation.Elu];
    /// <summary>d, the input dimension.</summary>
    public int Dimension { get; init; } = 50;
    /// <summary>p, the hidden width: larger than n_T, so every candidate interpolates the training split.</summary>
    public int Width { get; init; } = 400;
    /// <summary>n_T: below p, so every candidate interpolates; close enough to it that the interpolant captures most of the teacher's readout.</summary>
    public int TrainPoints { get; init; } = 300;
    /// <summary>
    /// Fresh inputs the population (test) risk is estimated on (<see cref="PlantedProblem.PopulationRisks"/>): at least
    /// <see cref="PlantedProblem.PopulationMultiple"/> times the largest validation size, so that the estimate's own error
    /// does not put a floor under the validation–test gap.
    /// </summary>
    public int TestPoints { get; init; } = 100_000;
    /// <summary>Standard deviation of the label noise.</summary>
    public double Noise { get; init; } = 0.05;
    /// <summary>α* of the teacher's dominant activation; the rest share 1 − this at random.</summary>
    public double Dominant { get; init; } = 0.7;

    public int Candidates => Activations.Count;

    public void Validate()
    {
        if (Activations.Count < 2) throw new SettingException("--activations: a search needs at least two candidate activations.");
        if (Dimension < 1 || Width < 1 || TrainPoints < 1 || TestPoints < 1) throw new SettingException("Dimension, width and sample sizes must be positive.");
        if (TrainPoints >= Width) throw new SettingException($"--train-points {TrainPoints}: must be below --width {Width}, so that every candidate interpolates the training split.");
        if (!(Noise >= 0)) throw new SettingException($"--noise {Noise}: must be non-negative.");
        if (!(Dominant > 1.0 / Activations.Count && Dominant <= 1)) throw new SettingException($"--dominant {Dominant}: must be above 1/h and at most 1.");
    }
}

/// <summary>
/// A planted activation-search problem, the setting of Oymak, Li &amp; Soltanolkotabi (ICML 2021) for activation search: a
/// one-hidden-layer network with a fixed random first layer W (p × d, N(0, 1/d)) and the activation mixture
/// σ_α* = Σ_i α*_i σ_i, so the teacher is f*(x) = Σ_i α*_i ⟨θ*, σ_i(Wx)⟩ with θ* ~ N(0, I/p), and labels y = f*(x) + noise.
/// Features Φ(x) = [σ_1(Wx), …, σ_h(Wx)] ∈ R^{p×h}; inputs x ~ N(0, I_d). With p &gt; n_T every α interpolates the
/// training split, so the training loss cannot tell candidates apart. The samples come from one seeded generator, the population
/// sample of <see cref="PopulationRisks"/> from another.
/// </summary>
public sealed class PlantedProblem : IDisposable
{
    private readonly Tensor w;
    private readonly Tensor theta;
    private readonly Generator generator;

    /// <summary>The population sample is at least this many times the largest validation sample.</summary>
    public const int PopulationMultiple = 100;

    /// <summary>Inputs per chunk of <see cref="PopulationRisks"/> (features of a chunk: chunk × p × h doubles).</summary>
    private const int PopulationChunk = 2000;

    private readonly long seed;

    public PlantedProblem(PlantedSettings settings, long seed)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        Settings = settings;
        this.seed = seed;
        generator = new Generator((ulong)Seeds.Derive(seed, "planted"));
        w = (randn(new long[] { settings.Width, settings.Dimension }, dtype: ScalarType.Float64, generator: generator) / Math.Sqrt(settings.Dimension)).DetachFromDisposeScope();
        theta = (randn(new long[] { settings.Width, 1 }, dtype: ScalarType.Float64, generator: generator) / Math.Sqrt(settings.Width)).DetachFromDisposeScope();
        var rng = Seeds.Rng(seed, "planted-alpha");
        int h = settings.Candidates, dominant = rng.Next(h);
        var rest = Enumerable.Range(0, h - 1).Select(_ => rng.NextDouble()).ToArray();
        double sum = rest.Sum();
        AlphaStar = new double[h];
        for (int i = 0, r = 0; i < h; i++) AlphaStar[i] = i == dominant ? settings.Dominant : (1 - settings.Dominant) * rest[r++] / sum;
        Dominant = dominant;
    }

    public PlantedSettings Settings { get; }
    public double[] AlphaStar { get; }
    /// <summary>argmax α*.</summary>
    public int Dominant { get; }

    /// <summary>θ* [p, 1], the teacher's readout.</summary>
    public Tensor TeacherReadout => theta;

    /// <summary>n fresh samples: features [n, p, h] and noisy labels [n, 1].</summary>
    public (Tensor Features, Tensor Targets) Sample(int n)
    {
        var (features, clean) = Clean(n, generator);
        return (features, clean + Settings.Noise * randn(new long[] { n, 1 }, dtype: ScalarType.Float64, generator: generator));
    }

    /// <summary>
    /// The population risk R(θ, α) = ½ E[(Σ_i α_i ⟨θ, φ_i(x)⟩ − y)²] of each student (α, θ) (θ of shape [p, 1]): the noise is
    /// independent of x with mean zero, so R = ½ E_x[(f_{θ,α}(x) − f*(x))²] + ½σ², the first term averaged over
    /// <see cref="PlantedSettings.TestPoints"/> fresh inputs (their own stream, in chunks; no label noise is drawn) and the
    /// second exact. Every student sees the same inputs.
    /// </summary>
    public double[] PopulationRisks(IReadOnlyList<(Tensor Alpha, Tensor Theta)> students)
    {
        ArgumentNullException.ThrowIfNull(students);
        if (students.Count == 0) return [];
        using var outer = NewDisposeScope();
        // Student s predicts Σ_{p,h} Φ[n,p,h] θ_s[p] α_s[h]: one product of the flattened features [n, p·h] with the columns
        // vec(θ_s α_sᵀ) of every student.
        var weights = stack([.. students.Select(st => st.Theta.reshape(-1, 1).mm(st.Alpha.reshape(1, -1)).reshape(-1))], 1);
        var sums = new double[students.Count];
        using var population = new Generator((ulong)Seeds.Derive(seed, "planted-population"));
        for (int done = 0; done < Settings.TestPoints; done += PopulationChunk)
        {
            using var scope = NewDisposeScope();
            int n = Math.Min(PopulationChunk, Settings.TestPoints - done);
            var (features, clean) = Clean(n, population);
            var chunk = (features.reshape(n, -1).mm(weights) - clean).pow(2).sum(dim: 0).data<double>().ToArray();
            for (int i = 0; i < sums.Length; i++) sums[i] += chunk[i];
        }
        return [.. sums.Select(v => 0.5 * v / Settings.TestPoints + 0.5 * Settings.Noise * Settings.Noise)];
    }

    /// <summary>n inputs from <paramref name="source"/>: features [n, p, h] and the teacher's noiseless outputs f*(x) [n, 1].</summary>
    private (Tensor Features, Tensor Clean) Clean(int n, Generator source)
    {
        var x = randn(new long[] { n, Settings.Dimension }, dtype: ScalarType.Float64, generator: source);
        var pre = x.mm(w.t());
        var features = stack([.. Settings.Activations.Select(a => a.Apply(pre))], 2);
        return (features, einsum("nph,pc,h->nc", features, theta, tensor(AlphaStar, dtype: ScalarType.Float64)));
    }

    public void Dispose()
    {
        w.Dispose();
        theta.Dispose();
        generator.Dispose();
    }
}

/// <summary>
/// The student of a <see cref="PlantedProblem"/> as a relaxed supernet, so that <see cref="BilevelSearch"/> (what
/// <c>nas search --strategy bilevel</c> runs) searches it: its input is the features Φ(x) ∈ R^{p×h} of the teacher's fixed
/// first layer, its output f(x) = p^{-1/2} Σ_i w_i ⟨θ, φ_i(x)⟩ with one shared readout θ (the lower level's weights,
/// starting at zero, so that gradient descent on the training split tends to the minimum-norm interpolant) and one group
/// of mixing weights w = softmax(α) over the h activations. The 1/√p (the NTK parameterisation of the readout) keeps the
/// curvature of the squared loss in θ of order one, so one weight step size suits every width; it does not change the
/// interpolant's predictions.
/// </summary>
public sealed class PlantedSupernet : SingleGroupSupernet
{
    public const string GroupName = "activation";

    private readonly Parameter theta;
    private readonly double scale;

    public PlantedSupernet(IReadOnlyList<Activation> activations, int width)
        : base(nameof(PlantedSupernet), new ArchitectureGroup(GroupName, 1, [.. (activations ?? throw new ArgumentNullException(nameof(activations))).Select(a => a.Token())]))
    {
        if (activations.Count < 1 || width < 1) throw new ArgumentException("A planted supernet needs at least one activation and a positive width.");
        theta = new Parameter(zeros(new long[] { width, 1 }, dtype: ScalarType.Float64));
        scale = 1 / Math.Sqrt(width);
        RegisterComponents();
    }

    /// <summary>Features [n, p, h] to predictions [n, 1].</summary>
    public override Tensor forward(Tensor input)
    {
        return einsum("nph,h,pc->nc", input, MixingWeights[0], theta) * scale;
    }
}

/// <summary>
/// The methods compared on a <see cref="PlantedProblem"/>, each returning α̂ on the simplex. The lower level of each is the
/// minimum-norm interpolant of the training split, θ(α) = Z_α⁺ y_T with Z_α = Φ_T α (the point gradient descent from zero
/// reaches on the overparameterised least-squares problem).
/// </summary>
public static class PlantedMethods
{
    /// <summary>θ(α), the minimum-norm least-squares readout on the training sample.</summary>
    public static Tensor Readout(Tensor trainFeatures, Tensor trainTargets, Tensor alpha) =>
        linalg.pinv(einsum("nph,h->np", trainFeatures, alpha)).mm(trainTargets);

    /// <summary>(1/2n) ‖Φ(θ, α) − y‖² of readout θ and weights α.</summary>
    public static double Risk(Tensor features, Tensor targets, Tensor theta, Tensor alpha)
    {
        using var scope = NewDisposeScope();
        return 0.5 * (einsum("nph,pc,h->nc", features, theta, alpha) - targets).pow(2).mean().item<double>();
    }

    /// <summary>
    /// θ(α) = Z_αᵀ (Z_α Z_αᵀ + εI)⁻¹ y_T, the minimum-norm interpolant in its dual form, differentiable in α; ε = 1e-9·tr(Z Zᵀ)/n_T
    /// only keeps the solve well posed (it changes the training fit by a relative 1e-9).
    /// </summary>
    public static Tensor InterpolantReadout(Tensor trainFeatures, Tensor trainTargets, Tensor alpha)
    {
        var z = einsum("nph,h->np", trainFeatures, alpha);
        var gram = z.mm(z.t());
        int n = (int)gram.shape[0];
        var ridge = 1e-9 * gram.trace() / n;
        return z.t().mm(linalg.solve(gram + ridge * eye(n, dtype: ScalarType.Float64), trainTargets));
    }

    /// <summary>
    /// Not a strategy: bilevel gradient descent on softmax logits with the lower level solved exactly, the upper loss
    /// L_up(θ(α), α) differentiated through the interpolant θ(α) (<see cref="InterpolantReadout"/>, the limit of gradient
    /// descent on the weights from zero), i.e. the exact hypergradient that the second-order step of DARTS approximates by
    /// one unrolled step. Each step moves the logits against it, normalised by its largest entry. With the training split as
    /// the upper level its hypergradient is ~0 (every α interpolates) and α stays uniform.
    /// </summary>
    public static double[] InterpolantHypergradient(Tensor trainFeatures, Tensor trainTargets, Tensor upperFeatures, Tensor upperTargets, int steps, double stepSize)
    {
        using var scope = NewDisposeScope();
        int h = (int)trainFeatures.shape[2];
        var logits = zeros(h, dtype: ScalarType.Float64);
        for (int t = 0; t < steps; t++)
        {
            using var step = NewDisposeScope();
            var a = logits.clone().requires_grad_(true);
            var alpha = softmax(a, 0);
            var theta = InterpolantReadout(trainFeatures, trainTargets, alpha);
            var loss = 0.5 * (einsum("nph,pc,h->nc", upperFeatures, theta, alpha) - upperTargets).pow(2).mean();
            var g = autograd.grad([loss], [a])[0];
            double scale = g.abs().max().item<double>();
            // A hypergradient at rounding level (the training-loss baseline: every α interpolates) leaves α where it is.
            if (!(scale > 1e-12 * Math.Max(loss.item<double>(), 1e-300))) break;
            logits = (logits - stepSize * g / scale).MoveToOuterDisposeScope();
        }
        return softmax(logits, 0).data<double>().ToArray();
    }

    /// <summary>
    /// The <c>bilevel</c> strategy's search (<see cref="BilevelSearch.Run"/> with <paramref name="options"/>: its order, steps
    /// and learning rates; its upper split decides whether α follows the validation or the training loss) on the planted
    /// student (<see cref="PlantedSupernet"/>); softmax(α).
    /// </summary>
    public static double[] BilevelStrategy(IReadOnlyList<Activation> activations, Tensor trainFeatures, Tensor trainTargets, Tensor validationFeatures,
        Tensor validationTargets, BilevelOptions options)
    {
        ArgumentNullException.ThrowIfNull(activations);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        using var supernet = new PlantedSupernet(activations, (int)trainFeatures.shape[1]);
        var logits = BilevelSearch.Run(supernet, (trainFeatures, trainTargets), (validationFeatures, validationTargets), options).Logits[0];
        var row = Enumerable.Range(0, activations.Count).Select(i => logits[0, i]).ToArray();
        double top = row.Max(), sum = row.Sum(v => Math.Exp(v - top));
        return [.. row.Select(v => Math.Exp(v - top) / sum)];
    }

    /// <summary>
    /// The <c>mkl</c> strategy's upper level (<see cref="MklStrategy.Search"/> with <paramref name="options"/>' steps, step size
    /// and ridge) on the candidates' feature kernels K_i = φ_i φ_iᵀ, each scaled to mean diagonal 1 on the training split as
    /// the strategy scales its NTKs; the planted features are the infinite-width limit's finite stand-in.
    /// </summary>
    public static double[] Mkl(Tensor trainFeatures, Tensor trainTargets, Tensor validationFeatures, Tensor validationTargets, MklOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        int h = (int)trainFeatures.shape[2], nT = (int)trainFeatures.shape[0];
        var trainKernels = new List<double[]>();
        var crossKernels = new List<double[]>();
        using (NewDisposeScope())
            for (int i = 0; i < h; i++)
            {
                var ft = trainFeatures.select(2, i);
                var fv = validationFeatures.select(2, i);
                double scale = nT / ft.pow(2).sum().item<double>();
                trainKernels.Add((ft.mm(ft.t()) * scale).contiguous().data<double>().ToArray());
                crossKernels.Add((fv.mm(ft.t()) * scale).contiguous().data<double>().ToArray());
            }
        using var problem = new MultipleKernelRidge(trainKernels, crossKernels, trainTargets.contiguous().data<double>().ToArray(),
            validationTargets.contiguous().data<double>().ToArray(), (int)trainTargets.shape[1], options.Ridge);
        return MklStrategy.Search(problem, options);
    }

    /// <summary>Every α of the simplex grid with spacing 1/<paramref name="divisions"/> in h dimensions.</summary>
    public static IReadOnlyList<double[]> SimplexGrid(int h, int divisions)
    {
        var grid = new List<double[]>();
        void Fill(int index, int left, int[] counts)
        {
            if (index == h - 1)
            {
                counts[index] = left;
                grid.Add([.. counts.Select(c => c / (double)divisions)]);
                return;
            }
            for (int c = 0; c <= left; c++)
            {
                counts[index] = c;
                Fill(index + 1, left - c, counts);
            }
        }
        Fill(0, divisions, new int[h]);
        return grid;
    }

    public static int ArgMax(IReadOnlyList<double> values)
    {
        int best = 0;
        for (int i = 1; i < values.Count; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
