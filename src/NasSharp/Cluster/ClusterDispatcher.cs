using System.Collections.Concurrent;
using System.Threading.Channels;
using NasSharp.Experiments;
using Orleans.Runtime.Placement;

namespace NasSharp.Cluster;

/// <summary>How a coordinator dispatches: how often it looks for silos joining or dying, and how long it waits with no silo
/// up before it gives up.</summary>
public sealed record DispatchSettings
{
    public TimeSpan MembershipPoll { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan NoSiloTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>The longest wait for any answer that should come at once (the membership, whether a silo holds an item).
    /// An answer can be lost for good when the gateway it was sent through dies, and Orleans would wait for it for hours.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>How long an item's answer may take before the coordinator asks the silo whether it still has the item, and
    /// then again as often; the multiple <see cref="SlowItems"/> of the slowest item seen so far, if that is longer.</summary>
    public TimeSpan HoldCheck { get; init; } = TimeSpan.FromSeconds(10);
    public double SlowItems { get; init; } = 2;
    /// <summary>Items sent to a silo before its earlier ones return: one computing and one waiting at the silo, so a silo
    /// starts its next item the moment it finishes one instead of idling for a round trip.</summary>
    public int InFlightPerSilo { get; init; } = 2;
}

/// <summary>The dispatch as a user follows it: items done of the total, and items in flight per silo.</summary>
public readonly record struct DispatchStatus(int Done, int Total, IReadOnlyDictionary<string, int> InFlight);

/// <summary>
/// The coordinator's side of a cluster run: the experiment's items go to the silos' worker grains, a bounded number in
/// flight per silo (<see cref="DispatchSettings.InFlightPerSilo"/>: a slow silo holds two items, never a share of the
/// queue), and each result is handed back to the experiment's
/// thread as it arrives. The coordinator polls the cluster's membership: a silo that joins gets work; a silo that dies has
/// its in-flight items put back in the queue for the others. No wait is unbounded, so the coordinator survives the death
/// of any silo, whatever it held: a membership read has a timeout, and an item whose answer is long in coming is checked
/// on with the silo computing it. A result that still arrives from a silo
/// written off is passed on only if its item is not done yet, so an item is never delivered twice by this dispatch (and the
/// journal keeps the first record of a key in any case).
/// </summary>
public sealed class ClusterDispatcher(IClusterClient client, DispatchSettings? settings = null, IProgress<DispatchStatus>? progress = null) : IItemDispatcher
{
    private readonly DispatchSettings settings = settings ?? new DispatchSettings();

    public IEnumerable<ItemDone> Run(DispatchedExperiment experiment, IReadOnlyList<ItemWork> items, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) yield break;
        var results = Channel.CreateUnbounded<ItemDone>();
        var state = new DispatchState(items);
        var dispatch = Task.Run(() => Dispatch(experiment, state, results.Writer, cancellation), cancellation);
        foreach (var done in results.Reader.ReadAllAsync(cancellation).ToBlockingEnumerable(cancellation))
        {
            // Reported on the caller's thread, as the experiment's own progress is.
            progress?.Report(state.Status());
            yield return done;
        }
        dispatch.GetAwaiter().GetResult();
    }

    private async Task Dispatch(DispatchedExperiment experiment, DispatchState state, ChannelWriter<ItemDone> results, CancellationToken cancellation)
    {
        var items = state.Items;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var silos = new Dictionary<SiloAddress, CancellationTokenSource>();
        var loops = new List<Task>();
        var management = client.GetGrain<IManagementGrain>(0);
        var lastSiloSeen = DateTime.UtcNow;
        try
        {
            while (!state.AllDone.IsCompleted)
            {
                stop.Token.ThrowIfCancellationRequested();
                HashSet<SiloAddress> active;
                try { active = (await management.GetHosts(onlyActive: true).WaitAsync(settings.CallTimeout, stop.Token)).Keys.ToHashSet(); }
                catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    // The call went through a silo that just died (the management grain is a stateless worker on the gateway the
                    // call reached), or its answer was lost with that silo: the next poll goes through another gateway. Until
                    // then the silos known stay as they are; with none answering, the timeout below ends it.
                    state.Lost("the membership could not be read", e);
                    active = [.. silos.Where(s => !s.Value.IsCancellationRequested).Select(s => s.Key)];
                }
                foreach (var (silo, lost) in silos.Where(s => !active.Contains(s.Key) && !s.Value.IsCancellationRequested).ToList())
                    lost.Cancel();  // declared dead: its loops put their items back
                foreach (var silo in active.Where(s => !silos.ContainsKey(s)))
                {
                    var lost = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                    silos[silo] = lost;
                    for (int slot = 0; slot < this.settings.InFlightPerSilo; slot++) loops.Add(ServeSilo(silo, experiment, state, results, lost));
                }
                if (silos.Values.Any(s => !s.IsCancellationRequested)) lastSiloSeen = DateTime.UtcNow;
                else if (DateTime.UtcNow - lastSiloSeen > settings.NoSiloTimeout)
                    throw new ClusterException($"No silo of the cluster has been up for {settings.NoSiloTimeout.TotalSeconds:F0} s with " +
                        $"{items.Count - state.Done} items left{state.LastFailure}; start one with 'nas cluster silo', then rerun the command to resume.");
                if (state.Failure is { } failure) throw new ClusterException(failure);
                await Task.WhenAny(state.AllDone, Task.Delay(settings.MembershipPoll, stop.Token));
            }
            if (state.Failure is { } last) throw new ClusterException(last);
            results.TryComplete();
        }
        catch (Exception e)
        {
            results.TryComplete(e);
        }
        finally
        {
            await stop.CancelAsync();
            try { await Task.WhenAll(loops); } catch (OperationCanceledException) { }
            foreach (var s in silos.Values) s.Dispose();
        }
    }

    /// <summary>Keeps one item in flight to a silo until the run is done or the silo is declared dead. Several of these serve a
    /// silo. A call that fails (it went through a gateway that died, say) puts its item back and tries again a second later,
    /// as long as the membership has the silo; an answer long in coming is checked on (<see cref="Await"/>).</summary>
    private async Task ServeSilo(SiloAddress silo, DispatchedExperiment experiment, DispatchState state, ChannelWriter<ItemDone> results, CancellationTokenSource lost)
    {
        await Task.Yield();
        // The hint places this silo's grain on the silo when it is first activated (RequestContext flows with this task).
        RequestContext.Set(IPlacementDirector.PlacementHintKey, silo);
        var grain = client.GetGrain<IItemWorkerGrain>(silo.ToParsableString());
        string name = silo.ToString();
        var failingSince = (DateTime?)null;
        while (!lost.IsCancellationRequested)
        {
            if (!state.TryTake(out var item))
            {
                try { await state.WaitForWork(lost.Token); } catch (OperationCanceledException) { return; }
                continue;
            }
            state.Started(name);
            try
            {
                var request = new WorkerRequest(experiment.Kind, experiment.ConfigJson, experiment.Seed, item.Key, item.PayloadJson);
                var result = await Await(grain, name, request, state, lost.Token);
                failingSince = null;
                if (result is null) state.PutBack(item);  // the silo has not got it: the request or its answer was lost
                else if (result.Error is { } error) state.Fail($"item {item.Key} failed on silo {result.Silo}: {error}");
                else state.Complete(item.Key, () => results.TryWrite(new ItemDone(item.Key, result.RecordJson!, result.Silo)));
            }
            catch (Exception e)
            {
                // Lost with its silo, the call failed, or the run stopped: the item goes back for another silo.
                state.PutBack(item);
                if (lost.IsCancellationRequested) return;
                state.Lost($"a call to silo {silo} failed", e);
                failingSince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - failingSince > settings.NoSiloTimeout) { await lost.CancelAsync(); return; }
                try { await Task.Delay(TimeSpan.FromSeconds(1), lost.Token); } catch (OperationCanceledException) { return; }
            }
            finally { state.Finished(name); }
        }
    }

    /// <summary>
    /// The answer to <paramref name="request"/>, or null when the silo turns out not to have the item. An answer can be lost
    /// for good without the call failing (it was routed through a gateway silo that died), and a silo that stays up is never
    /// declared dead: so after <see cref="DispatchSettings.HoldCheck"/> (or twice the slowest item so far) the coordinator asks
    /// the silo whether it still has the item waiting or computing, and gives up on the call only if it has not. A question
    /// that goes unanswered is asked again later: a silo that cannot be reached at all is the membership's to declare dead.
    /// </summary>
    private async Task<WorkerResult?> Await(IItemWorkerGrain grain, string silo, WorkerRequest request, DispatchState state, CancellationToken lost)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var call = grain.Score(request);
        while (true)
        {
            var wait = TimeSpan.FromTicks(Math.Max(settings.HoldCheck.Ticks, (long)(settings.SlowItems * state.SlowestItem.Ticks)));
            if (await Task.WhenAny(call, Task.Delay(wait, lost)) == call) break;
            lost.ThrowIfCancellationRequested();
            bool holds;
            try { holds = await grain.Holds(request).WaitAsync(settings.CallTimeout, lost); }
            catch (Exception e) when (!lost.IsCancellationRequested)
            {
                state.Lost($"silo {silo} did not say whether it has item {request.Key}", e);
                continue;
            }
            // Its answer may have come while the silo was asked.
            if (!holds && !call.IsCompleted) return null;
        }
        var result = await call;
        state.Observed(clock.Elapsed);
        return result;
    }

    /// <summary>The queue of items, what is done, and what is in flight where; shared by every slot's loop.</summary>
    private sealed class DispatchState(IReadOnlyList<ItemWork> items)
    {
        public IReadOnlyList<ItemWork> Items => items;

        private readonly ConcurrentQueue<ItemWork> queue = new(items);
        private readonly ConcurrentDictionary<string, bool> remaining = new(items.Select(i => KeyValuePair.Create(i.Key, true)));
        private readonly ConcurrentDictionary<string, int> inFlight = new();
        private readonly TaskCompletionSource allDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim workAdded = new(0);
        private int done;

        public Task AllDone => allDone.Task;
        public int Done => Volatile.Read(ref done);
        public string? Failure { get; private set; }
        public string LastFailure { get; private set; } = "";

        private long slowestTicks;

        /// <summary>The longest a silo has taken to answer an item so far (waiting there included).</summary>
        public TimeSpan SlowestItem => TimeSpan.FromTicks(Interlocked.Read(ref slowestTicks));

        public void Observed(TimeSpan elapsed)
        {
            long seen;
            while (elapsed.Ticks > (seen = Interlocked.Read(ref slowestTicks)) && Interlocked.CompareExchange(ref slowestTicks, elapsed.Ticks, seen) != seen) { }
        }

        public bool TryTake(out ItemWork item)
        {
            while (queue.TryDequeue(out item!))
                if (remaining.ContainsKey(item.Key)) return true;
            return false;
        }

        public async Task WaitForWork(CancellationToken token)
        {
            // Woken when an item is put back; otherwise re-checked now and then, and released when the run is done.
            await Task.WhenAny(workAdded.WaitAsync(token), allDone.Task, Task.Delay(TimeSpan.FromSeconds(1), token));
            token.ThrowIfCancellationRequested();
            if (allDone.Task.IsCompleted) throw new OperationCanceledException(token);
        }

        public void PutBack(ItemWork item)
        {
            if (!remaining.ContainsKey(item.Key)) return;
            queue.Enqueue(item);
            workAdded.Release();
        }

        /// <summary>
        /// Marks <paramref name="key"/> done, running <paramref name="deliver"/> first if this is its first answer: the result
        /// must be in the channel before the last item's completion lets the dispatch loop close it, or it would be lost.
        /// </summary>
        public bool Complete(string key, Action deliver)
        {
            if (!remaining.TryRemove(key, out _)) return false;
            deliver();
            if (Interlocked.Increment(ref done) == items.Count) allDone.TrySetResult();
            return true;
        }

        public void Started(string silo) => inFlight.AddOrUpdate(silo, 1, (_, n) => n + 1);
        public void Finished(string silo) => inFlight.AddOrUpdate(silo, 0, (_, n) => n - 1);

        /// <summary>A worker could not compute an item: the run stops with this line.</summary>
        public void Fail(string message)
        {
            Failure ??= message;
            allDone.TrySetResult();
        }

        /// <summary>A silo was lost, or the membership could not be read; remembered for the message if no silo is left.</summary>
        public void Lost(string what, Exception e) => LastFailure = $" ({what}: {e.GetType().Name}: {e.Message.Split('\n')[0]})";

        public DispatchStatus Status() => new(Done, items.Count,
            inFlight.Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value));
    }
}

/// <summary>A cluster run cannot go on: no silo is up, or a worker could not compute an item. One line, for the user.</summary>
public sealed class ClusterException(string message) : Exception(message);
