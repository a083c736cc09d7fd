namespace NasSharp.Store;

/// <summary>
/// One computed item of a run, identified within the run by <paramref name="ItemKey"/> (e.g. <c>score/3</c>,
/// <c>step/17</c>, <c>nasi-fix/2</c>), its value a JSON document in NasSharp's dialect (<see cref="NasJson"/>): a typed
/// record an experiment wrote through its <see cref="IRunJournal"/>. <see cref="Arch"/> and <see cref="Space"/> name the
/// architecture it is about, when it is about one, so the store can be queried by architecture.
/// </summary>
public sealed record ResultRecord(string ItemKey, string ValueJson)
{
    public string? Arch { get; init; }
    public string? Space { get; init; }
}

/// <summary>A result as read back, with the store's row id and the time it was (last) written.</summary>
public sealed record StoredResult(long Id, long RunId, DateTimeOffset CreatedUtc, ResultRecord Record);
