using NasSharp.Experiments;
using NasSharp.Proxies;
using Xunit;

namespace NasSharp.Tests.Experiments;

public class CorrelationAggregateTests
{
    private static ProxyEvaluationRecord Record(int index, string target, double a, double b) => new(index, $"arch{index}", target, 90,
        new Dictionary<string, double> { ["a"] = a, ["b"] = b }, new Dictionary<string, string>(), new Dictionary<string, double>(),
        new Dictionary<string, double>(), 1);

    [Fact]
    public void AnAggregateRanksEachTargetsArchitecturesAmongThemselves()
    {
        var aggregate = new ProxyAggregate("ab", ["a", "b"]);
        // Target x: two architectures, the second better on both (ranks 2, 2 against 1, 1); target y: three, with the
        // third of y equal to the second of x yet ranked among y's own: a ranks 1, 3, 2 and b ranks 3, 1, 2.
        var records = new[]
        {
            Record(0, "x", 1, 1), Record(1, "x", 2, 2),
            Record(0, "y", 1, 3), Record(1, "y", 5, 1), Record(2, "y", 2, 2),
        };
        var scored = CorrelationExperiment.WithAggregates(records, [aggregate]);
        double Score(int index, string target) => scored.Single(r => r.Index == index && r.Target == target).Scores["ab"];
        Assert.Equal(2 * Math.Log(1 / 2.0), Score(0, "x"), 12);
        Assert.Equal(0, Score(1, "x"), 12);
        Assert.Equal(Math.Log(1 / 3.0) + Math.Log(3 / 3.0), Score(0, "y"), 12);
        Assert.Equal(Math.Log(3 / 3.0) + Math.Log(1 / 3.0), Score(1, "y"), 12);
        Assert.Equal(2 * Math.Log(2 / 3.0), Score(2, "y"), 12);
        Assert.All(scored, r => Assert.Equal(3, r.Scores.Count));
    }
}
