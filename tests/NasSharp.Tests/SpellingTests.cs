using Xunit;

namespace NasSharp.Tests;

[Trait("Category", "Reliability")]
public class SpellingTests
{
    [Theory]
    [InlineData("search", "search", 0)]
    [InlineData("serach", "search", 1)] // a swap of neighbours is one edit
    [InlineData("lst", "list", 1)]
    [InlineData("kitten", "sitting", 3)] // the textbook Levenshtein example
    [InlineData("ca", "abc", 3)] // optimal string alignment: a swapped pair is not edited again (Damerau–Levenshtein gives 2)
    [InlineData("", "abc", 3)]
    public void TheDistanceCountsEditsAndSwapsOfNeighbours(string a, string b, int expected)
    {
        Assert.Equal(expected, Spelling.Distance(a, b));
        Assert.Equal(expected, Spelling.Distance(b, a));
    }

    [Fact]
    public void OnlyANearUniqueNameIsSuggested()
    {
        Assert.Equal("--candidates", Spelling.Closest("--candidtes", ["--candidates", "--seed", "--top-k"]));
        Assert.Equal("fashion-mnist", Spelling.Closest("Fashion-MNSIT", ["mnist", "fashion-mnist"]));
        Assert.Null(Spelling.Closest("foo", ["search", "truth"])); // nothing near
        Assert.Null(Spelling.Closest("cat", ["bat", "hat"])); // two as near: no guess
        Assert.Null(Spelling.Closest("ab", ["xy"])); // two edits in two characters is another word
        Assert.Equal("", Spelling.Suggestion("foo", ["search"]));
        Assert.Equal(" (did you mean search?)", Spelling.Suggestion("serch", ["search", "truth"]));
        // A huge input costs no table of its size.
        Assert.Null(Spelling.Closest(new string('x', 1 << 20), ["search"]));
    }
}
