using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class DatasetCatalogTests
{
    [Fact]
    public void CatalogListsExactlyTheSupportedDatasets()
    {
        Assert.Equal(["mnist", "fashion-mnist", "cifar10", "digits", "iris", "wine", "breast-cancer"], DatasetCatalog.Names);
        Assert.Equal(["mnist", "fashion-mnist", "cifar10"], DatasetCatalog.Entries.Where(e => e.HasOfficialTest).Select(e => e.Name));
    }

    [Fact]
    public void UnknownNameListsTheKnownOnes()
    {
        var ex = Assert.Throws<ArgumentException>(() => DatasetCatalog.Get("imagenet"));

        Assert.StartsWith("unknown dataset 'imagenet'; known datasets: mnist, fashion-mnist, cifar10, digits, iris, wine, breast-cancer", ex.Message);
    }

    [Fact]
    public void NamesAreCaseInsensitive() => Assert.Equal("fashion-mnist", DatasetCatalog.Get("Fashion-MNIST").Name);

    [Fact]
    public void MissingDatasetFolderIsDataNotFound()
    {
        using var dir = new TempDirectory();

        Assert.Throws<DataNotFoundException>(() => DatasetCatalog.Load("mnist", dir.Path));
        Assert.Throws<DataNotFoundException>(() => DatasetCatalog.Load("wine", dir.Path));
        Assert.Throws<DataNotFoundException>(() => DatasetCatalog.Load("cifar10", dir.Path, cacheDirectory: dir.File("cache")));
    }

    [Fact]
    public void SmallTableSplitsEndToEnd()
    {
        var loaded = DatasetCatalog.Load("iris", TestFiles.RealDataRoot);

        var (splits, stats) = Normalization.Standardize(Splits.Make(loaded, new SplitOptions(seed: 0)));

        Assert.Equal([35, 35, 35], splits.Train.ClassCounts()); // 150 - 20% test - 10% validation
        Assert.Equal([5, 5, 5], splits.Validation.ClassCounts());
        Assert.Equal([10, 10, 10], splits.Test.ClassCounts());
        Assert.Equal(4, stats.Channels);
        Assert.Equal(["iris/train", "iris/validation", "iris/test"], new[] { splits.Train.Name, splits.Validation.Name, splits.Test.Name });
    }
}
