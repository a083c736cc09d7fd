namespace NasSharp.Data;

/// <summary>Train, validation and test sets ready for search and evaluation.</summary>
public sealed record DataSplits(LabeledDataset Train, LabeledDataset Validation, LabeledDataset Test);

/// <summary>
/// How <see cref="Splits.Make"/> divides a dataset. Sizes that are fractions are fractions of the set
/// being divided (the official training set, or the whole table when the source has no test set), not
/// of what remains after earlier splits.
/// </summary>
public sealed record SplitOptions
{
    public SplitOptions(int seed) => Seed = seed;

    public int Seed { get; init; }
    /// <summary>Training samples to keep (a stratified subset of what remains after validation/test); null keeps all.</summary>
    public SplitSize? TrainSize { get; init; }
    /// <summary>Validation samples, always drawn from the training pool; null means <see cref="DefaultValidationSize"/>.</summary>
    public SplitSize? ValidationSize { get; init; }
    /// <summary>
    /// With an official test set: a stratified subset of it to use (null keeps it whole). Without one: the
    /// test samples carved out of the data (null means <see cref="DefaultTestFraction"/>).
    /// </summary>
    public SplitSize? TestSize { get; init; }

    /// <summary>0.2, scikit-learn's conventional hold-out share for its small tables.</summary>
    public const double DefaultTestFraction = 0.2;

    /// <summary>5,000 samples for the large image sets (the usual CIFAR/MNIST validation size), 10% for small tables.</summary>
    public static SplitSize DefaultValidationSize(int poolCount) =>
        poolCount >= 20_000 ? SplitSize.Count(5000) : SplitSize.Fraction(0.1);
}

/// <summary>
/// Seeded, stratified splitting and subsetting. Per-class quotas come from the largest-remainder
/// method, so each split's class counts are as close to proportional as integers allow; the samples of
/// each split are returned in a seeded random order so that a leading batch mixes classes.
/// </summary>
public static class Splits
{
    /// <summary>
    /// Divides <paramref name="total"/> among classes in proportion to <paramref name="classCounts"/>
    /// (largest remainder, ties to the lower class index). Never exceeds a class's count.
    /// </summary>
    public static int[] Allocate(IReadOnlyList<int> classCounts, int total)
    {
        ArgumentNullException.ThrowIfNull(classCounts);
        long available = classCounts.Sum(c => c >= 0 ? (long)c : throw new ArgumentException("Class counts must be non-negative.", nameof(classCounts)));
        if (total < 0 || total > available)
            throw new ArgumentOutOfRangeException(nameof(total), total, $"Cannot take {total} samples out of {available}.");
        var quota = new int[classCounts.Count];
        if (total == 0) return quota;
        var remainders = new long[classCounts.Count];
        int assigned = 0;
        for (int k = 0; k < quota.Length; k++)
        {
            long exact = (long)total * classCounts[k];
            quota[k] = (int)(exact / available);
            remainders[k] = exact % available;
            assigned += quota[k];
        }
        var order = Enumerable.Range(0, quota.Length).OrderByDescending(k => remainders[k]).ThenBy(k => k).ToArray();
        for (int i = 0; i < total - assigned; i++) quota[order[i]]++;
        return quota;
    }

    /// <summary>A stratified random subset of <paramref name="size"/> samples (the <c>--train-size</c> operation).</summary>
    public static LabeledDataset StratifiedSubset(LabeledDataset data, SplitSize size, int seed, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        int count = Resolve(size, data.Count, data.Name, "subset");
        return data.Subset(Take(data, AllIndices(data), count, seed).Taken, name ?? data.Name);
    }

    /// <summary>Stratified train/validation/test split of one dataset; <paramref name="train"/> null keeps everything left.</summary>
    public static DataSplits Stratified(LabeledDataset data, SplitSize validation, SplitSize test, int seed, SplitSize? train = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Make(new TrainTest(data, null), new SplitOptions(seed) { ValidationSize = validation, TestSize = test, TrainSize = train });
    }

    /// <summary>
    /// Train/validation/test from a catalog load. With an official test set, validation comes from the
    /// official training set and the test set is the official one (optionally subsampled); without one,
    /// test and validation are both carved from the data. Each step draws from its own seed stream, so
    /// for instance changing the training size leaves validation and test unchanged.
    /// </summary>
    public static DataSplits Make(TrainTest data, SplitOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        var source = data.Train;
        var baseName = source.Name.EndsWith("/train", StringComparison.Ordinal) ? source.Name[..^"/train".Length] : source.Name;
        int validationCount = Resolve(options.ValidationSize ?? SplitOptions.DefaultValidationSize(source.Count), source.Count, source.Name, "validation");

        // Work on indices into the source and copy features once, at the end: materialising intermediate
        // remainders would copy most of CIFAR-10 several times.
        int[] pool = AllIndices(source);
        LabeledDataset test;
        if (data.Test is { } officialTest)
        {
            test = options.TestSize is { } testSize
                ? officialTest.Subset(Take(officialTest, AllIndices(officialTest), Resolve(testSize, officialTest.Count, officialTest.Name, "test"), Stream(options.Seed, 3)).Taken, baseName + "/test")
                : officialTest;
        }
        else
        {
            int testCount = Resolve(options.TestSize ?? SplitSize.Fraction(SplitOptions.DefaultTestFraction), source.Count, source.Name, "test");
            if (testCount + validationCount > source.Count)
                throw new ArgumentOutOfRangeException(nameof(options),
                    $"{source.Name}: test ({testCount}) and validation ({validationCount}) samples exceed the {source.Count} available.");
            (var testIndices, pool) = Take(source, pool, testCount, Stream(options.Seed, 2));
            test = source.Subset(testIndices, baseName + "/test");
        }
        (var validationIndices, pool) = Take(source, pool, validationCount, Stream(options.Seed, 1));
        if (options.TrainSize is { } trainSize)
        {
            int trainCount = trainSize.Resolve(source.Count);
            if (trainCount > pool.Length)
                throw new ArgumentOutOfRangeException(nameof(options),
                    $"Asked for {trainCount} training samples but only {pool.Length} of {source.Name} remain after taking validation and test samples.");
            pool = Take(source, pool, trainCount, Stream(options.Seed, 4)).Taken;
        }
        return new DataSplits(source.Subset(pool, baseName + "/train"), source.Subset(validationIndices, baseName + "/validation"), test);
    }

    private static int Resolve(SplitSize size, int total, string name, string what)
    {
        int n = size.Resolve(total);
        if (n > total)
            throw new ArgumentOutOfRangeException(nameof(size), $"Asked for {n} {what} samples but {name} has only {total}.");
        return n;
    }

    private static int[] AllIndices(LabeledDataset data) => Enumerable.Range(0, data.Count).ToArray();

    /// <summary>
    /// Splits <paramref name="candidates"/> (indices into <paramref name="data"/>) into a stratified sample of
    /// <paramref name="count"/> and the remainder, both in seeded random order.
    /// </summary>
    private static (int[] Taken, int[] Remainder) Take(LabeledDataset data, int[] candidates, int count, int seed)
    {
        var rng = new Random(seed);
        var byClass = new List<int>[data.NumClasses];
        for (int k = 0; k < byClass.Length; k++) byClass[k] = [];
        foreach (int i in candidates) byClass[data.Labels[i]].Add(i);
        var quota = Allocate(byClass.Select(c => c.Count).ToArray(), count);
        var taken = new List<int>(count);
        var remainder = new List<int>(candidates.Length - count);
        for (int k = 0; k < byClass.Length; k++)
        {
            var members = byClass[k].ToArray();
            rng.Shuffle(members);
            taken.AddRange(members.AsSpan(0, quota[k]));
            remainder.AddRange(members.AsSpan(quota[k]));
        }
        var takenOrder = taken.ToArray();
        var remainderOrder = remainder.ToArray();
        rng.Shuffle(takenOrder);
        rng.Shuffle(remainderOrder);
        return (takenOrder, remainderOrder);
    }

    /// <summary>An independent seed for each step of a split (SplitMix64 finaliser over seed and step), stable across runs and platforms.</summary>
    private static int Stream(int seed, int step)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)step) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }
}
