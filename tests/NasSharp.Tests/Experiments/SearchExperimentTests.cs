using NasSharp.Data;
using NasSharp.Experiments;
using NasSharp.Search;
using NasSharp.Spaces;
using Xunit;

namespace NasSharp.Tests.Experiments;

public class SearchExperimentTests
{
    /// <summary>A strategy that selects a planted architecture.</summary>
    private sealed class Planted(string arch) : SearchStrategy<string>("planted", arch)
    {
        public override SearchOutcome Run(SearchContext context) => new(Name, Options);
    }

    private static SearchOutput Search(string arch)
    {
        var data = new LabeledDataset("noise", new float[4 * 3 * 8 * 8], [0, 1, 2, 3], [3, 8, 8], ["a", "b", "c", "d"]);
        var experiment = new SearchExperiment(new Nb201Space(), new ExperimentData(new DataSpec { Dataset = "cifar10" }, new DataSplits(data, data, data)), new Planted(arch), 1);
        return experiment.Run(new ExperimentContext());
    }

    [Fact]
    public void TheOutputSaysWhenTheSelectedCellIsDegenerate()
    {
        const string pooling = "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|skip_connect~2|";
        Assert.Equal(((IGenotype)Nb201Genotype.Parse(pooling)).Degeneracy, Search(pooling).Degeneracy);
        Assert.NotNull(Search(pooling).Degeneracy);
        Assert.Null(Search("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|").Degeneracy);
    }
}
