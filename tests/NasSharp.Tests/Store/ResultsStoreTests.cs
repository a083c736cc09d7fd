using System.Security.Cryptography;
using System.Text;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Store;

public sealed class ResultsStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();
    private readonly ManualClock _clock = new(T0);

    public void Dispose() => _dir.Dispose();

    private ResultsStore OpenStore(string name = "results.db") => ResultsStore.Open(_dir.File(name), _clock);

    private static RunSpec Spec(string kind = "search", string? key = null, long? seed = 7) =>
        new(kind, $"nas {kind} --seed {seed}", new { Space = "nb201", Budget = 100 }, seed,
            new Dictionary<string, string> { ["nassharp"] = "0.1.0", ["torchsharp"] = "0.107.0" }, key);

    private static ResultRecord Item(int i, double score = double.NaN) =>
        new($"arch-{i}", $$"""{"ntk_cond":{{(double.IsNaN(score) ? i + 0.5 : score)}},"params":{{1000 * i}}}""")
        {
            Arch = $"|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~{i % 3}|",
            Space = "nb201",
        };

    [Fact]
    public void OpenCreatesDirectorySchemaAndWalFileThatReopens()
    {
        string path = Path.Combine(_dir.Path, "nested", "deeper", "results.db");
        long runId;
        using (var store = ResultsStore.Open(path, _clock))
        {
            Assert.Equal(Path.GetFullPath(path), store.FilePath);
            runId = store.StartRun(Spec()).Id;
        }

        Assert.True(File.Exists(path));
        Assert.Equal(2L, RawSql.Scalar(path, "PRAGMA user_version"));
        Assert.Equal("wal", RawSql.Scalar(path, "PRAGMA journal_mode"));

        using (var store = ResultsStore.Open(path, _clock))
        {
            var run = Assert.Single(store.ListRuns());
            Assert.Equal(runId, run.Id);
        }
    }

    [Fact]
    public void StartCompleteListAndShow()
    {
        using var store = OpenStore();
        var search = store.StartRun(Spec("search"));
        store.AddResult(search.Id, Item(1));
        store.AddResult(search.Id, Item(2));
        _clock.Advance(TimeSpan.FromSeconds(90));
        store.CompleteRun(search.Id, new { Best = "arch-2", Evaluated = 2 });
        _clock.Advance(TimeSpan.FromSeconds(1));
        var train = store.StartRun(Spec("train", seed: null));

        var shown = store.GetRun(search.Id)!;
        Assert.Equal("search", shown.Kind);
        Assert.Equal("nas search --seed 7", shown.Command);
        Assert.Equal("""{"space":"nb201","budget":100}""", shown.ConfigJson);
        Assert.Equal(7, shown.Seed);
        Assert.Equal("0.107.0", shown.Versions["torchsharp"]);
        Assert.Equal(RunStatus.Completed, shown.Status);
        Assert.Equal(T0, shown.StartedUtc);
        Assert.Equal(T0.AddSeconds(90), shown.EndedUtc);
        Assert.Equal(TimeSpan.FromSeconds(90), shown.Duration);
        Assert.Equal("""{"best":"arch-2","evaluated":2}""", shown.SummaryJson);
        Assert.Null(shown.Error);
        Assert.Equal(2, shown.ResultCount);

        var running = store.GetRun(train.Id)!;
        Assert.Equal(RunStatus.Running, running.Status);
        Assert.Null(running.Seed);
        Assert.Null(running.Duration);
        Assert.Equal(0, running.ResultCount);

        Assert.Equal([train.Id, search.Id], store.ListRuns().Select(r => r.Id));
        Assert.Equal([train.Id], store.ListRuns(limit: 1).Select(r => r.Id));
        Assert.Equal([search.Id], store.ListRuns(kind: "search").Select(r => r.Id));
        Assert.Empty(store.ListRuns(kind: "nothing"));
        Assert.Null(store.GetRun(999));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ListRuns(limit: 0));

        // Times are stored as round-trip UTC text, readable by anything.
        Assert.Equal("2025-03-01T12:00:00.0000000Z",
            RawSql.Scalar(store.FilePath, $"SELECT started_utc FROM runs WHERE id = {search.Id}"));
    }

    [Fact]
    public void AddingTheSameItemTwiceKeepsTheFirstUnlessOverwriteIsAsked()
    {
        using var store = OpenStore();
        var run = store.StartRun(Spec());
        var first = Item(1);
        var second = Item(1, score: 42);

        Assert.True(store.AddResult(run.Id, first));
        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(store.AddResult(run.Id, second));
        var kept = Assert.Single(store.GetResults(run.Id));
        Assert.Contains("\"ntk_cond\":1.5", kept.Record.ValueJson);
        Assert.Equal(T0, kept.CreatedUtc);

        Assert.True(store.AddResult(run.Id, second, overwrite: true));
        var replaced = Assert.Single(store.GetResults(run.Id));
        Assert.Contains("\"ntk_cond\":42", replaced.Record.ValueJson);
        Assert.Equal(T0.AddSeconds(5), replaced.CreatedUtc);
        Assert.Equal(kept.Id, replaced.Id);
        Assert.True(store.HasResult(run.Id, "arch-1"));
        Assert.False(store.HasResult(run.Id, "arch-2"));
    }

    private sealed record Degenerate(double Nan, double PosInf, double NegInf, double Max, double Tiny, double Third, double? Missing, string Reason);

    [Fact]
    public void NonFiniteNumbersAreStoredAsNullWithTheirReasonAndFiniteOnesExactly()
    {
        using var store = OpenStore();
        var run = store.StartRun(Spec() with { Config = new { Tolerance = double.NaN, Cap = double.PositiveInfinity } });
        var journal = new StoreJournal(store, run.Id);
        journal.Record("degenerate", new Degenerate(double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, double.Epsilon, 1.0 / 3.0, null,
            "NTK Gram matrix is singular: min eigenvalue 0"));

        Assert.True(new StoreJournal(store, run.Id).TryFind<Degenerate>("degenerate", out var back));
        // A non-finite number reads back as NaN (its reason is the record's own field); finite ones bit for bit.
        Assert.True(double.IsNaN(back.Nan));
        Assert.True(double.IsNaN(back.PosInf));
        Assert.True(double.IsNaN(back.NegInf));
        Assert.Equal(double.MaxValue, back.Max);
        Assert.Equal(double.Epsilon, back.Tiny);
        Assert.Equal(BitConverter.DoubleToInt64Bits(1.0 / 3.0), BitConverter.DoubleToInt64Bits(back.Third));
        Assert.Null(back.Missing);
        Assert.Equal("NTK Gram matrix is singular: min eigenvalue 0", back.Reason);

        // The file itself holds null, never a made-up number or a string in place of a number.
        string raw = (string)RawSql.Scalar(store.FilePath, "SELECT value_json FROM results")!;
        Assert.Contains("\"nan\":null", raw);
        Assert.Contains("\"pos_inf\":null", raw);
        Assert.Contains("\"neg_inf\":null", raw);
        Assert.Equal("""{"tolerance":null,"cap":null}""", store.GetRun(run.Id)!.ConfigJson);
    }

    [Fact]
    public void AVersionOneStoreIsMigratedWithItsResultsKept()
    {
        string path = _dir.File("v1.db");
        RawSql.Execute(path, """
            CREATE TABLE runs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, command TEXT NOT NULL, config_json TEXT NOT NULL, seed INTEGER,
                versions_json TEXT NOT NULL, status TEXT NOT NULL, started_utc TEXT NOT NULL, ended_utc TEXT, key TEXT, summary_json TEXT, error TEXT) STRICT;
            CREATE UNIQUE INDEX runs_unfinished_key ON runs(key) WHERE key IS NOT NULL AND status <> 'completed';
            CREATE INDEX runs_kind ON runs(kind);
            CREATE TABLE results (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, item_key TEXT NOT NULL,
                arch TEXT, space TEXT, scores_json TEXT NOT NULL, metrics_json TEXT NOT NULL, notes_json TEXT NOT NULL, created_utc TEXT NOT NULL,
                UNIQUE (run_id, item_key)) STRICT;
            INSERT INTO runs VALUES (1, 'search', 'nas search', '{}', 7, '{}', 'completed', '2025-03-01T12:00:00.0000000Z', NULL, NULL, NULL, NULL);
            INSERT INTO results VALUES (5, 1, 'score/0', 'w8/relu', 'mlp', '{"score":"NaN","trace":2.5}', '{"seconds":1}', '{"reason":"singular"}',
                '2025-03-01T12:00:01.0000000Z');
            PRAGMA user_version = 1;
            """);
        using var store = ResultsStore.Open(path, _clock);
        Assert.Equal(2L, RawSql.Scalar(path, "PRAGMA user_version"));
        var result = Assert.Single(store.GetResults(1));
        Assert.Equal(5, result.Id);
        Assert.Equal("w8/relu", result.Record.Arch);
        using var value = System.Text.Json.JsonDocument.Parse(result.Record.ValueJson);
        Assert.Equal("NaN", value.RootElement.GetProperty("scores").GetProperty("score").GetString());
        Assert.Equal(2.5, value.RootElement.GetProperty("scores").GetProperty("trace").GetDouble());
        Assert.Equal(1, value.RootElement.GetProperty("metrics").GetProperty("seconds").GetDouble());
        Assert.Equal("singular", value.RootElement.GetProperty("notes").GetProperty("reason").GetString());
    }

    [Fact]
    public void RerunWithTheSameKeyResumesWithoutLossOrDuplicates()
    {
        const int total = 10, beforeStop = 6;
        string key = RunSpec.DeriveKey("search", new { Space = "nb201", Budget = total }, 7);
        long runId;

        using (var store = OpenStore())
        {
            var run = store.GetOrStartRun(Spec(key: key));
            Assert.False(run.Resumed);
            runId = run.Id;
            for (int i = 0; i < beforeStop; i++) store.AddResult(runId, Item(i));
            // Interrupted: disposed without completing, as after a crash that never reached CompleteRun.
        }

        using (var store = OpenStore())
        {
            Assert.Equal(RunStatus.Running, store.FindResumable(key)!.Status);
            var run = store.GetOrStartRun(Spec(key: key));
            Assert.Equal(runId, run.Id);
            Assert.True(run.Resumed);
            Assert.Equal(beforeStop, run.ResultCount);
            Assert.Equal(RunStatus.Running, store.GetRun(runId)!.Status);
            Assert.Equal(beforeStop, store.GetResults(runId).Count);

            // The command's loop starts over from item 0 and skips what is stored.
            int computed = 0;
            for (int i = 0; i < total; i++)
            {
                if (store.HasResult(runId, $"arch-{i}")) continue;
                Assert.True(store.AddResult(runId, Item(i)));
                computed++;
            }
            Assert.Equal(total - beforeStop, computed);
            // A replay of an already stored item (e.g. killed between commit and bookkeeping) is a no-op.
            Assert.False(store.AddResult(runId, Item(0)));
            store.CompleteRun(runId);

            var results = store.GetResults(runId);
            Assert.Equal(Enumerable.Range(0, total).Select(i => $"arch-{i}"), results.Select(r => r.Record.ItemKey));
            Assert.Equal(total, store.GetRun(runId)!.ResultCount);
            Assert.Equal(total, RawSql.Scalar(store.FilePath, $"SELECT count(*) FROM results WHERE run_id = {runId}") is long n ? (int)n : -1);

            // Once completed, the same key starts a fresh run and the finished one stays as history.
            Assert.Null(store.FindResumable(key));
            var again = store.GetOrStartRun(Spec(key: key));
            Assert.NotEqual(runId, again.Id);
            Assert.False(again.Resumed);
            Assert.Equal(RunStatus.Completed, store.GetRun(runId)!.Status);
        }
    }

    [Fact]
    public void InterruptedAndFailedRunsRefuseResultsUntilResumed()
    {
        using var store = OpenStore();
        var run = store.GetOrStartRun(Spec(key: "k"));
        store.AddResult(run.Id, Item(0));
        _clock.Advance(TimeSpan.FromSeconds(3));
        store.InterruptRun(run.Id);

        var interrupted = store.GetRun(run.Id)!;
        Assert.Equal(RunStatus.Interrupted, interrupted.Status);
        Assert.Equal(TimeSpan.FromSeconds(3), interrupted.Duration);
        var refused = Assert.Throws<StoreException>(() => store.AddResult(run.Id, Item(1)));
        Assert.Contains("interrupted", refused.Message);

        var resumed = store.GetOrStartRun(Spec(key: "k"));
        Assert.Equal(run.Id, resumed.Id);
        Assert.Equal(1, resumed.ResultCount);
        store.AddResult(run.Id, Item(1));
        store.FailRun(run.Id, "CUDA out of memory");
        Assert.Equal(RunStatus.Failed, store.GetRun(run.Id)!.Status);
        Assert.Equal("CUDA out of memory", store.GetRun(run.Id)!.Error);

        var byId = store.ResumeRun(run.Id);
        Assert.Equal(2, byId.ResultCount);
        var running = store.GetRun(run.Id)!;
        Assert.Equal(RunStatus.Running, running.Status);
        Assert.Null(running.Error);
        Assert.Null(running.EndedUtc);

        store.CompleteRun(run.Id);
        Assert.Throws<StoreException>(() => store.CompleteRun(run.Id));
        Assert.Throws<StoreException>(() => store.ResumeRun(run.Id));
        Assert.Throws<StoreException>(() => store.AddResult(run.Id, Item(2)));
    }

    [Fact]
    public void BadRequestsGiveClearErrors()
    {
        using var store = OpenStore();
        var unknown = Assert.Throws<StoreException>(() => store.AddResult(404, Item(0)));
        Assert.Contains("Run 404 does not exist", unknown.Message);
        Assert.Contains(store.FilePath, unknown.Message);
        Assert.Throws<StoreException>(() => store.GetResults(404));
        Assert.Throws<StoreException>(() => store.CompleteRun(404));

        var keyed = store.StartRun(Spec(key: "same"));
        var clash = Assert.Throws<StoreException>(() => store.StartRun(Spec(key: "same")));
        Assert.Contains($"Run {keyed.Id}", clash.Message);
        Assert.Throws<ArgumentException>(() => store.GetOrStartRun(Spec(key: null)));
        Assert.Throws<ArgumentException>(() => store.StartRun(Spec(kind: " ")));
        Assert.Throws<ArgumentException>(() => store.AddResult(keyed.Id, new ResultRecord("", "{}")));
        Assert.Throws<ArgumentException>(() => store.AddResult(keyed.Id, new ResultRecord("x", "not json")));
        Assert.Throws<ArgumentException>(() => store.FailRun(keyed.Id, ""));
    }

    [Fact]
    public void OpeningAFileThatIsNotSqliteNamesTheFile()
    {
        string path = _dir.File("notes.txt");
        string content = string.Concat(Enumerable.Repeat("these are my notes, not a database\n", 200));
        File.WriteAllText(path, content);

        var e = Assert.Throws<StoreException>(() => ResultsStore.Open(path, _clock));
        Assert.Contains(path, e.Message);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void OpeningAnotherProgramsDatabaseOrANewerSchemaIsRefused()
    {
        string foreign = _dir.File("other.db");
        RawSql.Execute(foreign, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
        var e = Assert.Throws<StoreException>(() => ResultsStore.Open(foreign, _clock));
        Assert.Contains(foreign, e.Message);
        Assert.Contains("not a NasSharp results store", e.Message);

        string newer = _dir.File("newer.db");
        ResultsStore.Open(newer, _clock).Dispose();
        RawSql.Execute(newer, "PRAGMA user_version = 3");
        e = Assert.Throws<StoreException>(() => ResultsStore.Open(newer, _clock));
        Assert.Contains(newer, e.Message);
        Assert.Contains("schema version 3", e.Message);

        var directory = Assert.Throws<StoreException>(() => ResultsStore.Open(_dir.Path, _clock));
        Assert.Contains(_dir.Path, directory.Message);
    }

    [Fact]
    public void TwoStoresOnOneFileSeeEachOthersWrites()
    {
        using var writer = OpenStore();
        using var reader = OpenStore();
        var run = writer.StartRun(Spec());
        writer.AddResult(run.Id, Item(0));
        Assert.True(reader.HasResult(run.Id, "arch-0"));
        reader.AddResult(run.Id, Item(1));
        Assert.Equal(2, writer.GetResults(run.Id).Count);
    }

    [Fact]
    public void DefaultPathHonoursNasSharpStoreVariable()
    {
        string? saved = Environment.GetEnvironmentVariable("NASSHARP_STORE");
        try
        {
            string wanted = _dir.File("from-env.db");
            Environment.SetEnvironmentVariable("NASSHARP_STORE", wanted);
            Assert.Equal(wanted, ResultsStore.DefaultPath());
        }
        finally
        {
            Environment.SetEnvironmentVariable("NASSHARP_STORE", saved);
        }
    }

    [Fact]
    public void DefaultPathFallsBackToXdgDataHomeThenHome()
    {
        static Func<string, string?> Env(params (string Name, string Value)[] vars) =>
            name => vars.FirstOrDefault(v => v.Name == name).Value;

        Assert.Equal("/data/nassharp/results.db", ResultsStore.DefaultPath(Env(("XDG_DATA_HOME", "/data"), ("HOME", "/home/u"))));
        Assert.Equal("/home/u/.local/share/nassharp/results.db", ResultsStore.DefaultPath(Env(("HOME", "/home/u"))));
        // A relative XDG_DATA_HOME is invalid per the base-directory spec and ignored.
        Assert.Equal("/home/u/.local/share/nassharp/results.db", ResultsStore.DefaultPath(Env(("XDG_DATA_HOME", "rel"), ("HOME", "/home/u"))));
        Assert.Equal("/x/y.db", ResultsStore.DefaultPath(Env(("NASSHARP_STORE", "/x/y.db"), ("XDG_DATA_HOME", "/data"))));
    }

    [Fact]
    public void DerivedKeyIsTheSha256OfTheJsonArrayKindSeedConfig()
    {
        var config = new { Space = "nb201", N = 3 };
        // Computed from the literal text, independently of the store's serializer.
        string expected = "sha256:" + Convert.ToHexStringLower(
            SHA256.HashData(Encoding.UTF8.GetBytes("""["search",7,{"space":"nb201","n":3}]""")));
        Assert.Equal(expected, RunSpec.DeriveKey("search", config, 7));
        Assert.NotEqual(expected, RunSpec.DeriveKey("search", config, 8));
        Assert.NotEqual(expected, RunSpec.DeriveKey("score", config, 7));
    }
}
