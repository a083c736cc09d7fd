namespace NasSharp.Spaces;

/// <summary>An architecture as an immutable value with one canonical string that parses back exactly.</summary>
public interface IGenotype
{
    string Space { get; }
    string Canonical { get; }
}

/// <summary>A malformed architecture string; the message names the problem and shows the expected form.</summary>
public sealed class GenotypeFormatException(string message) : FormatException(message);
