using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class SklearnCsvTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void HeaderTableParsesFeaturesLabelsAndClassNames()
    {
        var path = _dir.File("tiny.csv");
        File.WriteAllText(path, "3,2,alpha,beta\n1.5,-2,0\n3e-1,4,1\n\n0,0.25,1\n");

        var data = SklearnCsv.LoadWithHeader(path, "tiny");

        Assert.Equal(["alpha", "beta"], data.ClassNames);
        Assert.Equal([2], data.SampleShape);
        Assert.Equal([1.5f, -2f, 0.3f, 4f, 0f, 0.25f], data.Features);
        Assert.Equal([0, 1, 1], data.Labels);
    }

    [Fact]
    public void ShortRowNamesFileAndLine()
    {
        var path = _dir.File("bad.csv");
        File.WriteAllText(path, "2,3,a,b\n1,2,3,0\n1,2,1\n");

        var ex = Assert.Throws<DataFormatException>(() => SklearnCsv.LoadWithHeader(path, "bad"));

        Assert.Equal($"{path}:3: expected 4 comma-separated values (3 features then the label), found 3", ex.Message);
    }

    [Fact]
    public void NonNumericValueNamesLineAndColumn()
    {
        var path = _dir.File("bad.csv");
        File.WriteAllText(path, "1,2,a,b\n1,x,0\n");

        var ex = Assert.Throws<DataFormatException>(() => SklearnCsv.LoadWithHeader(path, "bad"));

        Assert.Equal($"{path}:2: column 2: expected a finite number, found 'x'", ex.Message);
    }

    [Fact]
    public void LabelOutsideHeaderClassesIsRejected()
    {
        var path = _dir.File("bad.csv");
        File.WriteAllText(path, "1,1,a,b\n1,2\n");

        var ex = Assert.Throws<DataFormatException>(() => SklearnCsv.LoadWithHeader(path, "bad"));

        Assert.Equal($"{path}:2: column 2: expected an integer class label in 0..1, found '2'", ex.Message);
    }

    [Fact]
    public void RowCountMustMatchHeader()
    {
        var path = _dir.File("short.csv");
        File.WriteAllText(path, "3,1,a,b\n1,0\n2,1\n");

        var ex = Assert.Throws<DataFormatException>(() => SklearnCsv.LoadWithHeader(path, "short"));

        Assert.Equal($"{path}: header says 3 samples but 2 rows follow", ex.Message);
    }

    [Fact]
    public void DigitsAreScaledBySixteenAndMayBeGzipped()
    {
        var row1 = string.Join(",", Enumerable.Range(0, 64).Select(i => i % 17)) + ",3";
        var row2 = string.Join(",", Enumerable.Repeat("16", 64)) + ",9";
        var path = _dir.File("digits.csv.gz");
        File.WriteAllBytes(path, TestFiles.Gzip(System.Text.Encoding.UTF8.GetBytes(row1 + "\n" + row2 + "\n")));

        var data = SklearnCsv.LoadDigits(path);

        Assert.Equal([64], data.SampleShape);
        Assert.Equal([3, 9], data.Labels);
        Assert.Equal(5 / 16f, data.Features[5]);
        Assert.Equal(1f, data.Features[64]);
    }

    [Fact]
    public void DigitsPixelOutOfRangeNamesLine()
    {
        var path = _dir.File("digits.csv");
        File.WriteAllText(path, string.Join(",", Enumerable.Repeat("0", 64)) + ",1\n" + string.Join(",", Enumerable.Repeat("17", 64)) + ",1\n");

        var ex = Assert.Throws<DataFormatException>(() => SklearnCsv.LoadDigits(path));

        Assert.Equal($"{path}:2: column 1: expected a pixel value in 0..16, found 17", ex.Message);
    }

    [Fact]
    public void MissingTableIsDataNotFound()
    {
        var path = _dir.File("iris.csv");

        var ex = Assert.Throws<DataNotFoundException>(() => SklearnCsv.LoadWithHeader(path, "iris"));

        Assert.Contains(path, ex.Message);
    }

    // Class counts published in the scikit-learn dataset documentation.
    [Theory]
    [InlineData("iris", 150, 4, new[] { 50, 50, 50 })]
    [InlineData("wine", 178, 13, new[] { 59, 71, 48 })]
    [InlineData("breast-cancer", 569, 30, new[] { 212, 357 })]
    [InlineData("digits", 1797, 64, new[] { 178, 182, 177, 183, 181, 182, 181, 179, 174, 180 })]
    public void RealTablesMatchPublishedShapes(string name, int samples, int features, int[] classCounts)
    {
        var (data, test) = DatasetCatalog.Load(name, TestFiles.RealDataRoot);

        Assert.Null(test);
        Assert.Equal(samples, data.Count);
        Assert.Equal([features], data.SampleShape);
        Assert.Equal(classCounts, data.ClassCounts());
    }
}
