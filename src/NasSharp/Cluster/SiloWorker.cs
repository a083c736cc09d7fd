using System.Collections.Concurrent;
using NasSharp.Experiments;
using NasSharp.Spaces;
using static TorchSharp.torch;

namespace NasSharp.Cluster;

/// <summary>What a silo computes with: its data directory (resolved as the CLI resolves it) and its device.</summary>
public sealed record WorkerSettings(string DataDirectory, Device Device)
{
    /// <summary>libtorch threads of the compute thread (a silo's <c>--threads</c>); null leaves libtorch's default for a new
    /// thread. libtorch's thread count is a per-thread setting of OpenMP and MKL: a count set on the silo's main thread does
    /// not reach the compute thread, which without this ran every item on as many threads as the machine has cores.</summary>
    public int? Threads { get; init; }

    public SpaceRegistry Spaces { get; init; } = SpaceRegistry.Default;
}

/// <summary>
/// A silo's compute side: a dedicated thread takes items from a queue and scores them one at a time (libtorch's dispose
/// scopes are thread-static, so an item's tensors live and die on the thread that made them). One item at a time per
/// process: networks are seeded through libtorch's one global generator, so two items built at once in one process would
/// draw each other's weights. A machine computes items in parallel by running several silos (one process each, with
/// <c>--threads</c> libtorch threads each), and silos that share a process (a test cluster) take turns. The thread keeps
/// the scorer of the experiment it last computed, so the data is loaded and the fixed batch drawn once per experiment.
/// </summary>
public sealed class SiloWorker : IDisposable
{
    private readonly WorkerSettings settings;
    private readonly BlockingCollection<(WorkerRequest Request, TaskCompletionSource<WorkerResult> Done)> queue = new();
    private readonly Thread thread;

    public SiloWorker(WorkerSettings settings, string siloName)
    {
        ArgumentNullException.ThrowIfNull(settings);
        this.settings = settings;
        SiloName = siloName;
        thread = new Thread(Loop) { IsBackground = true, Name = ThreadName };
        thread.Start();
    }

    /// <summary>The compute thread's name (what <see cref="ProcessCpu"/> counts as a silo's compute).</summary>
    public const string ThreadName = "nas-worker";

    /// <summary>Items of one process are computed one at a time, whichever silo of the process takes them.</summary>
    private static readonly Lock ProcessTorch = new();
    public string SiloName { get; }

    /// <summary>Requests waiting or computing, with how many times each was sent (a coordinator may send one again).</summary>
    private readonly ConcurrentDictionary<WorkerRequest, int> held = new();

    public Task<WorkerResult> Score(WorkerRequest request)
    {
        var done = new TaskCompletionSource<WorkerResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        held.AddOrUpdate(request, 1, (_, n) => n + 1);
        queue.Add((request, done));
        return done.Task;
    }

    /// <summary>Whether <paramref name="request"/> is waiting or computing here.</summary>
    public bool Holds(WorkerRequest request) => held.ContainsKey(request);

    private void Release(WorkerRequest request)
    {
        if (held.AddOrUpdate(request, 0, (_, n) => n - 1) <= 0) held.TryRemove(KeyValuePair.Create(request, 0));
    }

    private void Loop()
    {
        (DispatchedExperiment Experiment, IItemScorer Scorer)? current = null;
        if (settings.Threads is int threads) TorchSharp.torch.set_num_threads(threads);
        try
        {
            foreach (var (request, done) in queue.GetConsumingEnumerable())
            {
                using var turn = ProcessTorch.EnterScope();
                try
                {
                    if (current?.Experiment != request.Experiment)
                    {
                        current?.Scorer.Dispose();
                        current = null;
                        current = (request.Experiment, ItemScorers.Create(request.Experiment, settings.DataDirectory, settings.Spaces, settings.Device));
                    }
                    done.SetResult(new WorkerResult(request.Key, current.Value.Scorer.Score(request.PayloadJson), null, SiloName));
                }
                catch (Exception e)
                {
                    // The item cannot be computed here (a dataset missing on this machine, a corrupt file): the coordinator
                    // shows this line and stops, rather than retrying forever.
                    done.SetResult(new WorkerResult(request.Key, null, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}", SiloName));
                }
                finally { Release(request); }
            }
        }
        finally { current?.Scorer.Dispose(); }
    }

    public void Dispose()
    {
        queue.CompleteAdding();
        thread.Join(TimeSpan.FromSeconds(5));
    }
}
