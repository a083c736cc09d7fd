using System.CommandLine;
using System.Numerics;
using NasSharp.Spaces;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas space sample|count</c>.</summary>
public static class SpaceCommand
{
    public sealed record SampleOutput(string Space, BigInteger Count, long Seed, IReadOnlyList<string> Genotypes);

    public sealed record CountOutput(string Space, BigInteger Count, string Description, IReadOnlyDictionary<string, string> Settings);

    public static Command Create(CliConsole console, Registries registries)
    {
        var space = new Command("space", "Inspect a search space: sample or count its genotypes.");
        var sample = new Command("sample", "Print K sampled genotypes in canonical form, one per line.");
        var n = new Option<int>("--n") { Description = "How many genotypes.", DefaultValueFactory = _ => 10 };
        var seed = ExperimentCli.NewSeed();
        var distinct = new Option<bool>("--distinct") { Description = "No repeats." };
        var sampleSpace = new SpaceCliOptions(sample, registries.Spaces);
        foreach (var o in new Option[] { n, seed, distinct }) sample.Options.Add(o);
        sample.SetAction(pr =>
        {
            var s = sampleSpace.Resolve(pr);
            int k = pr.GetValue(n);
            if (k < 0) throw new UsageException("--n must be non-negative.");
            var rng = Seeds.Rng(pr.GetValue(seed), "space-sample");
            IReadOnlyList<string> list = pr.GetValue(distinct)
                ? [.. s.SampleDistinct(k, rng).Select(g => g.Canonical)]
                : [.. Enumerable.Range(0, k).Select(_ => s.Sample(rng).Canonical)];
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(new SampleOutput(s.SpaceName, s.Count, pr.GetValue(seed), list));
            else foreach (var g in list) console.Out.WriteLine(g);
            return 0;
        });

        var count = new Command("count", "Describe the space and count its genotypes.");
        var countSpace = new SpaceCliOptions(count, registries.Spaces);
        count.SetAction(pr =>
        {
            var s = countSpace.Resolve(pr);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(new CountOutput(s.SpaceName, s.Count, s.Describe(), s.Settings));
            else console.Out.WriteLine(s.Describe());
            return 0;
        });
        space.Subcommands.Add(sample);
        space.Subcommands.Add(count);
        return space;
    }
}
