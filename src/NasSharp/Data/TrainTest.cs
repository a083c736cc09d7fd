namespace NasSharp.Data;

/// <summary>
/// A dataset as distributed: its official training set and, when the source defines one, its official
/// test set. The scikit-learn tables have no official split, so their <see cref="Test"/> is null and
/// <see cref="Splits.Make"/> carves a test set out of <see cref="Train"/>.
/// </summary>
public sealed record TrainTest(LabeledDataset Train, LabeledDataset? Test);
