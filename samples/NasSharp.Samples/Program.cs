using NasSharp.Samples;

// Runs the README's cookbook on small data (2,000 CIFAR-10 training images, ten candidate cells) and prints what each
// step gave. Datasets are found as the CLI finds them: $NASSHARP_DATA, else a shared/data folder above this directory.
var result = Cookbook.Run();
try
{
    Console.WriteLine($"cell {result.Cell}: {result.Cost.Parameters} parameters counted, {result.BuiltParameters} in the built network");
    Console.WriteLine($"proxy search picked {result.Outcome.Arch} of {result.Outcome.Ranked.Count} candidates");
    var accuracy = result.Output.TableTestAccuracyPercent is { } table ? string.Join(", ", table.Select(kv => $"{kv.Key} {kv.Value:F2}%")) : "no table";
    Console.WriteLine($"stored run picked {result.Output.Arch}; NAS-Bench-201 test accuracy: {accuracy}");
    // The stored run repeats the in-memory search (same seed), so they must agree.
    if (result.Output.Arch != result.Outcome.Arch) throw new InvalidOperationException("the stored run and the in-memory search disagree");
}
finally
{
    Cookbook.DeleteStore(result.StorePath);
}
