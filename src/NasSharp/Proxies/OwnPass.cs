namespace NasSharp.Proxies;

/// <summary>
/// A pass of the network that some proxies share but that is not the context's train-mode pass (its own input, batch size
/// or backward), such as AZ-NAS's stage features with their backpropagated signals. The proxies' file defines it; the
/// context runs it once per architecture (<see cref="ProxyContext.Compute{TResult}"/>) and keeps the result, which holds no
/// tensors. Compared by reference, so each lives in a static field.
/// </summary>
internal sealed class OwnPass<TResult>(string name, Func<ProxyContext, TResult> run) where TResult : class
{
    /// <summary>What it computes, as listed in the context's <see cref="SharedStage"/>s.</summary>
    public string Name { get; } = string.IsNullOrWhiteSpace(name) ? throw new ArgumentException("A pass needs a name.", nameof(name)) : name;

    /// <summary>Runs the pass inside a dispose scope the context opened for it.</summary>
    public TResult Run(ProxyContext context) => run(context);

    public override string ToString() => Name;
}
