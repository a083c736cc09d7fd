using NasSharp.Cli;
using NasSharp.Spaces;
using NasSharp.Tests.Spaces;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>
/// A space added as a new space is added — one file (<see cref="ToySpace"/>) and one registry line — works end to end in
/// commands that know nothing of it: a search, and a correlation against its table.
/// </summary>
[Collection(TorchCollection.Name)]
public class ToySpaceCliTests
{
    private static readonly Registries WithToy = Registries.Default with { Spaces = SpaceRegistry.Default.With(ToySpace.Definition) };

    [Fact]
    public void RandomSearchRunsOnANewSpace()
    {
        using var cli = new CliHarness(WithToy);
        var j = cli.Json("search", "--space", "toy", "--strategy", "random", "--candidates", "4", "--epochs", "1", "--dataset", "iris", "--seed", "2");
        Assert.Equal("toy", j.GetProperty("space").GetString());
        var ranked = j.GetProperty("ranked").EnumerateArray().ToList();
        Assert.Equal(4, ranked.Count);
        // Random search ranks by validation accuracy (%) and selects the first.
        var accuracies = ranked.Select(r => r.GetProperty("val_accuracy_percent").GetDouble()).ToList();
        Assert.Equal(accuracies.OrderByDescending(a => a), accuracies);
        Assert.Equal(ranked[0].GetProperty("arch").GetString(), j.GetProperty("arch").GetString());
        new ToySpace().Parse(j.GetProperty("arch").GetString()!);
        // The toy space has a table: the selected network is looked up in it.
        Assert.True(j.GetProperty("table_test_accuracy_percent").GetProperty("iris").GetDouble() > 50);
    }

    [Fact]
    public void CorrelationAgainstANewSpacesTableFindsThePlantedOrder()
    {
        using var cli = new CliHarness(WithToy);
        var j = cli.Json("bench", "correlate", "--space", "toy", "--dataset", "iris", "--n", "8", "--batch", "16", "--proxies", "params,synflow", "--seed", "7");
        var agreement = j.GetProperty("proxies").GetProperty("params").GetProperty("targets").GetProperty("iris");
        // The table's accuracy grows strictly with the parameter count: params ranks it exactly.
        Assert.Equal(1.0, agreement.GetProperty("kendall").GetDouble(), 12);
        Assert.Equal(1.0, agreement.GetProperty("spearman").GetDouble(), 12);
        Assert.Equal(8, j.GetProperty("n").GetInt32());
    }

    [Fact]
    public void WithoutTheRegistryLineTheSpaceIsUnknown()
    {
        using var cli = new CliHarness();
        var (code, _, err) = cli.Run("search", "--space", "toy", "--dataset", "iris");
        Assert.Equal(2, code);
        Assert.Contains("--space toy: unknown space; known spaces: mlp, nb201, darts, mobilenet", err);
    }
}
