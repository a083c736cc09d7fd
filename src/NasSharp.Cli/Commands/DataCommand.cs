using System.CommandLine;
using System.Globalization;
using NasSharp.Benchmarks;
using NasSharp.Data;
using Spectre.Console;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas data list|get|convert-nb201</c>: which datasets the data directory holds, downloading them, converting NAS-Bench-201.</summary>
public static class DataCommand
{
    public static Command Create(CliConsole console) => Create(console, DatasetSources.Default);

    /// <param name="sources">The catalogue (tests pass one of their own fixtures).</param>
    public static Command Create(CliConsole console, IReadOnlyList<DatasetSource> sources)
    {
        var data = new Command("data", "The datasets: which are present and verified, downloading them, converting NAS-Bench-201 release files.");
        data.Subcommands.Add(List(console, sources));
        data.Subcommands.Add(Get(console, sources));
        data.Subcommands.Add(ConvertNb201(console));
        return data;
    }

    private static Command List(CliConsole console, IReadOnlyList<DatasetSource> sources)
    {
        var list = new Command("list", "Each dataset: present (SHA-256 verified), missing, partial (an unfinished download) or corrupt, with its size.");
        var rehash = new Option<bool>("--rehash") { Description = $"Hash every file again instead of reusing digests remembered by size and modification time (in {FileDigests.CacheFileName} of the cache folder)." };
        list.Options.Add(rehash);
        list.SetAction(pr =>
        {
            var dir = DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir));
            var digests = new FileDigests(DataCache.ResolveDirectory(null));
            var checks = console.WithTransfers("verifying", progress =>
                DataInventory.Check(dir.Path, sources, hash: true, digests, progress, useCache: !pr.GetValue(rehash)));
            var output = new ListOutput(dir.Path, digests.Computed, [.. checks.Select(DatasetRow.Of)]);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else
            {
                var table = new Table().AddColumn("dataset").AddColumn("state").AddColumn(new TableColumn("size").RightAligned()).AddColumn("form").AddColumn("note");
                foreach (var c in checks)
                    table.AddRow(Markup.Escape(c.Dataset), c.State.ToString().ToLowerInvariant(), Size(c.SizeBytes), Markup.Escape(c.Form ?? ""), Markup.Escape(c.Note ?? ""));
                console.Ansi.Write(table);
                console.Out.WriteLine($"data directory {dir.Path}; SHA-256 of every file checked ({digests.Computed} hashed now, the others remembered unchanged since they were hashed)");
            }
            return checks.Any(c => c.State == DatasetState.Corrupt) ? 1 : 0;
        });
        return list;
    }

    private static Command Get(CliConsole console, IReadOnlyList<DatasetSource> sources)
    {
        var get = new Command("get", "Download datasets into the data directory, SHA-256 verified before they are put in place; an unfinished download resumes.");
        var names = new Argument<string[]>("NAME") { Description = $"Datasets: {string.Join(", ", sources.Select(s => s.Name))}, or all.", Arity = ArgumentArity.OneOrMore };
        var source = new Option<string?>("--source")
        {
            Description = $"Base URL of a mirror laid out like the data directory (BASE/mnist/train-images-idx3-ubyte.gz); else ${DatasetSources.SourceEnvironmentVariable}, else the canonical addresses.",
        };
        get.Arguments.Add(names);
        get.Options.Add(source);
        get.SetAction(async (pr, cancellation) =>
        {
            var wanted = pr.GetValue(names)!;
            var datasets = wanted.Any(n => string.Equals(n, "all", StringComparison.OrdinalIgnoreCase))
                ? sources : [.. wanted.Select(n => DatasetSources.Find(sources, n)).Distinct()];
            var dataDir = pr.GetValue(GlobalOptions.DataDir);
            // A data directory given explicitly is created; one found by searching must exist.
            dataDir ??= NonEmpty(Environment.GetEnvironmentVariable(DataDirectory.EnvironmentVariable));
            if (dataDir is not null) Directory.CreateDirectory(dataDir);
            var dir = DataDirectory.Resolve(dataDir).Path;
            var mirror = pr.GetValue(source) ?? NonEmpty(Environment.GetEnvironmentVariable(DatasetSources.SourceEnvironmentVariable));
            // The downloader times out a silent server itself (between reads too, which HttpClient.Timeout does not cover).
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.UserAgent.ParseAdd("NasSharp");
            var digests = new FileDigests(DataCache.ResolveDirectory(null));
            var results = new List<DatasetDownload>();
            var failures = new List<string>();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, console.Cancellation);
            foreach (var dataset in datasets)
            {
                try
                {
                    var result = await console.WithTransfersAsync($"{dataset.Name}", progress =>
                        new DatasetDownloader(http, dir, mirror, digests) { Progress = progress, Log = line => console.Error.WriteLine(line) }.GetAsync(dataset, linked.Token));
                    results.Add(result);
                    if (!pr.GetValue(GlobalOptions.Json))
                        console.Out.WriteLine(result.Outcome == DownloadOutcome.AlreadyPresent
                            ? $"{dataset.Name}: already present and verified ({result.Form})"
                            : $"{dataset.Name}: downloaded and verified ({result.Form}): " +
                              string.Join(", ", result.Files.Select(f => $"{f.Path} {Size(f.SizeBytes)}{(f.ResumedRequests > 0 ? $", resumed {f.ResumedRequests}x" : "")}")));
                }
                catch (DownloadException e) when (datasets.Count > 1)
                {
                    // With several datasets, each failure is one line and the others still run.
                    failures.Add(e.Message);
                    console.Error.WriteLine($"error: {e.Message}");
                }
            }
            digests.Save();
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(new GetOutput(dir, results, failures));
            return failures.Count == 0 ? 0 : 1;
        });
        return get;
    }

    private static Command ConvertNb201(CliConsole console)
    {
        var convert = new Command("convert-nb201", "Write the NAS-Bench-201 table the tool reads from NASLib's pickles (nb201_cifar10_full_training.pickle and the others).");
        var c10 = new Option<string>("--cifar10") { Description = $"NASLib's {Nb201Naslib.Cifar10File}.", Required = true };
        var c100 = new Option<string>("--cifar100") { Description = $"NASLib's {Nb201Naslib.Cifar100File}.", Required = true };
        var in16 = new Option<string>("--imagenet16") { Description = $"NASLib's {Nb201Naslib.ImageNet16File}.", Required = true };
        var indexFrom = new Option<string?>("--index-from") { Description = "A table with NAS-Bench-201's own indices to number the rows by (default: the data directory's table if there is one, else the cell's enumeration index)." };
        var outPath = new Option<string?>("--out") { Description = $"Where to write the table (default <data>/{Nb201Table.RelativePath})." };
        var force = new Option<bool>("--force") { Description = "Replace an existing table." };
        foreach (var o in new Option[] { c10, c100, in16, indexFrom, outPath, force }) convert.Options.Add(o);
        convert.SetAction(pr =>
        {
            var target = pr.GetValue(outPath) is { } o ? Path.GetFullPath(o) : Nb201Table.DefaultPath(pr.GetValue(GlobalOptions.DataDir));
            if (File.Exists(target) && !pr.GetValue(force))
                throw new UsageException($"{target} exists: pass --force to replace it, or --out PATH to write elsewhere.");
            // Rows keep NAS-Bench-201's own indices when a table with them is at hand (read before it is replaced).
            var indexPath = pr.GetValue(indexFrom) ?? (Nb201DefaultOrNull(pr) is { } reference && File.Exists(reference) ? reference : null);
            var indexTable = indexPath is null ? null : Nb201Table.Load(indexPath);
            var conversion = Nb201Naslib.Convert(pr.GetValue(c10)!, pr.GetValue(c100)!, pr.GetValue(in16)!, indexTable);
            Nb201Table.Write(conversion.Entries, target);
            var output = new ConvertOutput(target, conversion.Entries.Count, conversion.IndexSource,
                [.. conversion.Columns.Select(c => new ColumnOutput(c.Column, Path.GetFullPath(c.File), c.DatasetKey, Nb201Naslib.AccuracyKey + "[-1]"))]);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(output);
            else
            {
                console.Out.WriteLine($"wrote {output.Cells:N0} cells to {target}; rows numbered by {output.IndexSource}");
                foreach (var c in output.Columns) console.Out.WriteLine($"  {c.Column,-17} {c.Value} of '{c.DatasetKey}' in {Path.GetFileName(c.File)}");
            }
            return 0;
        });
        return convert;
    }

    private static string? Nb201DefaultOrNull(ParseResult pr)
    {
        try { return Nb201Table.DefaultPath(pr.GetValue(GlobalOptions.DataDir)); }
        catch (DataNotFoundException) { return null; }
    }

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;

    internal static string Size(long bytes) => bytes switch
    {
        0 => "-",
        < 1 << 20 => (bytes / 1024.0).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB",
    };

    /// <summary>One dataset in <c>nas data list --json</c>; <c>state</c> is present, corrupt, partial or missing.</summary>
    public sealed record DatasetRow(string Dataset, string Description, DatasetState State, string? Form, long SizeBytes, string? Note, IReadOnlyList<FileRow> Files)
    {
        public static DatasetRow Of(DatasetCheck c) => new(c.Dataset, c.Description, c.State, c.Form, c.SizeBytes, c.Note,
            [.. c.Files.Select(f => new FileRow(f.Path, f.State, f.SizeBytes, f.ExpectedSha256, f.Sha256, f.Problem))]);
    }

    /// <summary>One file: <c>state</c> verified (SHA-256 equal), accepted (another table that loads), corrupt, partial or missing.</summary>
    public sealed record FileRow(string Path, FileState State, long? SizeBytes, string ExpectedSha256, string? Sha256, string? Problem);

    /// <param name="FilesHashed">Files hashed by this run; the others' digests were remembered from an earlier one (same size and modification time).</param>
    public sealed record ListOutput(string DataDirectory, int FilesHashed, IReadOnlyList<DatasetRow> Datasets);

    public sealed record GetOutput(string DataDirectory, IReadOnlyList<DatasetDownload> Datasets, IReadOnlyList<string> Failures);

    public sealed record ColumnOutput(string Column, string File, string DatasetKey, string Value);

    public sealed record ConvertOutput(string Table, int Cells, string IndexSource, IReadOnlyList<ColumnOutput> Columns);
}
