namespace NasSharp.Cli;

public static class Program
{
    public static int Main(string[] args) => NasApp.Run(args, CliConsole.System());
}
