using System.Diagnostics;

namespace NasSharp.Cluster;

/// <summary>CPU time (user + system) a process has used: all of it, and the part of its threads of one name.</summary>
/// <param name="Total">Every thread of the process, living or ended.</param>
/// <param name="Named">The living threads named <c>Name</c> (the compute thread of a silo).</param>
public readonly record struct CpuTime(TimeSpan Total, TimeSpan Named)
{
    public static CpuTime operator -(CpuTime a, CpuTime b) => new(a.Total - b.Total, a.Named - b.Named);
    public static CpuTime operator +(CpuTime a, CpuTime b) => new(a.Total + b.Total, a.Named + b.Named);

    /// <summary>What the process spent outside the named threads: the runtime (GC, JIT), Orleans, the sockets.</summary>
    public TimeSpan Rest => Total - Named;
}

/// <summary>
/// Reads a process's CPU time from the kernel, split into the threads of one name and the rest: whether two silos lose
/// throughput because the cores slow each other's compute (the compute thread's CPU per item rises) or because something
/// else takes a core's time (the rest rises). Per-thread times come from <c>/proc</c> (Linux); elsewhere
/// <see cref="CpuTime.Named"/> is zero.
/// </summary>
public static class ProcessCpu
{
    public static CpuTime Of(Process process, string threadName)
    {
        ArgumentNullException.ThrowIfNull(process);
        process.Refresh();
        var total = process.TotalProcessorTime;
        var named = TimeSpan.Zero;
        var tasks = $"/proc/{process.Id}/task";
        if (!Directory.Exists(tasks)) return new(total, named);
        foreach (ProcessThread thread in process.Threads)
        {
            try
            {
                // The kernel keeps the first 15 bytes of a thread's name.
                var comm = File.ReadAllText($"{tasks}/{thread.Id}/comm").TrimEnd('\n');
                if (comm == threadName[..Math.Min(threadName.Length, 15)]) named += thread.TotalProcessorTime;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException) { }  // the thread ended
        }
        return new(total, named);
    }
}
