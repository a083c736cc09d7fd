using System.Net;
using System.Net.Http.Headers;

namespace NasSharp.Data;

/// <summary>What <c>nas data get</c> did for one dataset.</summary>
public enum DownloadOutcome
{
    /// <summary>Already present and verified: nothing downloaded.</summary>
    AlreadyPresent,
    /// <summary>Downloaded, verified and put in place.</summary>
    Downloaded,
}

/// <summary>One file fetched: from where, how many bytes, in how many requests, how many of them resumed with a Range.</summary>
public sealed record FileDownload(string Path, string Url, long SizeBytes, string Sha256, int Requests, int ResumedRequests);

/// <summary>One dataset's result: what happened, the form fetched, each file.</summary>
public sealed record DatasetDownload(string Dataset, DownloadOutcome Outcome, string? Form, IReadOnlyList<FileDownload> Files);

/// <summary>A download that failed: the server answered with an error, the data was cut short or stalled too often, or the SHA-256 differs.</summary>
public sealed class DownloadException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Downloads catalogued datasets into a data directory. Each file is written to <c>NAME.part</c> beside its place, resumed
/// with an HTTP Range request when a <c>.part</c> is already there (a connection cut mid-file is resumed the same way, up to
/// <see cref="MaxAttempts"/> requests), and verified by SHA-256 before any file of the dataset is renamed into place, so a
/// failed download never leaves a dataset half-written: its files are all placed, or none. A <c>.part</c> that fails
/// verification is deleted (resuming it would only reproduce the error); one left by a cut connection or a server error is
/// kept for the next attempt.
/// </summary>
public sealed class DatasetDownloader
{
    public const string PartSuffix = ".part";
    public const int MaxAttempts = 4;

    private readonly HttpClient http;
    private readonly string dataDirectory;
    private readonly Uri? mirror;
    private readonly FileDigests digests;

    /// <param name="mirror">Base URL of a mirror laid out like the data directory (<c>BASE/mnist/train-images-idx3-ubyte.gz</c>); null: the canonical addresses.</param>
    public DatasetDownloader(HttpClient http, string dataDirectory, string? mirror, FileDigests digests)
    {
        this.http = http ?? throw new ArgumentNullException(nameof(http));
        this.dataDirectory = Path.GetFullPath(dataDirectory ?? throw new ArgumentNullException(nameof(dataDirectory)));
        this.digests = digests ?? throw new ArgumentNullException(nameof(digests));
        if (mirror is not null)
        {
            if (!Uri.TryCreate(mirror.EndsWith('/') ? mirror : mirror + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new ArgumentException($"--source {mirror}: expected an http:// or https:// base URL of a mirror laid out like the data directory");
            this.mirror = uri;
        }
    }

    /// <summary>Download progress, file by file.</summary>
    public IProgress<TransferProgress>? Progress { get; init; }

    /// <summary>
    /// How long the server may stay silent, before its answer or between two reads of the body, before the request counts
    /// as cut short (and is resumed, like a dropped connection).
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>One line per notable event (a resumed request, a retry after a cut connection).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Fetches <paramref name="dataset"/> unless it is already present and verified.</summary>
    public async Task<DatasetDownload> GetAsync(DatasetSource dataset, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var check = DataInventory.Check(dataDirectory, dataset, hash: true, digests);
        if (check.State == DatasetState.Present)
            return new DatasetDownload(dataset.Name, DownloadOutcome.AlreadyPresent, check.Form, []);
        var forms = mirror is null ? dataset.Forms.Where(f => f.Downloadable).ToList() : [.. dataset.Forms];
        if (forms.Count == 0)
            throw new DownloadException($"{dataset.Name}: no canonical download: {dataset.ManualNote ?? "give a mirror with --source"}");
        for (int i = 0; ; i++)
        {
            try
            {
                return new DatasetDownload(dataset.Name, DownloadOutcome.Downloaded, forms[i].Name, await GetFormAsync(forms[i], cancellation));
            }
            catch (MirrorLacksFormException) when (i + 1 < forms.Count)
            {
                Log?.Invoke($"{dataset.Name}: the mirror has no {forms[i].Name} form; trying {forms[i + 1].Name}");
            }
            catch (MirrorLacksFormException e)
            {
                throw new DownloadException($"{dataset.Name}: {e.Message}");
            }
        }
    }

    private async Task<IReadOnlyList<FileDownload>> GetFormAsync(SourceForm form, CancellationToken cancellation)
    {
        var fetched = new List<(SourceFile File, string Part, FileDownload Result)>();
        foreach (var file in form.Files)
        {
            var target = DataInventory.FullPath(dataDirectory, file);
            if (DataInventory.Locate(dataDirectory, file) is { } existing && Verifies(existing, file)) continue;
            var url = mirror is null ? new Uri(file.Url!) : new Uri(mirror, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var part = target + PartSuffix;
            var (requests, resumed) = await FetchAsync(url, part, fetched.Count == 0 && !File.Exists(part), cancellation);
            var (sha, problem) = Verify(part, file);
            if (sha is null && resumed > 0)
            {
                // The .part may predate a change of the file upstream, or have been damaged: once more, whole.
                Log?.Invoke($"{Path.GetFileName(target)}: {problem} after a resumed download; downloading the whole file again");
                var again = await FetchAsync(url, part, false, cancellation);
                requests += again.Requests;
                resumed += again.Resumed;
                (sha, problem) = Verify(part, file);
            }
            if (sha is null) throw new DownloadException($"{url}: {problem}; the download is deleted and nothing was placed");
            fetched.Add((file, part, new FileDownload(file.Path, url.ToString(), new FileInfo(part).Length, sha, requests, resumed)));
        }
        // Every file verified: now, and only now, into place (a rename keeps the time stamp, so the digest stays valid).
        foreach (var (file, part, result) in fetched)
        {
            var target = DataInventory.FullPath(dataDirectory, file);
            File.Move(part, target, overwrite: true);
            digests.Remember(target, file.Gunzip, result.Sha256);
        }
        return [.. fetched.Select(f => f.Result)];
    }

    /// <summary>Downloads <paramref name="url"/> into <paramref name="part"/>, resuming what is there; returns the requests made and how many asked for a Range.</summary>
    private async Task<(int Requests, int Resumed)> FetchAsync(Uri url, string part, bool firstOfForm, CancellationToken cancellation)
    {
        int requests = 0, resumed = 0;
        string name = Path.GetFileName(part)[..^PartSuffix.Length];
        while (true)
        {
            long have = File.Exists(part) ? new FileInfo(part).Length : 0;
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (have > 0)
            {
                request.Headers.Range = new RangeHeaderValue(have, null);
                resumed++;
                Log?.Invoke($"{name}: resuming at byte {have:N0}");
            }
            requests++;
            HttpResponseMessage response;
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            stall.CancelAfter(StallTimeout);
            try { response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token); }
            catch (HttpRequestException e) { throw new DownloadException($"{url}: {e.Message}", e); }
            catch (OperationCanceledException e) when (!cancellation.IsCancellationRequested)
            {
                throw new DownloadException($"{url}: no answer within {StallTimeout.TotalSeconds:0} s", e);
            }
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
                    return (requests, resumed); // The .part already holds the whole file; verification decides.
                if (response.StatusCode == HttpStatusCode.NotFound && firstOfForm && mirror is not null)
                    throw new MirrorLacksFormException($"{url}: 404 Not Found");
                if (!response.IsSuccessStatusCode)
                    throw new DownloadException($"{url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}" +
                        (have > 0 || File.Exists(part) ? $"; the partial download is kept in {part}" : "") + "; nothing was placed");
                bool append = have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
                if (have > 0 && !append) Log?.Invoke($"{name}: the server sent the whole file instead of the range; starting over");
                long offset = append ? have : 0;
                long? total = response.Content.Headers.ContentLength is { } length ? offset + length : null;
                try
                {
                    await using var output = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                    await using var input = await response.Content.ReadAsStreamAsync(cancellation);
                    var buffer = new byte[1 << 16];
                    long done = offset, lastReport = 0;
                    for (int n; (n = await input.ReadAsync(buffer, stall.Token)) > 0;)
                    {
                        stall.CancelAfter(StallTimeout);
                        await output.WriteAsync(buffer.AsMemory(0, n), cancellation);
                        done += n;
                        if (done - lastReport >= 1 << 20) { lastReport = done; Progress?.Report(new TransferProgress(name, done, total)); }
                    }
                    Progress?.Report(new TransferProgress(name, done, total));
                    if (total is null || done == total) return (requests, resumed);
                    Log?.Invoke($"{name}: the response ended at byte {done:N0} of {total:N0}");
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    Log?.Invoke($"{name}: no data for {StallTimeout.TotalSeconds:0} s after {(File.Exists(part) ? new FileInfo(part).Length : 0):N0} bytes");
                }
                catch (IOException e) when (e is not DownloadException)
                {
                    // HttpClient reports a body cut short of its Content-Length as an IOException (HttpIOException).
                    Log?.Invoke($"{name}: connection lost after {(File.Exists(part) ? new FileInfo(part).Length : 0):N0} bytes ({e.Message})");
                }
            }
            if (requests >= MaxAttempts)
                throw new DownloadException($"{url}: the download was cut short {requests} times; the partial download is kept in {part}: " +
                    "run the same command again to resume it");
        }
    }

    /// <summary>The .part's SHA-256 when it is the catalogued one; otherwise null, why, and the .part deleted (resuming it would reproduce the error).</summary>
    private (string? Sha256, string? Problem) Verify(string part, SourceFile file)
    {
        string? problem;
        try
        {
            var sha = digests.Sha256(part, file.Gunzip, useCache: false, remember: false);
            if (sha == file.Sha256) return (sha, null);
            problem = $"SHA-256 mismatch: got {sha}, expected {file.Sha256}{(file.Gunzip ? " (of the gunzipped content)" : "")}";
        }
        catch (DataFormatException e)
        {
            problem = $"not valid gzip data ({e.InnerException?.Message})";
        }
        File.Delete(part);
        return (null, problem);
    }

    private bool Verifies(string path, SourceFile file)
    {
        try { return digests.Sha256(path, file.Gunzip) == file.Sha256; }
        catch (DataFormatException) { return false; } // Damaged gzip data: fetched again and replaced.
    }

    private sealed class MirrorLacksFormException(string message) : Exception(message);
}
