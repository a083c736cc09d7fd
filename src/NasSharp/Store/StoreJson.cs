using System.Text.Json;
using System.Text.Json.Serialization;

namespace NasSharp.Store;

/// <summary>The one JSON dialect of the store.</summary>
internal static class StoreJson
{
    /// <summary>
    /// NaN and ±Infinity are written as the strings "NaN", "Infinity", "-Infinity" and read back as such:
    /// a non-finite score is an outcome to report, never to replace by 0 or null.
    /// </summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    public static string Serialize(object? value) =>
        value is null ? "null" : JsonSerializer.Serialize(value, value.GetType(), Options);

    public static Dictionary<string, T> DeserializeMap<T>(string json, string what) =>
        JsonSerializer.Deserialize<Dictionary<string, T>>(json, Options)
        ?? throw new StoreException($"The results store holds null where {what} should be a JSON object.");
}
