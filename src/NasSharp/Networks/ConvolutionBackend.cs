using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace NasSharp.Networks;

/// <summary>
/// Keeps libtorch's oneDNN (MKL-DNN) convolutions away from the shapes where their float32 backward pass is wrong on CPU.
/// </summary>
/// <remarks>
/// <para>Measured on this machine (libtorch 2.10 of TorchSharp-cpu 0.107.0, 20 seeded draws per shape, float32 against
/// float64): the input gradient of a dense k×k convolution (k &gt; 1, batch &gt; 1) is wrong — NaN, or finite with
/// relative error above 1e-4 — in 20–100% of draws when the output channels per group are not a multiple of 16 (3, 4, 8,
/// 12, 24, 36, 72 fail; 16, 32, 48, 64 pass); 1×1 and depthwise convolutions and weight gradients were always right.
/// The native (non-oneDNN) kernels were right in every draw, but are 4–8× slower on NB201 networks, whose channels
/// (16, 32, 64) are all safe.</para>
/// <para>TorchSharp exposes no switch for it, so the flag <c>at::globalContext().setUserEnabledMkldnn</c> is set through
/// libtorch_cpu's exported C++ symbols. The policy is one-way: the first network with an unsafe convolution turns
/// oneDNN off for the rest of the process (a later safe network does not turn it back on, so a gradient is never
/// computed with the wrong backend because of ordering). Every entry point that differentiates a network calls
/// <see cref="Protect"/>; the factories call it as they build.</para>
/// </remarks>
public static class ConvolutionBackend
{
    private static readonly Lazy<Native?> native = new(Native.TryLoad);
    private static readonly object gate = new();

    /// <summary>Why oneDNN was turned off (null while it is on or was never touched).</summary>
    public static string? DisabledReason { get; private set; }

    /// <summary>Whether this process can read and set the flag (false off Linux/macOS or if the symbols are missing).</summary>
    public static bool CanControl => native.Value is not null;

    /// <summary>libtorch's oneDNN flag, or null when it cannot be read.</summary>
    public static bool? OneDnnEnabled => native.Value?.Get();

    /// <summary>The first convolution of <paramref name="model"/> whose oneDNN backward is unsafe, or null.</summary>
    public static string? UnsafeConvolution(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, module) in model.named_modules())
            if (module is Conv2d conv && IsUnsafe(conv.in_channels, conv.out_channels, conv.groups, conv.kernel_size))
                return $"{(name.Length == 0 ? "the model" : name)}: Conv2d {conv.in_channels}→{conv.out_channels}, kernel {string.Join("×", conv.kernel_size)}, groups {conv.groups}";
        return null;
    }

    /// <summary>
    /// The shapes found wrong: dense (not depthwise) convolutions with a kernel larger than 1×1 whose output channels per
    /// group are not a multiple of 16.
    /// </summary>
    public static bool IsUnsafe(long inChannels, long outChannels, long groups, IEnumerable<long> kernelSize)
    {
        bool pointwise = kernelSize.All(k => k == 1);
        bool depthwise = groups > 1 && groups == inChannels && groups == outChannels;
        return !pointwise && !depthwise && (outChannels / Math.Max(1, groups)) % 16 != 0;
    }

    /// <summary>
    /// A freshly built network moved to its dtype and device, with oneDNN turned off first if its convolutions need it
    /// (<see cref="Protect"/>): how the library's convolutional networks finish construction.
    /// </summary>
    public static void Place(nn.Module model, ScalarType dtype, Device? device)
    {
        Protect(model);
        if (dtype != ScalarType.Float32) model.to(dtype);
        if (device is not null) model.to(device);
    }

    /// <summary>Turns oneDNN off for the process if <paramref name="model"/> (on the CPU) has an unsafe convolution.</summary>
    /// <exception cref="InvalidOperationException">The model needs the switch and this platform cannot set it.</exception>
    public static void Protect(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (DisabledReason is not null) return;
        if (model.parameters().Any(p => p.device_type != DeviceType.CPU)) return;
        var culprit = UnsafeConvolution(model);
        if (culprit is null) return;
        lock (gate)
        {
            if (DisabledReason is not null) return;
            var handle = native.Value;
            if (handle is null)
            {
                // Off Linux/macOS the flag cannot be reached; say so rather than compute wrong gradients silently.
                if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
                    throw new InvalidOperationException($"{culprit} needs libtorch's oneDNN convolutions turned off (their float32 input gradients are wrong for these shapes), but the switch could not be found in libtorch_cpu.");
                return;
            }
            handle.Set(false);
            // Without oneDNN, libtorch next tries NNPACK, which prints "Unsupported hardware" on every call on CPUs it
            // does not know and then falls back to the native kernels anyway.
            handle.DisableNnpack();
            DisabledReason = $"oneDNN convolutions turned off because of {culprit}";
        }
    }

    private sealed class Native
    {
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate IntPtr GlobalContext();

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        private delegate void SetFlag(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        [return: MarshalAs(UnmanagedType.U1)]
        private delegate bool GetFlag(IntPtr context);

        private readonly GlobalContext context;
        private readonly SetFlag set;
        private readonly GetFlag get;

        private readonly SetFlag? nnpack;

        private Native(GlobalContext context, SetFlag set, GetFlag get, SetFlag? nnpack) =>
            (this.context, this.set, this.get, this.nnpack) = (context, set, get, nnpack);

        public void Set(bool enabled) => set(context(), enabled);

        public bool Get() => get(context());

        public void DisableNnpack() => nnpack?.Invoke(context(), false);

        /// <summary>The Itanium-mangled members of at::Context (Linux and macOS builds of libtorch).</summary>
        public static Native? TryLoad()
        {
            if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return null;
            InitializeDeviceType(DeviceType.CPU);   // loads libtorch_cpu through TorchSharp first
            string file = OperatingSystem.IsLinux() ? "libtorch_cpu.so" : "libtorch_cpu.dylib";
            if (!NativeLibrary.TryLoad(file, typeof(torch).Assembly, null, out var library)) return null;
            if (!NativeLibrary.TryGetExport(library, "_ZN2at13globalContextEv", out var contextSymbol)
                || !NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledMkldnnEb", out var setSymbol)
                || !NativeLibrary.TryGetExport(library, "_ZNK2at7Context17userEnabledMkldnnEv", out var getSymbol))
                return null;
            return new Native(
                Marshal.GetDelegateForFunctionPointer<GlobalContext>(contextSymbol),
                Marshal.GetDelegateForFunctionPointer<SetFlag>(setSymbol),
                Marshal.GetDelegateForFunctionPointer<GetFlag>(getSymbol),
                NativeLibrary.TryGetExport(library, "_ZN2at7Context20setUserEnabledNNPACKEb", out var nnpackSymbol)
                    ? Marshal.GetDelegateForFunctionPointer<SetFlag>(nnpackSymbol) : null);
        }
    }
}
