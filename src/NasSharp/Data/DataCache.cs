namespace NasSharp.Data;

/// <summary>
/// Where decoded datasets are cached: an explicit directory, else <c>NASSHARP_CACHE</c>, else
/// <c>$XDG_CACHE_HOME/nassharp</c>, else <c>~/.cache/nassharp</c>. Caches are derived data: deleting the
/// folder is always safe and only costs a re-decode.
/// </summary>
public static class DataCache
{
    public const string EnvironmentVariable = "NASSHARP_CACHE";

    public static string ResolveDirectory(string? explicitDir)
    {
        if (!string.IsNullOrWhiteSpace(explicitDir)) return Path.GetFullPath(explicitDir);
        var fromEnv = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv)) return Path.GetFullPath(fromEnv);
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg)) return Path.Combine(Path.GetFullPath(xdg), "nassharp");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home)
            ? Path.Combine(Path.GetTempPath(), "nassharp-cache")
            : Path.Combine(home, ".cache", "nassharp");
    }
}

/// <summary>What happened to the on-disk cache during a load.</summary>
public enum CacheOutcome
{
    /// <summary>A valid cache for this exact source file was read; nothing was decoded.</summary>
    Hit,
    /// <summary>No cache existed; the source was decoded and a cache written.</summary>
    Created,
    /// <summary>A cache file existed but was corrupt, truncated or of another format version; it was replaced.</summary>
    Rebuilt,
    /// <summary>The source was decoded but the cache could not be written (see the accompanying problem text).</summary>
    WriteFailed,
}
