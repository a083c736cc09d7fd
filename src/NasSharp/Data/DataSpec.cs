namespace NasSharp.Data;

/// <summary>What a batch's inputs are: the dataset's samples, or standard-normal tensors of the same shape (data-agnostic).</summary>
public enum InputKind { Real, Gaussian }

/// <summary>What a batch's labels are: the dataset's, or uniformly random classes (label-agnostic).</summary>
public enum LabelKind { True, Random }

/// <summary>
/// The data an experiment uses, every option that changes its results: the dataset, its seeded split sizes, and what the
/// scoring batches hold. It is part of every experiment's configuration, so it is part of the key a run resumes by.
/// </summary>
public sealed record DataSpec
{
    public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>Training samples kept (count or fraction, as <see cref="SplitSize.Parse"/> reads it); null keeps all.</summary>
    public string? TrainSize { get; init; }
    /// <summary>Validation samples held out of the official training set; null for <see cref="SplitOptions.DefaultValidationSize"/>.</summary>
    public string? ValidationSize { get; init; }
    /// <summary>A subset of the official test set (or the share carved out when there is none); null for the default.</summary>
    public string? TestSize { get; init; }
    public InputKind Inputs { get; init; } = InputKind.Real;
    public LabelKind Labels { get; init; } = LabelKind.True;

    /// <summary>Whether scoring batches read the dataset (real inputs or true labels); training always does.</summary>
    public bool BatchesNeedDataset => Inputs == InputKind.Real || Labels == LabelKind.True;

    /// <summary>The catalog entry of <see cref="Dataset"/>; an unknown name is a <see cref="SettingException"/>.</summary>
    public DatasetEntry Entry()
    {
        try { return DatasetCatalog.Get(Dataset); }
        catch (ArgumentException e) { throw new SettingException($"--dataset {Dataset}: {e.Message.Split(" (Parameter")[0]}."); }
    }

    /// <summary>Checks the dataset name and the split sizes before anything is loaded.</summary>
    public void Validate()
    {
        Entry();
        Size(TrainSize, "train-size");
        Size(ValidationSize, "val-size");
        Size(TestSize, "test-size");
    }

    /// <summary>The split options for the seed of the split.</summary>
    public SplitOptions SplitOptions(int seed) => new(seed)
    {
        TrainSize = Size(TrainSize, "train-size"),
        ValidationSize = Size(ValidationSize, "val-size"),
        TestSize = Size(TestSize, "test-size"),
    };

    private static SplitSize? Size(string? text, string option)
    {
        if (text is null) return null;
        try { return SplitSize.Parse(text); }
        catch (FormatException e) { throw new SettingException($"--{option} {text}: {e.Message}"); }
    }
}
