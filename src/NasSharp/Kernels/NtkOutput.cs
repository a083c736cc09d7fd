namespace NasSharp.Kernels;

/// <summary>Which scalar functions of the network output the empirical NTK is taken over.</summary>
public enum NtkOutput
{
    /// <summary>
    /// F(x) = Σ_k f_k(x): one scalar per sample, so Θ is N×N. The usual choice for NAS proxies
    /// (e.g. TE-NAS), and K times cheaper than <see cref="PerLogit"/>.
    /// </summary>
    SumOfLogits,

    /// <summary>
    /// Every logit f_k(x_n) separately: Θ is (N·K)×(N·K), rows and columns sample-major (index n·K + k).
    /// </summary>
    PerLogit,
}
