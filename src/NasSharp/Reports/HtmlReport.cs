using System.Net;
using Markdig;
using Markdig.Renderers;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace NasSharp.Reports;

/// <summary>
/// A report's Markdown as one self-contained HTML page: rendered by Markdig (the Markdown report stays the single
/// description of each run kind's content), every image reference replaced by its figure as inline SVG, a few lines of
/// inline script to sort a table by a clicked column, and a content security policy that forbids loading anything
/// from elsewhere (no external style sheet, script, font or image), so the file can be shared alone.
/// </summary>
public static class HtmlReport
{
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder().UsePipeTables().DisableHtml().Build();

    /// <param name="title">The page title.</param>
    /// <param name="markdown">The report; raw HTML in it is shown as text, not interpreted.</param>
    /// <param name="svgs">Each figure's SVG by the file name the Markdown's image reference gives.</param>
    public static string Render(string title, string markdown, IReadOnlyDictionary<string, string> svgs)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(markdown);
        ArgumentNullException.ThrowIfNull(svgs);
        var document = Markdown.Parse(markdown, Pipeline);
        int figure = 0;
        foreach (var image in document.Descendants<LinkInline>().Where(l => l.IsImage).ToList())
        {
            if (image.Url is null || !svgs.TryGetValue(image.Url, out var svg))
                throw new ArgumentException($"The report refers to a figure '{image.Url}' it was not given.", nameof(svgs));
            var alt = string.Concat(image.Descendants<LiteralInline>().Select(l => l.Content.ToString()));
            image.ReplaceBy(new HtmlInline(Embed(svg, alt, ++figure)), copyChildren: false);
        }
        // GitHub's tables need '|' escaped even inside a code span; Markdig ends no cell inside one and keeps the backslash.
        foreach (var code in document.Descendants<CodeInline>().Where(c => c.Content.Contains("\\|", StringComparison.Ordinal)))
            code.Content = code.Content.Replace("\\|", "|", StringComparison.Ordinal);
        using var body = new StringWriter();
        var renderer = new HtmlRenderer(body);
        Pipeline.Setup(renderer);
        renderer.Render(document);
        body.Flush();
        var version = typeof(HtmlReport).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        return $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
            <meta name="generator" content="NasSharp {version}">
            <title>{WebUtility.HtmlEncode(title)}</title>
            <style>{Style}</style>
            </head>
            <body>
            <main>
            {body}
            </main>
            <script>{Script}</script>
            </body>
            </html>

            """;
    }

    /// <summary>
    /// The SVG, labelled for screen readers, with its element ids made unique to the figure: several SVG documents in one
    /// page share one id space, and a clip path referred to by a repeated id would clip another figure's plot.
    /// </summary>
    private static string Embed(string svg, string alt, int figure)
    {
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        if (start < 0) throw new ArgumentException("A figure is not SVG.", nameof(svg));
        var prefix = $"f{figure}-";
        svg = svg[start..]
            .Replace(" id=\"", $" id=\"{prefix}", StringComparison.Ordinal)
            .Replace("url(#", $"url(#{prefix}", StringComparison.Ordinal)
            .Replace("href=\"#", $"href=\"#{prefix}", StringComparison.Ordinal);
        // A view box lets the page scale the figure down to a narrow window.
        return $"<svg class=\"figure\" role=\"img\" aria-label=\"{WebUtility.HtmlEncode(alt)}\" viewBox=\"0 0 {Plots.Width} {Plots.Height}\"{svg[4..]}";
    }

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fff; }
        main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; line-height: 1.45; }
        h1 { font-size: 1.6rem; border-bottom: 1px solid #ccc; padding-bottom: .3rem; }
        h2 { font-size: 1.3rem; margin-top: 2rem; }
        h3 { font-size: 1.1rem; }
        code { font-family: ui-monospace, monospace; font-size: .88em; background: #f3f3f3; padding: 0 .2em; border-radius: 3px; }
        table { border-collapse: collapse; display: block; overflow-x: auto; max-width: 100%; margin: .5rem 0 1rem; font-size: .9rem; }
        th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; }
        td code { white-space: nowrap; }
        th { background: #eef1f5; cursor: pointer; user-select: none; }
        th[aria-sort=ascending]::after { content: " \25B2"; }
        th[aria-sort=descending]::after { content: " \25BC"; }
        tbody tr:nth-child(even) { background: #fafafa; }
        svg.figure { display: block; max-width: 100%; height: auto; margin: .5rem 0; border: 1px solid #e4e4e4; }
        """;

    // A click on a column header sorts the rows by it (numbers before text, again to reverse); reference rows, whose first
    // cell is in italics, stay last.
    private const string Script = """
        document.querySelectorAll("table").forEach(function (table) {
          var body = table.tBodies[0], heads = table.querySelectorAll("thead th");
          if (!body) return;
          heads.forEach(function (th, col) {
            th.tabIndex = 0;
            th.title = "Sort by this column";
            th.addEventListener("keydown", function (e) { if (e.key === "Enter") th.click(); });
            th.addEventListener("click", function () {
              var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
              heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
              th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
              var key = function (row) {
                var text = row.cells[col] ? row.cells[col].textContent.trim() : "", value = parseFloat(text);
                return isNaN(value) ? text : value;
              };
              var rows = Array.prototype.slice.call(body.rows);
              var fixed = rows.filter(function (r) { return r.cells[0] && r.cells[0].querySelector("em"); });
              rows.filter(function (r) { return fixed.indexOf(r) < 0; }).sort(function (a, b) {
                var x = key(a), y = key(b);
                if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
                return (typeof x === "number" ? x - y : x.localeCompare(y)) * dir;
              }).concat(fixed).forEach(function (r) { body.appendChild(r); });
            });
          });
        });
        """;
}
