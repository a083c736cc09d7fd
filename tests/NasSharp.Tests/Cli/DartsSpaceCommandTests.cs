using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Cli;

[Collection(TorchCollection.Name)]
public class DartsSpaceCommandTests
{
    [Fact]
    public void SpaceCommandsKnowDarts()
    {
        using var cli = new CliHarness();
        var count = cli.Json("space", "count", "--space", "darts");
        Assert.Equal("1076746950455072400", count.GetProperty("count").GetRawText());   // an exact JSON number

        var a = cli.Run("space", "sample", "--space", "darts", "--n", "3", "--seed", "4");
        var b = cli.Run("space", "sample", "--space", "darts", "--n", "3", "--seed", "4");
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        var lines = a.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Equal(l, DartsGenotype.Parse(l).Canonical));
    }
}
