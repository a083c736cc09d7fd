using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NasSharp.Tests.Data;

/// <summary>
/// A real HTTP/1.1 server on 127.0.0.1 at a port the OS picks, serving files from memory: it honours <c>Range: bytes=N-</c>
/// (206 with Content-Range, 416 past the end), and a test can make a response stop after some body bytes (the socket
/// closed short of its Content-Length, as a dropped connection does), answer with an error status, or ignore Range.
/// Written on a bare socket so that cutting a response short is exactly that.
/// </summary>
public sealed class LoopbackServer : IDisposable
{
    /// <summary>A request as received: the path and the Range header, if any.</summary>
    public sealed record Received(string Path, string? Range);

    /// <summary>
    /// How to answer one request: <paramref name="CutAfter"/> body bytes then close (or, with <paramref name="StallAtCut"/>, stay
    /// silent with the connection open until the server stops), or the status to send instead of the file.
    /// </summary>
    public sealed record Answer(int? CutAfter = null, int? Status = null, bool IgnoreRange = false, bool StallAtCut = false)
    {
        public static Answer Normal { get; } = new();
    }

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public LoopbackServer()
    {
        listener.Start();
        loop = Task.Run(AcceptAsync);
    }

    /// <summary>The files served, by path without the leading '/'.</summary>
    public ConcurrentDictionary<string, byte[]> Files { get; } = new();

    /// <summary>Chooses the answer to a request from it and the number of earlier requests for the same path.</summary>
    public Func<Received, int, Answer> Behaviour { get; set; } = (_, _) => Answer.Normal;

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<Received> Requests { get; } = new();

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/";

    public IReadOnlyList<Received> RequestsFor(string path) => [.. Requests.Where(r => r.Path == path)];

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
            var requestLine = await reader.ReadLineAsync();
            if (requestLine is null) return;
            string? range = null;
            for (var line = await reader.ReadLineAsync(); !string.IsNullOrEmpty(line); line = await reader.ReadLineAsync())
                if (line.StartsWith("Range:", StringComparison.OrdinalIgnoreCase)) range = line["Range:".Length..].Trim();
            var path = Uri.UnescapeDataString(requestLine.Split(' ')[1].TrimStart('/'));
            var received = new Received(path, range);
            int earlier = Requests.Count(r => r.Path == path);
            Requests.Enqueue(received);
            var answer = Behaviour(received, earlier);

            if (answer.Status is { } status)
            {
                await WriteHead(stream, $"{status} Error", [("Content-Length", "0")]);
                return;
            }
            if (!Files.TryGetValue(path, out var bytes))
            {
                await WriteHead(stream, "404 Not Found", [("Content-Length", "0")]);
                return;
            }
            long from = 0;
            if (range is not null && !answer.IgnoreRange)
            {
                from = long.Parse(range["bytes=".Length..].TrimEnd('-'), System.Globalization.CultureInfo.InvariantCulture);
                if (from >= bytes.Length)
                {
                    await WriteHead(stream, "416 Range Not Satisfiable", [("Content-Range", $"bytes */{bytes.Length}"), ("Content-Length", "0")]);
                    return;
                }
                await WriteHead(stream, "206 Partial Content",
                    [("Content-Range", $"bytes {from}-{bytes.Length - 1}/{bytes.Length}"), ("Content-Length", (bytes.Length - from).ToString())]);
            }
            else await WriteHead(stream, "200 OK", [("Content-Length", bytes.Length.ToString())]);
            int count = (int)(bytes.Length - from);
            if (answer.CutAfter is { } cut) count = Math.Min(count, cut);
            await stream.WriteAsync(bytes.AsMemory((int)from, count));
            await stream.FlushAsync();
            if (answer.StallAtCut)
                try { await Task.Delay(Timeout.Infinite, stop.Token); } catch (OperationCanceledException) { }
            // Disposing the client closes the connection: with CutAfter, short of the Content-Length sent.
        }
    }

    private static async Task WriteHead(NetworkStream stream, string status, (string Name, string Value)[] headers)
    {
        var head = new StringBuilder($"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n");
        foreach (var (name, value) in headers) head.Append($"{name}: {value}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        try { loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        stop.Dispose();
    }
}
