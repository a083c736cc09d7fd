using System.Text.RegularExpressions;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;
using NasSharp.Tests.Cli;
using Xunit;

namespace NasSharp.Tests.Docs;

/// <summary>
/// The README is short and for users, and no document points at something a reader cannot see: every relative link
/// resolves to a file of the repository (and its anchor to a heading there), headings go down one level at a time, and
/// no private store run numbers, local paths or dates stand in for versions.
/// </summary>
public class DocumentationTests
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    /// <summary>The hand-written documents: the README, docs/ (generated run reports are outputs, not prose, and are left out).</summary>
    public static TheoryData<string> Documents()
    {
        var data = new TheoryData<string> { "README.md" };
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Repository.Root, "docs"), "*.md", SearchOption.AllDirectories).Order())
            if (Path.GetFileName(file) != "report.md") data.Add(Path.GetRelativePath(Repository.Root, file));
        return data;
    }

    [Fact]
    public void TheReadmeIsShort()
    {
        int lines = File.ReadAllLines(Path.Combine(Repository.Root, "README.md")).Length;
        Assert.True(lines <= 250, $"README.md has {lines} lines; keep it at most ~250 and move measurements to docs/experiments.");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void HeadingsDescendOneLevelAtATime(string document)
    {
        var headings = Parse(document).Descendants<HeadingBlock>().Select(h => h.Level).ToList();
        Assert.NotEmpty(headings);
        Assert.Equal(1, headings[0]);
        for (int i = 1; i < headings.Count; i++)
            Assert.True(headings[i] <= headings[i - 1] + 1, $"{document}: heading {i + 1} is level {headings[i]} after a level {headings[i - 1]}");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryRelativeLinkResolves(string document)
    {
        var path = Path.Combine(Repository.Root, document);
        foreach (var link in Parse(document).Descendants<LinkInline>().Select(l => l.Url ?? ""))
        {
            if (link.Length == 0 || Regex.IsMatch(link, "^[a-z]+:", RegexOptions.IgnoreCase)) continue;
            var parts = link.Split('#', 2);
            var target = parts[0].Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(parts[0])));
            Assert.True(File.Exists(target) || Directory.Exists(target), $"{document}: the link '{link}' points at {target}, which does not exist");
            Assert.StartsWith(Repository.Root, target);
            if (parts.Length == 2 && target.EndsWith(".md", StringComparison.Ordinal))
            {
                var anchors = Parse(Path.GetRelativePath(Repository.Root, target)).Descendants<HeadingBlock>().Select(Slug).ToHashSet();
                Assert.True(anchors.Contains(Uri.UnescapeDataString(parts[1])), $"{document}: the link '{link}' has no heading '#{parts[1]}' in {target}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void NothingRefersToWhatAReaderCannotSee(string document)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, document));
        string[] patterns =
        [
            @"\bseed 00\d", @"\bpaper 00\d", @"PAPERS\.md", @"\bthe issue\b", @"/work/", @"\b20\d\d-\d\d-\d\d\b",
            @"\bruns? \d+(, \d+)*( and \d+)? of (our|the) store", @"\(runs? \d+", @"\brun \d+:",
        ];
        foreach (var pattern in patterns)
        {
            var m = Regex.Match(text, pattern);
            Assert.False(m.Success, $"{document} refers to something a reader cannot see: '{m.Value}'");
        }
    }

    /// <summary>
    /// Every C# snippet of the README is code of the samples project, line for line and in order (blank lines and
    /// indentation aside), so what a reader copies is what CI builds and runs.
    /// </summary>
    [Fact]
    public void TheReadmesCSharpIsTheSamplesCode()
    {
        var samples = Directory.EnumerateFiles(Path.Combine(Repository.Root, "samples"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(Repository.Root, f), f => Lines(File.ReadAllText(f)));
        var snippets = Parse("README.md").Descendants<FencedCodeBlock>().Where(b => b.Info == "csharp").ToList();
        Assert.NotEmpty(snippets);
        foreach (var snippet in snippets)
        {
            var lines = Lines(snippet.Lines.ToString());
            var home = samples.Where(kv => IsSubsequence(lines, kv.Value)).Select(kv => kv.Key).FirstOrDefault();
            var missing = lines.FirstOrDefault(l => !samples.Values.Any(s => s.Contains(l)));
            Assert.True(home is not null, $"README.md's C# snippet starting '{lines[0]}' is not code of samples/ in this order"
                + (missing is null ? "" : $"; no sample has the line '{missing}'"));
        }
    }

    private static List<string> Lines(string text) =>
        [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private static bool IsSubsequence(List<string> needle, List<string> haystack)
    {
        int i = 0;
        foreach (var line in haystack)
            if (i < needle.Count && line == needle[i]) i++;
        return i == needle.Count;
    }

    /// <summary>
    /// GitHub's anchor of a heading: its text lower-cased, every character but letters, digits, spaces, hyphens and
    /// underscores dropped (Unicode letters such as τ stay), spaces turned into hyphens.
    /// </summary>
    private static string Slug(HeadingBlock heading)
    {
        var text = string.Concat(heading.Inline?.Descendants<Inline>().Select(i => i switch
        {
            LiteralInline l => l.Content.ToString(),
            CodeInline c => c.Content,
            _ => "",
        }) ?? []);
        return string.Concat(text.ToLowerInvariant().Where(ch => char.IsLetterOrDigit(ch) || ch is ' ' or '-' or '_')).Replace(' ', '-');
    }

    private static MarkdownDocument Parse(string document) => Markdown.Parse(File.ReadAllText(Path.Combine(Repository.Root, document)), Pipeline);
}
