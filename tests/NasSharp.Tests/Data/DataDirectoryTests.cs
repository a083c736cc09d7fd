using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class DataDirectoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ExplicitDirectoryWinsOverEnvironmentAndSearch()
    {
        var explicitDir = Directory.CreateDirectory(_dir.File("mine")).FullName;
        var envDir = Directory.CreateDirectory(_dir.File("env")).FullName;

        var r = DataDirectory.Resolve(explicitDir, envDir, []);

        Assert.Equal((explicitDir, DataDirectorySource.Explicit), (r.Path, r.Source));
        Assert.Contains("--data-dir", r.Description);
    }

    [Fact]
    public void EnvironmentIsUsedWhenNoExplicitValue()
    {
        var envDir = Directory.CreateDirectory(_dir.File("env")).FullName;

        var r = DataDirectory.Resolve(null, envDir, []);

        Assert.Equal((envDir, DataDirectorySource.EnvironmentVariable), (r.Path, r.Source));
        Assert.Contains("NASSHARP_DATA", r.Description);
    }

    [Fact]
    public void SharedDataBesideAnAncestorIsFound()
    {
        // The CI layout: <work>/repo/tests/bin and <work>/shared/data.
        var data = Directory.CreateDirectory(_dir.File("shared/data")).FullName;
        var deep = Directory.CreateDirectory(_dir.File("repo/tests/bin")).FullName;

        var r = DataDirectory.Resolve(null, "", [deep]);

        Assert.Equal((data, DataDirectorySource.AncestorSearch), (r.Path, r.Source));
        Assert.Contains(deep, r.Description);
    }

    [Fact]
    public void NonexistentExplicitDirectoryIsAnErrorNotAFallback()
    {
        Directory.CreateDirectory(_dir.File("shared/data"));
        var missing = _dir.File("typo");

        var ex = Assert.Throws<DataNotFoundException>(() => DataDirectory.Resolve(missing, null, [_dir.Path]));

        Assert.Equal($"missing directory {missing}: the data directory given by --data-dir does not exist", ex.Message);
    }

    [Fact]
    public void NothingFoundExplainsAllThreeWays()
    {
        var start = Directory.CreateDirectory(_dir.File("lonely")).FullName;

        var ex = Assert.Throws<DataNotFoundException>(() => DataDirectory.Resolve(null, null, [start]));

        Assert.Contains("--data-dir", ex.Message);
        Assert.Contains("NASSHARP_DATA", ex.Message);
        Assert.Contains("shared/data", ex.Message);
        Assert.Contains(start, ex.Message);
    }

    [Fact]
    public void TheTestRunFindsTheSharedData()
    {
        var r = DataDirectory.Resolve(null);

        Assert.True(Directory.Exists(Path.Combine(r.Path, "mnist")), $"{r.Path} ({r.Description}) has no mnist/ folder");
    }
}
