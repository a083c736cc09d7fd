namespace NasSharp.Data;

/// <summary>What a data directory holds of a dataset.</summary>
public enum DatasetState
{
    /// <summary>Every file of one form is there and its SHA-256 verified (or, without hashing, its size matched).</summary>
    Present,
    /// <summary>A file is there but its SHA-256 or size differs, or its gzip data is damaged.</summary>
    Corrupt,
    /// <summary>Only an unfinished download (<c>.part</c>) is there: <c>nas data get</c> resumes it.</summary>
    Partial,
    /// <summary>No file of any form is there.</summary>
    Missing,
}

/// <summary>What a data directory holds of one catalogued file.</summary>
public enum FileState
{
    /// <summary>There, and its SHA-256 verified.</summary>
    Verified,
    /// <summary>There, not hashed (a quick check); its size matched where the catalogue has one and the file must be the reference copy.</summary>
    SizeMatches,
    /// <summary>There but not the reference copy, and checked by loading it (see <see cref="DatasetSource.AcceptOther"/>).</summary>
    Accepted,
    Corrupt,
    /// <summary>Only <c>.part</c>, an unfinished download.</summary>
    Partial,
    Missing,
}

/// <summary>One file's check: where it was found, its size, the SHA-256 found against the expected one.</summary>
public sealed record FileCheck(string Path, FileState State, long? SizeBytes, string ExpectedSha256, string? Sha256, string? Problem);

/// <summary>One dataset's check: its state, the form found (or null), the size on disk, every file's check.</summary>
public sealed record DatasetCheck(string Dataset, string Description, DatasetState State, string? Form, long SizeBytes, bool Hashed,
    string? Note, IReadOnlyList<FileCheck> Files);

/// <summary>
/// Checks which catalogued datasets a data directory holds. A file is looked for at its catalogue path (and, for a file
/// whose content is hashed, also without <c>.gz</c>); a dataset is present when every file of one of its forms verifies.
/// </summary>
public static class DataInventory
{
    /// <param name="hash">False: only presence and sizes (fast, for <c>nas doctor</c>); true: SHA-256 of every file found.</param>
    public static IReadOnlyList<DatasetCheck> Check(string dataDirectory, IEnumerable<DatasetSource> datasets, bool hash, FileDigests? digests = null,
        IProgress<TransferProgress>? progress = null, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(dataDirectory);
        ArgumentNullException.ThrowIfNull(datasets);
        digests ??= new FileDigests(null);
        var result = datasets.Select(d => Check(dataDirectory, d, hash, digests, progress, useCache)).ToList();
        digests.Save();
        return result;
    }

    public static DatasetCheck Check(string dataDirectory, DatasetSource dataset, bool hash, FileDigests digests,
        IProgress<TransferProgress>? progress = null, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(digests);
        var forms = dataset.Forms.Select(f => (Form: f, Files: f.Files.Select(file => CheckFile(dataDirectory, file, dataset, hash, digests, progress, useCache)).ToList())).ToList();
        var complete = forms.FirstOrDefault(f => f.Files.All(c => c.State is FileState.Verified or FileState.SizeMatches or FileState.Accepted));
        if (complete.Form is not null)
            return new DatasetCheck(dataset.Name, dataset.Description, DatasetState.Present, complete.Form.Name, complete.Files.Sum(c => c.SizeBytes ?? 0), hash,
                complete.Files.FirstOrDefault(c => c.State == FileState.Accepted)?.Problem, complete.Files);
        // Not present: report the files of the form closest to complete, the first form on a tie.
        var closest = forms.OrderByDescending(f => f.Files.Count(c => c.State is not (FileState.Missing or FileState.Partial))).First();
        var all = forms.SelectMany(f => f.Files).ToList();
        var state = all.Any(c => c.State == FileState.Corrupt) ? DatasetState.Corrupt
            : all.Any(c => c.State == FileState.Partial) ? DatasetState.Partial : DatasetState.Missing;
        var shown = state == DatasetState.Corrupt ? forms.First(f => f.Files.Any(c => c.State == FileState.Corrupt)) : closest;
        return new DatasetCheck(dataset.Name, dataset.Description, state, null, shown.Files.Sum(c => c.SizeBytes ?? 0), hash,
            shown.Files.FirstOrDefault(c => c.Problem is not null)?.Problem, shown.Files);
    }

    /// <summary>The place a catalogued file is found: its path, else (content-hashed files) the path without <c>.gz</c>; null when neither exists.</summary>
    public static string? Locate(string dataDirectory, SourceFile file)
    {
        var path = FullPath(dataDirectory, file);
        if (File.Exists(path)) return path;
        if (file.Gunzip && path.EndsWith(".gz", StringComparison.Ordinal) && File.Exists(path[..^3])) return path[..^3];
        return null;
    }

    /// <summary>Where <c>nas data get</c> writes the file.</summary>
    public static string FullPath(string dataDirectory, SourceFile file) =>
        Path.GetFullPath(Path.Combine(dataDirectory, file.Path.Replace('/', Path.DirectorySeparatorChar)));

    private static FileCheck CheckFile(string dataDirectory, SourceFile file, DatasetSource dataset, bool hash, FileDigests digests,
        IProgress<TransferProgress>? progress, bool useCache)
    {
        var path = Locate(dataDirectory, file);
        if (path is null)
        {
            var part = FullPath(dataDirectory, file) + DatasetDownloader.PartSuffix;
            return File.Exists(part)
                ? new FileCheck(file.Path, FileState.Partial, new FileInfo(part).Length, file.Sha256, null, $"{part}: an unfinished download; nas data get resumes it")
                : new FileCheck(file.Path, FileState.Missing, null, file.Sha256, null, null);
        }
        long length = new FileInfo(path).Length;
        bool exact = path == FullPath(dataDirectory, file); // not the uncompressed alternative
        if (exact && file.Size is { } size && size != length && dataset.AcceptOther is null)
            return new FileCheck(path, FileState.Corrupt, length, file.Sha256, null, $"{path}: {length:N0} bytes, expected {size:N0}; re-download it with nas data get");
        if (!hash) return new FileCheck(path, FileState.SizeMatches, length, file.Sha256, null, null);
        string sha;
        try { sha = digests.Sha256(path, file.Gunzip, progress, useCache); }
        catch (DataFormatException e) { return new FileCheck(path, FileState.Corrupt, length, file.Sha256, null, e.Message); }
        if (sha == file.Sha256) return new FileCheck(path, FileState.Verified, length, file.Sha256, sha, null);
        if (dataset.AcceptOther is { } accept)
        {
            try { return new FileCheck(path, FileState.Accepted, length, file.Sha256, sha, accept(path)); }
            catch (DataFormatException e) { return new FileCheck(path, FileState.Corrupt, length, file.Sha256, sha, e.Message); }
        }
        return new FileCheck(path, FileState.Corrupt, length, file.Sha256, sha,
            $"{path}: SHA-256 {sha}, expected {file.Sha256}{(file.Gunzip ? " (of the gunzipped content)" : "")}; re-download it with nas data get");
    }
}
