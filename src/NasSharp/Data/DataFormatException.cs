namespace NasSharp.Data;

/// <summary>
/// A data file or directory is malformed, unreadable or absent. Messages name the path and what was
/// expected versus found, so that a user can fix the file or the configuration without a debugger.
/// Loaders wrap lower-level failures (I/O, gzip, tar) in this type so callers need catch only one.
/// </summary>
public class DataFormatException : Exception
{
    public DataFormatException(string message) : base(message) { }
    public DataFormatException(string message, Exception? innerException) : base(message, innerException) { }
}

/// <summary>A required data file or directory does not exist (as opposed to existing but being malformed).</summary>
public sealed class DataNotFoundException : DataFormatException
{
    public DataNotFoundException(string message) : base(message) { }
    public DataNotFoundException(string message, Exception? innerException) : base(message, innerException) { }
}
