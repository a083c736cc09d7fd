using NasSharp.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Kernels;

/// <summary>
/// Θ from structured per-sample derivatives (the "structured derivatives" idea of Novak, Sohl-Dickstein and
/// Schoenholz 2022, "Fast Finite Width Neural Tangent Kernel"). For a layer y = s·W a + s_b·b, the gradient of a scalar
/// output F(x_n) with respect to W is s·δ_n a_nᵀ with δ_n = ∂F/∂y_n, so the layer adds
/// Θ_nm += s²(δ_n·δ_m)(a_n·a_m) + s_b²(δ_n·δ_m) — without ever forming the per-sample gradients. A convolution is a
/// linear layer applied at P positions: its per-sample gradient is G_n = δ_n U_nᵀ (δ_n: C_out×P, U_n: the unfolded
/// input, C_in·k²×P), and Θ_nm += ⟨G_n, G_m⟩. One batched forward pass records every supported layer's input and output
/// (forward hooks), and one batched backward pass per logit gives every δ_n at once, because the network treats
/// samples independently.
/// </summary>
internal static class StructuredNtk
{

    // Θ is accumulated as Σ_c G_c G_cᵀ over column chunks of ~2^20 float64 entries, as EmpiricalNtk.Exact does.
    private const long ChunkElements = 1 << 20;

    // Bound on the larger temporaries: an unfolded block of samples, a chunk of per-sample gradients G, a row block of
    // the (N·K)×(N·K) Hadamard update. 2^21 entries = 8 MB in float32: below glibc's largest mmap threshold (32 MB), so
    // freed blocks are reused from the heap; fresh mmap'd pages fault in at ~6 µs per 4 KB page here, which made
    // unfolding a whole 64-sample batch at once (85 MB) take 0.5 s against 9 ms in 16-sample blocks.
    private const long BlockElements = 1 << 21;

    // The fixed Gaussian probe of the projected gradient check (a local generator: the global seed is untouched).
    private const ulong ProbeSeed = 20220617;
    private const int Probes = 4;

    private const string Supported = "Linear, ScaledLinear, Conv2d (zero padding), BatchNorm1d/2d/3d in eval mode with running statistics";

    /// <summary>Null when <see cref="Compute(nn.Module{Tensor, Tensor}, Tensor, NtkOutput, int)"/> can handle the model's structure; otherwise why not.</summary>
    public static string? UnsupportedReason(nn.Module<Tensor, Tensor> model) => Plan(model, out _);

    /// <summary>Θ of a validated model and batch (see <see cref="EmpiricalNtk.Fast"/>).</summary>
    public static NtkGram Compute(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output, int n)
    {
        try
        {
            return Compute(model, x, output, n, copyOutputs: false);
        }
        catch (BatchGradientMismatchException)
        {
            // An in-place operation downstream of a layer (ReLU(inplace)) may have rewritten the output δ was taken at;
            // with copies it cannot. A mismatch that persists is a parameter used outside its layer's call.
            try
            {
                return Compute(model, x, output, n, copyOutputs: true);
            }
            catch (BatchGradientMismatchException e)
            {
                throw new FastNtkNotSupportedException(e.Message);
            }
        }
    }

    /// <param name="copyOutputs">
    /// Whether the network continues with a copy of each recorded layer output rather than an alias of it. Copies keep
    /// in-place operations downstream (ReLU(inplace)) from rewriting the tensor δ is taken at, at the price of every
    /// output held twice (0.7 of 2.3 GB in the forward pass of a NAS-Bench-201 cell at N = 256); an alias is exact
    /// unless such an operation follows, which the batch-gradient check then reports (a rewrite too small for the check
    /// to see moves the rebuilt gradients by less than the rounding it allows).
    /// </param>
    private static NtkGram Compute(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output, int n, bool copyOutputs)
    {
        var reason = Plan(model, out var rules);
        if (reason is not null) throw new FastNtkNotSupportedException(reason);

        using var scope = NewDisposeScope();
        using var gradMode = enable_grad();
        var removers = new List<Action>();
        Tensor y;
        try
        {
            foreach (var rule in rules)
            {
                var r = rule;
                removers.Add(r.Module.register_forward_hook((_, input, result) => r.Record(input, result, n, scope, copyOutputs)).remove);
            }
            y = model.call(x);
        }
        finally
        {
            foreach (var remove in removers) remove();
        }

        if (y.dim() != 2 || y.shape[0] != n)
            throw new ArgumentException(
                $"The model must map [N, ...] to logits [N, K]; for N = {n} it returned shape [{string.Join(", ", y.shape)}].", nameof(model));
        int k = checked((int)y.shape[1]);
        if (k < 1) throw new ArgumentException("The model returned zero logits per sample.", nameof(model));
        if (!y.requires_grad)
            throw new ArgumentException(
                "The model's output does not depend on any trainable parameter (it does not require grad); check that its forward pass does not detach the output or run under no_grad.",
                nameof(model));

        int logits = output == NtkOutput.PerLogit ? k : 1;
        // Only outputs that require grad may be passed to autograd.grad (anything else aborts the process); a layer
        // output that does not (computed under no_grad) carries no gradient to θ, as in the exact path.
        var tracked = rules.SelectMany(r => r.Calls.Select(c => (Rule: r, Call: c))).Where(t => t.Call.Output.requires_grad).ToList();
        foreach (var rule in rules) rule.AllocateDeltas(logits);
        var parameters = rules.SelectMany(r => r.Parameters).ToList();
        var firstPassGradients = new Dictionary<IntPtr, Tensor>();
        for (int logit = 0; logit < logits; logit++)
        {
            // With independent samples, ∂(Σ_m f_k(x_m))/∂y_n = ∂f_k(x_n)/∂y_n: one pass gives δ for every sample.
            var target = output == NtkOutput.PerLogit ? y.select(1, logit).sum() : y.sum();
            // The first pass also asks for the parameters' own gradients, to check the per-sample rebuild against them.
            var inputs = tracked.Select(t => t.Call.Output).Concat(logit == 0 ? parameters.Cast<Tensor>() : []).ToList();
            if (inputs.Count == 0) continue;
            // The last pass frees the graph as it goes: its saved tensors are not needed for Θ.
            var grads = autograd.grad(new[] { target }, inputs, retain_graph: logit < logits - 1, allow_unused: true);
            for (int i = 0; i < tracked.Count; i++)
                if (!grads[i].IsInvalid) tracked[i].Call.Deltas[logit] = grads[i];
            if (logit == 0)
                for (int i = 0; i < parameters.Count; i++)
                    if (!grads[tracked.Count + i].IsInvalid) firstPassGradients[parameters[i].Handle] = grads[tracked.Count + i];
        }

        // Peak memory: the records, and the outputs δ was taken at, are the kernel's largest part (several GB for a cell
        // network at N = 256); each is freed as soon as it is no longer needed.
        foreach (var call in rules.SelectMany(r => r.Calls)) call.ReleaseOutput();
        var context = new Context(n, logits, x.dtype, x.device, firstPassGradients);
        var theta = zeros(new long[] { context.Rows, context.Rows }, dtype: ScalarType.Float64, device: x.device);
        using (no_grad())
            foreach (var rule in rules)
            {
                using (var ruleScope = NewDisposeScope())
                    rule.AccumulateChecked(theta, context);
                foreach (var call in rule.Calls) call.Release();
            }
        return new NtkGram(theta.cpu().data<double>().ToArray(), n, logits);
    }

    /// <summary>A rule for every module that holds trainable parameters, or the reason the model is not supported.</summary>
    private static string? Plan(nn.Module<Tensor, Tensor> model, out List<LayerRule> rules)
    {
        rules = [];
        var owner = new Dictionary<IntPtr, string>();
        var modules = new List<(string Name, nn.Module Module)> { ("(root)", model) };
        modules.AddRange(model.named_modules());
        foreach (var (name, module) in modules)
        {
            string where = $"module '{name}' ({module.GetType().Name})";
            if (module is BatchNorm bn)
            {
                if (bn.training)
                    return $"{where} is in training mode: batch statistics couple the samples, so the per-sample derivatives are not " +
                           "those of one batched backward pass. Call model.eval() to normalise with the running statistics, or use NtkMethod.Exact.";
                if (bn.running_mean is null || bn.running_var is null)
                    return $"{where} keeps no running statistics, so it normalises with batch statistics even in eval mode, which couples " +
                           "the samples; use NtkMethod.Exact.";
            }

            var own = module.named_parameters(recurse: false).Where(p => p.parameter.requires_grad).ToList();
            if (own.Count == 0) continue;
            if (module is Conv2d { padding_mode: not PaddingModes.Zeros } padded)
                return $"{where} pads with {padded.padding_mode}; NtkMethod.Fast handles zero padding only. Use NtkMethod.Exact.";
            LayerRule? rule = module switch
            {
                Linear l => new LinearRule(name, l, l.weight, l.bias, l.in_features, l.out_features, 1.0, 1.0),
                ScaledLinear s => new LinearRule(name, s, s.Weight, s.Bias, s.InFeatures, s.OutFeatures, s.WeightScale, s.BiasScale),
                Conv2d c => new ConvRule(name, c),
                BatchNorm b => new BatchNormRule(name, b),
                _ => null,
            };
            if (rule is null)
                return $"{where} holds trainable parameters ({string.Join(", ", own.Select(p => p.name))}) and NtkMethod.Fast has no rule for " +
                       $"{module.GetType().Name}; supported: {Supported}. Use NtkMethod.Exact (or Auto).";
            var extra = own.Where(p => !rule.Parameters.Any(q => q.Handle == p.parameter.Handle)).Select(p => p.name).ToList();
            if (extra.Count > 0)
                return $"{where} holds trainable parameters ({string.Join(", ", extra)}) beyond the weight and bias its NtkMethod.Fast rule covers; use NtkMethod.Exact.";
            foreach (var p in rule.Parameters)
            {
                if (owner.TryGetValue(p.Handle, out var other))
                    return $"A parameter is shared between {other} and {where} (tied weights): its per-sample gradient sums over both, " +
                           "which NtkMethod.Fast does not rebuild; use NtkMethod.Exact.";
                owner[p.Handle] = where;
            }
            rules.Add(rule);
        }
        return null;
    }

    private sealed record Context(int Samples, int Logits, ScalarType DType, Device Device, IReadOnlyDictionary<IntPtr, Tensor> FirstPassGradients)
    {
        public int Rows => Samples * Logits;

        /// <summary>Machine epsilon of the model's dtype: the rounding scale of the per-sample pieces.</summary>
        public double Epsilon => DType == ScalarType.Float64 ? 2.220446049250313e-16 : DType == ScalarType.Float32 ? 1.1920929e-7 : 9.765625e-4;
    }

    /// <summary>One recorded call of a layer: its input (detached) and output, and δ = ∂F/∂output for each logit pass.</summary>
    private sealed class Call(Tensor input, Tensor output)
    {
        public Tensor Input { get; } = input;
        /// <summary>The output δ is taken at; released (<see cref="ReleaseOutput"/>) once the passes are done.</summary>
        public Tensor Output { get; } = output;
        /// <summary>The output's shape, kept after the output itself is released.</summary>
        public long[] OutputShape { get; } = output.shape;
        public Tensor?[] Deltas { get; set; } = [];

        /// <summary>δ for every pass stacked as [N, K, ...output dims]; zeros where the output does not reach F.</summary>
        public Tensor StackedDeltas() =>
            Deltas.Length == 1 ? (Deltas[0] ?? Zeros()).unsqueeze(1) : stack(Deltas.Select(d => d ?? Zeros()), 1);

        private Tensor Zeros() => zeros(OutputShape, dtype: Input.dtype, device: Input.device);

        /// <summary>After the last backward pass only the output's shape is needed: its memory goes back.</summary>
        public void ReleaseOutput() => Output.Dispose();

        /// <summary>After the layer's Θ contribution is added nothing of the call is needed.</summary>
        public void Release()
        {
            Input.Dispose();
            foreach (var d in Deltas) d?.Dispose();
        }
    }

    private abstract class LayerRule(string name, nn.Module<Tensor, Tensor> module, Parameter? weight, Parameter? bias)
    {
        public string Name { get; } = name;
        public nn.Module<Tensor, Tensor> Module { get; } = module;
        /// <summary>The weight if it is trainable, else null (it is then not part of θ).</summary>
        protected Parameter? Weight { get; } = weight is { requires_grad: true } ? weight : null;
        protected Parameter? Bias { get; } = bias is { requires_grad: true } ? bias : null;
        public IEnumerable<Parameter> Parameters => new[] { Weight, Bias }.OfType<Parameter>();
        public List<Call> Calls { get; } = [];

        public Tensor Record(Tensor input, Tensor output, int n, DisposeScope scope, bool copyOutput)
        {
            if (input.dim() < 1 || input.shape[0] != n || output.dim() < 1 || output.shape[0] != n)
                throw new FastNtkNotSupportedException(
                    $"Module '{Name}' ({Module.GetType().Name}) was called with input [{string.Join(", ", input.shape)}] and output [{string.Join(", ", output.shape)}]; " +
                    $"NtkMethod.Fast needs the batch of N = {n} samples as the first dimension of every supported layer's input and output. Use NtkMethod.Exact.");
            Validate(input, output);
            // The recorded tensors live until Compute's scope ends, or until they are released. The network continues
            // with an alias or a copy of the output: hooks that return the module's own output tensor see it disposed.
            Calls.Add(new Call(Keep(input.detach(), scope), Keep(output, scope)));
            return copyOutput ? output.clone() : output.alias();
        }

        // Detach, then attach: TorchSharp 0.107's MoveToOtherDisposeScope into the scope that already owns a tensor drops
        // it from that scope's list while leaving it marked as owned, and its finalizer later throws on the disposed scope.
        private static Tensor Keep(Tensor t, DisposeScope scope)
        {
            scope.Attach(t.DetachFromDisposeScope());
            return t;
        }

        protected virtual void Validate(Tensor input, Tensor output) { }

        public void AllocateDeltas(int logits)
        {
            foreach (var c in Calls) c.Deltas = new Tensor?[logits];
        }

        /// <summary>Adds the layer's Θ contribution and checks its rebuilt batch gradients.</summary>
        public void AccumulateChecked(Tensor theta, Context context)
        {
            if (Calls.Count > 0)
            {
                Accumulate(theta, context);
                return;
            }
            // Never called through its hook: every per-sample gradient is zero, which autograd must confirm.
            foreach (var p in Parameters)
            {
                var check = new SumCheck(this, ReferenceEquals(p, Weight) ? "weight" : "bias", p, context);
                check.Add(zeros(p.numel(), dtype: ScalarType.Float64, device: context.Device), 0);
                check.Verify(scale: 0, terms: 1);
            }
        }

        protected abstract void Accumulate(Tensor theta, Context context);

    }

    /// <summary>
    /// Checks the rebuilt per-sample gradients of the first logit pass against autograd's gradient of the same pass:
    /// Σ_n ∂f(x_n)/∂θ_p must equal ∂(Σ_n f(x_n))/∂θ_p. A parameter also used outside its layer's hooked call (tied
    /// weights, functional use, a submodule run with .forward() instead of .call()) breaks the equality; rounding
    /// stays below 64·√(terms)·ε times the Cauchy–Schwarz bound ‖δ‖·‖a‖ of the sum.
    /// </summary>
    private sealed class SumCheck(LayerRule rule, string parameterName, Parameter parameter, Context context)
    {
        // Compared in the model's dtype: the check guards against gross errors, and float64 copies of large weight
        // gradients would cost more than the rest of the layer's work.
        private readonly Tensor? gradient = context.FirstPassGradients.TryGetValue(parameter.Handle, out var g) ? g.reshape(-1) : null;
        private double differenceSquared;
        private long covered;

        /// <summary>Adds the rebuilt Σ_n gradient of elements [start, start + length) of the flattened parameter.</summary>
        public void Add(Tensor rebuiltSum, long start)
        {
            using var scope = NewDisposeScope();
            var rebuilt = rebuiltSum.to_type(parameter.dtype).reshape(-1);
            if (start < 0 || start + rebuilt.shape[0] > parameter.numel())
                throw new InvalidOperationException($"Rebuilt gradient elements [{start}, {start + rebuilt.shape[0]}) lie outside {parameterName} of '{rule.Name}' ({parameter.numel()} elements).");
            var expected = gradient?.narrow(0, start, rebuilt.shape[0]) ?? zeros_like(rebuilt);
            differenceSquared += Square((rebuilt - expected).norm());
            covered += rebuilt.shape[0];
        }

        /// <summary>
        /// Adds the rebuilt Σ_n gradient of the whole parameter, seen as a matrix [rows, probe rows], multiplied by
        /// <paramref name="probe"/> (Freivalds' check: a difference M shows as ‖M V‖_F ≈ √(columns of V)·‖M‖_F for
        /// Gaussian V, at the cost of matrix-vector products).
        /// </summary>
        public void AddProjected(Tensor rebuiltTimesProbe, Tensor probe)
        {
            using var scope = NewDisposeScope();
            if (covered != 0 || rebuiltTimesProbe.shape[0] * probe.shape[0] != parameter.numel())
                throw new InvalidOperationException($"A projected check of {parameterName} of '{rule.Name}' must cover its {parameter.numel()} elements at once.");
            var expected = gradient is null ? zeros_like(rebuiltTimesProbe) : gradient.reshape(rebuiltTimesProbe.shape[0], probe.shape[0]).to_type(probe.dtype).mm(probe);
            differenceSquared += Square((rebuiltTimesProbe.to_type(probe.dtype) - expected).norm());
            covered = parameter.numel();
        }

        public void Verify(double scale, long terms)
        {
            if (covered != parameter.numel())
                throw new InvalidOperationException($"The rebuilt gradient of {parameterName} of '{rule.Name}' covers {covered} of its {parameter.numel()} elements.");
            double reference = gradient is null ? 0 : Math.Sqrt(Square(gradient.norm()));
            double difference = Math.Sqrt(differenceSquared);
            // Non-finite values come from the network itself (NaN weights) and reach Θ, whose spectrum reports them.
            if (!double.IsFinite(difference) || !double.IsFinite(scale) || !double.IsFinite(reference)) return;
            double tolerance = 64 * Math.Sqrt(Math.Max(terms, 1)) * context.Epsilon * scale;
            if (difference > tolerance)
                throw new BatchGradientMismatchException(
                    $"NtkMethod.Fast rebuilt a batch gradient of {parameterName} of module '{rule.Name}' ({rule.Module.GetType().Name}) that differs from " +
                    $"autograd's by {difference:G3} (norm {reference:G3}, rounding allows {tolerance:G3}): the parameter is also used outside that module's " +
                    "hooked call (tied weights, functional use, or a submodule run with .forward() instead of .call()). Use NtkMethod.Exact.");
        }
    }

    /// <summary>A rebuilt batch gradient differs from autograd's: a shared output was rewritten, or a parameter is used outside its layer.</summary>
    private sealed class BatchGradientMismatchException(string message) : Exception(message);

    /// <summary>y = s·W a + s_b·b on the last dimension; any middle dimensions (and repeated calls) are positions.</summary>
    private sealed class LinearRule(string name, nn.Module<Tensor, Tensor> module, Parameter weight, Parameter? bias,
        long inFeatures, long outFeatures, double weightScale, double biasScale) : LayerRule(name, module, weight, bias)
    {
        protected override void Validate(Tensor input, Tensor output)
        {
            if (input.dim() < 2 || input.shape[^1] != inFeatures || output.shape[^1] != outFeatures)
                throw new FastNtkNotSupportedException(
                    $"Module '{Name}' ({Module.GetType().Name}) was called with input [{string.Join(", ", input.shape)}]; NtkMethod.Fast needs [N, ..., {inFeatures}].");
        }

        protected override void Accumulate(Tensor theta, Context context)
        {
            int n = context.Samples, k = context.Logits;
            var inputs = Calls.Select(c => c.Input.reshape(n, -1, inFeatures)).ToList();                          // [N, P_c, in]
            var deltas = Calls.Select(c => c.StackedDeltas().reshape(n, k, -1, outFeatures)).ToList();         // [N, K, P_c, out]
            if (Calls.Count == 1 && inputs[0].shape[1] == 1)
            {
                AccumulateSinglePosition(theta, context, inputs[0].select(1, 0), deltas[0].select(2, 0));
                return;
            }
            // Several positions: Θ needs all pairs of positions, so the single-position Hadamard form no longer applies.
            var calls = inputs.Zip(deltas, (a, d) => new PositionCall(
                (start, count) => a.narrow(0, start, count).transpose(1, 2), d.transpose(2, 3), a.shape[1])).ToList();
            if (Weight is not null) AccumulateWeight(theta, context, this, Weight, calls, inFeatures, outFeatures, groups: 1, weightScale);
            if (Bias is not null) AccumulateBias(theta, context, this, Bias, calls, biasScale);
        }

        // P = 1: Θ += (ΔΔᵀ) ⊙ (s²·AAᵀ + s_b²), with A [N, in], Δ [N·K, out] (Goodfellow 2015's per-example-gradient
        // identity ‖δ aᵀ‖² = ‖δ‖²‖a‖², polarised). Cost N²(in + out) instead of N²·in·out for the materialised form.
        private void AccumulateSinglePosition(Tensor theta, Context context, Tensor input, Tensor delta)
        {
            int n = context.Samples, k = context.Logits;
            // Widened before any product, as the exact path does: the factors are the Jacobian's pieces.
            var firstPass = delta.select(1, 0);                                         // [N, out]
            double deltaNorm = Math.Sqrt(Square(firstPass.norm()));
            if (Weight is not null)
            {
                // Σ_n s·δ_n a_nᵀ = s·ΔᵀA would cost as much as autograd's own weight gradient; its product with a fixed
                // Gaussian probe V [in, 4] costs N·(in + out)·4.
                using var generator = new Generator(ProbeSeed, input.device);
                var probe = randn(new long[] { inFeatures, Probes }, dtype: input.dtype, device: input.device, generator: generator);
                var check = new SumCheck(this, "weight", Weight, context);
                check.AddProjected(firstPass.t().mm(input.mm(probe)).mul_(weightScale), probe);
                check.Verify(Math.Abs(weightScale) * deltaNorm * Math.Sqrt(Square(input.norm())) * Math.Sqrt(Probes), n);
            }
            if (Bias is not null)
            {
                var check = new SumCheck(this, "bias", Bias, context);
                check.Add(firstPass.sum(dim: 0).mul_(biasScale), 0);
                check.Verify(Math.Abs(biasScale) * deltaNorm * Math.Sqrt(n), n);
            }
            var a = input.to_type(ScalarType.Float64);                                  // [N, in]
            var d = delta.to_type(ScalarType.Float64);                                  // [N, K, out]
            var gram = Weight is null ? null : a.mm(a.t());
            AddHadamard(theta, d.reshape(n * k, outFeatures), gram, k,
                Weight is null ? 0 : weightScale * weightScale, Bias is null ? 0 : biasScale * biasScale);
        }
    }

    /// <summary>Conv2d with zero padding, any stride, dilation and groups: a linear map of the unfolded input at each output position.</summary>
    private sealed class ConvRule(string name, Conv2d conv) : LayerRule(name, conv, conv.weight, conv.bias)
    {
        private readonly (long Top, long Bottom, long Left, long Right) padding = Padding(conv);

        protected override void Validate(Tensor input, Tensor output)
        {
            if (input.dim() != 4 || output.dim() != 4)
                throw new FastNtkNotSupportedException(
                    $"Module '{Name}' (Conv2d) was called with input [{string.Join(", ", input.shape)}]; NtkMethod.Fast needs batched [N, C, H, W] inputs.");
        }

        protected override void Accumulate(Tensor theta, Context context)
        {
            int n = context.Samples, k = context.Logits;
            long cout = conv.out_channels, inFeatures = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1];
            var calls = Calls.Select(c =>
            {
                long positions = c.OutputShape[2] * c.OutputShape[3];
                return new PositionCall((start, count) => Unfold(c.Input.narrow(0, start, count), positions),
                    c.StackedDeltas().reshape(n, k, cout, positions), positions);
            }).ToList();
            if (Weight is not null) AccumulateWeight(theta, context, this, Weight, calls, inFeatures, cout, conv.groups, scale: 1.0);
            if (Bias is not null) AccumulateBias(theta, context, this, Bias, calls, scale: 1.0);
        }

        /// <summary>
        /// [b, C_in·kh·kw, P], channels ordered (c, i, j) like the flattened weight [C_out, C_in/groups, kh, kw]: windows
        /// of the zero-padded input taken as strided views and copied once (measured here several times faster than
        /// nn.functional.unfold's im2col kernel).
        /// </summary>
        private Tensor Unfold(Tensor x, long positions)
        {
            var (top, bottom, left, right) = padding;
            long kh = conv.kernel_size[0], kw = conv.kernel_size[1], dh = conv.dilation[0], dw = conv.dilation[1];
            if (top + bottom + left + right > 0) x = nn.functional.pad(x, new[] { left, right, top, bottom });
            // Windows spanning d·(k − 1) + 1 pixels at the stride, then every d-th pixel of each.
            var windows = x.unfold(2, dh * (kh - 1) + 1, conv.stride[0]).unfold(3, dw * (kw - 1) + 1, conv.stride[1]);   // [b, C, Ho, Wo, span_h, span_w]
            if (dh > 1 || dw > 1)
                windows = windows.index(TensorIndex.Ellipsis, TensorIndex.Slice(null, null, dh), TensorIndex.Slice(null, null, dw));
            if (windows.shape[2] * windows.shape[3] != positions)
                throw new InvalidOperationException($"Unfolding the input of '{Name}' gave {windows.shape[2] * windows.shape[3]} positions but the convolution produced {positions}.");
            return windows.permute(0, 1, 4, 5, 2, 3).reshape(x.shape[0], conv.in_channels * kh * kw, positions);
        }

        private static (long, long, long, long) Padding(Conv2d conv)
        {
            if (conv.padding is { } p) return (p[0], p[0], p[1], p[1]);
            if (conv.padding_type == TorchSharp.Padding.Same)
            {
                // PyTorch's 'same': total d·(k − 1), the smaller half before (F.conv2d pads the extra one after).
                long th = conv.dilation[0] * (conv.kernel_size[0] - 1), tw = conv.dilation[1] * (conv.kernel_size[1] - 1);
                return (th / 2, th - th / 2, tw / 2, tw - tw / 2);
            }
            return (0, 0, 0, 0);
        }
    }

    /// <summary>
    /// BatchNorm in eval mode: y = γ x̂ + β with x̂ = (x − μ_running)/√(σ²_running + ε) per channel, so
    /// ∂F(x_n)/∂γ_c = Σ_p δ_ncp x̂_ncp and ∂F(x_n)/∂β_c = Σ_p δ_ncp over the positions p of channel c.
    /// </summary>
    private sealed class BatchNormRule(string name, BatchNorm bn) : LayerRule(name, bn, bn.weight, bn.bias)
    {
        protected override void Validate(Tensor input, Tensor output)
        {
            if (input.dim() < 2 || input.shape[1] != bn.num_features)
                throw new FastNtkNotSupportedException(
                    $"Module '{Name}' ({bn.GetType().Name}) was called with input [{string.Join(", ", input.shape)}]; NtkMethod.Fast needs [N, {bn.num_features}, ...].");
        }

        protected override void Accumulate(Tensor theta, Context context)
        {
            int n = context.Samples, k = context.Logits;
            long c = bn.num_features;
            Tensor? centredSum = null, betaGrad = null;
            double deltaNormSquared = 0, centredNormSquared = 0;
            long terms = 0;
            var mean = bn.running_mean!.reshape(1, c, 1);
            var invStd = (bn.running_var! + bn.eps).rsqrt();
            foreach (var call in Calls)
            {
                var d = call.StackedDeltas().reshape(n, k, c, -1);                          // [N, K, C, P]
                var centred = call.Input.reshape(n, c, -1) - mean;                         // x − μ, [N, C, P]
                var g = (d * centred.unsqueeze(1)).sum(-1);                                // Σ_p δ (x − μ), [N, K, C]
                var b = d.sum(-1);
                centredSum = centredSum is null ? g : centredSum.add_(g);
                betaGrad = betaGrad is null ? b : betaGrad.add_(b);
                deltaNormSquared += Square(d.select(1, 0).norm());
                centredNormSquared += Square(centred.norm());
                terms += n * d.shape[3];
            }
            if (centredSum is null || betaGrad is null) return;
            // x̂ = (x − μ)/σ scales per channel, so the 1/σ is applied to the [N, K, C] sums rather than to the activations.
            var gammaGrad = centredSum * invStd;
            foreach (var (parameter, perSample, label, otherNorm) in new[]
                     {
                         (Weight, gammaGrad, "weight", MaxAbs(invStd) * Math.Sqrt(centredNormSquared)),
                         (Bias, betaGrad, "bias", Math.Sqrt(terms)),
                     })
            {
                if (parameter is null) continue;
                var check = new SumCheck(this, label, parameter, context);
                check.Add(perSample.select(1, 0).sum(dim: 0), 0);
                check.Verify(Math.Sqrt(deltaNormSquared) * otherNorm, terms);
                AddOuter(theta, perSample.reshape(n * k, c));
            }
        }
    }

    /// <summary>
    /// One call of a layer that acts at P positions: the unfolded input of a block of samples [b, in, P] and δ [N, K, out, P].
    /// </summary>
    private sealed record PositionCall(Func<long, long, Tensor> Input, Tensor Delta, long Positions);

    /// <summary>
    /// The weight's share of Θ for a layer acting at P positions (all calls together), by whichever of two exact forms
    /// costs less: materialising the per-sample gradients G_n = s·δ_n U_nᵀ (R·P·out·in + R²·out·in multiply-adds, R = N·K
    /// rows) or contracting Θ_nm = s² Σ_pq (δ_nᵀδ_m)_pq (U_nᵀU_m)_pq ((R·P)²·out + (N·P)²·in). Measured here for N = 64, a
    /// 3×3 convolution 72→72 (in = 648), one thread: P = 64: materialised 88 ms, contracted 2.2 s; P = 16: 82 ms against
    /// 41 ms; P = 4: 81 against 2.8 ms. The contraction's near-square GEMMs ran about 8 times more multiply-adds per second
    /// than the materialised 64 × 46,656 Gram, hence the factor 4 in its favour.
    /// </summary>
    private static void AccumulateWeight(Tensor theta, Context context, LayerRule rule, Parameter weight,
        IReadOnlyList<PositionCall> calls, long inFeatures, long outFeatures, long groups, double scale)
    {
        double rows = context.Rows, samples = context.Samples, positions = calls.Sum(c => c.Positions), inGroup = inFeatures / groups;
        double contracted = Math.Pow(rows * positions, 2) * outFeatures + Math.Pow(samples * positions, 2) * inFeatures;
        double materialised = rows * positions * outFeatures * inGroup + rows * rows * outFeatures * inGroup;
        if (contracted < 4 * materialised) AccumulateContracted(theta, context, rule, weight, calls, inFeatures, outFeatures, groups, scale);
        else AccumulateMaterialised(theta, context, rule, weight, calls, inFeatures, outFeatures, groups, scale);
    }

    /// <summary>
    /// Θ_(n,k),(m,k') += s² Σ_groups Σ_pq (δ_nk,p · δ_mk',q)(u_n,p · u_m,q) over the positions of all calls, for blocks of
    /// samples A × B (B ≥ A, mirrored) sized so the (|A|·K·P) × (|B|·K·P) Gram of δ stays within the block budget.
    /// </summary>
    private static void AccumulateContracted(Tensor theta, Context context, LayerRule rule, Parameter weight,
        IReadOnlyList<PositionCall> calls, long inFeatures, long outFeatures, long groups, double scale)
    {
        int n = context.Samples, k = context.Logits;
        long positions = calls.Sum(c => c.Positions), inGroup = inFeatures / groups, outGroup = outFeatures / groups;
        long block = Math.Clamp((long)Math.Sqrt(BlockElements) / (k * positions), 1, n);
        // All calls' positions side by side, widened before the products: U [b, P, in], D [b, K, P, out].
        (Tensor U, Tensor D) Pieces(long start, long count) => (
            cat(calls.Select(c => c.Input(start, count).transpose(1, 2)).ToList(), 1).to_type(ScalarType.Float64),
            cat(calls.Select(c => c.Delta.narrow(0, start, count).transpose(2, 3)).ToList(), 2).to_type(ScalarType.Float64));

        using var generator = new Generator(ProbeSeed, context.Device);
        var probe = randn(new long[] { inGroup, Probes }, dtype: ScalarType.Float64, device: context.Device, generator: generator);
        var rebuiltTimesProbe = zeros(new long[] { outFeatures, Probes }, dtype: ScalarType.Float64, device: context.Device);
        double deltaNormSquared = 0, inputNormSquared = 0;
        for (long a0 = 0; a0 < n; a0 += block)
        {
            using var rowScope = NewDisposeScope();
            long na = Math.Min(block, n - a0);
            var (ua, da) = Pieces(a0, na);
            deltaNormSquared += Square(da.select(1, 0).norm());
            inputNormSquared += Square(ua.norm());
            for (long g = 0; g < groups; g++)
            {
                // First-pass batch gradient times the probe, per group: s·Σ_(n,p) δ_n0p (u_npᵀ V).
                var d0 = da.select(1, 0).narrow(2, g * outGroup, outGroup).reshape(na * positions, outGroup);
                var uv = ua.narrow(2, g * inGroup, inGroup).reshape(na * positions, inGroup).mm(probe);
                rebuiltTimesProbe.narrow(0, g * outGroup, outGroup).add_(d0.t().mm(uv), alpha: scale);
            }
            for (long b0 = a0; b0 < n; b0 += block)
            {
                using var blockScope = NewDisposeScope();
                long nb = Math.Min(block, n - b0);
                var (ub, db) = b0 == a0 ? (ua, da) : Pieces(b0, nb);
                var sum = zeros(new long[] { na, k, nb, k }, dtype: ScalarType.Float64, device: context.Device);
                for (long g = 0; g < groups; g++)
                {
                    var gd = da.narrow(3, g * outGroup, outGroup).reshape(na * k * positions, outGroup)
                        .mm(db.narrow(3, g * outGroup, outGroup).reshape(nb * k * positions, outGroup).t())
                        .view(na, k, positions, nb, k, positions);
                    var gu = ua.narrow(2, g * inGroup, inGroup).reshape(na * positions, inGroup)
                        .mm(ub.narrow(2, g * inGroup, inGroup).reshape(nb * positions, inGroup).t())
                        .view(na, 1, positions, nb, 1, positions);
                    sum.add_(gd.mul_(gu).sum(new long[] { 2, 5 }));
                }
                var update = sum.reshape(na * k, nb * k).mul_(scale * scale);
                theta.narrow(0, a0 * k, na * k).narrow(1, b0 * k, nb * k).add_(update);
                if (b0 != a0) theta.narrow(0, b0 * k, nb * k).narrow(1, a0 * k, na * k).add_(update.t());
            }
        }
        var check = new SumCheck(rule, "weight", weight, context);
        check.AddProjected(rebuiltTimesProbe, probe);
        check.Verify(Math.Abs(scale) * Math.Sqrt(deltaNormSquared * inputNormSquared) * Math.Sqrt(Probes), n * positions);
    }

    /// <summary>
    /// Θ += Σ_groups G Gᵀ with G_(n,k) = s·Σ_calls δ_nk U_nᵀ per group, materialised for a chunk of output channels and a
    /// block of samples at a time.
    /// </summary>
    private static void AccumulateMaterialised(Tensor theta, Context context, LayerRule rule, Parameter weight,
        IReadOnlyList<PositionCall> calls, long inFeatures, long outFeatures, long groups, double scale)
    {
        int n = context.Samples, k = context.Logits;
        long rows = context.Rows, inGroup = inFeatures / groups, outGroup = outFeatures / groups;
        long maxPositions = calls.Max(c => c.Positions), totalPositions = calls.Sum(c => c.Positions);
        long channelChunk = Math.Clamp(BlockElements / (rows * inGroup), 1, outGroup);
        // Inputs are unfolded per block of samples and again for each chunk of channels (a copy, cheap next to the bmm).
        long sampleBlock = Math.Clamp(BlockElements / (inFeatures * maxPositions), 1, n);

        var check = new SumCheck(rule, "weight", weight, context);
        double inputNormSquared = 0, deltaNormSquared = calls.Sum(c => Square(c.Delta.select(1, 0).norm()));
        bool inputNormDone = false;
        for (long g = 0; g < groups; g++)
            for (long c0 = 0; c0 < outGroup; c0 += channelChunk)
            {
                using var chunkScope = NewDisposeScope();
                long width = Math.Min(channelChunk, outGroup - c0);
                var gChunk = zeros(new long[] { n, k * width, inGroup }, dtype: context.DType, device: context.Device);
                for (int ci = 0; ci < calls.Count; ci++)
                    for (long s0 = 0; s0 < n; s0 += sampleBlock)
                    {
                        using var blockScope = NewDisposeScope();
                        long b = Math.Min(sampleBlock, n - s0);
                        var u = calls[ci].Input(s0, b);                                                         // [b, in, P]
                        if (!inputNormDone) inputNormSquared += Square(u.norm());
                        var uGroup = u.narrow(1, g * inGroup, inGroup);                                          // [b, in_g, P]
                        var d = calls[ci].Delta.narrow(0, s0, b).narrow(2, g * outGroup + c0, width).reshape(b, k * width, -1); // [b, K·w, P]
                        gChunk.narrow(0, s0, b).add_(d.bmm(uGroup.transpose(1, 2)), alpha: scale);
                    }
                inputNormDone = true;
                var perRow = gChunk.reshape(rows, width * inGroup);
                check.Add(perRow.reshape(n, k, -1).select(1, 0).sum(dim: 0), (g * outGroup + c0) * inGroup);
                AddOuter(theta, perRow);
            }
        check.Verify(Math.Abs(scale) * Math.Sqrt(deltaNormSquared * inputNormSquared), n * totalPositions);
    }

    /// <summary>Θ += B Bᵀ with B_(n,k) = s_b·Σ_calls Σ_p δ_nkp, the per-sample bias gradient.</summary>
    private static void AccumulateBias(Tensor theta, Context context, LayerRule rule, Parameter bias, IReadOnlyList<PositionCall> calls, double scale)
    {
        int n = context.Samples, k = context.Logits;
        var perSample = calls.Select(c => c.Delta.sum(-1)).Aggregate((a, b) => a + b) * scale;                  // [N, K, out]
        var check = new SumCheck(rule, "bias", bias, context);
        check.Add(perSample.select(1, 0).sum(dim: 0), 0);
        long terms = n * calls.Sum(c => c.Positions);
        check.Verify(Math.Abs(scale) * Math.Sqrt(calls.Sum(c => Square(c.Delta.select(1, 0).norm())) * terms), terms);
        AddOuter(theta, perSample.reshape(n * k, -1));
    }

    /// <summary>Θ += G Gᵀ, G in the model's dtype widened to float64 one column chunk at a time (as the exact path).</summary>
    private static void AddOuter(Tensor theta, Tensor g)
    {
        long rows = g.shape[0], width = g.shape[1];
        long chunk = Math.Max(1, ChunkElements / rows);
        for (long start = 0; start < width; start += chunk)
        {
            using var scope = NewDisposeScope();
            var c = g.narrow(1, start, Math.Min(chunk, width - start)).to_type(ScalarType.Float64);
            theta.addmm_(c, c.t());
        }
    }

    /// <summary>
    /// Θ += (D Dᵀ) ⊙ (a·K[s(r), s(r')] + b) for D [N·K, out] in float64, K an N×N sample Gram (or null) and s(r) = r / K
    /// the sample of row r; in row blocks so the (N·K)² temporaries stay bounded.
    /// </summary>
    private static void AddHadamard(Tensor theta, Tensor d, Tensor? sampleGram, int logits, double a, double b)
    {
        long rows = d.shape[0];
        long block = Math.Max(1, BlockElements / rows);
        var sampleOfRow = logits == 1 || sampleGram is null ? null : arange(rows / logits, dtype: ScalarType.Int64, device: d.device).repeat_interleave(logits);
        for (long r0 = 0; r0 < rows; r0 += block)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(block, rows - r0);
            var dd = d.narrow(0, r0, count).mm(d.t());
            if (sampleGram is null)
            {
                theta.narrow(0, r0, count).add_(dd, alpha: b);
                continue;
            }
            var gram = sampleOfRow is null
                ? sampleGram.narrow(0, r0, count)
                : sampleGram.index_select(0, sampleOfRow.narrow(0, r0, count)).index_select(1, sampleOfRow);
            theta.narrow(0, r0, count).add_(dd.mul_(gram * a + b));
        }
    }

    private static double MaxAbs(Tensor t) => t.abs().max().to_type(ScalarType.Float64).item<double>();

    private static double Square(Tensor norm) => Math.Pow(norm.to_type(ScalarType.Float64).item<double>(), 2);
}
