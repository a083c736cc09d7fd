namespace NasSharp.Data;

/// <summary>Loads a MNIST-style folder of four IDX files into a <see cref="TrainTest"/>.</summary>
internal static class IdxDatasets
{
    private static readonly string[] FileNames =
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

    public static TrainTest Load(string directory, string name, string displayName, IReadOnlyList<string> classNames, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var expectation = $"expected {displayName} IDX files {string.Join(", ", FileNames.Select(f => f + "(.gz)"))}; set --data-dir or {DataDirectory.EnvironmentVariable}";
        if (!Directory.Exists(directory))
            throw new DataNotFoundException($"missing directory {directory}: {expectation}");
        var paths = FileNames
            .Select(f => DataFiles.FindWithOptionalGz(directory, f)
                         ?? throw new DataNotFoundException($"missing file {Path.Combine(directory, f)}(.gz): {expectation}"))
            .ToArray();
        var train = LoadPair(paths[0], paths[1], name + "/train", classNames, rows, columns);
        var test = LoadPair(paths[2], paths[3], name + "/test", classNames, rows, columns);
        return new TrainTest(train, test);
    }

    private static LabeledDataset LoadPair(string imagesPath, string labelsPath, string name, IReadOnlyList<string> classNames, int rows, int columns)
    {
        var images = Idx.ReadImages(imagesPath);
        if (images.Rows != rows || images.Columns != columns)
            throw new DataFormatException($"{imagesPath}: expected {rows}x{columns} images, found {images.Rows}x{images.Columns}");
        var labelBytes = Idx.ReadLabels(labelsPath);
        if (labelBytes.Length != images.Count)
            throw new DataFormatException($"images file {imagesPath} has {images.Count} samples but labels file {labelsPath} has {labelBytes.Length}");
        var labels = new int[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] >= classNames.Count)
                throw new DataFormatException($"{labelsPath}: label {labels[i]} at index {i} is outside 0..{classNames.Count - 1}");
        }
        return new LabeledDataset(name, images.Pixels, labels, [1, rows, columns], classNames);
    }
}
