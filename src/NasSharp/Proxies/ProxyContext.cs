using System.Diagnostics;
using NasSharp.Networks;
using NasSharp.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Proxies;

/// <summary>
/// Everything proxies need to score one architecture: a factory that builds its network (seeded, so every call gives
/// the same weights), a batch, optional labels, and computations shared between proxies — one train-mode forward and
/// backward pass gives the loss gradients and input gradients that <see cref="Plan"/> asks for and whatever the planned
/// <see cref="TrainPassProbe"/>s measure (each defined in its proxy's file), and one empirical NTK serves every NTK
/// proxy. Computations are done on first use and kept until <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Torch work must happen on the thread that created the context (dispose scopes are thread-static). The context
/// owns the networks it builds and the tensors it computes; it does not own <see cref="Inputs"/> or <see cref="Labels"/>.
/// </remarks>
public sealed class ProxyContext : IDisposable
{
    private const SharedComputation TrainPassParts = SharedComputation.LossGradients | SharedComputation.InputGradients;

    private readonly Func<nn.Module<Tensor, Tensor>> buildNetwork;
    private readonly Func<long, nn.Module<Tensor, Tensor>>? buildSeeded;
    private readonly Dictionary<NtkForm, IReadOnlyList<NtkSpectrum>> formSpectra = [];
    private readonly Dictionary<NtkForm, NtkGram> formGrams = [];
    private readonly List<nn.Module> ownedNetworks = [];
    private readonly List<Tensor> ownedTensors = [];
    private readonly List<SharedStage> stages = [];
    private readonly TrainPassProbe[] plannedProbes;
    private readonly Dictionary<TrainPassProbe, object> observed = [];
    private readonly Dictionary<object, object> ownPasses = new(ReferenceEqualityComparer.Instance);
    private nn.Module<Tensor, Tensor>? network;
    private SharedComputation computed;
    private LossGradients? lossGradients;
    private Tensor? inputGradients;
    private NtkGram? ntk;
    private NtkSpectrum? spectrum;
    private bool disposed;

    /// <param name="buildNetwork">Builds the architecture's network at initialisation; must seed libtorch itself (e.g.
    /// <c>() => space.BuildNetwork(genotype, shape, classes, options, seed, device)</c>) so each call gives the same weights.
    /// The network maps [N, ...] to logits [N, <paramref name="classes"/>].</param>
    /// <param name="inputs">A batch [N, ...] in the network's dtype and on its device.</param>
    /// <param name="labels">Class indices [N] (int64, in [0, classes)), or null for label-free proxies only.</param>
    /// <param name="classes">Number of logits the network returns per sample.</param>
    /// <param name="seed">The seed of this evaluation, for proxies that draw random numbers (meco's Gaussian sample).</param>
    /// <param name="plan">Shared computations to do together on first use (an evaluator passes the union of its proxies' needs).</param>
    /// <param name="probes">Quantities to measure on the same train-mode pass as <paramref name="plan"/>'s (an evaluator
    /// passes its proxies' <see cref="ProxyRequirements.Observes"/>).</param>
    public ProxyContext(Func<nn.Module<Tensor, Tensor>> buildNetwork, Tensor inputs, Tensor? labels, int classes, long seed,
        SharedComputation plan = SharedComputation.None, IEnumerable<TrainPassProbe>? probes = null)
        : this(buildNetwork, null, inputs, labels, classes, seed, plan, probes)
    {
    }

    /// <summary>A context whose network factory takes a seed, so proxies can also score other initialisations
    /// (<see cref="NtkSpectra"/>); the network of <see cref="Network"/> is <paramref name="buildNetwork"/>(<paramref name="seed"/>).</summary>
    public ProxyContext(Func<long, nn.Module<Tensor, Tensor>> buildNetwork, Tensor inputs, Tensor? labels, int classes, long seed,
        SharedComputation plan = SharedComputation.None, IEnumerable<TrainPassProbe>? probes = null)
        : this(buildNetwork is null ? null! : () => buildNetwork(seed), buildNetwork, inputs, labels, classes, seed, plan, probes)
    {
    }

    private ProxyContext(Func<nn.Module<Tensor, Tensor>> buildNetwork, Func<long, nn.Module<Tensor, Tensor>>? buildSeeded, Tensor inputs,
        Tensor? labels, int classes, long seed, SharedComputation plan, IEnumerable<TrainPassProbe>? probes)
    {
        ArgumentNullException.ThrowIfNull(buildNetwork);
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.IsInvalid) throw new ArgumentException("inputs has been disposed.", nameof(inputs));
        if (inputs.dim() < 2 || inputs.shape[0] < 1)
            throw new ArgumentException($"inputs must be a batch [N, ...] with N ≥ 1 and at least one feature dimension; its shape is [{string.Join(", ", inputs.shape)}].", nameof(inputs));
        if (!is_floating_point(inputs))
            throw new ArgumentException($"inputs are {inputs.dtype}; proxies need floating-point inputs (convert with inputs.to_type(ScalarType.Float32)).", nameof(inputs));
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(classes), classes, "The number of classes must be at least 1.");
        if (labels is not null)
        {
            if (labels.IsInvalid) throw new ArgumentException("labels has been disposed.", nameof(labels));
            if (labels.dtype != ScalarType.Int64 || labels.dim() != 1 || labels.shape[0] != inputs.shape[0])
                throw new ArgumentException(
                    $"labels must be class indices of type Int64 and shape [{inputs.shape[0]}] (one per input); got {labels.dtype} [{string.Join(", ", labels.shape)}].",
                    nameof(labels));
            using var scope = NewDisposeScope();
            long min = labels.min().item<long>(), max = labels.max().item<long>();
            if (min < 0 || max >= classes)
                throw new ArgumentException($"labels must lie in [0, {classes}); they range over [{min}, {max}].", nameof(labels));
        }
        var planned = (probes ?? []).Distinct().ToArray();
        if (planned.Any(p => p is null)) throw new ArgumentException("probes contains null.", nameof(probes));
        this.buildNetwork = buildNetwork;
        this.buildSeeded = buildSeeded;
        plannedProbes = planned;
        Inputs = inputs;
        Labels = labels;
        Classes = classes;
        Seed = seed;
        Plan = plan;
    }

    public Tensor Inputs { get; }
    public Tensor? Labels { get; }
    public int Classes { get; }
    public long Seed { get; }
    public SharedComputation Plan { get; }
    public int BatchSize => checked((int)Inputs.shape[0]);

    /// <summary>The shape of one input, e.g. [3, 32, 32].</summary>
    public long[] SampleShape => Inputs.shape[1..];

    public Device Device => Inputs.device;

    /// <summary>Shared computations done so far, in order, with their wall times.</summary>
    public IReadOnlyList<SharedStage> Stages => stages;

    /// <summary>
    /// The network shared by non-destructive proxies, built on first use. Proxies must not change its parameters;
    /// they set the batch-norm mode they need with <see cref="UseBatchNorm"/>, which restores mode and buffers.
    /// </summary>
    public nn.Module<Tensor, Tensor> Network
    {
        get
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return network ??= Timed("build network", Build);
        }
    }

    /// <summary>A fresh copy of the network (same seed, same weights) for a proxy that changes weights; owned by the context.</summary>
    public nn.Module<Tensor, Tensor> BuildCopy()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        return Build();
    }

    /// <summary>Runs <see cref="Network"/> in <paramref name="mode"/> until disposed, then restores its mode and buffers.</summary>
    public IDisposable UseBatchNorm(BatchNormMode mode) => BatchNormScope.Enter(Network, mode);

    /// <summary>∂L/∂θ of the mean cross-entropy on the batch (train-mode BN); needs labels.</summary>
    public LossGradients LossGradients()
    {
        EnsureTrainPass(SharedComputation.LossGradients);
        return lossGradients!;
    }

    /// <summary>∂(Σ_n Σ_k f_k(x_n))/∂X, shape of <see cref="Inputs"/> (train-mode BN, as in Mellor et al.'s code).</summary>
    public Tensor InputGradients()
    {
        EnsureTrainPass(SharedComputation.InputGradients);
        return inputGradients!;
    }

    /// <summary>What <paramref name="probe"/> measured on the train-mode pass (with the planned probes, on first use).</summary>
    internal TResult Observe<TResult>(TrainPassProbe<TResult> probe) where TResult : class
    {
        EnsureTrainPass(SharedComputation.None, probe);
        return (TResult)observed[probe];
    }

    /// <summary>
    /// What <paramref name="pass"/> computes on its own pass of the network (AZ-NAS's stage statistics, SWAP's patterns),
    /// computed on first use, timed as a shared stage, and kept for the other proxies that read it.
    /// </summary>
    internal TResult Compute<TResult>(OwnPass<TResult> pass) where TResult : class
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(pass);
        if (!ownPasses.TryGetValue(pass, out var result))
        {
            using var scope = NewDisposeScope();
            result = Timed(pass.Name, () => pass.Run(this));
            ownPasses[pass] = result;
        }
        return (TResult)result;
    }

    /// <summary>
    /// The empirical NTK Θ = J Jᵀ of the summed logits (<see cref="NtkOutput.SumOfLogits"/>), BN in eval mode so rows are
    /// per-sample gradients; by the fast structured path where the network supports it, else the exact one
    /// (<see cref="NtkMethod.Auto"/>: both agree to rounding, tested in the kernel tests).
    /// </summary>
    public NtkGram EmpiricalNtk()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (ntk is null)
        {
            var model = Network;
            ntk = Timed("empirical NTK", () =>
            {
                using var bn = BatchNormScope.Enter(model, BatchNormMode.Eval);
                return Kernels.EmpiricalNtk.Compute(model, Inputs, NtkOutput.SumOfLogits, NtkMethod.Auto, out _);
            });
        }
        return ntk;
    }

    /// <summary>The spectrum of <see cref="EmpiricalNtk"/>, decomposed once.</summary>
    public NtkSpectrum NtkSpectrum()
    {
        var gram = EmpiricalNtk();
        return spectrum ??= Timed("NTK spectrum", gram.Spectrum);
    }

    /// <summary>
    /// The spectra of <paramref name="form"/>'s kernel, one per initialisation (<see cref="NtkForm.Spectra"/>), computed on
    /// fresh networks on first use and kept for the forms with the same kernel. The default kernel is
    /// <see cref="NtkSpectrum"/>'s. Other initialisations than the first need the seeded constructor.
    /// </summary>
    public IReadOnlyList<NtkSpectrum> NtkSpectra(NtkForm form)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(form);
        var kernel = form.Kernel;
        if (kernel.IsDefaultKernel) return [NtkSpectrum()];
        // One initialisation: the spectrum of the kernel NtkGram keeps, so scores of Θ itself on the same form share it.
        if (kernel.Initializations == 1)
            return formSpectra.TryGetValue(kernel, out var one) ? one : formSpectra[kernel] = [NtkGram(kernel).Spectrum()];
        if (buildSeeded is null)
            throw new InvalidOperationException($"The NTK over {kernel.Initializations} initialisations needs a network factory that takes a seed; create the ProxyContext with one.");
        if (!formSpectra.TryGetValue(kernel, out var spectra))
        {
            var build = buildSeeded;
            spectra = Timed($"empirical NTK ({kernel.Describe()})", () => kernel.Spectra(s => Protected(build(s)), Inputs, Seed));
            formSpectra[kernel] = spectra;
        }
        return spectra;
    }

    /// <summary>
    /// The kernel of <paramref name="form"/> on <see cref="Inputs"/> for the first initialisation (<see cref="NtkForm.Gram"/>), on a
    /// fresh network, computed once per kernel (the default kernel is <see cref="EmpiricalNtk"/>'s). For the scores that need Θ
    /// itself, not only its spectrum.
    /// </summary>
    public NtkGram NtkGram(NtkForm form)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(form);
        var kernel = form.Kernel with { Initializations = 1 };
        if (kernel.IsDefaultKernel) return EmpiricalNtk();
        if (!formGrams.TryGetValue(kernel, out var gram))
        {
            var build = buildSeeded ?? (_ => buildNetwork());
            gram = Timed($"empirical NTK ({kernel.Describe()})", () =>
            {
                using var scope = NewDisposeScope();
                using var model = Protected(build(Seed));
                return kernel.Gram(model, Inputs, Seed);
            });
            formGrams[kernel] = gram;
        }
        return gram;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in ownedTensors) t.Dispose();
        ownedTensors.Clear();
        foreach (var m in ownedNetworks) m.Dispose();
        ownedNetworks.Clear();
    }

    /// <summary>Counts NaN and ±Inf in <paramref name="t"/>; null when all entries are finite.</summary>
    internal static string? NonFiniteEntries(string what, Tensor t)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long nan = t.isnan().sum().item<long>();
        long inf = t.isinf().sum().item<long>();
        if (nan + inf == 0) return null;
        return nan > 0 && inf > 0 ? $"{what} has {nan} NaN and {inf} Inf entries"
            : nan > 0 ? $"{what} has {nan} NaN entries" : $"{what} has {inf} Inf entries";
    }

    internal T Timed<T>(string name, Func<T> compute)
    {
        var watch = Stopwatch.StartNew();
        var result = compute();
        stages.Add(new SharedStage(name, watch.Elapsed.TotalSeconds));
        return result;
    }

    internal Tensor Own(Tensor t)
    {
        var kept = t.DetachFromDisposeScope();
        ownedTensors.Add(kept);
        return kept;
    }

    private static nn.Module<Tensor, Tensor> Protected(nn.Module<Tensor, Tensor> model)
    {
        ConvolutionBackend.Protect(model ?? throw new InvalidOperationException("The network factory returned null."));
        return model;
    }

    private nn.Module<Tensor, Tensor> Build()
    {
        var model = Protected(buildNetwork());
        // The context owns the network for its lifetime, whatever dispose scope is open while it is built
        // (ScaledLinear's parameters, unlike TorchSharp's own layers', belong to the scope they were created in).
        foreach (var p in model.parameters()) p.DetachFromDisposeScope();
        foreach (var b in model.buffers()) b.DetachFromDisposeScope();
        ownedNetworks.Add(model);

        var parameters = model.parameters().ToArray();
        if (parameters.Length > 0)
        {
            var p0 = parameters[0];
            if (p0.dtype != Inputs.dtype)
                throw new ArgumentException($"The inputs are {Inputs.dtype} but the network's parameters are {p0.dtype}: convert the inputs with inputs.to_type(ScalarType.{p0.dtype}).");
            if (p0.device.type != Inputs.device.type || p0.device.index != Inputs.device.index)
                throw new ArgumentException($"The inputs are on {Inputs.device} but the network is on {p0.device}: build the network on the inputs' device.");
        }
        return model;
    }

    private void EnsureTrainPass(SharedComputation needed, TrainPassProbe? probe = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var missing = needed & ~computed & TrainPassParts;
        bool probeMissing = probe is not null && !observed.ContainsKey(probe);
        if (missing == SharedComputation.None && !probeMissing) return;
        if (Labels is null && (missing.HasFlag(SharedComputation.LossGradients) || (probeMissing && probe!.NeedsLoss)))
            throw new InvalidOperationException(
                $"{(probeMissing ? probe!.Name : missing)} needs labels (a cross-entropy loss); create the ProxyContext with labels.");
        var what = missing | (Plan & ~computed & TrainPassParts);
        var probes = plannedProbes.Append(probe).OfType<TrainPassProbe>().Distinct()
            .Where(p => !observed.ContainsKey(p) && (Labels is not null || !p.NeedsLoss))
            // An observer that needs the loss may rewrite module outputs to make gradient targets (Fisher's a·(1 + m));
            // attached last, it leaves the others each module's own output (OrderBy is stable).
            .OrderBy(p => p.NeedsLoss).ToArray();
        if (Labels is null) what &= ~SharedComputation.LossGradients;
        if (probes.Any(p => p.NeedsLoss)) what |= SharedComputation.LossGradients; // the loss pass always yields ∂L/∂θ
        var model = Network;
        var parts = (what == SharedComputation.None ? [] : new[] { what.ToString() }).Concat(probes.Select(p => p.Name));
        Timed($"train-mode pass ({string.Join(", ", parts)})", () => { RunTrainPass(model, what, probes); return 0; });
        computed |= what;
    }

    /// <summary>
    /// One forward pass with BN in train mode and the probes' observers attached, the input gradients, and one backward
    /// of the mean cross-entropy over the trainable parameters and the observers' gradient targets; the observers then
    /// get the gradients of their targets.
    /// </summary>
    private void RunTrainPass(nn.Module<Tensor, Tensor> model, SharedComputation what, IReadOnlyList<TrainPassProbe> probes)
    {
        bool wantLoss = what.HasFlag(SharedComputation.LossGradients);
        bool wantInput = what.HasFlag(SharedComputation.InputGradients);
        int n = BatchSize;

        using var scope = NewDisposeScope();
        using var bn = BatchNormScope.Enter(model, BatchNormMode.Train);
        using var gradMode = wantLoss || wantInput ? enable_grad() : no_grad();
        var observers = new List<ITrainPassObserver>(probes.Count);
        try
        {
            var x = wantInput ? Inputs.detach().clone().requires_grad_(true) : Inputs;
            foreach (var probe in probes) observers.Add(probe.Attach(this, model));

            var logits = model.call(x);
            if (logits.dim() != 2 || logits.shape[0] != n || logits.shape[1] != Classes)
                throw new ArgumentException($"The network must map [N, ...] to logits [N, {Classes}]; for N = {n} it returned [{string.Join(", ", logits.shape)}].");
            string? outputReason = NonFiniteEntries("the network's output", logits);

            if (wantInput)
            {
                // retain_graph when the loss gradients still need the graph (a second grad through a freed graph aborts).
                var gx = autograd.grad(new[] { logits.sum() }, new[] { x }, retain_graph: wantLoss, allow_unused: true)[0];
                inputGradients = Own((gx.IsInvalid ? zeros_like(x) : gx).detach());
            }
            var observedGradients = observers.Select(_ => (IReadOnlyList<Tensor>)[]).ToArray();
            if (wantLoss)
            {
                var loss = nn.functional.cross_entropy(logits, Labels!);
                var named = NamedTrainable(model);
                var extra = observers.Select(o => o.GradientTargets).ToArray();
                var targets = named.Select(p => (Tensor)p.Parameter).Concat(extra.SelectMany(t => t)).ToArray();
                var grads = autograd.grad(new[] { loss }, targets, allow_unused: true);

                var gradients = new Tensor[named.Length];
                string? gradReason = null;
                for (int i = 0; i < named.Length; i++)
                {
                    var g = grads[i].IsInvalid ? zeros_like(named[i].Parameter) : grads[i].detach();
                    gradReason ??= NonFiniteEntries($"∂L/∂{named[i].Name}", g);
                    gradients[i] = Own(g);
                }
                double lossValue = loss.to_type(ScalarType.Float64).item<double>();
                string? lossReason = double.IsFinite(lossValue) ? null : $"the cross-entropy loss is {lossValue}";
                lossGradients = new LossGradients(lossValue, named.Select(p => p.Parameter).ToArray(), gradients,
                    outputReason ?? lossReason ?? gradReason);

                int offset = named.Length;
                for (int k = 0; k < observers.Count; k++)
                {
                    observedGradients[k] = grads.Skip(offset).Take(extra[k].Count).ToArray();
                    offset += extra[k].Count;
                }
            }
            for (int k = 0; k < observers.Count; k++) observed[probes[k]] = observers[k].Complete(observedGradients[k]);
        }
        finally
        {
            foreach (var o in observers) o.Dispose();
        }
    }

    private static (string Name, Parameter Parameter)[] NamedTrainable(nn.Module model)
    {
        var seen = new HashSet<IntPtr>();
        return model.named_parameters().Where(p => p.parameter.requires_grad && seen.Add(p.parameter.Handle))
            .Select(p => (p.name, p.parameter)).ToArray();
    }
}
