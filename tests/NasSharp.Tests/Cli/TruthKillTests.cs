using System.Diagnostics;
using System.Text.Json;
using NasSharp.Cli;
using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
[Trait("Category", "Reliability")]
public class TruthKillTests
{
    private static readonly string[] TruthArgs =
    [
        "bench", "truth", "--space", "mlp", "--depth", "3", "--width", "256", "--dataset", "fashion-mnist",
        "--train-size", "6000", "--val-size", "500", "--test-size", "1000", "--epochs", "2", "--n", "6", "--seed", "3",
    ];

    [Fact]
    public void AKilledTruthRunResumesWithEveryArchitectureStoredExactlyOnce()
    {
        using var cli = new CliHarness();

        // A real process, killed (SIGKILL, no chance to clean up) once two architectures are stored.
        cli.KillOnceStored(TruthArgs, () => StoredResults(cli.StorePath), 2, TimeSpan.FromMinutes(15));
        int storedAtKill = StoredResults(cli.StorePath); // anything committed between the poll and the kill
        Assert.InRange(storedAtKill, 2, 5);

        // The same command again resumes the same run and trains only what is missing.
        var @out = new StringWriter();
        var err = new StringWriter();
        int code = NasApp.Run([.. TruthArgs, "--store", cli.StorePath, "--json"], new CliConsole(@out, err, interactive: false));
        Assert.True(code == 0, err.ToString());
        var resumed = JsonDocument.Parse(@out.ToString()).RootElement;
        Assert.True(resumed.GetProperty("resumed").GetBoolean());
        Assert.Equal(6, resumed.GetProperty("n").GetInt32());

        using var store = ResultsStore.Open(cli.StorePath);
        var runs = store.ListRuns(kind: "truth");
        Assert.Single(runs);
        Assert.Equal(RunStatus.Completed, runs[0].Status);
        var keys = store.GetResults(runs[0].Id).Select(r => r.Record.ItemKey).ToList();
        Assert.Equal(6, keys.Count);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"truth/{i}").Order(), keys.Order());
    }

    private static int StoredResults(string path)
    {
        if (!File.Exists(path)) return 0;
        try
        {
            using var store = ResultsStore.Open(path);
            return store.ListRuns(kind: "truth").Sum(r => r.ResultCount);
        }
        catch (StoreException)
        {
            return 0; // the child is still creating the schema
        }
    }
}
