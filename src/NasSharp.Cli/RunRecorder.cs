using System.CommandLine;
using System.Text.Json;
using NasSharp.Search;
using NasSharp.Store;

namespace NasSharp.Cli;

/// <summary>
/// Records one command's run and its results in the results store. Each result is committed as it is
/// produced, so a killed command leaves every finished item stored; a resumable run is found again by a
/// key derived from the command's configuration and seed.
/// </summary>
public sealed class RunRecorder : IDisposable
{
    private readonly ResultsStore store;
    private readonly RunLock runLock;
    private readonly CancellationToken cancellation;
    private bool finished;

    private RunRecorder(ResultsStore store, Run run, RunLock runLock, CancellationToken cancellation)
    {
        this.store = store;
        this.runLock = runLock;
        this.cancellation = cancellation;
        RunId = run.Id;
        Resumed = run.Resumed;
        ResultCount = run.ResultCount;
    }

    public long RunId { get; }
    public bool Resumed { get; }
    public int ResultCount { get; }

    public static RunRecorder Start(ParseResult pr, CliConsole console, string kind, object config, long seed, bool resumable = false)
    {
        var path = pr.GetValue(GlobalOptions.Store) ?? ResultsStore.DefaultPath();
        var store = ResultsStore.Open(path);
        try
        {
            var spec = new RunSpec(kind, "nas " + string.Join(' ', pr.Tokens.Select(t => t.Value)), config, seed, Versions(),
                resumable ? RunSpec.DeriveKey(kind, config, seed) : null);
            var run = resumable ? store.GetOrStartRun(spec) : store.StartRun(spec);
            // A "running" run may be a crashed one (resume it) or a live one in another process (leave it alone, and
            // do not mark it failed on the way out: that would stop the other process's writes).
            var runLock = RunLock.TryAcquire(store.FilePath, run.Id)
                ?? throw new StoreException($"Run {run.Id} in '{store.FilePath}' is being written by another process running the same " +
                    "command. Wait for it to finish (rerunning the command then resumes or repeats it), or use another --store.");
            if (store.GetRun(run.Id)?.Status != RunStatus.Running)
            {
                // The other process finished it between our resume and our lock.
                runLock.Dispose();
                throw new StoreException($"Run {run.Id} in '{store.FilePath}' was finished by another process just now; rerun the command.");
            }
            return new RunRecorder(store, run, runLock, console.Cancellation);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public static IReadOnlyDictionary<string, string> Versions() => new Dictionary<string, string>
    {
        ["nassharp"] = typeof(Seeds).Assembly.GetName().Version?.ToString(3) ?? "unknown",
        ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3) ?? "unknown",
        ["dotnet"] = Environment.Version.ToString(),
        ["torch_threads"] = TorchSharp.torch.get_num_threads().ToString(),
    };

    /// <summary>Stores one result (idempotent on its key). Null values are left out, never stored as a sentinel.</summary>
    public void AddResult(string itemKey, string? arch, Dictionary<string, double?> scores, Dictionary<string, double?> metrics, string? note = null, string? space = null)
    {
        store.AddResult(RunId, new ResultRecord(itemKey)
        {
            Arch = arch,
            Space = space,
            Scores = Compact(scores),
            Metrics = Compact(metrics),
            Notes = note is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["reason"] = note },
        });
    }

    public IReadOnlyList<StoredResult> Results() => store.GetResults(RunId);

    public void Complete(object summary)
    {
        store.CompleteRun(RunId, summary);
        finished = true;
    }

    public void Dispose()
    {
        // Not completed: an exception or a cancellation. Mark the run so `nas runs` shows it; a resumable
        // run with the same key is picked up again by the next identical command.
        if (!finished)
        {
            try
            {
                if (cancellation.IsCancellationRequested) store.InterruptRun(RunId);
                else store.FailRun(RunId, "did not complete (an error); rerun the same command to resume");
            }
            catch (StoreException) { }
        }
        store.Dispose();
        runLock.Dispose();
    }

    private static Dictionary<string, double> Compact(Dictionary<string, double?> values) =>
        values.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!.Value);
}

/// <summary>The search journal over the results store: item keys <c>score/i</c> and <c>train/i</c>.</summary>
public sealed class StoreSearchJournal : ISearchJournal
{
    private readonly RunRecorder recorder;
    private readonly Dictionary<string, ResultRecord> existing;

    public StoreSearchJournal(RunRecorder recorder)
    {
        this.recorder = recorder;
        existing = recorder.Results().ToDictionary(r => r.Record.ItemKey, r => r.Record);
    }

    public CandidateScore? FindScore(int index, string arch)
    {
        if (!existing.TryGetValue($"score/{index}", out var r) || r.Arch != arch) return null;
        r.Notes.TryGetValue("reason", out var reason);
        return new CandidateScore(index, arch, Get(r.Scores, "score"), Get(r.Scores, "lambda_min"), Get(r.Scores, "lambda_max"),
            Get(r.Scores, "trace"), Get(r.Scores, "condition"), reason, Get(r.Metrics, "seconds"));
    }

    public void RecordScore(CandidateScore s) =>
        recorder.AddResult($"score/{s.Index}", s.Arch, new()
        {
            ["score"] = s.Score, ["lambda_min"] = s.LambdaMin, ["lambda_max"] = s.LambdaMax, ["trace"] = s.Trace, ["condition"] = s.Condition,
        }, new() { ["seconds"] = s.Seconds }, s.NonFiniteReason);

    public TrainedCandidate? FindTraining(int index, string arch)
    {
        if (!existing.TryGetValue($"train/{index}", out var r) || r.Arch != arch) return null;
        return new TrainedCandidate(index, arch, Opt(r.Metrics, "val_accuracy"), Opt(r.Metrics, "test_accuracy"),
            Get(r.Metrics, "diverged") != 0, Get(r.Metrics, "seconds"));
    }

    public void RecordTraining(TrainedCandidate t) =>
        recorder.AddResult($"train/{t.Index}", t.Arch, new(), new()
        {
            ["val_accuracy"] = t.ValidationAccuracy, ["test_accuracy"] = t.TestAccuracy, ["diverged"] = t.Diverged ? 1 : 0, ["seconds"] = t.Seconds,
        });

    // Every field is stored, NaN included; a missing one reads as NaN rather than as a made-up number.
    private static double Get(IReadOnlyDictionary<string, double> d, string k) => d.TryGetValue(k, out var v) ? v : double.NaN;
    private static double? Opt(IReadOnlyDictionary<string, double> d, string k) => d.TryGetValue(k, out var v) ? v : null;
}
