using System.Text.Json;
using Json.Schema;
using NasSharp.Cli;
using Xunit;

namespace NasSharp.Tests.Cli;

/// <summary>
/// Every command's <c>--json</c> output has a JSON Schema under <c>docs/schemas/</c>: the committed files are the ones exported
/// from the output types, and each command's real output validates against its file (checked by JsonSchema.Net, an
/// implementation independent of the exporter).
/// </summary>
[Collection(TorchCollection.Name)]
public class SchemaTests
{
    private static readonly string Directory = Path.Combine(Repository.Root, "docs", "schemas");

    [Fact]
    public void TheCommittedSchemasAreTheOutputTypes()
    {
        // NASSHARP_WRITE_SCHEMAS=1 rewrites the files from the types (after an output type changed on purpose).
        bool write = Environment.GetEnvironmentVariable("NASSHARP_WRITE_SCHEMAS") == "1";
        foreach (var command in CommandSchemas.Outputs.Keys)
        {
            var path = Path.Combine(Directory, $"{command}.schema.json");
            var expected = CommandSchemas.Text(command);
            if (write) File.WriteAllText(path, expected);
            Assert.True(File.Exists(path), $"{path} is missing; run the tests with NASSHARP_WRITE_SCHEMAS=1 to write it");
            Assert.True(expected == File.ReadAllText(path), $"{path} differs from the output type {CommandSchemas.Outputs[command].Name}; " +
                "run the tests with NASSHARP_WRITE_SCHEMAS=1 to rewrite it");
        }
        Assert.Equal(CommandSchemas.Outputs.Count, System.IO.Directory.GetFiles(Directory, "*.schema.json").Length);
    }

    [Fact]
    public void ASchemaRejectsOutputThatDoesNotFitIt()
    {
        var schema = Load("space-count");
        Assert.Empty(Errors(schema, """{"space":"mlp","count":4096,"description":"d","settings":{"depth":"3"}}"""));
        Assert.NotEmpty(Errors(schema, """{"space":"mlp","count":"4096","description":"d","settings":{}}"""));   // a number as a string
        Assert.NotEmpty(Errors(schema, """{"space":"mlp","count":4096,"description":"d","settings":{},"id":1}"""));   // an unknown field
        Assert.NotEmpty(Errors(schema, """{"space":"mlp","count":4096,"settings":{}}"""));   // a missing field
    }

    [Fact]
    public void EveryCommandsOutputValidatesAgainstItsSchema()
    {
        using var cli = new CliHarness();
        var outputs = new Dictionary<string, JsonElement>
        {
            ["doctor"] = cli.Json("doctor"),
            ["space-sample"] = cli.Json("space", "sample", "--space", "nb201", "--n", "2"),
            ["space-count"] = cli.Json("space", "count", "--space", "darts"),
            ["train"] = cli.Json("train", "--arch", "w8/relu", "--dataset", "iris", "--epochs", "1"),
            ["ntk"] = cli.Json("ntk", "--arch", "w8/relu-tanh+1", "--dataset", "iris", "--batch", "8", "--spectrum"),
            ["search"] = cli.Json("search", "--dataset", "iris", "--width", "8", "--candidates", "3", "--top-k", "1", "--epochs", "1", "--ntk-batch", "8"),
            ["theory"] = cli.Json("theory", "--arch", "w8/relu-tanh+1", "--dataset", "iris", "--batch", "8"),
            ["theory-agreement"] = cli.Json("theory", "agreement", "--dataset", "iris", "--n", "3", "--min-depth", "1", "--max-depth", "2", "--width", "16", "--batch", "8", "--ntk-seeds", "1"),
            ["isometry"] = cli.Json("isometry", "--activations", "tanh,relu", "--spectra", "tanh", "--depth", "3", "--width", "8", "--conv-channels", "2", "--conv-size", "3"),
            ["nb201-query"] = cli.Json("nb201", "query", "--index", "6111"),
            ["nb201-best"] = cli.Json("nb201", "best", "--dataset", "cifar100"),
            ["bench-ntk"] = cli.Json("bench", "ntk", "--quick", "--repeats", "1", "--case", "mlp"),
            ["bench-truth"] = cli.Json("bench", "truth", "--space", "mlp", "--width", "8", "--depth", "1", "--dataset", "iris", "--n", "3", "--epochs", "1"),
        };
        var truthRun = outputs["bench-truth"].GetProperty("run_id").GetInt64().ToString();
        outputs["bench-correlate"] = cli.Json("bench", "correlate", "--truth", truthRun, "--n", "3", "--batch", "8", "--proxies", "params,grad_norm");
        string[] tinyNasi = ["--steps", "1", "--batch", "4", "--channels", "4", "--cells", "1"];
        outputs["search-nasi"] = cli.Json(["search", "--space", "nb201", "--strategy", "nasi", "--dataset", "cifar10", "--data", "gaussian", "--labels", "random", .. tinyNasi]);
        outputs["bench-search"] = cli.Json(["bench", "search", "--seeds", "1", "--methods", "nasi-fix,naswot,ensemble", "--candidates", "2", "--train-size", "200", .. tinyNasi]);
        outputs["bench-train"] = cli.Json(["bench", "train", "--space", "mlp", "--strategy", "random", "--candidates", "2", "--width", "8", "--depth", "1",
            "--dataset", "iris", "--random", "2", "--epochs", "1"]);
        outputs["bench-planted"] = cli.Json("bench", "planted", "--seeds", "1", "--multiples", "1,2", "--width", "30", "--dimension", "5", "--train-points", "10",
            "--test-points", "800", "--steps", "2", "--grid", "2");
        outputs["bench-spectral"] = cli.Json("bench", "spectral", "--features", "5", "--multiples", "1", "--seeds", "1", "--gd-steps", "2");
        outputs["bench-activations"] = cli.Json("bench", "activations", "--datasets", "iris", "--train-size", "80", "--val-size", "30", "--test-size", "30",
            "--depth", "1", "--width", "8", "--activations", "relu,tanh", "--truth-seeds", "1", "--search-seeds", "1", "--epochs", "1", "--train-points", "20",
            "--val-points", "10", "--threads", "1");
        outputs["bench-mkl"] = cli.Json("bench", "mkl", "--dataset", "iris", "--train-size", "80", "--val-size", "30", "--train-points", "20", "--val-points", "10",
            "--depth", "1", "--steps", "2", "--threads", "1");
        outputs["bench-cluster"] = cli.Json("bench", "cluster", "--silos", "1", "--items", "1", "--proxies", "params", "--batch", "4", "--threads", "1");
        outputs["bench-proxies"] = cli.Json("bench", "proxies", "--n", "1", "--proxies", "params,grad_norm", "--batch", "4", "--threads", "1");
        outputs["bench-nasi-gradient"] = cli.Json(["bench", "nasi-gradient", "--steps", "1", "--warmup", "0", "--batch", "4", "--channels", "4", "--cells", "1", "--data", "gaussian", "--labels", "random"]);
        outputs["bench-nasi-operations"] = cli.Json(["bench", "nasi-operations", "--space", "nb201", "--seeds", "1", "--batch", "4", "--channels", "4", "--cells", "1", "--data", "gaussian", "--labels", "random"]);
        outputs["bench-fairness"] = cli.Json("bench", "fairness", "--channels", "2", "--cells", "1", "--train-size", "100", "--val-size", "50", "--test-size", "10",
            "--n", "3", "--epochs", "1", "--batch-size", "50", "--calibration", "20", "--top-k", "2", "--isometry-batch", "2", "--regimes", "spos,isometry-fair", "--threads", "1");
        outputs["runs-list"] = cli.Json("runs", "list");
        outputs["runs-show"] = cli.Json("runs", "show", truthRun);
        outputs["runs-compare"] = cli.Json("runs", "compare", outputs["search"].GetProperty("run_id").GetInt64().ToString(),
            outputs["search-nasi"].GetProperty("run_id").GetInt64().ToString());
        outputs["runs-export"] = cli.Json("runs", "export", truthRun, "-o", Path.Combine(cli.Directory, "truth.csv"));
        outputs["report"] = cli.Json("report", truthRun, "--out", Path.Combine(cli.Directory, "report"));
        outputs["data-list"] = cli.Json("data", "list");
        var irisOnly = Path.Combine(cli.Directory, "data");
        System.IO.Directory.CreateDirectory(Path.Combine(irisOnly, "sklearn"));
        File.Copy(Path.Combine(NasSharp.Data.DataDirectory.Resolve(null).Path, "sklearn", "iris.csv"), Path.Combine(irisOnly, "sklearn", "iris.csv"));
        outputs["data-get"] = cli.Json("data", "get", "iris", "--data-dir", irisOnly);
        var fixtures = Path.Combine(Repository.Root, "tests", "NasSharp.Tests", "Benchmarks", "Fixtures");
        outputs["data-convert-nb201"] = cli.Json("data", "convert-nb201", "--cifar10", Path.Combine(fixtures, "nb201_cifar10_full_training.pickle"),
            "--cifar100", Path.Combine(fixtures, "nb201_cifar100_full_training.pickle"), "--imagenet16", Path.Combine(fixtures, "nb201_ImageNet16_full_training.pickle"),
            "--out", Path.Combine(cli.Directory, "nb201.csv"));

        foreach (var (name, output) in outputs)
        {
            var command = name == "search-nasi" ? "search" : name;
            var errors = Errors(Load(command), output.GetRawText());
            Assert.True(errors.Count == 0, $"nas {command} --json does not fit docs/schemas/{command}.schema.json: {string.Join("; ", errors)}");
        }
        Assert.Equal(CommandSchemas.Outputs.Keys.Order(), outputs.Keys.Where(k => k != "search-nasi").Order());
    }

    // JsonSchema.Net registers each schema by its URI once per process, so each file is read once.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonSchema> Loaded = new();

    private static JsonSchema Load(string command) => Loaded.GetOrAdd(command, c =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(Directory, $"{c}.schema.json")), baseUri: new Uri($"https://nassharp.test/schemas/{c}.json")));

    private static List<string> Errors(JsonSchema schema, string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid ? [] : [.. (result.Details is { Count: > 0 } details ? details : [result])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))
            .DefaultIfEmpty("invalid")];
    }
}

/// <summary>Where the repository is, found from the test assembly's folder (the folder holding NasSharp.slnx).</summary>
internal static class Repository
{
    public static string Root { get; } = Find(AppContext.BaseDirectory);

    private static string Find(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NasSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No NasSharp.slnx above {start}.");
    }
}
