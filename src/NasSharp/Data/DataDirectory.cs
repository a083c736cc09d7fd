namespace NasSharp.Data;

/// <summary>How <see cref="DataDirectory.Resolve(string?)"/> found the data root.</summary>
public enum DataDirectorySource
{
    /// <summary>Given explicitly (the <c>--data-dir</c> option).</summary>
    Explicit,
    /// <summary>From the <c>NASSHARP_DATA</c> environment variable.</summary>
    EnvironmentVariable,
    /// <summary>A <c>shared/data</c> folder beside an ancestor of the working or application directory.</summary>
    AncestorSearch,
}

/// <summary>The resolved data root, how it was found, and a sentence saying so (for <c>nas doctor</c>).</summary>
public sealed record DataDirectoryResolution(string Path, DataDirectorySource Source, string Description);

/// <summary>
/// Locates the data root (the folder holding <c>mnist/</c>, <c>cifar10/</c>, <c>sklearn/</c>, …): an explicit
/// value first, then <c>NASSHARP_DATA</c>, then a <c>shared/data</c> folder found by walking up from the
/// working directory and from the application directory. The last rule finds the development layout
/// (repository at /work/main or /work/wt/x, data at /work/shared/data) and a CI clone with shared/ beside it.
/// </summary>
public static class DataDirectory
{
    public const string EnvironmentVariable = "NASSHARP_DATA";
    public const string SharedDataFolder = "shared/data";

    public static DataDirectoryResolution Resolve(string? explicitDir) =>
        Resolve(explicitDir, Environment.GetEnvironmentVariable(EnvironmentVariable),
            [Directory.GetCurrentDirectory(), AppContext.BaseDirectory]);

    /// <summary>The resolution rules with the environment value and search starting points passed in (for tests and tools).</summary>
    public static DataDirectoryResolution Resolve(string? explicitDir, string? environmentValue, IEnumerable<string> searchStarts)
    {
        ArgumentNullException.ThrowIfNull(searchStarts);
        if (!string.IsNullOrWhiteSpace(explicitDir))
            return Existing(explicitDir, DataDirectorySource.Explicit, "--data-dir");
        if (!string.IsNullOrWhiteSpace(environmentValue))
            return Existing(environmentValue, DataDirectorySource.EnvironmentVariable, $"environment variable {EnvironmentVariable}");

        var starts = searchStarts.Where(s => !string.IsNullOrWhiteSpace(s)).Select(Path.GetFullPath).ToList();
        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data");
                if (Directory.Exists(candidate))
                    return new DataDirectoryResolution(candidate, DataDirectorySource.AncestorSearch,
                        $"found by walking up from {start}");
            }
        }
        throw new DataNotFoundException(
            $"no data directory: pass --data-dir <path>, or set the environment variable {EnvironmentVariable}, " +
            $"or place the data in a {SharedDataFolder} folder beside the repository (searched upwards from {string.Join(" and ", starts)})");
    }

    private static DataDirectoryResolution Existing(string path, DataDirectorySource source, string origin)
    {
        var full = Path.GetFullPath(path);
        if (!Directory.Exists(full))
            throw new DataNotFoundException($"missing directory {full}: the data directory given by {origin} does not exist");
        return new DataDirectoryResolution(full, source, $"from {origin}");
    }
}
