using System.Runtime.InteropServices;
using X86 = System.Runtime.Intrinsics.X86;

namespace NasSharp.Networks;

/// <summary>
/// Which vector instruction set libtorch's CPU kernels run on in this process: the widest the host offers, narrowed by
/// the variables libtorch and oneDNN read (<c>ATEN_CPU_CAPABILITY</c>, <c>DNNL_MAX_CPU_ISA</c>, <c>ONEDNN_MAX_CPU_ISA</c>).
/// </summary>
/// <remarks>
/// Kernels of different widths accumulate in different orders, so a float32 training on an AVX-512 host and on an
/// AVX2-only host (or one capped with <c>DNNL_MAX_CPU_ISA=AVX2</c>) part in the last digits after a few steps, and
/// after epochs in the accuracy (0.4 points for a DARTS network after 3 epochs, docs/experiments/platform-notes.md). A stored run records this
/// description and resumes only under the same one. The width is read from .NET's view of the CPU (the same
/// CPUID bits libtorch's dispatch reads), not from libtorch, which does not export its choice.
/// </remarks>
public static class CpuKernels
{
    private static readonly string[] Overrides = ["ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA"];

    /// <summary>E.g. <c>x64 avx512</c>, <c>x64 avx2 (DNNL_MAX_CPU_ISA=AVX2)</c>, <c>arm64</c>.</summary>
    public static string Describe() => Describe(Environment.GetEnvironmentVariable);

    /// <summary>The description under the environment <paramref name="variable"/> reads.</summary>
    public static string Describe(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        var set = Widest();
        var caps = Overrides
            .Select(name => (name, value: variable(name)))
            .Where(v => !string.IsNullOrEmpty(v.value))
            .Select(v => $"{v.name}={v.value}")
            .ToList();
        return caps.Count == 0 ? set : $"{set} ({string.Join(", ", caps)})";
    }

    private static string Widest()
    {
        var arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.X86)) return arch;
        // ATen's AVX512 level and oneDNN's avx512_core both need F, BW, DQ and VL; its AVX2 level needs AVX2 and FMA.
        if (X86.Avx512F.IsSupported && X86.Avx512BW.IsSupported && X86.Avx512DQ.IsSupported && X86.Avx512F.VL.IsSupported)
            return $"{arch} avx512";
        if (X86.Avx2.IsSupported && X86.Fma.IsSupported) return $"{arch} avx2";
        return $"{arch} default";
    }
}
