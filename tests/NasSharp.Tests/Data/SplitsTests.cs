using NasSharp.Data;
using Xunit;

namespace NasSharp.Tests.Data;

public sealed class SplitsTests
{
    /// <summary>Classes of 50, 30 and 20 samples; each sample's single feature is its index, so splits can be traced back.</summary>
    private static LabeledDataset Planted(string name = "planted", params int[] classSizes)
    {
        if (classSizes.Length == 0) classSizes = [50, 30, 20];
        var labels = classSizes.SelectMany((n, k) => Enumerable.Repeat(k, n)).ToArray();
        // Interleave classes so that source order carries no class structure.
        var order = Enumerable.Range(0, labels.Length).OrderBy(i => (i * 37) % labels.Length).ToArray();
        labels = order.Select(i => labels[i]).ToArray();
        var features = Enumerable.Range(0, labels.Length).Select(i => (float)i).ToArray();
        return new LabeledDataset(name, features, labels, [1], classSizes.Select((_, k) => $"c{k}").ToArray());
    }

    private static int[] Ids(LabeledDataset d) => d.Features.Select(f => (int)f).ToArray();

    [Fact]
    public void AllocateIsProportionalWithLargestRemainder()
    {
        Assert.Equal([5, 3, 2], Splits.Allocate([50, 30, 20], 10));
        Assert.Equal([1, 1, 0], Splits.Allocate([1, 1, 1], 2)); // ties go to the lower class index
        Assert.Equal([2, 1, 0], Splits.Allocate([5, 3, 1], 3)); // 1.67, 1.0, 0.33 -> largest remainder to class 0
        Assert.Equal([5, 3, 1], Splits.Allocate([5, 3, 1], 9));
        Assert.Equal([0, 0, 0], Splits.Allocate([5, 3, 1], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Splits.Allocate([5, 3, 1], 10));
    }

    [Fact]
    public void StratifiedSplitHasExactPlantedClassCountsAndPartitionsTheData()
    {
        var data = Planted();

        var s = Splits.Stratified(data, validation: SplitSize.Fraction(0.2), test: SplitSize.Fraction(0.1), seed: 7);

        Assert.Equal([5, 3, 2], s.Test.ClassCounts());
        Assert.Equal([10, 6, 4], s.Validation.ClassCounts());
        Assert.Equal([35, 21, 14], s.Train.ClassCounts());
        var all = Ids(s.Train).Concat(Ids(s.Validation)).Concat(Ids(s.Test)).Order();
        Assert.Equal(Enumerable.Range(0, 100), all);
        // Labels travel with their samples.
        foreach (var split in new[] { s.Train, s.Validation, s.Test })
            for (int i = 0; i < split.Count; i++)
                Assert.Equal(data.Labels[(int)split.Features[i]], split.Labels[i]);
        Assert.Equal(["planted/train", "planted/validation", "planted/test"], new[] { s.Train.Name, s.Validation.Name, s.Test.Name });
    }

    [Fact]
    public void SplitsAreSeedDeterministic()
    {
        var data = Planted();

        var a = Splits.Stratified(data, SplitSize.Count(20), SplitSize.Count(10), seed: 42);
        var b = Splits.Stratified(data, SplitSize.Count(20), SplitSize.Count(10), seed: 42);
        var c = Splits.Stratified(data, SplitSize.Count(20), SplitSize.Count(10), seed: 43);

        Assert.Equal(Ids(a.Train), Ids(b.Train));
        Assert.Equal(Ids(a.Validation), Ids(b.Validation));
        Assert.Equal(Ids(a.Test), Ids(b.Test));
        Assert.NotEqual(Ids(a.Validation), Ids(c.Validation));
    }

    [Fact]
    public void SplitsAreShuffledSoLeadingSamplesMixClasses()
    {
        var sorted = new LabeledDataset("sorted", Enumerable.Range(0, 100).Select(i => (float)i).ToArray(),
            Enumerable.Range(0, 100).Select(i => i / 50).ToArray(), [1], ["a", "b"]);

        var s = Splits.Stratified(sorted, SplitSize.Count(10), SplitSize.Count(10), seed: 1);

        Assert.Equal(2, s.Train.Labels.Take(10).Distinct().Count());
    }

    [Fact]
    public void SubsetKeepsClassProportions()
    {
        var subset = Splits.StratifiedSubset(Planted(), SplitSize.Count(20), seed: 3);

        Assert.Equal([10, 6, 4], subset.ClassCounts());
        Assert.Equal(20, Ids(subset).Distinct().Count());
    }

    [Fact]
    public void WithOfficialTestValidationComesFromTrainAndTestIsKept()
    {
        var train = Planted("toy/train");
        var test = Planted("toy/test", 10, 6, 4);

        var s = Splits.Make(new TrainTest(train, test), new SplitOptions(5) { ValidationSize = SplitSize.Count(10), TrainSize = SplitSize.Count(30) });

        Assert.Same(test, s.Test);
        Assert.Equal([5, 3, 2], s.Validation.ClassCounts());
        Assert.Equal([15, 9, 6], s.Train.ClassCounts());
        Assert.Empty(Ids(s.Train).Intersect(Ids(s.Validation)));
    }

    [Fact]
    public void ChangingTrainSizeLeavesValidationAndTestUnchanged()
    {
        var data = new TrainTest(Planted("toy"), null);

        var small = Splits.Make(data, new SplitOptions(9) { TrainSize = SplitSize.Count(20) });
        var large = Splits.Make(data, new SplitOptions(9) { TrainSize = SplitSize.Count(60) });

        Assert.Equal(Ids(small.Validation), Ids(large.Validation));
        Assert.Equal(Ids(small.Test), Ids(large.Test));
        // Defaults for a small table: 20% test, 10% validation, both of the whole table.
        Assert.Equal(20, small.Test.Count);
        Assert.Equal(10, small.Validation.Count);
    }

    [Fact]
    public void DefaultValidationIsFiveThousandForLargeSets()
    {
        Assert.Equal(SplitSize.Count(5000), SplitOptions.DefaultValidationSize(50_000));
        Assert.Equal(SplitSize.Fraction(0.1), SplitOptions.DefaultValidationSize(1797));
    }

    [Fact]
    public void OversizedRequestsAreRejectedWithCounts()
    {
        var data = new TrainTest(Planted("toy"), null);

        var tooMuchTrain = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Splits.Make(data, new SplitOptions(1) { ValidationSize = SplitSize.Count(10), TestSize = SplitSize.Count(10), TrainSize = SplitSize.Count(81) }));
        var tooMuchHeldOut = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Splits.Make(data, new SplitOptions(1) { ValidationSize = SplitSize.Fraction(0.6), TestSize = SplitSize.Fraction(0.5) }));

        Assert.Contains("81 training samples but only 80", tooMuchTrain.Message);
        Assert.Contains("test (50) and validation (60) samples exceed the 100 available", tooMuchHeldOut.Message);
    }

    [Theory]
    [InlineData("5000", false, 5000)]
    [InlineData("0.1", true, 0.1)]
    [InlineData("25%", true, 0.25)]
    [InlineData("1", false, 1)]
    public void SplitSizeParsesCountsFractionsAndPercentages(string text, bool isFraction, double value)
    {
        var size = SplitSize.Parse(text);

        Assert.Equal(isFraction, size.IsFraction);
        Assert.Equal(value, size.Value);
    }

    [Theory]
    [InlineData("-3")]
    [InlineData("1.5")]
    [InlineData("abc")]
    public void SplitSizeRejectsNonsense(string text) => Assert.Throws<FormatException>(() => SplitSize.Parse(text));
}
