using System.Collections.Concurrent;
using System.Formats.Tar;
using StbImageSharp;

namespace NasSharp.Data;

/// <summary>The result of loading an image-folder tarball: the data and what the cache did.</summary>
public sealed record ImageTarballLoad(TrainTest Data, CacheOutcome Cache, string CacheFile, string? CacheProblem);

/// <summary>
/// Loads a (gzipped) tar of images laid out as <c>&lt;root&gt;/{train,test}/&lt;class&gt;/&lt;file&gt;</c>, the
/// layout of the CIFAR-10 JPEG tarball. Class names are the class folder names sorted ordinally; samples
/// are sorted by entry path, so they come grouped by class (shuffle before taking a leading batch).
/// Images are decoded with StbImageSharp (JPEG, PNG, BMP, … recognised from the content) and must all
/// have the expected size. Decoding is slow, so the result is cached under <see cref="DataCache"/>.
/// </summary>
public static class ImageFolderTarball
{
    private const int ProgressStep = 1000;

    /// <param name="expected">Counts the data must have, checked on a cache hit and before a decode is cached: a decode of an
    /// incomplete archive is never cached, and a cache of one (written by an earlier build) is never served.</param>
    public static ImageTarballLoad Load(string tarPath, string name, int channels, int height, int width,
        string? cacheDirectory = null, IProgress<(int done, int total)>? progress = null, CanonicalCounts? expected = null)
    {
        ArgumentNullException.ThrowIfNull(tarPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Images are decoded as grey (1) or RGB (3).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (!File.Exists(tarPath))
            throw new DataNotFoundException($"missing file {tarPath}: expected a tar(.gz) of {name} images <root>/{{train,test}}/<class>/<image>; set --data-dir or {DataDirectory.EnvironmentVariable}");

        var key = DataFiles.Guard(tarPath, () => ImageSetCache.SourceKey(tarPath));
        var cacheFile = Path.Combine(DataCache.ResolveDirectory(cacheDirectory), $"{name}-{channels}x{height}x{width}-{key}.bin");
        bool cacheExisted = File.Exists(cacheFile);
        var cached = cacheExisted ? ImageSetCache.TryRead(cacheFile, key) : null;
        if (cached is not null && cached.Channels == channels && cached.Height == height && cached.Width == width)
        {
            expected?.Check($"{tarPath} (cached in {cacheFile})", cached.ClassNames, Labels(cached.Train), Labels(cached.Test));
            return new ImageTarballLoad(cached.ToTrainTest(name), CacheOutcome.Hit, cacheFile, null);
        }

        var decoded = Decode(tarPath, channels, height, width, progress);
        expected?.Check(tarPath, decoded.ClassNames, Labels(decoded.Train), Labels(decoded.Test));
        var outcome = cacheExisted ? CacheOutcome.Rebuilt : CacheOutcome.Created;
        string? problem = null;
        try
        {
            ImageSetCache.Write(cacheFile, key, decoded);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            outcome = CacheOutcome.WriteFailed;
            problem = $"could not write cache {cacheFile}: {ex.Message}";
        }
        return new ImageTarballLoad(decoded.ToTrainTest(name), outcome, cacheFile, problem);
    }

    private static int[] Labels(ByteImageSet set) => Array.ConvertAll(set.Labels, b => (int)b);

    private sealed record Entry(string Path, string Split, string ClassName, byte[] Bytes);

    private static ByteImageData Decode(string tarPath, int channels, int height, int width, IProgress<(int done, int total)>? progress)
    {
        var (entries, total) = DataFiles.Guard(tarPath, () => ReadEntries(tarPath));
        var train = entries.Where(e => e.Split == "train").OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
        var test = entries.Where(e => e.Split == "test").OrderBy(e => e.Path, StringComparer.Ordinal).ToArray();
        if (train.Length == 0 || test.Length == 0)
            throw new DataFormatException(
                $"{tarPath}: expected image entries <root>/train/<class>/<image> and <root>/test/<class>/<image>, found {train.Length} train and {test.Length} test among {total} entries");
        var classNames = train.Select(e => e.ClassName).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (classNames.Length > 256)
            throw new DataFormatException($"{tarPath}: {classNames.Length} class folders; at most 256 are supported");
        var extra = test.Select(e => e.ClassName).Distinct().Except(classNames).Order(StringComparer.Ordinal).ToArray();
        if (extra.Length > 0)
            throw new DataFormatException($"{tarPath}: test classes {string.Join(", ", extra)} have no train folder; expected the same class folders in train/ and test/");

        var labelOf = classNames.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (byte)p.i, StringComparer.Ordinal);
        var all = train.Concat(test).ToArray();
        int sampleSize = channels * height * width;
        var trainPixels = new byte[(long)train.Length * sampleSize];
        var testPixels = new byte[(long)test.Length * sampleSize];
        var failures = new ConcurrentBag<(int Index, DataFormatException Error)>();
        int done = 0;
        progress?.Report((0, all.Length));
        Parallel.For(0, all.Length, (i, state) =>
        {
            var (target, j) = i < train.Length ? (trainPixels, i) : (testPixels, i - train.Length);
            var error = DecodeInto(tarPath, all[i], channels, height, width, target.AsSpan(j * sampleSize, sampleSize));
            if (error is not null)
            {
                failures.Add((i, error));
                state.Stop();
                return;
            }
            int n = Interlocked.Increment(ref done);
            if (progress is not null && (n % ProgressStep == 0 || n == all.Length)) progress.Report((n, all.Length));
        });
        // Report the first failing entry in path order, whichever thread found it first.
        if (!failures.IsEmpty) throw failures.MinBy(f => f.Index).Error;

        return new ByteImageData(channels, height, width, classNames,
            new ByteImageSet(trainPixels, train.Select(e => labelOf[e.ClassName]).ToArray()),
            new ByteImageSet(testPixels, test.Select(e => labelOf[e.ClassName]).ToArray()));
    }

    private static (List<Entry> Entries, int Total) ReadEntries(string tarPath)
    {
        var entries = new List<Entry>();
        int total = 0;
        using var reader = DataFiles.OpenTar(tarPath);
        for (TarEntry? e; (e = reader.GetNextEntry()) is not null;)
        {
            total++;
            if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
            var parts = e.Name.Split('/', StringSplitOptions.RemoveEmptyEntries);
            // Hidden files ("._x.jpg" AppleDouble forks and the like) are archive debris, not samples.
            if (parts.Length < 3 || parts[^3] is not ("train" or "test") || parts[^1].StartsWith('.')) continue;
            var bytes = new byte[e.Length];
            e.DataStream?.ReadExactly(bytes);
            entries.Add(new Entry(e.Name, parts[^3], parts[^2], bytes));
        }
        return (entries, total);
    }

    /// <summary>Decodes one image into <paramref name="destination"/> as CHW; returns the error instead of throwing (it runs inside Parallel.For).</summary>
    private static DataFormatException? DecodeInto(string tarPath, Entry entry, int channels, int height, int width, Span<byte> destination)
    {
        ImageResult image;
        try
        {
            image = ImageResult.FromMemory(entry.Bytes, channels == 1 ? ColorComponents.Grey : ColorComponents.RedGreenBlue);
        }
        // stb reports bad data as InvalidOperationException, but a C port fed arbitrary bytes may fail in
        // other ways too; any of them means this entry is not a decodable image.
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return new DataFormatException($"{tarPath}: entry {entry.Path}: cannot decode image ({entry.Bytes.Length} bytes): {ex.Message}", ex);
        }
        if (image.Width != width || image.Height != height)
            return new DataFormatException($"{tarPath}: entry {entry.Path}: expected a {width}x{height} image, found {image.Width}x{image.Height}");
        // stb returns interleaved HWC; the dataset contract is planar CHW.
        var src = image.Data;
        int plane = height * width;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < channels; c++)
                destination[c * plane + p] = src[p * channels + c];
        return null;
    }
}
