using System.Security.Cryptography;
using NasSharp.Store;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Store;

/// <summary>
/// The faults a user's file system and files can throw at the results store, each caused for real: a read-only file
/// system or file, a full disk, another process's lock, a damaged file, and files that are not NasSharp stores. Each ends
/// in one <see cref="StoreException"/> line that says what to do (never a raw SqliteException), reads keep working where
/// they can, and nothing that is not a store is modified.
/// </summary>
[Collection(TorchCollection.Name)]
[Trait("Category", "Reliability")]
public sealed class StoreFaultTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static RunSpec Spec(string key = "k") => new("search", "nas search", new { A = 1 }, 1, null, key);

    private static ResultRecord Item(int i, int size = 0) => new($"item-{i}", $$"""{"i":{{i}},"pad":"{{new string('x', size)}}"}""");

    /// <summary>A store with one completed run holding two results.</summary>
    private static long Populate(string path)
    {
        using var store = ResultsStore.Open(path);
        var run = store.StartRun(Spec());
        store.AddResult(run.Id, Item(0));
        store.AddResult(run.Id, Item(1));
        store.CompleteRun(run.Id, new { Best = "item-1" });
        return run.Id;
    }

    private static void AssertOneLine(string message) => Assert.DoesNotContain(message, c => c is '\n' or '\r');

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void AStoreOnAReadOnlyFileSystemIsReadAndRefusesWritesInOneLine()
    {
        using var fs = new Tmpfs("4m");
        string path = fs.File("results.db");
        long id = Populate(path);
        string before = Hash(path);
        fs.ReadOnly();

        using (var store = ResultsStore.Open(path))
        {
            Assert.True(store.IsReadOnly);
            Assert.Equal(id, Assert.Single(store.ListRuns()).Id);
            Assert.Equal(["item-0", "item-1"], store.GetResults(id).Select(r => r.Record.ItemKey));
            var e = Assert.Throws<StoreException>(() => store.StartRun(Spec("other")));
            Assert.Contains("is read-only", e.Message);
            Assert.Contains("another --store", e.Message);
            Assert.DoesNotContain("not a NasSharp", e.Message); // the file is one: no hint that it may not be
            AssertOneLine(e.Message);
        }

        // The CLI: listing works; a command that would store a run is one line, exit code 1.
        using var cli = new CliHarness(storePath: path);
        Assert.Equal(id, cli.Json("runs", "list").GetProperty("runs")[0].GetProperty("run_id").GetInt64());
        var (code, stdout, stderr) = cli.Run("train", "--arch", "w8/relu", "--dataset", "iris", "--epochs", "1", "--threads", "1");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("error: Results store", stderr);
        Assert.Contains("is read-only", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        fs.Writable();
        Assert.Equal(before, Hash(path));
    }

    [Fact]
    public void AReadOnlyStoreFileIsReadAndRefusesWritesInOneLine()
    {
        using var fs = new Tmpfs("4m");
        string path = fs.File("results.db");
        long id = Populate(path);
        Tmpfs.Immutable(path, true);
        try
        {
            using var store = ResultsStore.Open(path);
            Assert.Equal(2, store.GetRun(id)!.ResultCount);
            var e = Assert.Throws<StoreException>(() => store.StartRun(Spec("other")));
            Assert.Contains("is read-only", e.Message);
            Assert.Contains("cannot start a run", e.Message);
            Assert.DoesNotContain("not a NasSharp", e.Message); // the file is one: no hint that it may not be
            AssertOneLine(e.Message);
        }
        finally
        {
            Tmpfs.Immutable(path, false);
        }
    }

    [Fact]
    public void AFullDiskIsOneLineAndKeepsWhatWasStored()
    {
        using var fs = new Tmpfs("1m");
        string path = fs.File("results.db");
        using var store = ResultsStore.Open(path);
        var run = store.StartRun(Spec());
        store.AddResult(run.Id, Item(0));
        // Fill what is left of the file system.
        string filler = fs.File("filler");
        using (var fill = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            var block = new byte[4096];
            try { while (true) fill.Write(block); }
            catch (IOException) { } // ENOSPC: the disk is full
        }

        var e = Assert.Throws<StoreException>(() => { for (int i = 1; i < 100; i++) store.AddResult(run.Id, Item(i, 20_000)); });
        Assert.Contains("is full", e.Message);
        Assert.Contains("rerun the same command to resume", e.Message);
        Assert.DoesNotContain("not a NasSharp", e.Message); // the file is one: no hint that it may not be
        AssertOneLine(e.Message);
        Assert.Contains("item-0", store.GetResults(run.Id).Select(r => r.Record.ItemKey));

        // With space again the same run takes results.
        File.Delete(filler);
        store.AddResult(run.Id, Item(100));
        Assert.Contains("item-100", store.GetResults(run.Id).Select(r => r.Record.ItemKey));
    }

    [Fact]
    public void AStoreLockedByAnotherWriterIsOneLine()
    {
        string path = _dir.File("results.db");
        Populate(path);
        using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        other.Open();
        using var hold = other.BeginTransaction(deferred: false); // another process's write lock

        var e = Assert.Throws<StoreException>(() => ResultsStore.Open(path, null, TimeSpan.FromMilliseconds(200)));
        Assert.Contains("stayed locked by another process for 0.2 s", e.Message);
        AssertOneLine(e.Message);
    }

    [Fact]
    public void AWriteWaitingForAnotherWritersLockIsOneLine()
    {
        string path = _dir.File("results.db");
        using var store = ResultsStore.Open(path, null, TimeSpan.FromMilliseconds(200));
        var run = store.StartRun(Spec());
        using var other = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=False");
        other.Open();
        using var hold = other.BeginTransaction(deferred: false);

        var e = Assert.Throws<StoreException>(() => store.AddResult(run.Id, Item(0)));
        Assert.Contains($"could not store a result of run {run.Id}", e.Message);
        Assert.Contains("stayed locked", e.Message);
        AssertOneLine(e.Message);
    }

    [Fact]
    public void ADamagedStoreIsOneLineAtTheCommandLineToo()
    {
        string path = _dir.File("results.db");
        Populate(path);
        // Overwrite the runs table's root page with garbage: the file stays a SQLite database, its b-tree does not.
        long root = (long)RawSql.Scalar(path, "SELECT rootpage FROM sqlite_schema WHERE name = 'runs'")!;
        long pageSize = (long)RawSql.Scalar(path, "PRAGMA page_size")!;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Position = (root - 1) * pageSize;
            file.Write(Enumerable.Repeat((byte)0xEE, 64).ToArray());
        }

        using (var store = ResultsStore.Open(path))
        {
            var e = Assert.Throws<StoreException>(() => store.ListRuns());
            Assert.Contains("is damaged", e.Message);
            Assert.Contains("could not list its runs", e.Message);
            Assert.DoesNotContain("not a NasSharp", e.Message); // the file is one: no hint that it may not be
            AssertOneLine(e.Message);
        }
        using var cli = new CliHarness(storePath: path);
        var (code, _, stderr) = cli.Run("runs", "list");
        Assert.Equal(1, code);
        Assert.StartsWith("error: Results store", stderr);
        Assert.DoesNotContain("internal error", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    public static TheoryData<string, string, string> Foreign => new()
    {
        // name, SQL that makes it (or text content), what the message says
        { "tables without a version", "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)", "has tables and no NasSharp schema version" },
        { "version 1 without our tables", "CREATE TABLE runs (id INTEGER PRIMARY KEY); PRAGMA user_version = 1", "schema version 1 but without NasSharp's runs and results tables" },
        { "a newer version", "CREATE TABLE t (x); PRAGMA user_version = 9", "schema version 9, but this build of NasSharp reads up to version 2" },
        { "text", "text:this is not a database, just a text file that happens to be long enough to have a header", "is not a SQLite database" },
    };

    [Theory]
    [MemberData(nameof(Foreign))]
    public void AFileThatIsNotAStoreIsRefusedUnmodified(string name, string make, string says)
    {
        string path = _dir.File(name.Replace(' ', '-') + ".db");
        if (make.StartsWith("text:", StringComparison.Ordinal)) File.WriteAllText(path, make[5..]);
        else RawSql.Execute(path, make);
        string before = Hash(path);

        var e = Assert.Throws<StoreException>(() => ResultsStore.Open(path));
        Assert.Contains(says, e.Message);
        Assert.Contains(path, e.Message);
        AssertOneLine(e.Message);
        // Not switched to WAL, not migrated, not touched at all.
        Assert.Equal(before, Hash(path));
        Assert.False(File.Exists(path + "-wal"));
    }
}
