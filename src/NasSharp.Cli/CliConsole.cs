using NasSharp.Experiments;
using Spectre.Console;

namespace NasSharp.Cli;

/// <summary>
/// Where a command writes: machine output (JSON or tables) to <see cref="Out"/>, progress and errors to
/// <see cref="Error"/>. Injected so tests can capture both; progress bars only when stderr is an
/// interactive terminal and not under CI, plain lines otherwise.
/// </summary>
public sealed class CliConsole
{
    public CliConsole(TextWriter @out, TextWriter error, bool interactive)
    {
        Out = @out;
        Error = error;
        Interactive = interactive;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(@out),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        // Piped or CI output has no terminal width; Spectre would assume 80 columns and wrap every table.
        if (!interactive) Ansi.Profile.Width = 240;
        AnsiError = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(error),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
    }

    public static CliConsole System()
    {
        bool ci = !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));
        var console = new CliConsole(Console.Out, Console.Error, interactive: !ci && !Console.IsErrorRedirected);
        // First Ctrl+C: stop at the next candidate or minibatch, mark the run interrupted, keep every stored
        // result. A second Ctrl+C ends the process at once (stored results are safe either way).
        Console.CancelKeyPress += (_, e) =>
        {
            if (console.cancellation.IsCancellationRequested) return;
            e.Cancel = true;
            console.Error.WriteLine("interrupting: finishing the current step (Ctrl+C again to kill)");
            console.cancellation.Cancel();
        };
        return console;
    }

    private readonly CancellationTokenSource cancellation = new();

    /// <summary>Cancelled by Ctrl+C; long-running commands pass it to the library.</summary>
    public CancellationToken Cancellation => cancellation.Token;

    public TextWriter Out { get; }
    public TextWriter Error { get; }
    public bool Interactive { get; }
    /// <summary>Tables and human output (stdout).</summary>
    public IAnsiConsole Ansi { get; }
    /// <summary>Progress bars (stderr), so stdout stays clean for JSON.</summary>
    public IAnsiConsole AnsiError { get; }

    /// <summary>Writes <paramref name="value"/> in NasSharp's JSON dialect (<see cref="NasJson"/>), indented.</summary>
    public void WriteJson<T>(T value) => Out.WriteLine(NasJson.Serialize(value, typeof(T) == typeof(object) ? value!.GetType() : typeof(T), indented: true));

    private ProgressSink? current;

    /// <summary>
    /// Runs <paramref name="work"/> on the calling thread (libtorch scopes are thread-static) with a progress display of
    /// the tasks it reports, each shown when first reported: live bars when interactive, otherwise a plain line every few
    /// seconds and at the end.
    /// </summary>
    public T WithProgress<T>(string title, Func<IProgress<ExperimentProgress>, T> work)
    {
        try
        {
            if (Interactive)
            {
                T result = default!;
                AnsiError.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                    .Start(ctx => { current = new ProgressSink(title, ctx, null); result = work(current); });
                return result;
            }
            current = new ProgressSink(title, null, Error);
            return work(current);
        }
        finally
        {
            current = null;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> with a display of the bytes it reports per file (downloads, hashing): live bars with sizes
    /// and speed when interactive, otherwise a plain line per file every few seconds and when it completes.
    /// </summary>
    public async Task<T> WithTransfersAsync<T>(string title, Func<IProgress<NasSharp.Data.TransferProgress>, Task<T>> work)
    {
        if (!Interactive) return await work(new TransferSink(title, null, Error));
        T result = default!;
        await AnsiError.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx => result = await work(new TransferSink(title, ctx, null)));
        return result;
    }

    /// <summary><see cref="WithTransfersAsync{T}"/> for work done on the calling thread.</summary>
    public T WithTransfers<T>(string title, Func<IProgress<NasSharp.Data.TransferProgress>, T> work)
    {
        if (!Interactive) return work(new TransferSink(title, null, Error));
        T result = default!;
        AnsiError.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .Start(ctx => result = work(new TransferSink(title, ctx, null)));
        return result;
    }

    /// <summary>Decoding progress of a dataset, shown as a task of the progress display running at the time.</summary>
    public IProgress<(int Done, int Total)> LoadingProgress(string dataset) => new SyncProgress<(int Done, int Total)>(p =>
        current?.Report(new ExperimentProgress($"loading {dataset}", p.Total == 0 ? 100 : (int)(100L * p.Done / p.Total), 100, "decoding")));
}

/// <summary>A progress display for one command: one task per name reported, with a count of steps.</summary>
public sealed class ProgressSink(string title, ProgressContext? context, TextWriter? plain) : IProgress<ExperimentProgress>
{
    private readonly Dictionary<string, ProgressTask> tasks = [];

    public void Report(ExperimentProgress value)
    {
        if (!tasks.TryGetValue(value.Task, out var task))
            tasks[value.Task] = task = new ProgressTask(context?.AddTask(Markup.Escape(value.Task), maxValue: Math.Max(value.Total, 1)), plain, $"{title}: {value.Task}", value.Total);
        task.Report(value.Done, value.Detail);
    }

    private sealed class ProgressTask(Spectre.Console.ProgressTask? bar, TextWriter? plain, string label, int total)
    {
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private TimeSpan lastLine = TimeSpan.FromSeconds(-10);

        public void Report(int done, string? detail)
        {
            if (bar is not null)
            {
                bar.Value = done;
                if (detail is not null) bar.Description = Markup.Escape($"{label[(label.IndexOf(':') + 2)..]} {Shorten(detail)}");
                return;
            }
            // Non-interactive: a line at most every 5 s, plus the final one.
            if (plain is null || (done < total && clock.Elapsed - lastLine < TimeSpan.FromSeconds(5))) return;
            lastLine = clock.Elapsed;
            plain.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {label} {done}/{total}{(detail is null ? "" : " " + detail)}");
        }

        private static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
    }
}

/// <summary>A display of bytes per file: one bar per file when interactive, else a line every 5 s and at the end of each.</summary>
public sealed class TransferSink(string title, ProgressContext? context, TextWriter? plain) : IProgress<NasSharp.Data.TransferProgress>
{
    private readonly Dictionary<string, (Spectre.Console.ProgressTask? Bar, System.Diagnostics.Stopwatch Clock, TimeSpan LastLine)> files = [];
    private readonly object gate = new();

    public void Report(NasSharp.Data.TransferProgress value)
    {
        lock (gate)
        {
            if (!files.TryGetValue(value.File, out var file))
                files[value.File] = file = (context?.AddTask(Markup.Escape($"{title}: {value.File}"), maxValue: Math.Max(value.Total ?? 1, 1)), System.Diagnostics.Stopwatch.StartNew(), TimeSpan.Zero);
            if (file.Bar is { } bar)
            {
                if (value.Total is null) bar.IsIndeterminate = true;
                else bar.MaxValue = Math.Max(value.Total.Value, 1);
                bar.Value = value.Done;
                return;
            }
            bool finished = value.Total is { } t && value.Done >= t;
            // LastLine = MaxValue marks a file whose last line is written.
            if (plain is null || file.LastLine == TimeSpan.MaxValue || (!finished && file.Clock.Elapsed - file.LastLine < TimeSpan.FromSeconds(5))) return;
            files[value.File] = file with { LastLine = finished ? TimeSpan.MaxValue : file.Clock.Elapsed };
            plain.WriteLine($"[{file.Clock.Elapsed:hh\\:mm\\:ss}] {title}: {value.File} {Commands.DataCommand.Size(value.Done)}" +
                (value.Total is { } total ? $" of {Commands.DataCommand.Size(total)}" : ""));
        }
    }
}
