using System.Globalization;
using System.Text;

namespace NasSharp.Data;

/// <summary>
/// The scikit-learn toy datasets as shipped in its <c>datasets/data</c> folder. Samples are flat feature
/// vectors (shape [n_features]); there is no official test split.
/// </summary>
public static class SklearnCsv
{
    /// <summary>Optical-recognition digits: 8x8 pixels with values 0..16.</summary>
    public const int DigitsFeatures = 64;
    private const float DigitsMaxValue = 16f;

    public static IReadOnlyList<string> DigitsClassNames { get; } = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    /// <summary>
    /// Reads <c>digits.csv(.gz)</c>: no header, each row 64 pixel values then the label; pixels are
    /// scaled to [0, 1] by dividing by 16. Gzip is detected from the content.
    /// </summary>
    public static LabeledDataset LoadDigits(string path, string name = "digits")
    {
        RequireFile(path);
        var features = new List<float>(1797 * DigitsFeatures);
        var labels = new List<int>(1797);
        ReadRows(path, (lineNumber, fields) =>
        {
            if (fields.Count != DigitsFeatures + 1)
                throw new DataFormatException($"{path}:{lineNumber}: expected {DigitsFeatures + 1} comma-separated values ({DigitsFeatures} pixels then the label), found {fields.Count}");
            for (int j = 0; j < DigitsFeatures; j++)
            {
                float v = ParseFloat(path, lineNumber, j + 1, fields[j]);
                if (v < 0 || v > DigitsMaxValue)
                    throw new DataFormatException($"{path}:{lineNumber}: column {j + 1}: expected a pixel value in 0..16, found {fields[j]}");
                features.Add(v / DigitsMaxValue);
            }
            labels.Add(ParseLabel(path, lineNumber, fields.Count, fields[^1], DigitsClassNames.Count));
        });
        if (labels.Count == 0) throw new DataFormatException($"{path}: expected rows of {DigitsFeatures} pixels and a label, found no data");
        return new LabeledDataset(name, features.ToArray(), labels.ToArray(), [DigitsFeatures], DigitsClassNames);
    }

    /// <summary>
    /// Reads a scikit-learn table with header <c>n_samples,n_features,class names…</c> followed by rows of
    /// n_features values and an integer label (iris.csv, wine_data.csv, breast_cancer.csv). Row widths,
    /// row count and label range are checked against the header; features are returned unscaled.
    /// </summary>
    public static LabeledDataset LoadWithHeader(string path, string name)
    {
        RequireFile(path);
        int samples = -1, featureCount = -1;
        string[] classNames = [];
        var features = new List<float>();
        var labels = new List<int>();
        ReadRows(path, (lineNumber, fields) =>
        {
            if (samples < 0)
            {
                if (fields.Count < 3)
                    throw new DataFormatException($"{path}:{lineNumber}: expected a header 'n_samples,n_features,class names…', found {fields.Count} values");
                samples = ParseCount(path, lineNumber, fields[0], "n_samples");
                featureCount = ParseCount(path, lineNumber, fields[1], "n_features");
                if (featureCount == 0) throw new DataFormatException($"{path}:{lineNumber}: header n_features is 0; expected at least one feature");
                classNames = fields.Skip(2).Select(f => f.Trim()).ToArray();
                return;
            }
            if (fields.Count != featureCount + 1)
                throw new DataFormatException($"{path}:{lineNumber}: expected {featureCount + 1} comma-separated values ({featureCount} features then the label), found {fields.Count}");
            if (labels.Count == samples)
                throw new DataFormatException($"{path}:{lineNumber}: header says {samples} samples but more rows follow");
            for (int j = 0; j < featureCount; j++) features.Add(ParseFloat(path, lineNumber, j + 1, fields[j]));
            labels.Add(ParseLabel(path, lineNumber, fields.Count, fields[^1], classNames.Length));
        });
        if (samples < 0) throw new DataFormatException($"{path}: expected a header 'n_samples,n_features,class names…', found an empty file");
        if (labels.Count != samples)
            throw new DataFormatException($"{path}: header says {samples} samples but {labels.Count} rows follow");
        return new LabeledDataset(name, features.ToArray(), labels.ToArray(), [featureCount], classNames);
    }

    private static void RequireFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new DataNotFoundException($"missing file {path}: expected a scikit-learn CSV table; set --data-dir or {DataDirectory.EnvironmentVariable}");
    }

    /// <summary>Calls <paramref name="onRow"/> with the 1-based line number and fields of every non-blank line.</summary>
    private static void ReadRows(string path, Action<int, List<string>> onRow) => DataFiles.Guard(path, () =>
    {
        using var reader = new StreamReader(DataFiles.OpenMaybeGzip(path), Encoding.UTF8);
        var fields = new List<string>();
        int lineNumber = 0;
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            fields.Clear();
            fields.AddRange(line.Split(','));
            onRow(lineNumber, fields);
        }
        return lineNumber;
    });

    private static float ParseFloat(string path, int lineNumber, int column, string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
            throw new DataFormatException($"{path}:{lineNumber}: column {column}: expected a finite number, found '{text}'");
        return (float)v;
    }

    private static int ParseLabel(string path, int lineNumber, int column, string text, int classCount)
    {
        // Labels are written as integers, though some exports write "2.0"; both name the same class.
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v != Math.Floor(v) || v < 0 || v >= classCount)
            throw new DataFormatException($"{path}:{lineNumber}: column {column}: expected an integer class label in 0..{classCount - 1}, found '{text}'");
        return (int)v;
    }

    private static int ParseCount(string path, int lineNumber, string text, string what)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            throw new DataFormatException($"{path}:{lineNumber}: header {what}: expected a non-negative integer, found '{text}'");
        return v;
    }
}
