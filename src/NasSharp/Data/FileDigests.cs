using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace NasSharp.Data;

/// <summary>Bytes done of a file being hashed or downloaded; <paramref name="Total"/> is null when unknown.</summary>
public readonly record struct TransferProgress(string File, long Done, long? Total);

/// <summary>
/// SHA-256 of data files, of their bytes or of their gunzipped content, with a cache of digests already computed.
/// Hashing the datasets takes seconds (the gzip files are decompressed first), so a digest is remembered with the file's
/// full path, length and last-write time and reused while all three are unchanged. A file rewritten in place with the
/// same length within the file system's timestamp resolution would be missed; <c>nas data list --rehash</c> ignores the
/// cache. The cache lives in the decoded-data cache folder (<see cref="DataCache"/>), never in the data directory, which
/// may be read-only; it is derived data and safe to delete.
/// </summary>
public sealed class FileDigests
{
    public const string CacheFileName = "verified-digests.json";

    private readonly string? cachePath;
    private readonly Dictionary<string, CachedDigest> cache = new(StringComparer.Ordinal);
    private bool changed;

    /// <param name="cacheDirectory">Folder of the cache file; null: no cache (every file is hashed).</param>
    public FileDigests(string? cacheDirectory)
    {
        if (cacheDirectory is null) return;
        cachePath = Path.Combine(cacheDirectory, CacheFileName);
        try
        {
            if (File.Exists(cachePath))
                foreach (var entry in JsonSerializer.Deserialize<List<CachedDigest>>(File.ReadAllText(cachePath), NasJson.Compact) ?? [])
                    cache[Key(entry.Path, entry.Gunzip)] = entry;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            cache.Clear(); // An unreadable cache only costs a re-hash.
        }
    }

    /// <summary>Files hashed by this instance (not found in the cache), for tests and messages.</summary>
    public int Computed { get; private set; }

    /// <summary>The lower-case hex SHA-256 of the file, or of its gunzipped content when <paramref name="gunzip"/> and it is gzip.</summary>
    /// <exception cref="DataFormatException">The gzip data is damaged.</exception>
    /// <param name="useCache">False: hash even when a digest is remembered.</param>
    /// <param name="remember">False: do not remember the digest (a file about to be renamed or deleted).</param>
    public string Sha256(string path, bool gunzip, IProgress<TransferProgress>? progress = null, bool useCache = true, bool remember = true)
    {
        var info = new FileInfo(Path.GetFullPath(path));
        if (useCache && cache.TryGetValue(Key(info.FullName, gunzip), out var hit) && hit.Length == info.Length && hit.LastWriteUtcTicks == info.LastWriteTimeUtc.Ticks)
            return hit.Sha256;
        var digest = Compute(info, gunzip, progress);
        Computed++;
        if (remember) Remember(info.FullName, gunzip, digest);
        return digest;
    }

    /// <summary>Remembers <paramref name="sha256"/> as the digest of the file as it is now (its length and modification time).</summary>
    public void Remember(string path, bool gunzip, string sha256)
    {
        var info = new FileInfo(Path.GetFullPath(path));
        cache[Key(info.FullName, gunzip)] = new CachedDigest(info.FullName, gunzip, info.Length, info.LastWriteTimeUtc.Ticks, sha256);
        changed = true;
    }

    /// <summary>Writes the cache back (atomically: a temporary file renamed over it); a cache that cannot be written is skipped.</summary>
    public void Save()
    {
        if (cachePath is null || !changed) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cachePath)!);
            var temp = cachePath + "." + Environment.ProcessId + ".tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(cache.Values.OrderBy(c => c.Path, StringComparer.Ordinal).ToList(), NasJson.Compact));
            File.Move(temp, cachePath, overwrite: true);
            changed = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cache is an optimisation; the digests were computed and used.
        }
    }

    private static string Key(string path, bool gunzip) => (gunzip ? "gunzip:" : "file:") + path;

    private static string Compute(FileInfo info, bool gunzip, IProgress<TransferProgress>? progress)
    {
        using var file = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> head = stackalloc byte[2];
        bool isGzip = gunzip && file.Read(head) == 2 && DataFiles.HasGzipMagic(head);
        file.Position = 0;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        try
        {
            using Stream content = isGzip ? new GZipStream(file, CompressionMode.Decompress, leaveOpen: true) : file;
            long lastReport = 0;
            for (int n; (n = content.Read(buffer)) > 0;)
            {
                hash.AppendData(buffer, 0, n);
                // Progress in compressed bytes read: the total is the file's length either way.
                if (file.Position - lastReport >= 8 << 20 || file.Position == info.Length)
                {
                    lastReport = file.Position;
                    progress?.Report(new TransferProgress(Label(info), file.Position, info.Length));
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{info.FullName}: corrupt gzip data ({e.Message})", e);
        }
        progress?.Report(new TransferProgress(Label(info), info.Length, info.Length));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static string Label(FileInfo info) => $"{info.Directory?.Name}/{info.Name}";

    private sealed record CachedDigest(string Path, bool Gunzip, long Length, long LastWriteUtcTicks, string Sha256);
}
