using Xunit;

// libtorch has global state (seed, thread pool): every test in this assembly runs sequentially
// (see xunit.runner.json); tests that touch torch also join this collection to say so.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace NasSharp.Tests;

[CollectionDefinition(Name)]
public sealed class TorchCollection
{
    public const string Name = "torch";
}
