using System.Runtime.InteropServices;

namespace NasSharp.Benchmarks;

/// <summary>The increase of the resident set during a computation and the process's peak, in MB (2^20 bytes).</summary>
public readonly record struct PeakMemory(double IncreaseMb, double ProcessMb);

/// <summary>Peak resident memory of this process during a computation, from Linux's /proc/self (proc(5)).</summary>
public static class ResidentMemory
{
    /// <summary>How <see cref="Measure"/> works, for reports.</summary>
    public const string Method =
        "Linux /proc/self: after GC and malloc_trim(0), VmRSS is read, the high-water mark is reset to it (writing 5 to " +
        "/proc/self/clear_refs), the computation runs once, then VmHWM is read; peak_mb = VmHWM − VmRSS before, process_peak_mb = VmHWM.";

    /// <summary>
    /// Runs <paramref name="work"/> once and returns its peak; null where /proc/self/status or clear_refs is not
    /// available (then the work still runs).
    /// </summary>
    public static PeakMemory? Measure(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TrimNativeHeap();
        var before = Read("VmRSS");
        bool reset = before is not null && TryResetHighWaterMark();
        work();
        var peak = reset ? Read("VmHWM") : null;
        if (before is null || peak is null) return null;
        return new PeakMemory((peak.Value - before.Value) / 1024.0, peak.Value / 1024.0);
    }

    /// <summary>A field of /proc/self/status in kB (e.g. VmRSS, VmHWM), or null when it cannot be read.</summary>
    public static long? Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (!line.StartsWith(field + ":", StringComparison.Ordinal)) continue;
                var value = line[(field.Length + 1)..].Trim();
                if (value.EndsWith(" kB", StringComparison.Ordinal) && long.TryParse(value[..^3].Trim(), out var kb)) return kb;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    private static bool TryResetHighWaterMark()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>
    /// Hands the native heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere). libtorch's CPU
    /// tensors come from glibc's malloc, which keeps freed memory of earlier computations resident: between evaluations
    /// of differently shaped networks the heap fragments and the resident set grows with each one.
    /// </summary>
    public static void TrimNativeHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);
}
