using System.CommandLine;
using NasSharp.Spaces;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas space sample|count</c>.</summary>
public static class SpaceCommand
{
    public static Command Create(CliConsole console)
    {
        var space = new Command("space", "Inspect a search space: sample or count its genotypes.");
        var sample = new Command("sample", "Print K sampled genotypes in canonical form, one per line.");
        var n = new Option<int>("--n") { Description = "How many genotypes.", DefaultValueFactory = _ => 10 };
        var seed = SpaceOptions.NewSeed();
        var distinct = new Option<bool>("--distinct") { Description = "No repeats." };
        var sampleSpace = new SpaceOptions(sample);
        sample.Options.Add(n);
        sample.Options.Add(seed);
        sample.Options.Add(distinct);
        sample.SetAction(pr =>
        {
            var s = sampleSpace.Resolve(pr);
            int k = pr.GetValue(n);
            if (k < 0) throw new UsageException("--n must be non-negative.");
            if (pr.GetValue(distinct) && s.Count < k) throw new UsageException($"The space has only {s.Count} genotypes; --distinct cannot give {k}.");
            var rng = Seeds.Rng(pr.GetValue(seed), "space-sample");
            var seen = new HashSet<string>();
            var list = new List<string>();
            while (list.Count < k)
            {
                var g = s.Sample(rng).Canonical;
                if (!pr.GetValue(distinct) || seen.Add(g)) list.Add(g);
            }
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(new { space = s.SpaceName, count = s.Count.ToString(), seed = pr.GetValue(seed), genotypes = list });
            else foreach (var g in list) console.Out.WriteLine(g);
            return 0;
        });

        var count = new Command("count", "Describe the space and count its genotypes.");
        var countSpace = new SpaceOptions(count);
        count.SetAction(pr =>
        {
            var s = countSpace.Resolve(pr);
            if (pr.GetValue(GlobalOptions.Json)) console.WriteJson(new { space = s.SpaceName, count = s.Count.ToString(), description = s.Describe() });
            else console.Out.WriteLine(s.Describe());
            return 0;
        });
        space.Subcommands.Add(sample);
        space.Subcommands.Add(count);
        return space;
    }
}

/// <summary>The options that define a search space, one instance per command that takes one.</summary>
public sealed class SpaceOptions
{
    public SpaceOptions(Command cmd)
    {
        foreach (var o in new Option[] { Space, Depth, Width, Activations, NoSkips, Unique }) cmd.Options.Add(o);
    }

    public Option<string> Space { get; } = new("--space") { Description = "Search space: mlp, nb201, darts.", DefaultValueFactory = _ => "mlp" };
    public Option<int> Depth { get; } = new("--depth") { Description = "mlp: number of hidden layers L.", DefaultValueFactory = _ => 3 };
    public Option<int> Width { get; } = new("--width") { Description = "mlp: hidden width m.", DefaultValueFactory = _ => 256 };
    public Option<string?> Activations { get; } = new("--activations") { Description = "mlp: comma-separated activation choices (default: relu,leaky_relu,tanh,sigmoid,swish,gelu,elu,identity)." };
    public Option<bool> NoSkips { get; } = new("--no-skips") { Description = "mlp: plain fully connected networks only." };
    public Option<string?> Unique { get; } = new("--unique") { Description = "nb201: one cell per equivalence class, nas-bench-201 (the benchmark's isomorphism, 6,466 classes) or computational (5,545)." };

    public static Option<long> NewSeed() => new("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => 0 };

    public ISearchSpace Resolve(ParseResult pr)
    {
        var name = pr.GetValue(Space);
        switch (name)
        {
            case MlpSpace.Name:
                List<Activation>? choices = null;
                if (pr.GetValue(Activations) is { } list)
                {
                    choices = [];
                    foreach (var token in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        choices.Add(NasSharp.Spaces.Activations.TryParse(token, out var a) ? a
                            : throw new UsageException($"--activations: unknown activation '{token}'; known: {NasSharp.Spaces.Activations.KnownTokens}."));
                }
                try { return new MlpSpace(pr.GetValue(Depth), pr.GetValue(Width), choices, allowSkips: !pr.GetValue(NoSkips)); }
                catch (ArgumentException e) { throw new UsageException(e.Message); }
            case Nb201Space.Name:
                return new Nb201Space(pr.GetValue(Unique) switch
                {
                    null => null,
                    "nas-bench-201" => Nb201Equivalence.NasBench201,
                    "computational" => Nb201Equivalence.Computational,
                    var u => throw new UsageException($"--unique {u}: expected nas-bench-201 or computational."),
                });
            case DartsSpace.Name:
                return new DartsSpace();
            default:
                throw new UsageException($"Unknown space '{name}'; known spaces: mlp, nb201, darts.");
        }
    }

    /// <summary>Parses --arch; for mlp the depth and width come from the string itself; nb201 strings are NAS-Bench-201 cells; darts strings are canonical or DARTS' Genotype(...) repr.</summary>
    public IGenotype ParseArch(ParseResult pr, string arch)
    {
        var name = pr.GetValue(Space);
        return name switch
        {
            MlpSpace.Name => MlpGenotype.Parse(arch),
            Nb201Space.Name => Nb201Genotype.Parse(arch),
            DartsSpace.Name => DartsGenotype.Parse(arch),
            _ => throw new UsageException($"Unknown space '{name}'; known spaces: mlp, nb201, darts."),
        };
    }
}
