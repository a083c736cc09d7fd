namespace NasSharp.Store;

/// <summary>
/// A results store could not be opened or an operation broke one of its rules (unknown run, results added to
/// a finished run, a file that is not a NasSharp store). The message names the file or run involved.
/// </summary>
public sealed class StoreException : Exception
{
    public StoreException(string message) : base(message) { }

    public StoreException(string message, Exception innerException) : base(message, innerException) { }
}
