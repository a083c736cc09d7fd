using NasSharp.Cli;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>
/// What docs/cli.md promises about the shell: a response file (<c>nas @file</c>) is read as if its tokens were typed,
/// one that is missing is a usage mistake naming it, and the <c>[suggest:N]</c> directive that dotnet-suggest calls
/// completes commands, options and the registered names of spaces and strategies.
/// </summary>
[Collection(TorchCollection.Name)]
public class ShellHabitsTests
{
    [Fact]
    public void AResponseFileIsReadAsTheSameCommandTypedOut()
    {
        using var cli = new CliHarness();
        var rsp = Path.Combine(cli.Directory, "mlp.rsp");
        File.WriteAllLines(rsp, ["# two layers, two activations", "space count", "--space mlp --depth 2", "--activations \"relu,tanh\""]);

        var fromFile = cli.Json($"@{rsp}");
        var typed = cli.Json("space", "count", "--space", "mlp", "--depth", "2", "--activations", "relu,tanh");
        Assert.Equal(typed.GetRawText(), fromFile.GetRawText());
        // Not the defaults: the file's options were applied.
        Assert.Equal("2", fromFile.GetProperty("settings").GetProperty("depth").GetString());
        Assert.NotEqual(cli.Json("space", "count", "--space", "mlp").GetRawText(), fromFile.GetRawText());
    }

    [Fact]
    public void AMissingResponseFileIsAUsageMistakeThatNamesIt()
    {
        using var cli = new CliHarness();
        var missing = Path.Combine(cli.Directory, "absent.rsp");
        var line = cli.UsageError($"@{missing}");
        Assert.Contains(missing, line);
        Assert.Contains("not found", line);
    }

    [Theory]
    [InlineData("nas se", "search")]
    [InlineData("nas search --str", "--strategy")]
    [InlineData("nas search --space n", "nb201")]
    [InlineData("nas search --strategy na", "nasi")]
    [InlineData("nas search --dataset fa", "fashion-mnist")]
    public void TheSuggestDirectiveCompletesCommandsOptionsAndRegisteredNames(string line, string expected)
    {
        var @out = new StringWriter();
        int code = NasApp.Run([$"[suggest:{line.Length}]", line], new CliConsole(@out, new StringWriter(), interactive: false));
        Assert.Equal(0, code);
        Assert.Contains(expected, @out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
