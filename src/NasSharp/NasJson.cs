using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NasSharp;

/// <summary>
/// NasSharp's one JSON dialect, for command output and for everything the results store keeps: snake_case names, enums
/// as snake_case names, numbers as numbers (also counts beyond 2⁵³, written exactly), and a non-finite number as
/// <c>null</c> (the record that holds it carries the reason in a field of its own). Architecture strings are written as
/// they are (no \u escapes of '+', '|', '~').
/// </summary>
public static class NasJson
{
    /// <summary>One line per document: the store.</summary>
    public static JsonSerializerOptions Compact { get; } = Create(indented: false);

    /// <summary>Indented: command output.</summary>
    public static JsonSerializerOptions Indented { get; } = Create(indented: true);

    public static string Serialize<T>(T value, bool indented = false) => JsonSerializer.Serialize(value, indented ? Indented : Compact);

    public static string Serialize(object? value, Type type, bool indented = false) => JsonSerializer.Serialize(value, type, indented ? Indented : Compact);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Compact) ?? throw new JsonException($"Expected a {typeof(T).Name}, got null.");

    private static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = indented,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Converters = { new FiniteOrNull(), new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new BigIntegerAsNumber() },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>A double as a JSON number, or null when it is NaN or infinite; null reads back as NaN.</summary>
    private sealed class FiniteOrNull : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }

    /// <summary>A <see cref="BigInteger"/> (a space's size) as an exact JSON number.</summary>
    private sealed class BigIntegerAsNumber : JsonConverter<BigInteger>
    {
        public override BigInteger Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return BigInteger.Parse(document.RootElement.GetRawText(), CultureInfo.InvariantCulture);
        }

        public override void Write(Utf8JsonWriter writer, BigInteger value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.ToString(CultureInfo.InvariantCulture));
    }
}
