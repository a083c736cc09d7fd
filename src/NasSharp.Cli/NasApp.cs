using System.CommandLine;
using NasSharp.Cli.Commands;

namespace NasSharp.Cli;

/// <summary>The <c>nas</c> command tree. Commands are thin: parse, call one library service, render.</summary>
public static class NasApp
{
    public static RootCommand Build(CliConsole console, Registries? registries = null)
    {
        registries ??= Registries.Default;
        var root = new RootCommand("NasSharp: theory-guided, training-free neural architecture search on TorchSharp.");
        GlobalOptions.AddTo(root);
        root.Subcommands.Add(DoctorCommand.Create(console));
        root.Subcommands.Add(SpaceCommand.Create(console, registries));
        root.Subcommands.Add(TrainCommand.Create(console, registries));
        root.Subcommands.Add(NtkCommand.Create(console, registries));
        root.Subcommands.Add(SearchCommand.Create(console, registries));
        root.Subcommands.Add(TheoryCommand.Create(console, registries));
        root.Subcommands.Add(IsometryCommand.Create(console));
        root.Subcommands.Add(RunsCommand.Create(console));
        root.Subcommands.Add(Nb201Command.Create(console));
        root.Subcommands.Add(BenchCommand.Create(console, registries));
        root.Subcommands.Add(ReportCommand.Create(console));
        root.Subcommands.Add(DataCommand.Create(console));
        root.Subcommands.Add(ClusterCommand.Create(console));
        return root;
    }

    /// <summary>Parses and runs; errors become one line on stderr and a non-zero exit code.</summary>
    public static int Run(string[] args, CliConsole console, Registries? registries = null)
    {
        var root = Build(console, registries);
        var parse = root.Parse(args);
        bool verbose = parse.GetValue(GlobalOptions.Verbose);
        // --threads holds for this command only; the previous setting is restored (the tests run commands in-process).
        int previousThreads = TorchSharp.torch.get_num_threads();
        try
        {
            // A mistake in the command line is one line on stderr and exit code 2, never the help text on stdout (it would
            // pollute --json output); --help still prints the help.
            if (parse.Errors.Count > 0)
            {
                console.Error.WriteLine($"error: {CommandLineMistakes.Describe(parse)}");
                return 2;
            }
            if (GlobalOptions.ResolveThreads(parse) is int threads) TorchSharp.torch.set_num_threads(threads);
            // A device given is checked for every command, also those that compute nothing (doctor, runs).
            if (parse.GetResult(GlobalOptions.Device) is { Implicit: false }) GlobalOptions.ResolveDevice(parse);
            return parse.Invoke(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
            });
        }
        catch (Exception e)
        {
            return ReportError(e, console, verbose);
        }
        finally
        {
            if (TorchSharp.torch.get_num_threads() != previousThreads) TorchSharp.torch.set_num_threads(previousThreads);
        }
    }

    /// <summary>Wraps a command body so every failure is reported the same way.</summary>
    public static int ReportError(Exception e, CliConsole console, bool verbose)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerException!;
        if (e is OperationCanceledException)
        {
            console.Error.WriteLine("error: interrupted; finished work is stored, rerun the same command to resume.");
            return 130;
        }
        bool expected = e is UsageException or FormatException or ArgumentException or IOException
            or InvalidOperationException or NotSupportedException or UnauthorizedAccessException
            || e.GetType().Namespace?.StartsWith("NasSharp", StringComparison.Ordinal) == true;
        var text = e is ArgumentException { ParamName: { } param } ? e.Message.Replace($" (Parameter '{param}')", "") : e.Message;
        // One line: a message of several (libtorch's carry a C++ stack) is cut to its first, the rest shown with --verbose.
        int end = text.AsSpan().IndexOfAny('\r', '\n');
        if (end >= 0) text = text[..end] + (verbose || !expected ? "" : " (the rest with --verbose)");
        var message = expected ? text : $"internal error ({e.GetType().Name}): {text}";
        console.Error.WriteLine($"error: {message}");
        if (verbose) console.Error.WriteLine(e.ToString());
        else if (!expected) console.Error.WriteLine("(run with --verbose for the stack trace)");
        return e is UsageException or FormatException or ArgumentException ? 2 : 1;
    }
}
