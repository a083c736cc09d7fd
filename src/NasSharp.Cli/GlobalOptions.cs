using System.CommandLine;
using TorchSharp;

namespace NasSharp.Cli;

/// <summary>Options every command accepts (recursive on the root).</summary>
public static class GlobalOptions
{
    public static readonly Option<bool> Json = new("--json") { Description = "Machine-readable JSON on stdout.", Recursive = true };
    public static readonly Option<bool> Verbose = new("--verbose") { Description = "Print stack traces of errors.", Recursive = true };
    public static readonly Option<string?> DataDir = new("--data-dir") { Description = "Dataset folder (else $NASSHARP_DATA, else a shared/data folder above the working directory).", Recursive = true };
    public static readonly Option<string?> Store = new("--store") { Description = "Results database (SQLite file; else $NASSHARP_STORE, else ~/.local/share/nassharp/results.db).", Recursive = true };
    public static readonly Option<string> Device = new("--device") { Description = "Torch device: cpu, cuda, cuda:N.", Recursive = true, DefaultValueFactory = _ => "cpu" };
    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "libtorch intra-op threads for this command (default: libtorch's, one per core). When several runs share a machine, " +
            "give each a share of the cores: two processes that each use every core can slow each other ten-fold or more.",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Json);
        root.Options.Add(Verbose);
        root.Options.Add(DataDir);
        root.Options.Add(Store);
        root.Options.Add(Device);
        root.Options.Add(Threads);
    }

    /// <summary>The --threads value, checked (null when not given).</summary>
    public static int? ResolveThreads(ParseResult pr) =>
        pr.GetValue(Threads) is int t ? (t >= 1 ? t : throw new UsageException($"--threads {t}: need at least 1.")) : null;

    public static torch.Device ResolveDevice(ParseResult pr)
    {
        var name = pr.GetValue(Device) ?? "cpu";
        if (name.StartsWith("cuda", StringComparison.Ordinal) && !torch.cuda.is_available())
            throw new UsageException($"--device {name}: CUDA is not available in this libtorch build (TorchSharp-cpu); use --device cpu.");
        try { return torch.device(name); }
        catch (Exception e) when (e is ArgumentException or FormatException or System.Runtime.InteropServices.ExternalException)
        {
            throw new UsageException($"--device {name}: not a torch device (use cpu, cuda or cuda:N).");
        }
    }
}

/// <summary>A mistake in how a command was called; reported as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
