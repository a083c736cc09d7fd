using System.Text;

namespace NasSharp;

/// <summary>
/// Derives independent, stable child seeds from a run's seed and a path of labels (FNV-1a over the
/// labels, then a SplitMix64 finaliser). Unlike <c>string.GetHashCode</c>, the result is the same in
/// every process and on every machine, so a stored seed reproduces a result.
/// </summary>
public static class Seeds
{
    public static long Derive(long seed, params object[] path)
    {
        ulong h = 14695981039346656037UL ^ (ulong)seed;
        foreach (var part in path)
        {
            foreach (var b in Encoding.UTF8.GetBytes(Convert.ToString(part, System.Globalization.CultureInfo.InvariantCulture) ?? ""))
            {
                h ^= b;
                h *= 1099511628211UL;
            }
            h ^= 0xff; // separator, so ("ab","c") differs from ("a","bc")
            h *= 1099511628211UL;
        }
        h ^= h >> 30; h *= 0xbf58476d1ce4e5b9UL;
        h ^= h >> 27; h *= 0x94d049bb133111ebUL;
        h ^= h >> 31;
        return (long)(h & 0x7fffffffffffffffUL);
    }

    /// <summary>A <see cref="Random"/> seeded from a derived seed (System.Random takes 32 bits).</summary>
    public static Random Rng(long seed, params object[] path) => new(unchecked((int)(Derive(seed, path) & 0x7fffffff)));
}
