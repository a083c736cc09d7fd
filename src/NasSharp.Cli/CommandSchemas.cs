using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using NasSharp.Benchmarks;
using NasSharp.Cli.Commands;
using NasSharp.Experiments;

namespace NasSharp.Cli;

/// <summary>
/// The type of every command's <c>--json</c> output and its JSON Schema (draft 2020-12), exported from the type in NasSharp's
/// dialect: snake_case names, no properties beyond the type's, numbers that may be null where a value can be non-finite.
/// The schemas are kept under <c>docs/schemas/</c>; a test checks them against the types and each command's real output.
/// </summary>
public static class CommandSchemas
{
    public static IReadOnlyDictionary<string, Type> Outputs { get; } = new Dictionary<string, Type>
    {
        ["doctor"] = typeof(DoctorCommand.DoctorReport),
        ["space-sample"] = typeof(SpaceCommand.SampleOutput),
        ["space-count"] = typeof(SpaceCommand.CountOutput),
        ["train"] = typeof(TrainOutput),
        ["ntk"] = typeof(NtkResult),
        ["search"] = typeof(SearchOutput),
        ["theory"] = typeof(TheoryOutput),
        ["theory-agreement"] = typeof(AgreementOutput),
        ["isometry"] = typeof(IsometryOutput),
        ["runs-list"] = typeof(RunsCommand.RunList),
        ["runs-show"] = typeof(RunsCommand.RunDetail),
        ["runs-compare"] = typeof(NasSharp.Reports.RunComparison),
        ["runs-export"] = typeof(RunsCommand.ExportOutput),
        ["nb201-query"] = typeof(Nb201Command.Row),
        ["nb201-best"] = typeof(Nb201Command.BestOutput),
        ["bench-ntk"] = typeof(NtkBenchReport),
        ["bench-truth"] = typeof(TruthOutput),
        ["bench-correlate"] = typeof(CorrelationOutput),
        ["bench-search"] = typeof(ComparisonOutput),
        ["bench-train"] = typeof(TrainingComparisonOutput),
        ["bench-planted"] = typeof(PlantedOutput),
        ["bench-spectral"] = typeof(SpectralErrorOutput),
        ["bench-activations"] = typeof(ActivationSearchOutput),
        ["bench-mkl"] = typeof(MklBenchOutput),
        ["bench-cluster"] = typeof(NasSharp.Cluster.ClusterBenchmarkOutput),
        ["bench-proxies"] = typeof(ProxyBenchOutput),
        ["bench-nasi-gradient"] = typeof(NasiGradientBenchReport),
        ["bench-nasi-operations"] = typeof(NasSharp.Search.Nasi.TraceNormAnatomyOutput),
        ["bench-fairness"] = typeof(FairnessOutput),
        ["report"] = typeof(ReportCommand.ReportOutput),
        ["data-list"] = typeof(DataCommand.ListOutput),
        ["data-get"] = typeof(DataCommand.GetOutput),
        ["data-convert-nb201"] = typeof(DataCommand.ConvertOutput),
    };

    /// <summary>The schema of <paramref name="type"/>'s JSON in NasSharp's dialect.</summary>
    public static JsonNode Export(Type type, string title)
    {
        var schema = NasJson.Compact.GetJsonSchemaAsNode(type, new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = (context, node) =>
            {
                var t = context.TypeInfo.Type;
                // The dialect's own converters: a double is a number or null (non-finite), a BigInteger an exact integer.
                if (t == typeof(double) || t == typeof(double?)) return NumberOrNull();
                if (t == typeof(BigInteger)) return new JsonObject { ["type"] = "integer" };
                if (context.TypeInfo.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Dictionary && node is JsonObject map
                    && (context.TypeInfo.ElementType == typeof(double) || context.TypeInfo.ElementType == typeof(double?)))
                    map["additionalProperties"] = NumberOrNull();
                if (node is JsonObject o && context.TypeInfo.Kind == System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object
                    && context.TypeInfo.Properties.Count > 0 && !o.ContainsKey("additionalProperties") && !o.ContainsKey("$ref"))
                    o["additionalProperties"] = false;
                return node;
            },
        });
        if (schema is JsonObject root)
        {
            var ordered = new JsonObject { ["$schema"] = "https://json-schema.org/draft/2020-12/schema", ["title"] = title };
            foreach (var (key, value) in root.ToList())
            {
                root.Remove(key);
                ordered[key] = value;
            }
            return ordered;
        }
        return schema;
    }

    private static JsonObject NumberOrNull() => new() { ["type"] = new JsonArray("number", "null") };

    /// <summary>The schema file's text for a command (the name as in <see cref="Outputs"/>).</summary>
    public static string Text(string command) =>
        Export(Outputs[command], $"nas {command.Replace('-', ' ')} --json").ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) + "\n";
}
