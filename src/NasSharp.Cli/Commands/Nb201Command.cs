using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using NasSharp.Benchmarks;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas nb201 query|best</c>: look cells up in the NAS-Bench-201 accuracy table.</summary>
public static class Nb201Command
{
    public static Command Create(CliConsole console)
    {
        var nb201 = new Command("nb201", "Query the NAS-Bench-201 accuracy table (15,625 cells; CIFAR-10, CIFAR-100, ImageNet16-120).");

        var query = new Command("query", "The six accuracies (%) and the benchmark index of one cell.");
        var arch = new Argument<string?>("ARCH") { Description = "Cell as |op~0|+|op~0|op~1|+|op~0|op~1|op~2| (or give --index).", Arity = ArgumentArity.ZeroOrOne };
        var index = new Option<int?>("--index") { Description = "The benchmark's index of the cell (0..15624) instead of ARCH." };
        var queryTable = NewTableOption();
        query.Arguments.Add(arch);
        query.Options.Add(index);
        query.Options.Add(queryTable);
        query.SetAction(pr =>
        {
            var text = pr.GetValue(arch);
            var i = pr.GetValue(index);
            if ((text is null) == (i is null))
                throw new UsageException("give either ARCH (e.g. nas nb201 query '|nor_conv_3x3~0|+|...|') or --index I, not both or neither.");
            var table = Load(pr, queryTable);
            Nb201Entry entry;
            try { entry = i is { } ix ? table.ByIndex(ix) : table.Lookup(text!); }
            catch (BenchmarkLookupException e) when (i is not null) { throw new UsageException($"--index {i}: {e.Message}."); }
            var row = Row.Of(entry, table.Source);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(row);
            else
            {
                console.Out.WriteLine($"index {entry.Index}: {entry.Arch}");
                WriteAccuracies(console, entry);
            }
            return 0;
        });

        var best = new Command("best", "The cell with the highest accuracy on a dataset (ties: lowest index).");
        var dataset = new Option<string>("--dataset") { Description = "cifar10, cifar100 or imagenet16.", Required = true };
        var metric = new Option<string>("--metric") { Description = "test or valid.", DefaultValueFactory = _ => "test" };
        var bestTable = NewTableOption();
        best.Options.Add(dataset);
        best.Options.Add(metric);
        best.Options.Add(bestTable);
        best.SetAction(pr =>
        {
            if (!Nb201Names.TryParseDataset(pr.GetValue(dataset)!, out var d))
                throw new UsageException($"--dataset {pr.GetValue(dataset)}: expected cifar10, cifar100 or imagenet16.");
            if (!Nb201Names.TryParseMetric(pr.GetValue(metric)!, out var m))
                throw new UsageException($"--metric {pr.GetValue(metric)}: expected test or valid.");
            var table = Load(pr, bestTable);
            var entry = table.Best(d, m);
            double accuracy = entry.Accuracies.Get(d, m);
            if (pr.GetValue(GlobalOptions.Json))
                console.WriteJson(new BestOutput(d.Token(), m.Token(), accuracy, Row.Of(entry, table.Source)));
            else
            {
                console.Out.WriteLine($"best {d.Token()} {m.Token()} accuracy {accuracy.ToString("F2", CultureInfo.InvariantCulture)} %: index {entry.Index}: {entry.Arch}");
                WriteAccuracies(console, entry);
            }
            return 0;
        });

        nb201.Subcommands.Add(query);
        nb201.Subcommands.Add(best);
        return nb201;
    }

    private static Option<string?> NewTableOption() =>
        new("--table") { Description = $"A CSV with the columns {string.Join(",", Nb201Table.Columns)} (default: <data>/{Nb201Table.RelativePath})." };

    private static Nb201Table Load(ParseResult pr, Option<string?> table) =>
        pr.GetValue(table) is { } path ? Nb201Table.Load(path) : Nb201Table.LoadDefault(pr.GetValue(GlobalOptions.DataDir));

    private static void WriteAccuracies(CliConsole console, Nb201Entry entry)
    {
        string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture).PadLeft(8);
        console.Out.WriteLine($"{"",-12}{"valid",8}{"test",8}");
        foreach (var d in Enum.GetValues<Nb201Dataset>())
            console.Out.WriteLine($"{d.Token(),-12}{F(entry.Accuracies.Get(d, Nb201Metric.Valid))}{F(entry.Accuracies.Get(d, Nb201Metric.Test))}");
    }

    /// <summary>One table row with the CSV's column names.</summary>
    public sealed record Row(
        [property: JsonPropertyName("index")] int Index,
        [property: JsonPropertyName("arch")] string Arch,
        [property: JsonPropertyName("cifar10_valid")] double Cifar10Valid,
        [property: JsonPropertyName("cifar10_test")] double Cifar10Test,
        [property: JsonPropertyName("cifar100_valid")] double Cifar100Valid,
        [property: JsonPropertyName("cifar100_test")] double Cifar100Test,
        [property: JsonPropertyName("imagenet16_valid")] double ImageNet16Valid,
        [property: JsonPropertyName("imagenet16_test")] double ImageNet16Test,
        [property: JsonPropertyName("table")] string Table)
    {
        public static Row Of(Nb201Entry e, string table) => new(e.Index, e.Arch.Canonical,
            e.Accuracies.Cifar10Valid, e.Accuracies.Cifar10Test, e.Accuracies.Cifar100Valid, e.Accuracies.Cifar100Test,
            e.Accuracies.ImageNet16Valid, e.Accuracies.ImageNet16Test, table);
    }

    public sealed record BestOutput(string Dataset, string Metric, double Accuracy, Row Cell);
}
