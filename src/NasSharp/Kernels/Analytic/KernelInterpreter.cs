using NasSharp.Spaces;

namespace NasSharp.Kernels;

/// <summary>
/// What the infinite-width interpreter needs of a kernel representation: N×N matrices over a batch
/// (<see cref="MatrixAlgebra"/>) or power series in the input correlation t = xᵀx'/d for inputs on the sphere
/// (<see cref="SeriesAlgebra"/>). A kernel K and a mean M are immutable values; every operation returns a new one.
/// </summary>
internal interface IKernelAlgebra<TKernel, TMean>
{
    /// <summary>The Gram of the network input x_0: xᵀx'/d.</summary>
    TKernel Input { get; }
    TKernel Zero { get; }
    TMean ZeroMean { get; }
    /// <summary>a + s·b.</summary>
    TMean AddScaled(TMean a, TMean b, double s);
    /// <summary>Σ_i s_i K_i + w·m(x)m(x') + c, in one pass.</summary>
    TKernel Combine(IReadOnlyList<(TKernel Kernel, double Scale)> terms, TMean outer, double outerScale, double shift);
    /// <summary>
    /// One activation on pre-activations with covariance Σ and tangent kernel Θ^h: the centred dual
    /// Cov[σ(u), σ(v)] = E[σσ] − E[σ]E[σ], the branch's tangent kernel E[σ'σ'] ∘ Θ^h, and the mean E[σ].
    /// </summary>
    (TKernel Centered, TKernel Tangent, TMean Mean) Activate(Activation activation, TKernel covariance, TKernel tangent);
}

/// <summary>
/// The infinite-width NNGP and NTK of an <see cref="MlpGenotype"/> in the NTK parameterisation, by one walk over the
/// genotype that mirrors <c>MlpNetwork.forward</c> step by step: dense layer, activation, skip sums, readout.
/// </summary>
/// <remarks>
/// <para>Derivation (checked against Monte-Carlo averages of empirical NTKs in the tests). Write each hidden output as a
/// sum of branches, x_l = Σ_k A_{lk} φ_k with φ_k = σ_k(h_k) and A the path counts of the skip graph
/// (A_{ll} = 1, A_{lk} = Σ_{j∈S_l} A_{jk}); the input x_0 is branch 0. Per unit, as the width m → ∞:</para>
/// <para>(1) Means. Given the layers before it, a unit of the fresh pre-activation h_k is N(0, Σ_k) and independent
/// of every earlier unit, so for k ≠ k' the branches are uncorrelated around their means:
/// lim (1/m) Σ_i φ_{k,i}(x) φ_{k',i}(x') = μ_k(x) μ_{k'}(x') with μ_k(x) = E[σ_k(h_k(x))]. Hence the second moment of
/// a combination is C_l = Σ_k A_{lk}² K̃_k + m_l m_lᵀ, K̃_k = E[σσ] − μ_k μ_kᵀ (centred dual), m_l = Σ_k A_{lk} μ_k.
/// The mean term matters whenever σ has a non-zero mean (relu, sigmoid, …) and a skip adds two branches.</para>
/// <para>(2) Tangents. Gradients of different branches are orthogonal in the limit (a branch's gradient through
/// layer k's fresh weights, contracted with an earlier unit's gradient, averages out at rate 1/√m), and a branch's own
/// tangent kernel is D_k = E[σ'σ'] ∘ Θ^h_k, so T_l = Σ_k A_{lk}² D_k.</para>
/// <para>(3) Dense layer h = (σ_w/√n) W x + σ_b b: Σ = σ_w² C + σ_b² (Lee et al. 2018, Eq. 4) and
/// Θ^h = Σ + σ_w² T (Jacot et al. 2018, Thm. 1: gradients of W, b give σ_w² C + σ_b², earlier parameters σ_w² T).
/// The readout is one more dense layer; its Θ^h is the NTK of each logit (different logits are uncorrelated in the
/// limit, so the empirical Gram of Σ_k f_k over K logits converges to K·Θ).</para>
/// </remarks>
internal static class KernelInterpreter
{
    /// <param name="preActivation">Called with (l, Σ^l) for every hidden layer l = 1..L, e.g. to record its variance.</param>
    public static (TKernel Nngp, TKernel Ntk) Run<TKernel, TMean>(
        MlpGenotype genotype, double sigmaW, double sigmaB, IKernelAlgebra<TKernel, TMean> algebra, Action<int, TKernel>? preActivation = null) =>
        new PrefixWalk<TKernel, TMean>(sigmaW, sigmaB, algebra).Run(genotype, preActivation);

    /// <summary>
    /// The walk over many genotypes on one algebra (one batch of inputs): the kernels after hidden layer l depend only on
    /// layers 1..l, so a genotype that shares its first p layers (activations and skips) with the previous one resumes
    /// from the previous walk's state after layer p. Kernels are immutable values, so sharing them is exact; only the
    /// last genotype's path is kept (memory O(depth)), which shares every prefix when genotypes come in lexicographic order.
    /// </summary>
    internal sealed class PrefixWalk<TKernel, TMean>(double sigmaW, double sigmaB, IKernelAlgebra<TKernel, TMean> algebra)
    {
        private readonly List<MlpLayer> layers = [];
        private readonly List<Branch<TKernel, TMean>> branches = [new(algebra.Input, algebra.Zero, algebra.ZeroMean)];
        private readonly List<Combination> outputs = [Combination.Of(0)];

        /// <summary>Hidden layers taken from the previous genotype's walk by the last <see cref="Run"/>.</summary>
        public int SharedLayers { get; private set; }

        /// <param name="preActivation">Called with (l, Σ^l) for every hidden layer this call computes (not the shared ones).</param>
        public (TKernel Nngp, TKernel Ntk) Run(MlpGenotype genotype, Action<int, TKernel>? preActivation = null)
        {
            int shared = 0;
            while (shared < layers.Count && shared < genotype.Depth && layers[shared].Equals(genotype.Layers[shared])) shared++;
            layers.RemoveRange(shared, layers.Count - shared);
            branches.RemoveRange(shared + 1, branches.Count - shared - 1);
            outputs.RemoveRange(shared + 1, outputs.Count - shared - 1);
            SharedLayers = shared;
            for (int l = shared + 1; l <= genotype.Depth; l++)
            {
                var layer = genotype.Layers[l - 1];
                var (sigma, thetaH) = Dense(outputs[l - 1], branches, sigmaW, sigmaB, algebra);
                preActivation?.Invoke(l, sigma);
                var (centered, tangent, mean) = algebra.Activate(layer.Activation, sigma, thetaH);
                branches.Add(new(centered, tangent, mean));
                var x = Combination.Of(l);
                foreach (var j in layer.Skips) x = x.Plus(outputs[j]);
                outputs.Add(x);
                layers.Add(layer);
            }
            return Dense(outputs[genotype.Depth], branches, sigmaW, sigmaB, algebra);
        }
    }

    private static (TKernel Sigma, TKernel ThetaH) Dense<TKernel, TMean>(
        Combination x, List<Branch<TKernel, TMean>> branches, double sigmaW, double sigmaB, IKernelAlgebra<TKernel, TMean> algebra)
    {
        double w2 = sigmaW * sigmaW;
        var covariances = new List<(TKernel, double)>();
        var tangents = new List<(TKernel, double)>();
        var m = algebra.ZeroMean;
        foreach (var (k, a) in x.Terms)
        {
            var b = branches[k];
            covariances.Add((b.Centered, w2 * a * a));
            tangents.Add((b.Tangent, w2 * a * a));
            m = algebra.AddScaled(m, b.Mean, a);
        }
        // Σ = σ_w² (Σ_k A_k² K̃_k + m mᵀ) + σ_b²,  Θ^h = Σ + σ_w² Σ_k A_k² D_k.
        var sigma = algebra.Combine(covariances, m, w2, sigmaB * sigmaB);
        tangents.Add((sigma, 1));
        return (sigma, algebra.Combine(tangents, algebra.ZeroMean, 0, 0));
    }

    private sealed record Branch<TKernel, TMean>(TKernel Centered, TKernel Tangent, TMean Mean);

    /// <summary>A layer output as Σ_k A_k φ_k over branches (sorted by branch index).</summary>
    private sealed class Combination
    {
        private Combination(SortedDictionary<int, double> terms) => Terms = terms;

        public SortedDictionary<int, double> Terms { get; }

        public static Combination Of(int branch) => new(new SortedDictionary<int, double> { [branch] = 1 });

        public Combination Plus(Combination other)
        {
            var terms = new SortedDictionary<int, double>(Terms);
            foreach (var (k, a) in other.Terms) terms[k] = terms.GetValueOrDefault(k) + a;
            return new Combination(terms);
        }
    }
}
