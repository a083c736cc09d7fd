namespace NasSharp.Reports;

/// <summary>A file written through a temporary file beside it and then renamed: it appears whole or not at all.</summary>
internal static class AtomicFile
{
    /// <returns>The file's full path.</returns>
    public static string Write(string path, Action<TextWriter> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".partial";
        try
        {
            using (var writer = new StreamWriter(temp)) write(writer);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        return full;
    }
}
