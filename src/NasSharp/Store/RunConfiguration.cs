using System.Text.Json;

namespace NasSharp.Store;

/// <summary>
/// A run's stored configuration (or output) JSON as flat settings: one dotted path per scalar (<c>space.settings.cells</c>),
/// an array of scalars as one comma-separated value, an array of objects as its raw JSON (or left out). What a report lists
/// and what <c>nas runs compare</c> sets side by side.
/// </summary>
public static class RunConfiguration
{
    /// <param name="json">A JSON object.</param>
    /// <param name="objectArrays">Keep arrays of objects (as JSON text); false leaves them out (a run's output lists its
    /// items in such arrays, too long to read as one value).</param>
    public static IReadOnlyList<KeyValuePair<string, string>> Settings(string json, bool objectArrays = true)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = JsonDocument.Parse(json);
        var settings = new List<KeyValuePair<string, string>>();
        Flatten(document.RootElement, "", objectArrays, settings);
        return settings;
    }

    private static void Flatten(JsonElement element, string path, bool objectArrays, List<KeyValuePair<string, string>> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                    Flatten(p.Value, path.Length == 0 ? p.Name : $"{path}.{p.Name}", objectArrays, into);
                break;
            case JsonValueKind.Array when element.EnumerateArray().All(IsScalar):
                into.Add(new(path, string.Join(", ", element.EnumerateArray().Select(Scalar))));
                break;
            case JsonValueKind.Array:
                if (objectArrays) into.Add(new(path, element.GetRawText()));
                break;
            default:
                into.Add(new(path, Scalar(element)));
                break;
        }
    }

    private static bool IsScalar(JsonElement e) => e.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array);

    private static string Scalar(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!,
        JsonValueKind.Null => "null",
        _ => e.GetRawText(),
    };
}
