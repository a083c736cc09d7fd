using System.Numerics;

namespace NasSharp.Spaces;

/// <summary>An architecture as an immutable value with one canonical string that parses back exactly.</summary>
public interface IGenotype
{
    string Space { get; }
    string Canonical { get; }
}

/// <summary>A malformed architecture string; the message names the problem and shows the expected form.</summary>
public sealed class GenotypeFormatException(string message) : FormatException(message);

/// <summary>A search space: sample (seeded), enumerate when finite and small, mutate, count, parse.</summary>
public interface ISearchSpace
{
    string SpaceName { get; }
    BigInteger Count { get; }
    IGenotype Parse(string text);
    IGenotype Sample(Random rng);
    IGenotype Mutate(IGenotype genotype, Random rng);
    /// <summary>Every genotype, in a fixed order. Throws when <see cref="Count"/> is too large to list.</summary>
    IEnumerable<IGenotype> Enumerate();
    /// <summary>A short description of the space's options, for reports and <c>nas space</c>.</summary>
    string Describe();
}
