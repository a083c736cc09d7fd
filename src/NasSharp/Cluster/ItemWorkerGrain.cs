using NasSharp.Experiments;

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
/// silo (a placement hint, <see cref="ClusterDispatcher"/>); the grain takes them one at a time and only coordinates: the computation runs on the silo's own compute
/// thread (<see cref="SiloWorker"/>), never on Orleans' scheduler, which is not for long CPU-bound work.
/// </summary>
public interface IItemWorkerGrain : IGrainWithStringKey
{
    Task<WorkerResult> Score(WorkerRequest request);
}

public sealed class ItemWorkerGrain(SiloWorker worker) : Grain, IItemWorkerGrain
{
    public Task<WorkerResult> Score(WorkerRequest request) => worker.Score(request);
}
