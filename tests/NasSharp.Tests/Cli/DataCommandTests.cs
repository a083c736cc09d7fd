using System.Text.Json;
using NasSharp.Data;
using NasSharp.Tests.Data;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>
/// <c>nas data list|get</c> end to end: the catalogue's SHA-256 values against the shared data directory (every dataset
/// there must verify), and downloads of catalogued files from a loopback mirror serving that directory's bytes.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class DataCommandTests
{
    private static string SharedData => DataDirectory.Resolve(null).Path;

    [Fact]
    public void ListShowsEveryDatasetOfTheSharedDataAsPresentAndVerified()
    {
        using var cli = new CliHarness();
        // --rehash: every digest computed by this run, none remembered from an earlier one.
        var output = cli.Json("data", "list", "--rehash");

        Assert.Equal(SharedData, output.GetProperty("data_directory").GetString());
        var rows = output.GetProperty("datasets").EnumerateArray().ToList();
        Assert.Equal(DatasetSources.Names, rows.Select(r => r.GetProperty("dataset").GetString()));
        foreach (var row in rows)
        {
            Assert.True(row.GetProperty("state").GetString() == "present", $"{row.GetProperty("dataset")}: {row}");
            // Verified means the SHA-256 found equals the catalogue's, file by file (not a copy accepted otherwise).
            foreach (var file in row.GetProperty("files").EnumerateArray())
            {
                Assert.Equal("verified", file.GetProperty("state").GetString());
                Assert.Equal(file.GetProperty("expected_sha256").GetString(), file.GetProperty("sha256").GetString());
            }
        }
        Assert.Equal("jpeg", rows.Single(r => r.GetProperty("dataset").GetString() == "cifar10").GetProperty("form").GetString());
        Assert.Equal(rows.Sum(r => r.GetProperty("files").GetArrayLength()), output.GetProperty("files_hashed").GetInt32());
    }

    [Fact]
    public void TheDigestCacheIsUsedUntilAFileChanges()
    {
        using var data = new TempDirectory();
        Directory.CreateDirectory(data.File("sklearn"));
        File.Copy(Path.Combine(SharedData, "sklearn", "iris.csv"), data.File("sklearn/iris.csv"));
        var cache = data.File("cache");
        var iris = DatasetSources.Get("iris");

        var first = new FileDigests(cache);
        Assert.Equal(DatasetState.Present, DataInventory.Check(data.Path, [iris], hash: true, first).Single().State);
        Assert.Equal(1, first.Computed);
        var second = new FileDigests(cache);
        Assert.Equal(DatasetState.Present, DataInventory.Check(data.Path, [iris], hash: true, second).Single().State);
        Assert.Equal(0, second.Computed);

        // Same length, one byte changed, a new modification time: hashed again, and found corrupt.
        var bytes = File.ReadAllBytes(data.File("sklearn/iris.csv"));
        bytes[^3] = (byte)(bytes[^3] == (byte)'1' ? '2' : '1');
        File.WriteAllBytes(data.File("sklearn/iris.csv"), bytes);
        File.SetLastWriteTimeUtc(data.File("sklearn/iris.csv"), DateTime.UtcNow.AddMinutes(1));
        var third = new FileDigests(cache);
        var check = DataInventory.Check(data.Path, [iris], hash: true, third).Single();
        Assert.Equal(1, third.Computed);
        Assert.Equal(DatasetState.Corrupt, check.State);
        Assert.Contains("SHA-256", check.Note);
    }

    [Fact]
    public void GetDownloadsACataloguedDatasetFromAMirrorAndListThenShowsIt()
    {
        using var server = MirrorOfSharedData();
        using var data = new TempDirectory();
        using var cli = new CliHarness();

        var (code, output, err) = cli.Run("data", "get", "iris", "wine", "--source", server.BaseUrl, "--data-dir", data.Path);

        Assert.True(code == 0, err);
        Assert.Contains("iris: downloaded and verified", output);
        foreach (var file in new[] { "sklearn/iris.csv", "sklearn/wine_data.csv" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(SharedData, file)), File.ReadAllBytes(data.File(file)));
        var states = cli.Json("data", "list", "--data-dir", data.Path).GetProperty("datasets").EnumerateArray()
            .ToDictionary(r => r.GetProperty("dataset").GetString()!, r => r.GetProperty("state").GetString());
        Assert.Equal("present", states["iris"]);
        Assert.Equal("present", states["wine"]);
        Assert.Equal("missing", states["mnist"]);

        // Present now: a second get asks the mirror nothing.
        int before = server.Requests.Count;
        var again = cli.Json("data", "get", "iris", "--source", server.BaseUrl, "--data-dir", data.Path);
        Assert.Equal("already_present", again.GetProperty("datasets")[0].GetProperty("outcome").GetString());
        Assert.Equal(before, server.Requests.Count);
    }

    [Fact]
    public void GetPutsMnistWhereItsLoaderReadsIt()
    {
        using var server = new LoopbackServer();
        foreach (var file in Directory.GetFiles(Path.Combine(SharedData, "mnist")))
            server.Files[$"mnist/{Path.GetFileName(file)}"] = File.ReadAllBytes(file);
        using var data = new TempDirectory();
        using var cli = new CliHarness();

        var (code, _, err) = cli.Run("data", "get", "mnist", "--source", server.BaseUrl, "--data-dir", data.Path);

        Assert.True(code == 0, err);
        var mnist = DatasetCatalog.Load("mnist", data.Path);
        Assert.Equal((60_000, 10_000), (mnist.Train.Count, mnist.Test!.Count));
    }

    [Fact]
    public void GetWithABadChecksumIsOneErrorLineExitOneAndNothingInPlace()
    {
        using var server = MirrorOfSharedData();
        var wine = server.Files["sklearn/wine_data.csv"];
        wine[100] = (byte)(wine[100] == (byte)'1' ? '2' : '1');
        using var data = new TempDirectory();
        using var cli = new CliHarness();

        var (code, output, err) = cli.Run("data", "get", "wine", "--source", server.BaseUrl, "--data-dir", data.Path);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        var error = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains("SHA-256 mismatch", error);
        Assert.False(File.Exists(data.File("sklearn/wine_data.csv")));
        Assert.False(File.Exists(data.File("sklearn/wine_data.csv.part")));
    }

    [Fact]
    public void GetWithAServerErrorIsOneErrorLineExitOneAndNothingInPlace()
    {
        using var server = MirrorOfSharedData();
        server.Behaviour = (_, _) => new LoopbackServer.Answer(Status: 500);
        using var data = new TempDirectory();
        using var cli = new CliHarness();

        var (code, output, err) = cli.Run("data", "get", "iris", "--source", server.BaseUrl, "--data-dir", data.Path);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"error: {server.BaseUrl}sklearn/iris.csv: the server answered 500 Error; nothing was placed", err.Trim());
        Assert.False(File.Exists(data.File("sklearn/iris.csv")));
    }

    [Fact]
    public void GetOfATableWithoutACanonicalDownloadSaysHowToObtainIt()
    {
        using var data = new TempDirectory();
        using var cli = new CliHarness();

        var (code, _, err) = cli.Run("data", "get", "nb201", "--data-dir", data.Path);

        Assert.Equal(1, code);
        Assert.Contains("nas data convert-nb201", err);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void DoctorListsTheDatasets()
    {
        using var cli = new CliHarness();
        var datasets = cli.Json("doctor").GetProperty("datasets").EnumerateArray().ToList();

        Assert.Equal(DatasetSources.Names, datasets.Select(d => d.GetProperty("dataset").GetString()));
        Assert.All(datasets, d => Assert.Equal("present", d.GetProperty("state").GetString()));
    }

    /// <summary>A loopback mirror serving the shared data directory's sklearn files at their data-directory paths.</summary>
    private static LoopbackServer MirrorOfSharedData()
    {
        var server = new LoopbackServer();
        foreach (var file in Directory.GetFiles(Path.Combine(SharedData, "sklearn")))
            server.Files[$"sklearn/{Path.GetFileName(file)}"] = File.ReadAllBytes(file);
        return server;
    }
}
