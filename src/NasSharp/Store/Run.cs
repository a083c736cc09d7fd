namespace NasSharp.Store;

/// <summary>
/// A run a command is now writing to. <see cref="Resumed"/> says it already existed (same key, or resumed by
/// id); <see cref="ResultCount"/> results were stored before this attempt, so the caller can skip them with
/// <see cref="ResultsStore.HasResult"/>.
/// </summary>
public sealed record Run(long Id, string? Key, bool Resumed, int ResultCount);
