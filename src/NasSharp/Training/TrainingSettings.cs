namespace NasSharp.Training;

/// <summary>The settings of <see cref="TrainingOptions"/>, described as data for any front end.</summary>
public static class TrainingSettings
{
    public static IReadOnlyList<SettingSpec> Specs(int defaultEpochs) =>
    [
        new("epochs", "training epochs", defaultEpochs.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("batch-size", "training minibatch size", "128"),
        new("lr", "peak learning rate (cosine schedule to zero)", "0.05"),
        new("momentum", "SGD momentum", "0.9"),
        new("weight-decay", "L2 weight decay", "0.0005"),
    ];

    /// <summary>The options the settings give, checked.</summary>
    public static TrainingOptions Read(Settings settings, int defaultEpochs, TrainingOptions? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var d = defaults ?? new TrainingOptions();
        var options = new TrainingOptions
        {
            Epochs = settings.Int("epochs", defaultEpochs, min: 1),
            BatchSize = settings.Int("batch-size", d.BatchSize, min: 1),
            LearningRate = settings.Double("lr", d.LearningRate),
            Momentum = settings.Double("momentum", d.Momentum),
            WeightDecay = settings.Double("weight-decay", d.WeightDecay),
            EvalBatchSize = d.EvalBatchSize,
        };
        try { options.Validate(); }
        catch (ArgumentOutOfRangeException e)
        {
            string name = e.ParamName switch
            {
                nameof(TrainingOptions.LearningRate) => "lr",
                nameof(TrainingOptions.BatchSize) => "batch-size",
                nameof(TrainingOptions.WeightDecay) => "weight-decay",
                var other => other?.ToLowerInvariant() ?? "option",
            };
            throw new SettingException($"--{name} {settings.Text(name)}: {e.Message.Split(" (Parameter")[0]}");
        }
        return options;
    }
}
