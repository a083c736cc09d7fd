using NasSharp.Samples;
using Xunit;

namespace NasSharp.Tests;

/// <summary>
/// The README's C# cookbook is the samples project's <see cref="Cookbook"/>: run here with checks on what each step gave
/// (the documentation test checks that the README's snippets are that code, line for line).
/// </summary>
[Collection(TorchCollection.Name)]
public class CookbookTests
{
    [Fact]
    public void TheReadmesCookbookRuns()
    {
        CookbookResult? result = null;
        try
        {
            result = Cookbook.Run();
            // The cost counter against the built network's parameters: two independent counts.
            Assert.Equal(result.Cost.Parameters, result.BuiltParameters);
            Assert.Equal(["naswot", "synflow"], result.Scores.Results.Select(r => r.Name));
            Assert.Equal(10, result.Outcome.Ranked.Count);
            // The stored run repeats the in-memory search: same seed, same ranking.
            Assert.Equal(result.Outcome.Arch, result.Output.Arch);
            Assert.NotNull(result.Output.TableTestAccuracyPercent);
            Assert.Contains(result.Runs, r => r.Kind == "search" && r.Status == NasSharp.Store.RunStatus.Completed);
        }
        finally
        {
            Cookbook.DeleteStore(result?.StorePath ?? Path.Combine(Path.GetTempPath(), "nassharp-cookbook.db"));
        }
    }
}
