using System.CommandLine;
using System.Runtime.InteropServices;
using NasSharp.Data;
using Spectre.Console;
using TorchSharp;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas doctor</c>: what this installation runs on, and whether libtorch and the data are found.</summary>
public static class DoctorCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("doctor", "Check the installation: .NET, TorchSharp and libtorch versions, torch threads, data directory.");
        cmd.SetAction(pr =>
        {
            var report = Diagnose(pr.GetValue(GlobalOptions.DataDir), pr.GetValue(GlobalOptions.Store));
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(report);
            else
            {
                var table = new Table().AddColumn("check").AddColumn("value");
                foreach (var (k, v) in report.Rows()) table.AddRow(Markup.Escape(k), Markup.Escape(v));
                console.Ansi.Write(table);
            }
            return report.DataDirectory is null ? 1 : 0;
        });
        return cmd;
    }

    public sealed record DoctorReport(
        string Dotnet, string Os, int Cores, string CpuKernels, string TorchSharp, string Libtorch, int TorchThreads, bool CudaAvailable,
        string? DataDirectory, string DataDirectorySource, string Store, double TorchCheck, string OneDnnConvolutions,
        IReadOnlyList<DoctorDataset> Datasets)
    {
        public IEnumerable<(string, string)> Rows() =>
        [
            (".NET", Dotnet), ("OS", Os), ("cores", Cores.ToString()), ("CPU kernels (a run resumes only on these)", CpuKernels),
            ("TorchSharp", TorchSharp), ("libtorch", Libtorch),
            ("torch threads", TorchThreads.ToString()), ("CUDA available", CudaAvailable ? "yes" : "no"),
            ("oneDNN convolutions", OneDnnConvolutions),
            ("torch check (sum of 1..4)", TorchCheck.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("data directory", DataDirectory ?? "NOT FOUND"), ("data directory from", DataDirectorySource),
            .. Datasets.Select(d => ($"dataset {d.Dataset}", d.State.ToString().ToLowerInvariant() + (d.SizeBytes > 0 ? $" ({DataCommand.Size(d.SizeBytes)})" : ""))),
            ("datasets checked", "presence and sizes only; nas data list verifies SHA-256"),
            ("results store", Store),
        ];
    }

    /// <summary>A dataset's state from a quick look (files there, sizes as published); <c>nas data list</c> hashes them.</summary>
    public sealed record DoctorDataset(string Dataset, DatasetState State, long SizeBytes);

    public static DoctorReport Diagnose(string? dataDir, string? store)
    {
        // A real computation, so a broken libtorch load shows here and not later.
        double check;
        using (var t = torch.arange(1, 5, dtype: torch.ScalarType.Float64)) using (var s = t.sum()) check = s.item<double>();
        string? dir; string source;
        try
        {
            var resolved = DataDirectory.Resolve(dataDir);
            dir = resolved.Path;
            source = resolved.Description;
        }
        catch (DataFormatException e)
        {
            dir = null;
            source = e.Message;
        }
        return new DoctorReport(
            RuntimeInformation.FrameworkDescription,
            RuntimeInformation.OSDescription,
            Environment.ProcessorCount,
            NasSharp.Networks.CpuKernels.Describe(),
            typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown",
            LibtorchVersion(),
            torch.get_num_threads(),
            torch.cuda.is_available(),
            dir,
            source,
            store ?? NasSharp.Store.ResultsStore.DefaultPath(),
            check,
            NasSharp.Networks.ConvolutionBackend.OneDnnEnabled switch
            {
                null => "not controllable here (networks with unsafe convolution shapes are refused)",
                bool on => (on ? "on" : "off") + " (turned off automatically for networks whose k×k convolutions have output channels that are not a multiple of 16: libtorch's float32 input gradients are wrong there)",
            },
            dir is null ? [] : [.. DataInventory.Check(dir, DatasetSources.Default, hash: false).Select(c => new DoctorDataset(c.Dataset, c.State, c.SizeBytes))]);
    }

    /// <summary>The libtorch native package this app was built against, read from its .deps.json.</summary>
    private static string LibtorchVersion()
    {
        // The host's deps files, then any beside this assembly (a test host lists only its own).
        var files = ((AppContext.GetData("APP_CONTEXT_DEPS_FILES") as string)?.Split(Path.PathSeparator) ?? [])
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.deps.json"));
        foreach (var file in files)
        {
            if (!File.Exists(file)) continue;
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            if (!doc.RootElement.TryGetProperty("libraries", out var libs)) continue;
            foreach (var lib in libs.EnumerateObject())
                if (lib.Name.StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase) && lib.Name.Split('/') is [var package, var version])
                    return $"{version} ({package})";
        }
        return "unknown";
    }
}
