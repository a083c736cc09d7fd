using NasSharp.Experiments;
using Orleans.Concurrency;

namespace NasSharp.Cluster;

/// <summary>What a coordinator asks a worker to compute: one item of a dispatched experiment.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerRequest(
    [property: Id(0)] ExperimentKind Kind,
    [property: Id(1)] string ConfigJson,
    [property: Id(2)] long Seed,
    [property: Id(3)] string Key,
    [property: Id(4)] string PayloadJson)
{
    public DispatchedExperiment Experiment => new(Kind, ConfigJson, Seed);
}

/// <summary>A worker's answer: the item's record (JSON), or why it could not be computed there (a missing dataset, say),
/// and which silo answered.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerResult(
    [property: Id(0)] string Key,
    [property: Id(1)] string? RecordJson,
    [property: Id(2)] string? Error,
    [property: Id(3)] string Silo);

/// <summary>
/// A silo's worker. The coordinator keeps a bounded number of calls in flight per silo and places each silo's grain on that
/// silo (a placement hint, <see cref="ClusterDispatcher"/>); the grain only coordinates: it hands each item at once to the
/// silo's own compute thread (<see cref="SiloWorker"/>), which computes them one at a time, never on Orleans' scheduler,
/// which is not for long CPU-bound work.
/// </summary>
public interface IItemWorkerGrain : IGrainWithStringKey
{
    Task<WorkerResult> Score(WorkerRequest request);

    /// <summary>Whether the silo still has <paramref name="request"/> waiting or computing: a coordinator whose answer is long
    /// in coming asks, and sends the item elsewhere if the silo has not got it (the request or the answer was lost).</summary>
    Task<bool> Holds(WorkerRequest request);
}

/// <remarks>Reentrant: an item reaches the compute thread's queue the moment it arrives (so <see cref="Holds"/> sees it),
/// and <see cref="Holds"/> is answered while an item computes.</remarks>
[Reentrant]
public sealed class ItemWorkerGrain(SiloWorker worker) : Grain, IItemWorkerGrain
{
    public Task<WorkerResult> Score(WorkerRequest request) => worker.Score(request);

    public Task<bool> Holds(WorkerRequest request) => Task.FromResult(worker.Holds(request));
}
