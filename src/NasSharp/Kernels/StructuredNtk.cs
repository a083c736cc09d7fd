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

    // Bound on the larger temporaries: an unfolded block of samples, a block of per-sample gradients G, a row block of
    // the (N·K)×(N·K) Hadamard update. 2^23 entries = 32 MB in float32.
    private const long BlockElements = 1 << 23;

    // The fixed Gaussian probe of the projected gradient check (a local generator: the global seed is untouched).
    private const ulong ProbeSeed = 20220617;
    private const int Probes = 4;

    private const string Supported = "Linear, ScaledLinear, Conv2d (zero padding), BatchNorm1d/2d/3d in eval mode with running statistics";

    /// <summary>Null when <see cref="Compute"/> can handle the model's structure; otherwise why not.</summary>
    public static string? UnsupportedReason(nn.Module<Tensor, Tensor> model) => Plan(model, out _);

    /// <summary>Θ of a validated model and batch (see <see cref="EmpiricalNtk.Fast"/>).</summary>
    public static NtkGram Compute(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output, int n)
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
                removers.Add(r.Module.register_forward_hook((_, input, result) => r.Record(input, result, n, scope)).remove);
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
            var grads = autograd.grad(new[] { target }, inputs, retain_graph: true, allow_unused: true);
            for (int i = 0; i < tracked.Count; i++)
                if (!grads[i].IsInvalid) tracked[i].Call.Deltas[logit] = grads[i];
            if (logit == 0)
                for (int i = 0; i < parameters.Count; i++)
                    if (!grads[tracked.Count + i].IsInvalid) firstPassGradients[parameters[i].Handle] = grads[tracked.Count + i];
        }

        var context = new Context(n, logits, x.dtype, x.device, firstPassGradients);
        var theta = zeros(new long[] { context.Rows, context.Rows }, dtype: ScalarType.Float64, device: x.device);
        using (no_grad())
            foreach (var rule in rules)
            {
                using var ruleScope = NewDisposeScope();
                rule.AccumulateChecked(theta, context);
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
        public Tensor Output { get; } = output;
        public Tensor?[] Deltas { get; set; } = [];

        /// <summary>δ for every pass stacked as [N, K, ...output dims]; zeros where the output does not reach F.</summary>
        public Tensor StackedDeltas() =>
            Deltas.Length == 1 ? (Deltas[0] ?? zeros_like(Output)).unsqueeze(1) : stack(Deltas.Select(d => d ?? zeros_like(Output)), 1);
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

        public Tensor Record(Tensor input, Tensor output, int n, DisposeScope scope)
        {
            if (input.dim() < 1 || input.shape[0] != n || output.dim() < 1 || output.shape[0] != n)
                throw new FastNtkNotSupportedException(
                    $"Module '{Name}' ({Module.GetType().Name}) was called with input [{string.Join(", ", input.shape)}] and output [{string.Join(", ", output.shape)}]; " +
                    $"NtkMethod.Fast needs the batch of N = {n} samples as the first dimension of every supported layer's input and output. Use NtkMethod.Exact.");
            Validate(input, output);
            // The recorded tensors live until Compute's scope ends. The network continues with a copy of the output, so
            // in-place operations downstream (ReLU(inplace), out += identity) cannot rewrite the tensor δ is taken at.
            Calls.Add(new Call(Keep(input.detach(), scope), Keep(output, scope)));
            return output.clone();
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
            var expected = gradient is null ? zeros_like(rebuiltTimesProbe) : gradient.reshape(rebuiltTimesProbe.shape[0], probe.shape[0]).mm(probe);
            differenceSquared += Square((rebuiltTimesProbe - expected).norm());
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
                throw new FastNtkNotSupportedException(
                    $"NtkMethod.Fast rebuilt a batch gradient of {parameterName} of module '{rule.Name}' ({rule.Module.GetType().Name}) that differs from " +
                    $"autograd's by {difference:G3} (norm {reference:G3}, rounding allows {tolerance:G3}): the parameter is also used outside that module's " +
                    "hooked call (tied weights, functional use, or a submodule run with .forward() instead of .call()). Use NtkMethod.Exact.");
        }
    }

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
            // Several positions: materialise G_n = s·Σ_p δ_np a_npᵀ (Θ then needs all position pairs, so the Hadamard
            // form no longer applies).
            var calls = inputs.Zip(deltas, (a, d) => new PositionCall(
                (start, count) => a.narrow(0, start, count).transpose(1, 2), d.transpose(2, 3), a.shape[1])).ToList();
            if (Weight is not null) AccumulateMaterialised(theta, context, this, Weight, calls, inFeatures, outFeatures, groups: 1, weightScale);
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
                long positions = c.Output.shape[2] * c.Output.shape[3];
                return new PositionCall((start, count) => Unfold(c.Input.narrow(0, start, count), positions),
                    c.StackedDeltas().reshape(n, k, cout, positions), positions);
            }).ToList();
            if (Weight is not null) AccumulateMaterialised(theta, context, this, Weight, calls, inFeatures, cout, conv.groups, scale: 1.0);
            if (Bias is not null) AccumulateBias(theta, context, this, Bias, calls, scale: 1.0);
        }

        /// <summary>[b, C_in·kh·kw, P], channels ordered (c, i, j) like the flattened weight [C_out, C_in/groups, kh, kw].</summary>
        private Tensor Unfold(Tensor x, long positions)
        {
            var (top, bottom, left, right) = padding;
            (long, long) symmetric = (0, 0);
            if (top == bottom && left == right) symmetric = (top, left);
            else x = nn.functional.pad(x, new[] { left, right, top, bottom });
            var u = nn.functional.unfold(x, (conv.kernel_size[0], conv.kernel_size[1]), (conv.dilation[0], conv.dilation[1]), symmetric, (conv.stride[0], conv.stride[1]));
            if (u.shape[2] != positions)
                throw new InvalidOperationException($"Unfolding the input of '{Name}' gave {u.shape[2]} positions but the convolution produced {positions}.");
            return u;
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
            Tensor? gammaGrad = null, betaGrad = null;
            double deltaNormSquared = 0, normalizedNormSquared = 0;
            long terms = 0;
            foreach (var call in Calls)
            {
                var d = call.StackedDeltas().reshape(n, k, c, -1);                          // [N, K, C, P]
                var shape = new long[] { 1, c, 1 };
                var xhat = (call.Input.reshape(n, c, -1) - bn.running_mean!.reshape(shape)) * (bn.running_var!.reshape(shape) + bn.eps).rsqrt();
                var g = (d * xhat.unsqueeze(1)).sum(-1);                                   // [N, K, C]
                var b = d.sum(-1);
                gammaGrad = gammaGrad is null ? g : gammaGrad + g;
                betaGrad = betaGrad is null ? b : betaGrad + b;
                deltaNormSquared += Square(d.select(1, 0).norm());
                normalizedNormSquared += Square(xhat.norm());
                terms += n * d.shape[3];
            }
            if (gammaGrad is null || betaGrad is null) return;
            foreach (var (parameter, perSample, label, otherNorm) in new[]
                     {
                         (Weight, gammaGrad, "weight", Math.Sqrt(normalizedNormSquared)),
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
    /// Θ += Σ_groups G Gᵀ with G_(n,k) = s·Σ_calls δ_nk U_nᵀ per group, materialised for a chunk of output channels and a
    /// block of samples at a time: N·P·C_out·C_in·k² + N²·C_out·C_in·k² multiply-adds, against N²·P²·(C_out + C_in·k²)
    /// for the contraction Θ_nm = Σ_pq (δ_nᵀδ_m)_pq (U_nᵀU_m)_pq, which only wins for P of one or two positions.
    /// </summary>
    private static void AccumulateMaterialised(Tensor theta, Context context, LayerRule rule, Parameter weight,
        IReadOnlyList<PositionCall> calls, long inFeatures, long outFeatures, long groups, double scale)
    {
        int n = context.Samples, k = context.Logits;
        long rows = context.Rows, inGroup = inFeatures / groups, outGroup = outFeatures / groups;
        long maxPositions = calls.Max(c => c.Positions), totalPositions = calls.Sum(c => c.Positions);
        long channelChunk = Math.Clamp(BlockElements / (rows * inGroup), 1, outGroup);
        long sampleBlock = Math.Clamp(BlockElements / (inFeatures * maxPositions + k * outFeatures * maxPositions), 1, n);
        // One unfold per call and block when everything fits, else unfold again for each chunk (memory over time).
        var cached = new Dictionary<(int Call, long Start), Tensor>();
        if (n * inFeatures * totalPositions <= 4 * BlockElements)
            for (int ci = 0; ci < calls.Count; ci++)
                for (long s0 = 0; s0 < n; s0 += sampleBlock)
                    cached[(ci, s0)] = calls[ci].Input(s0, Math.Min(sampleBlock, n - s0));
        Tensor Input(int call, long start, long count) =>
            cached.TryGetValue((call, start), out var u) ? u : calls[call].Input(start, count);

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
                        var u = Input(ci, s0, b);                                                               // [b, in, P]
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

    private static double Square(Tensor norm) => Math.Pow(norm.to_type(ScalarType.Float64).item<double>(), 2);
}
