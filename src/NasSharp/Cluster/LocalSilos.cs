using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NasSharp.Cluster;

/// <summary>
/// Silos as <c>nas cluster silo</c> processes on this machine, on free loopback ports, in a cluster of their own: what
/// <c>nas bench cluster</c> measures with, and what the kill tests kill. Each is started and awaited until it says it is
/// waiting for work; all are killed when this is disposed.
/// </summary>
public sealed class LocalSilos : IDisposable
{
    private readonly List<(Process Process, int SiloPort, int GatewayPort, OutputTail Errors)> silos = [];
    private readonly string? redis;
    private readonly string? adoNet;

    /// <param name="nas">How to start <c>nas</c>: the executable and its leading arguments (<see cref="CurrentNas"/>).</param>
    /// <param name="threads">libtorch threads per silo.</param>
    /// <param name="redis">A Redis connection holding the membership (no primary); null for development clustering.</param>
    /// <param name="adoNet">A PostgreSQL connection whose database holds the membership (no primary).</param>
    /// <param name="environment">Variables set for each silo process besides the inherited ones.</param>
    public LocalSilos(IReadOnlyList<string> nas, int count, int threads, string? dataDirectory = null, string? redis = null, TimeSpan? startTimeout = null,
        string? adoNet = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        (this.redis, this.adoNet) = (redis, adoNet);
        ArgumentNullException.ThrowIfNull(nas);
        ClusterId = "local-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            for (int i = 0; i < count; i++)
            {
                int siloPort = FreePort(), gatewayPort = FreePort();
                List<string> args = ["cluster", "silo", "--port", $"{siloPort}", "--gateway-port", $"{gatewayPort}", "--cluster-id", ClusterId, "--threads", $"{threads}"];
                if (redis is not null) args.AddRange(["--redis", redis]);
                else if (adoNet is not null) args.AddRange(["--clustering", "adonet", "--connection", adoNet]);
                else if (i > 0) args.AddRange(["--primary", $"127.0.0.1:{silos[0].SiloPort}"]);
                if (dataDirectory is not null) args.AddRange(["--data-dir", dataDirectory]);
                var errors = new OutputTail();
                silos.Add((Start(nas, args, startTimeout ?? TimeSpan.FromMinutes(3), environment, errors), siloPort, gatewayPort, errors));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string ClusterId { get; }

    /// <summary>The gateways of the silos still running, as a coordinator's <c>--cluster</c> reads them.</summary>
    public ClusterAddress Address => redis is not null ? new([], ClusterId, redis) : adoNet is not null ? new([], ClusterId, AdoNet: adoNet)
        : new([.. silos.Where(s => !s.Process.HasExited).Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort))], ClusterId);

    /// <summary>CPU time used so far by the silos still running, with the part of their threads named <paramref name="threadName"/>.</summary>
    public CpuTime Cpu(string threadName) =>
        silos.Where(s => !s.Process.HasExited).Aggregate(default(CpuTime), (sum, s) => sum + ProcessCpu.Of(s.Process, threadName));

    /// <summary>
    /// Each silo's state and the last <paramref name="lines"/> lines of its error output, for a failure message when a run on
    /// the silos stalls.
    /// </summary>
    public string Describe(int lines = 15) => string.Join("\n", silos.Select((s, i) =>
        $"silo {i} ({(s.Process.HasExited ? $"exited with code {s.Process.ExitCode}" : "running")}), last error output:\n{s.Errors.Last(lines)}"));

    /// <summary>Kills silo <paramref name="index"/> with SIGKILL (without Redis, 0 is the primary, which holds the membership).</summary>
    public void Kill(int index)
    {
        silos[index].Process.Kill(entireProcessTree: true);
        silos[index].Process.WaitForExit();
    }

    /// <summary>How this process's own <c>nas</c> is started again: its executable, or <c>dotnet nas.dll</c> when it runs on the
    /// dotnet host (a test, or <c>dotnet nas.dll</c>).</summary>
    public static IReadOnlyList<string> CurrentNas()
    {
        var path = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? [path, Path.Combine(AppContext.BaseDirectory, "nas.dll")] : [path];
    }

    /// <summary>
    /// Starts <c>nas</c> with <paramref name="args"/> as a child of this process (a silo, or a process of the benchmark's
    /// control): output and error read by the caller, non-interactive (<c>CI=true</c>), <paramref name="environment"/> added.
    /// </summary>
    internal static Process StartNas(IReadOnlyList<string> nas, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment,
        bool redirectInput = false)
    {
        var start = new ProcessStartInfo(nas[0]) { RedirectStandardInput = redirectInput, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in nas.Skip(1).Concat(args)) start.ArgumentList.Add(a);
        start.Environment["CI"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        return Process.Start(start) ?? throw new ClusterException($"cannot start {nas[0]}");
    }

    private static Process Start(IReadOnlyList<string> nas, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment,
        OutputTail errors)
    {
        var process = StartNas(nas, args, environment);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Both pipes drained for the silo's whole life, so a full pipe never blocks it.
        process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("Waiting for work", StringComparison.Ordinal) == true) ready.TrySetResult(); };
        process.ErrorDataReceived += (_, e) => errors.Add(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new ClusterException($"silo exited with code {process.ExitCode}: {errors.FirstError()}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (!ready.Task.Wait(timeout)) throw new ClusterException($"silo did not start in {timeout.TotalSeconds:F0} s: {errors.FirstError()}");
        }
        catch (Exception e)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
            if (e is AggregateException { InnerException: ClusterException inner }) throw inner;
            throw;
        }
        return process;
    }

    /// <summary>A silo's error output: its first line that starts with "error", and its last lines (at most 200 kept).</summary>
    private sealed class OutputTail
    {
        private const int Kept = 200;
        private readonly Queue<string> last = new();
        private string? firstError;

        public void Add(string? line)
        {
            if (line is null) return;
            lock (last)
            {
                if (firstError is null && line.StartsWith("error", StringComparison.Ordinal)) firstError = line;
                last.Enqueue(line);
                if (last.Count > Kept) last.Dequeue();
            }
        }

        public string FirstError()
        {
            lock (last) return firstError ?? "no error output";
        }

        public string Last(int lines)
        {
            lock (last) return last.Count == 0 ? "(none)" : string.Join("\n", last.Skip(Math.Max(0, last.Count - lines)));
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        foreach (var (process, _, _, _) in silos)
        {
            try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            process.Dispose();
        }
        silos.Clear();
    }
}
