using System.Text.Json;
using NasSharp.Cli;

namespace NasSharp.Tests.Cli;

/// <summary>Runs <c>nas</c> in process with captured output and a throw-away results store.</summary>
public sealed class CliHarness : IDisposable
{
    private readonly Registries? registries;

    /// <param name="registries">The spaces and strategies the command tree offers (default: NasSharp's).</param>
    /// <param name="storePath">The results store (default: one in a fresh folder of its own).</param>
    public CliHarness(Registries? registries = null, string? storePath = null)
    {
        this.registries = registries;
        Directory = Path.Combine(Path.GetTempPath(), "nassharp-cli-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        StorePath = storePath ?? Path.Combine(Directory, "results.db");
    }

    public string Directory { get; }
    public string StorePath { get; }

    public (int Code, string Out, string Err) Run(params string[] args)
    {
        var @out = new StringWriter();
        var err = new StringWriter();
        var all = args.Concat(["--store", StorePath]).ToArray();
        int code = NasApp.Run(all, new CliConsole(@out, err, interactive: false), registries);
        return (code, @out.ToString(), err.ToString());
    }

    /// <summary><c>nas</c> as a process of its own (for tests that kill it), on this harness's store, without a terminal.</summary>
    public System.Diagnostics.Process StartProcess(params string[] args)
    {
        var process = System.Diagnostics.Process.Start(ProcessStart(args))!;
        // Drained, so a full pipe never blocks the child.
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        return process;
    }

    /// <summary>
    /// Starts <paramref name="args"/> as a process of its own and kills it (SIGKILL, no chance to clean up) as soon as
    /// <paramref name="stored"/> counts at least <paramref name="atLeast"/> results; fails if the process ends first or nothing
    /// is stored within <paramref name="limit"/> (a guard against a hung child only: a busy machine can take minutes).
    /// </summary>
    public void KillOnceStored(string[] args, Func<int> stored, int atLeast, TimeSpan limit)
    {
        using var child = StartProcess(args);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (stored() < atLeast)
        {
            Xunit.Assert.False(child.HasExited, $"nas {string.Join(' ', args.Take(2))} ended before it could be killed");
            Xunit.Assert.True(deadline.Elapsed < limit, $"fewer than {atLeast} results were stored in {limit}");
            Thread.Sleep(50);
        }
        child.Kill(entireProcessTree: true);
        child.WaitForExit();
    }

    /// <summary><c>nas</c> run to its end as a process of its own (a fresh process's state), on this harness's store.</summary>
    public (int Code, string Out, string Err) RunProcess(params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(ProcessStart(args))!;
        var err = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, err.GetAwaiter().GetResult());
    }

    private System.Diagnostics.ProcessStartInfo ProcessStart(string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "nas.dll"));
        foreach (var a in args.Concat(["--store", StorePath])) start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";
        return start;
    }

    /// <summary>The line a usage mistake is reported as, after checking the contract: exit code 2, nothing on stdout, one line on stderr.</summary>
    public string UsageError(params string[] args)
    {
        var (code, output, err) = Run(args);
        Xunit.Assert.True(code == 2, $"exit code {code}: {err}");
        Xunit.Assert.Equal("", output);
        return Xunit.Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>Runs <paramref name="args"/> (split at spaces) and asserts a usage error: exit code 2, nothing on stdout, one "error:" line.</summary>
    public void AssertUsageError(string args)
    {
        var (code, o, e) = Run(args.Split(' '));
        Xunit.Assert.Equal(2, code);
        Xunit.Assert.Equal("", o);
        Xunit.Assert.Single(e.Trim().Split('\n'));
        Xunit.Assert.StartsWith("error:", e);
    }

    public JsonElement Json(params string[] args)
    {
        var (code, o, e) = Run([.. args, "--json"]);
        if (code != 0) throw new InvalidOperationException($"nas {string.Join(' ', args)} exited {code}: {e}");
        return JsonDocument.Parse(o).RootElement.Clone();
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
