using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

namespace NasSharp.Benchmarks;

/// <summary>A target of the correlation: a dataset whose accuracies are the ground truth, and the class count its networks get.</summary>
public sealed record CorrelationTarget(string Name, int Classes);

/// <summary>An architecture with its ground-truth accuracy (in %) for every target.</summary>
public sealed record GroundTruthItem(int Index, IGenotype Arch, IReadOnlyDictionary<string, double> Accuracies);

/// <summary>One evaluation: every proxy on one architecture built for one target.</summary>
public sealed record TargetEvaluation(int Index, string Arch, string Target, double Accuracy, ProxyEvaluation Evaluation);

/// <summary>Where a correlation run keeps finished evaluations, so an interrupted run resumes where it stopped.</summary>
public interface ICorrelationJournal
{
    bool Has(int index, string target);
    void Record(TargetEvaluation evaluation);
}

/// <summary>
/// Scores every sampled architecture with every proxy at initialisation on one fixed batch, once per target
/// (the network's class count set to the target's), and records each evaluation as it finishes.
/// </summary>
public sealed class ProxyCorrelationHarness(IReadOnlyList<IProxy> proxies, NetworkOptions network, long seed)
{
    private readonly ProxyEvaluator evaluator = new(proxies);

    public IReadOnlyList<IProxy> Proxies => evaluator.Proxies;

    public int Run(IReadOnlyList<GroundTruthItem> items, IReadOnlyList<CorrelationTarget> targets, Tensor inputs, Tensor? labels,
        ICorrelationJournal journal, IProgress<(int Done, int Total, string Arch)>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(journal);
        int computed = 0, done = 0, total = items.Count * targets.Count;
        var sampleShape = inputs.shape.Skip(1).Select(d => (int)d).ToArray();
        foreach (var item in items)
        {
            foreach (var target in targets)
            {
                cancellation.ThrowIfCancellationRequested();
                done++;
                if (!item.Accuracies.TryGetValue(target.Name, out var accuracy) || journal.Has(item.Index, target.Name))
                {
                    progress?.Report((done, total, item.Arch.Canonical));
                    continue;
                }
                // The same initial weights for every target (up to the classifier's shape).
                long netSeed = Seeds.Derive(seed, "proxy-init", item.Arch.Canonical);
                using var scope = torch.NewDisposeScope();
                var evaluation = evaluator.Evaluate(
                    () => NetworkFactory.Build(item.Arch, sampleShape, target.Classes, network, netSeed, inputs.device),
                    inputs, labels, target.Classes, netSeed);
                journal.Record(new TargetEvaluation(item.Index, item.Arch.Canonical, target.Name, accuracy, evaluation));
                computed++;
                progress?.Report((done, total, item.Arch.Canonical));
            }
        }
        return computed;
    }
}
