using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace NasSharp.Tests.Reports;

/// <summary>
/// Opens an HTML file in headless Chromium (the Debian package <c>chromium</c>; CI installs it) and reports what went
/// wrong while it loaded. Two independent witnesses: a probe script put first in the page's head records every script
/// error, unhandled rejection, console error or warning, failed resource load and content-security-policy violation into
/// an attribute of the root element, read back from the DOM Chromium dumps; and Chromium's own log on stderr, where every
/// console message of the page appears as an <c>INFO:CONSOLE</c> line.
/// </summary>
internal static partial class HeadlessChromium
{
    /// <summary>What the page did: the DOM after the load event, the probe's notes, Chromium's console lines, and the
    /// texts of a clicked column before and after the click (when one was asked for).</summary>
    public sealed record Page(string Dom, IReadOnlyList<string> Errors, IReadOnlyList<string> ConsoleLines, Column? Sorted);

    /// <param name="Before">Each row's cell in the column, top to bottom, before the click.</param>
    /// <param name="After">The same after one click on the column's header.</param>
    /// <param name="FixedAfter">Whether each row, after the click, is a reference row (first cell in italics).</param>
    public sealed record Column(IReadOnlyList<string> Before, IReadOnlyList<string> After, IReadOnlyList<bool> FixedAfter);

    public static string Executable()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(dir, "chromium"))) return Path.Combine(dir, "chromium");
        Assert.Fail("chromium is not on PATH: install the Debian package (apt-get install -y chromium; .ci/run does it) to run the browser tests.");
        return "";
    }

    /// <param name="click">A table (in document order) and a column whose header the probe clicks once after the load.</param>
    public static Page Open(string htmlPath, string workDir, (int Table, int Column)? click = null)
    {
        var html = File.ReadAllText(htmlPath);
        int head = html.IndexOf("<head>", StringComparison.Ordinal);
        Assert.True(head >= 0, $"{htmlPath} has no <head>");
        var probe = Probe.Replace("TABLE", click?.Table.ToString() ?? "-1", StringComparison.Ordinal)
            .Replace("COLUMN", click?.Column.ToString() ?? "-1", StringComparison.Ordinal);
        var probed = Path.Combine(workDir, "probed-" + Path.GetFileName(htmlPath));
        File.WriteAllText(probed, html.Insert(head + "<head>".Length, probe));

        var start = new ProcessStartInfo(Executable()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", $"--user-data-dir={Path.Combine(workDir, "chromium-profile")}",
                     "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom", new Uri(probed).AbsoluteUri })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var dom = process.StandardOutput.ReadToEndAsync();
        var log = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"chromium did not finish rendering {htmlPath} in 3 minutes");
        }
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {log.Result}");

        var root = RootTag().Match(dom.Result);
        Assert.True(root.Success, $"no <html> element in the DOM chromium dumped for {htmlPath}: {dom.Result[..Math.Min(300, dom.Result.Length)]}");
        string? Attribute(string name)
        {
            var m = Regex.Match(root.Value, $"{name}=\"([^\"]*)\"");
            return m.Success ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;
        }
        Assert.True(Attribute("data-probe-loaded") == "true", $"the probe saw no load event in {htmlPath} before chromium dumped the DOM");
        var errors = JsonSerializer.Deserialize<List<string>>(Attribute("data-probe-errors") ?? "[]")!;
        var console = log.Result.Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal)).ToList();
        Column? sorted = null;
        if (click is not null)
        {
            var column = JsonSerializer.Deserialize<JsonElement>(Attribute("data-probe-column") ?? "null");
            Assert.True(column.ValueKind == JsonValueKind.Object, $"the probe found no table {click.Value.Table} with a column {click.Value.Column} in {htmlPath}");
            sorted = new Column([.. column.GetProperty("before").EnumerateArray().Select(e => e.GetString()!)],
                [.. column.GetProperty("after").EnumerateArray().Select(e => e.GetString()!)],
                [.. column.GetProperty("fixed").EnumerateArray().Select(e => e.GetBoolean())]);
        }
        return new Page(dom.Result, errors, console, sorted);
    }

    [GeneratedRegex("<html[^>]*>")]
    private static partial Regex RootTag();

    // Runs before anything else in the page (first in <head>); registers in the capture phase so failed loads of images,
    // scripts and style sheets (which do not bubble) are seen too. After the load event (the page's own scripts have run)
    // it clicks the requested column header and records the column's cells before and after.
    private const string Probe = """
        <script>
        (function () {
          var errors = [], root = document.documentElement;
          function note(text) { errors.push(String(text)); root.setAttribute("data-probe-errors", JSON.stringify(errors)); }
          window.addEventListener("error", function (e) {
            var t = e.target;
            if (t && t !== window && (t.src || t.href)) note("failed to load " + (t.src || t.href));
            else note("error: " + e.message);
          }, true);
          window.addEventListener("unhandledrejection", function (e) { note("unhandled rejection: " + e.reason); });
          document.addEventListener("securitypolicyviolation", function (e) { note("blocked by the content security policy: " + e.blockedURI); });
          ["error", "warn"].forEach(function (level) {
            var original = console[level];
            console[level] = function () { note("console." + level + ": " + Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
          });
          window.addEventListener("load", function () {
            var table = document.querySelectorAll("table")[TABLE];
            if (table && table.tHead && table.tHead.rows[0].cells[COLUMN]) {
              var cells = function () { return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[COLUMN].textContent.trim(); }); };
              var before = cells();
              table.tHead.rows[0].cells[COLUMN].click();
              var fixed = Array.prototype.map.call(table.tBodies[0].rows, function (r) { return !!r.cells[0].querySelector("em"); });
              root.setAttribute("data-probe-column", JSON.stringify({ before: before, after: cells(), fixed: fixed }));
            }
            root.setAttribute("data-probe-errors", JSON.stringify(errors));
            root.setAttribute("data-probe-loaded", "true");
          });
        })();
        </script>
        """;
}
