using System.Security.Cryptography;
using System.Text.Json;

namespace NasSharp.Store;

/// <summary>
/// What a command is about to compute. <paramref name="Config"/> is serialized in NasSharp's JSON dialect
/// (<see cref="NasJson"/>). <paramref name="Key"/>, when given, is the run's deterministic identity: rerunning
/// with the same key resumes the unfinished run instead of starting over (see <see cref="DeriveKey"/>).
/// </summary>
public sealed record RunSpec(
    string Kind,
    string Command,
    object? Config = null,
    long? Seed = null,
    IReadOnlyDictionary<string, string>? Versions = null,
    string? Key = null)
{
    /// <summary>
    /// A stable key from what determines a run's results: SHA-256 of the JSON array [kind, seed, config] (compact dialect).
    /// The config must serialize deterministically (records and classes do; dictionaries keep insertion
    /// order, so build them in a fixed order). Versions are left out on purpose so that a resume survives a
    /// rebuild; fold a version into the config if results from different builds must not mix.
    /// </summary>
    public static string DeriveKey(string kind, object? config, long? seed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(new object?[] { kind, seed, config }, NasJson.Compact);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Kind)) throw new ArgumentException("A run needs a kind, e.g. \"search\" or \"score\".", nameof(Kind));
        ArgumentNullException.ThrowIfNull(Command, nameof(Command));
        if (Key is not null && string.IsNullOrWhiteSpace(Key))
            throw new ArgumentException("A run key must be null (no identity) or a non-blank string.", nameof(Key));
    }
}
