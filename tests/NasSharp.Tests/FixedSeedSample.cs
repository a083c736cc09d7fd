using System.Globalization;
using CsCheck;

namespace NasSharp.Tests;

/// <summary>
/// Property tests over a fixed sequence of cases. CsCheck's <c>Sample(seed: …)</c> fixes only its first case and draws the
/// rest at random, so CI would see different strings on every run; here every case comes from one seeded PCG stream, and a
/// failing case is handed to <c>Sample</c> with its own seed, which shrinks it and reports the smallest failure with a seed
/// to replay. <c>NASSHARP_PROPERTY_CASES=1000000</c> runs a larger sample on demand (the same stream, further).
/// </summary>
public static class FixedSeedSample
{
    /// <summary>How many counted cases a property runs: <paramref name="fallback"/>, or NASSHARP_PROPERTY_CASES when set.</summary>
    public static int Cases(int fallback) =>
        Environment.GetEnvironmentVariable("NASSHARP_PROPERTY_CASES") is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    /// <summary>
    /// Checks <paramref name="property"/> (it throws on failure, else says whether the case counts) on cases of
    /// <paramref name="gen"/> from <paramref name="seed"/> until <paramref name="count"/> cases have counted; a generator that
    /// makes counted cases too rarely (fewer than one in four) fails rather than running on.
    /// </summary>
    /// <returns>The number of cases generated.</returns>
    public static int Run<T>(Gen<T> gen, string seed, int count, Func<T, bool> property)
    {
        var pcg = PCG.Parse(seed);
        int counted = 0, generated = 0;
        while (counted < count)
        {
            if (generated >= 4 * count)
                throw new InvalidOperationException($"Only {counted} of {generated} generated cases counted; the generator misses what it should make.");
            ulong state = pcg.State;
            var value = gen.Generate(pcg, null, out _);
            generated++;
            try
            {
                if (property(value)) counted++;
            }
            catch (Exception)
            {
                // Shrinks from this case's seed and throws with the smallest failing case.
                gen.Sample(v => { property(v); }, seed: pcg.ToString(state), iter: 2_000, threads: 1);
                throw;
            }
        }
        return generated;
    }
}
