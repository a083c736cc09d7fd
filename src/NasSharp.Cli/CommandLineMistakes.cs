using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace NasSharp.Cli;

/// <summary>
/// A mistake in the command line as the one line <c>nas</c> reports: an unknown command or option with the nearest known
/// one ("did you mean"), a missing command, option or value named, a value that is not a number in the form the settings'
/// own messages use, or else System.CommandLine's first message; then where the help is.
/// </summary>
public static class CommandLineMistakes
{
    public static string Describe(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var commandResult = parse.CommandResult;
        var path = string.Join(' ', ["nas", .. CommandPath(commandResult)]);
        return $"{What(parse, commandResult, path)} (see {path} --help)";
    }

    private static string What(ParseResult parse, CommandResult commandResult, string path)
    {
        // An @file that cannot be read is the mistake: without its tokens the rest of the line means little. System.CommandLine
        // marks it only by its message (English here: the tool runs with invariant globalization).
        if (parse.Errors.FirstOrDefault(e => e.Message.Contains("esponse file", StringComparison.Ordinal)) is { } responseFile)
            return responseFile.Message.ReplaceLineEndings(" ");
        // The first unknown token is the mistake; System.CommandLine's other errors ("Required command was not provided",
        // the value after an unknown option) follow from it.
        if (parse.UnmatchedTokens.Count > 0)
        {
            var token = Excerpt(parse.UnmatchedTokens[0]);
            var command = commandResult.Command;
            if (token.StartsWith('-'))
                return $"{path} has no option {token}{DidYouMean(token, Options(commandResult).SelectMany(o => o.Aliases.Prepend(o.Name)))}";
            if (command.Subcommands.Count > 0)
                return $"{path} has no command {token}{DidYouMean(token, command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name)))}";
            return $"{path} takes no argument {token}";
        }
        if (commandResult.Command is { Action: null, Subcommands.Count: > 0 } group)
            return $"{path} needs a command: {string.Join(", ", group.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}";
        if (commandResult.Command.Options.FirstOrDefault(o => o.Required && parse.GetResult(o) is null or { Tokens.Count: 0 }) is { } required)
            return $"{path} needs {required.Name}";
        var error = parse.Errors[0];
        return Missing(error.SymbolResult, path) ?? NotANumber(error.SymbolResult) ?? error.Message.ReplaceLineEndings(" ");
    }

    /// <summary>"--seed needs a value", "nas runs show needs RUN_ID": an option or argument given nothing.</summary>
    private static string? Missing(SymbolResult? result, string path) => result switch
    {
        OptionResult { Tokens.Count: 0, Implicit: false } o when o.Option.Arity.MinimumNumberOfValues > 0 => $"{o.Option.Name} needs a value",
        ArgumentResult { Tokens.Count: 0, Parent: OptionResult o } => $"{o.Option.Name} needs a value",
        ArgumentResult { Tokens.Count: 0 } a => $"{path} needs {a.Argument.Name}",
        CommandResult c when c.Command.Arguments.FirstOrDefault(a => a.Arity.MinimumNumberOfValues > 0 && c.GetResult(a) is not { Tokens.Count: > 0 }) is { } a
            => $"{path} needs {a.Name}",
        _ => null,
    };

    private static string DidYouMean(string token, IEnumerable<string> known) =>
        Spelling.Closest(token, known) is { } name ? $"; did you mean {name}?" : "";

    /// <summary>"--n abc: expected a whole number" when the error is a number option or argument given something else.</summary>
    private static string? NotANumber(SymbolResult? result)
    {
        var (name, type, tokens) = result switch
        {
            OptionResult o => (o.Option.Name, o.Option.ValueType, o.Tokens),
            ArgumentResult { Parent: OptionResult o } => (o.Option.Name, o.Option.ValueType, o.Tokens),
            ArgumentResult a => (a.Argument.Name, a.Argument.ValueType, a.Tokens),
            _ => (null, null, []),
        };
        if (name is null || type is null || tokens.Count != 1) return null;
        var text = tokens[0].Value;
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(int) || type == typeof(long))
        {
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole)) return $"{name} {Excerpt(text)}: expected a whole number";
            return type == typeof(int) && whole is < int.MinValue or > int.MaxValue ? $"{name} {Excerpt(text)}: too large" : null;
        }
        if (type == typeof(double))
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : $"{name} {Excerpt(text)}: expected a number";
        return null;
    }

    /// <summary>The options a command accepts: its own and its ancestors' recursive ones.</summary>
    private static IEnumerable<Option> Options(CommandResult result)
    {
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c)
                foreach (var option in c.Command.Options.Where(o => !o.Hidden && (c == result || o.Recursive)))
                    yield return option;
    }

    private static IEnumerable<string> CommandPath(CommandResult result)
    {
        var path = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c && c.Command is not RootCommand) path.Insert(0, c.Command.Name);
        return path;
    }

    /// <summary>A token as quoted in the line: at most 40 characters, no line breaks.</summary>
    private static string Excerpt(string token)
    {
        var line = token.ReplaceLineEndings(" ");
        return line.Length <= 40 ? line : line[..37] + "...";
    }
}
