using NasSharp.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Kernels;

/// <summary>
/// The empirical neural tangent kernel of a finite network at its current parameters θ:
/// Θ = J Jᵀ with J = ∂F(X)/∂θ over all trainable parameters (Jacot et al. 2018, Sec. 4).
/// </summary>
public static class EmpiricalNtk
{
    // Θ is accumulated over column chunks of J of about this many entries (8 MB as float64): small enough that the
    // float64 copy stays in the allocator's reused heap and near cache instead of faulting in fresh pages
    // (measured here: widening all of a 64 × 400k block at once costs ~300 ms, in 16k-column chunks ~60 ms).
    private const long ChunkElements = 1 << 20;

    /// <summary>
    /// Θ by the chosen method. <see cref="NtkMethod.Auto"/> uses <see cref="Fast"/> when the network's structure is
    /// supported (<see cref="FastUnsupportedReason"/> is null) and falls back to <see cref="Exact"/> otherwise, including
    /// when the fast method finds a problem while running (a layer called without the batch dimension first, a parameter
    /// used outside its layer's hooked call).
    /// </summary>
    public static NtkGram Compute(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output = NtkOutput.SumOfLogits, NtkMethod method = NtkMethod.Auto) =>
        Compute(model, x, output, method, out _);

    /// <inheritdoc cref="Compute(nn.Module{Tensor, Tensor}, Tensor, NtkOutput, NtkMethod)"/>
    /// <param name="choice">The method used, and why not <see cref="NtkMethod.Fast"/> if it was not.</param>
    public static NtkGram Compute(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output, NtkMethod method, out NtkMethodChoice choice)
    {
        switch (method)
        {
            case NtkMethod.Exact:
                choice = new NtkMethodChoice(NtkMethod.Exact, "NtkMethod.Exact was requested.");
                return Exact(model, x, output);
            case NtkMethod.Fast:
                choice = new NtkMethodChoice(NtkMethod.Fast, null);
                return Fast(model, x, output);
            case NtkMethod.Auto:
                Validate(model, x, output);
                var reason = StructuredNtk.UnsupportedReason(model);
                if (reason is null)
                {
                    try
                    {
                        choice = new NtkMethodChoice(NtkMethod.Fast, null);
                        return Fast(model, x, output);
                    }
                    catch (FastNtkNotSupportedException e)
                    {
                        reason = e.Message;
                    }
                }
                choice = new NtkMethodChoice(NtkMethod.Exact, reason);
                return Exact(model, x, output);
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown NtkMethod.");
        }
    }

    /// <summary>
    /// Θ by structured per-sample derivatives: one batched forward pass with forward hooks on the parameterised layers,
    /// and one batched backward pass (<see cref="NtkOutput.PerLogit"/>: one per logit). Supported layers: Linear,
    /// <see cref="Networks.ScaledLinear"/>, Conv2d (zero padding; any stride, dilation, groups) and BatchNorm1d/2d/3d in
    /// eval mode with running statistics; parameter-free modules and functional code between them are unrestricted.
    /// </summary>
    /// <remarks>
    /// Like <see cref="Exact"/>, it assumes the network treats samples independently; BatchNorm in training mode couples
    /// them and is refused. Every parameter's rebuilt batch gradient Σ_n ∂F(x_n)/∂θ is checked against autograd's in the
    /// first pass, so a parameter used outside its layer's hooked call (tied weights, functional use, or a submodule run
    /// with .forward() rather than .call()) is an error, not a wrong Θ. Per-sample pieces (δ, a, unfolded inputs, per-sample
    /// convolution gradients) are in the model's dtype, as autograd's J is in <see cref="Exact"/>; every product that forms
    /// Θ is taken in float64. Memory: Θ, the recorded activations and δ (K copies for PerLogit), and blocks of 2^23 entries.
    /// </remarks>
    /// <exception cref="FastNtkNotSupportedException">The network has a layer or a structure the method cannot handle;
    /// the message names the module.</exception>
    public static NtkGram Fast(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output = NtkOutput.SumOfLogits)
    {
        Validate(model, x, output);
        return StructuredNtk.Compute(model, x, output, checked((int)x.shape[0]));
    }

    /// <summary>Null when <see cref="Fast"/> supports every module of the model; otherwise the reason, naming the module.</summary>
    public static string? FastUnsupportedReason(nn.Module<Tensor, Tensor> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return StructuredNtk.UnsupportedReason(model);
    }

    /// <summary>
    /// Θ by direct Jacobian contraction: one batched forward pass, then one backward pass per row of J
    /// (per sample, or per sample-logit for <see cref="NtkOutput.PerLogit"/>).
    /// </summary>
    /// <remarks>
    /// Row n of J is the gradient of output n of the <em>batched</em> forward pass, which equals ∂f(x_n)/∂θ only if
    /// the model treats samples independently. Put models with batch statistics (BatchNorm) in eval mode first; in
    /// train mode the rows are derivatives of the batch function and Θ is not the per-sample NTK.
    /// The mode and the parameters' requires_grad flags are used as found; parameters with requires_grad = false
    /// are not part of θ, and parameters the output does not depend on contribute zero columns.
    /// J is kept in the parameters' dtype (float32 models give a float32 J), as the gradients autograd returns;
    /// Θ = Σ_c J_c J_cᵀ is accumulated in float64 over column chunks c of one parameter tensor at a time, so only
    /// a chunk of ~2^20 entries is ever widened to float64, and each parameter's columns are freed once used.
    /// Memory: J itself, rows × P × sizeof(dtype) (N = 64, P = 670k, float32: 170 MB; PerLogit multiplies by K).
    /// </remarks>
    /// <param name="model">A network mapping x of shape [N, ...] to logits of shape [N, K].</param>
    /// <param name="x">A batch of N ≥ 1 inputs, in the dtype and on the device of the model's parameters.</param>
    /// <param name="output">Which scalar outputs to differentiate; see <see cref="NtkOutput"/>.</param>
    /// <param name="parameterFactors">Weights of the parameters' blocks, Θ = Σ_p s_p J_p J_pᵀ, by parameter name as
    /// <c>named_parameters()</c> gives it (absent: 1); <see cref="NtkReparameterization.Apply"/> returns the factors that
    /// turn the standard parameterisation's kernel into the NTK parameterisation's.</param>
    public static NtkGram Exact(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output = NtkOutput.SumOfLogits,
        IReadOnlyDictionary<string, double>? parameterFactors = null)
    {
        var parameters = Validate(model, x, output);
        var factors = new double[parameters.Length];
        Array.Fill(factors, 1.0);
        if (parameterFactors is not null)
        {
            var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToArray();
            var unknown = parameterFactors.Keys.Except(named.Select(p => p.name)).FirstOrDefault();
            if (unknown is not null) throw new ArgumentException($"parameterFactors names '{unknown}', which is not a trainable parameter of the model.", nameof(parameterFactors));
            for (int l = 0; l < named.Length; l++)
                if (parameterFactors.TryGetValue(named[l].name, out var f)) factors[l] = f;
        }
        int n = checked((int)x.shape[0]);

        using var scope = NewDisposeScope();
        using var gradMode = enable_grad();
        var y = model.call(x);
        if (y.dim() != 2 || y.shape[0] != n)
            throw new ArgumentException(
                $"The model must map [N, ...] to logits [N, K]; for N = {n} it returned shape [{string.Join(", ", y.shape)}].",
                nameof(model));
        int k = checked((int)y.shape[1]);
        if (k < 1) throw new ArgumentException("The model returned zero logits per sample.", nameof(model));
        // Checked here because autograd.grad on such an output throws inside libtorch with no catch: the process aborts.
        if (!y.requires_grad)
            throw new ArgumentException(
                "The model's output does not depend on any trainable parameter (it does not require grad); check that its forward pass does not detach the output or run under no_grad.",
                nameof(model));

        int logitsPerSample = output == NtkOutput.PerLogit ? k : 1;
        int rows = checked(n * logitsPerSample);

        // Row r of J, kept as the flattened gradient of each parameter tensor (no copy into a J buffer).
        var jacobianRows = new Tensor[rows][];
        var zeroGradients = new Tensor?[parameters.Length];
        for (int r = 0; r < rows; r++)
        {
            using var rowScope = NewDisposeScope();
            int sample = r / logitsPerSample;
            var target = output == NtkOutput.PerLogit ? y[sample, r % logitsPerSample] : y[sample].sum();
            // allow_unused: without it an unused parameter makes libtorch throw through THSAutograd_grad,
            // which has no catch and aborts the process. Unused parameters come back as undefined tensors.
            // The last row frees the graph as it goes, as the structured path's last pass does: Θ needs only J.
            var grads = autograd.grad(new[] { target }, parameters, retain_graph: r < rows - 1, allow_unused: true);
            var row = new Tensor[parameters.Length];
            for (int l = 0; l < parameters.Length; l++)
            {
                row[l] = grads[l].IsInvalid
                    ? zeroGradients[l] ??= zeros(parameters[l].numel(), dtype: parameters[l].dtype, device: parameters[l].device).MoveToOuterDisposeScope()
                    : grads[l].reshape(-1).MoveToOuterDisposeScope();
            }
            jacobianRows[r] = row;
        }

        var theta = zeros(new long[] { rows, rows }, dtype: ScalarType.Float64, device: x.device);
        using (no_grad())
        {
            long chunkWidth = Math.Max(1, ChunkElements / rows);
            for (int l = 0; l < parameters.Length; l++)
            {
                long width = parameters[l].numel();
                for (long start = 0; start < width; start += chunkWidth)
                {
                    using var chunkScope = NewDisposeScope();
                    long w = Math.Min(chunkWidth, width - start);
                    // Widen before multiplying: products of float32 entries are exact in float64, so Θ = Σ_c J_c J_cᵀ
                    // (Jacot et al. 2018: Θ = J Jᵀ) carries only float64 summation error on top of J's own.
                    var jc = stack(jacobianRows.Select(row => row[l].narrow(0, start, w))).to_type(ScalarType.Float64);
                    var block = jc.mm(jc.t());
                    theta.add_(factors[l] == 1.0 ? block : block.mul_(factors[l]));
                }
                foreach (var row in jacobianRows) row[l].Dispose();
            }
        }

        var values = theta.cpu().data<double>().ToArray();
        return new NtkGram(values, n, logitsPerSample);
    }

    private static Parameter[] Validate(nn.Module<Tensor, Tensor> model, Tensor x, NtkOutput output)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        ConvolutionBackend.Protect(model);
        if (!Enum.IsDefined(output)) throw new ArgumentOutOfRangeException(nameof(output), output, "Unknown NtkOutput.");
        if (x.IsInvalid) throw new ArgumentException("x has been disposed.", nameof(x));
        if (x.dim() < 1 || x.shape[0] < 1)
            throw new ArgumentException($"x must be a batch [N, ...] with N ≥ 1; its shape is [{string.Join(", ", x.shape)}].", nameof(x));

        var parameters = model.parameters().Where(p => p.requires_grad).ToArray();
        if (parameters.Length == 0)
            throw new ArgumentException("The model has no trainable parameters (requires_grad = true), so its NTK is empty.", nameof(model));

        var dtype = parameters[0].dtype;
        if (!is_floating_point(dtype))
            throw new ArgumentException($"The model's parameters are {dtype}; the NTK needs floating-point parameters.", nameof(model));
        if (parameters.Any(p => p.dtype != dtype))
            throw new ArgumentException(
                $"The model's trainable parameters mix dtypes ({string.Join(", ", parameters.Select(p => p.dtype).Distinct())}); convert it with model.to(ScalarType.Float32) or Float64.",
                nameof(model));
        if (x.dtype != dtype)
            throw new ArgumentException($"x is {x.dtype} but the model's parameters are {dtype}: convert x with x.to_type(ScalarType.{dtype}).", nameof(x));
        var device = parameters[0].device;
        bool SameDevice(Tensor t) => t.device.type == device.type && t.device.index == device.index;
        if (!parameters.All(SameDevice) || !SameDevice(x))
            throw new ArgumentException($"x is on {x.device} and the model's parameters must all be there too; move them with model.to(x.device).", nameof(x));
        return parameters;
    }
}
