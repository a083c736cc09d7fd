using NasSharp.Store;
using Xunit;

namespace NasSharp.Tests.Store;

public class RunLockTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("nassharp-lock-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void OneHolderPerRunUntilReleased()
    {
        string store = Path.Combine(dir, "r.db");
        using (var first = RunLock.TryAcquire(store, 3))
        {
            Assert.NotNull(first);
            Assert.Null(RunLock.TryAcquire(store, 3));    // the same run is taken
            using var other = RunLock.TryAcquire(store, 4); // another run is not
            Assert.NotNull(other);
        }
        using var again = RunLock.TryAcquire(store, 3);
        Assert.NotNull(again);
        Assert.True(File.Exists(Path.Combine(dir, "r.db.locks", "run-3.lock")));
    }
}
