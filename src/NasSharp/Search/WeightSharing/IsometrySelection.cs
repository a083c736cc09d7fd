using NasSharp.Proxies;
using NasSharp.Spaces;
using static TorchSharp.torch;

namespace NasSharp.Search.WeightSharing;

/// <summary>A candidate of <see cref="IsometrySelection"/>: its index among the evaluated paths, supernet accuracy and <c>jacobian_isometry</c> score.</summary>
public sealed record IsometryCandidate(int Index, double SupernetAccuracyPercent, double? Isometry, string? NoScoreReason);

/// <summary>
/// The isometry-fair regime's module selection. Luo et al. (arXiv 2307.02263) select by a generalisation estimate that holds
/// for well-conditioned Jacobians; its exact form is not known here, so this rule is ours: among the
/// <c>topK</c> paths of highest supernet accuracy (inherited weights, recalibrated batch norm), the one whose inherited
/// network is closest to dynamical isometry by <see cref="JacobianIsometryProxy"/> (larger score = smaller spread of the
/// input–output Jacobian's singular values). A path whose score is not finite is passed over; if none has one, the most
/// accurate path is chosen.
/// </summary>
public static class IsometrySelection
{
    /// <summary>The chosen index and the scored candidates, in descending supernet accuracy.</summary>
    public static (int Chosen, IReadOnlyList<IsometryCandidate> Candidates) Select(IReadOnlyList<double> supernetAccuracyPercent, int topK,
        Func<int, ProxyScore> isometry)
    {
        ArgumentNullException.ThrowIfNull(supernetAccuracyPercent);
        ArgumentNullException.ThrowIfNull(isometry);
        if (supernetAccuracyPercent.Count == 0) throw new ArgumentException("No evaluated paths to select from.", nameof(supernetAccuracyPercent));
        if (topK < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "Select among at least one path.");
        var top = TopByAccuracy(supernetAccuracyPercent).Take(topK).ToList();
        var candidates = top.Select(i =>
        {
            var s = isometry(i);
            return new IsometryCandidate(i, supernetAccuracyPercent[i], s.IsFinite ? s.Value : null, s.IsFinite ? null : s.Reason ?? s.Status.ToString());
        }).ToList();
        var best = candidates.Where(c => c.Isometry is not null).OrderByDescending(c => c.Isometry).FirstOrDefault();
        return (best?.Index ?? top[0], candidates);
    }

    /// <summary>Indices in descending accuracy, ties by index.</summary>
    public static IEnumerable<int> TopByAccuracy(IReadOnlyList<double> accuracyPercent) =>
        Enumerable.Range(0, accuracyPercent.Count).OrderByDescending(i => accuracyPercent[i]).ThenBy(i => i);

    /// <summary>
    /// <c>jacobian_isometry</c> of <paramref name="path"/>'s inherited network: a copy of the trained supernet (weights and the
    /// path's recalibrated batch-norm statistics, so the proxy's eval-mode pass normalises as evaluation did) with the path set,
    /// scored on <paramref name="inputs"/>.
    /// </summary>
    public static ProxyScore Score(IWeightSharing space, PathSupernet trained, PathEvaluation evaluation, IReadOnlyList<int> path, Tensor inputs,
        IReadOnlyList<int> sampleShape, int classes, long seed)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(evaluation);
        evaluation.Prepare(path);
        var state = trained.state_dict();
        using var context = new ProxyContext(() =>
        {
            var copy = space.BuildSupernet(sampleShape, classes, seed, inputs.device);
            copy.load_state_dict(state);
            copy.SetPath(path);
            copy.eval();
            return copy;
        }, inputs, null, classes, seed);
        return new JacobianIsometryProxy().Score(context);
    }
}
