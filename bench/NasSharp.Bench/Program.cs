using System.Diagnostics;
using System.Globalization;
using NasSharp.Networks;
using NasSharp.Proxies;
using NasSharp.Spaces;
using TorchSharp;
using static TorchSharp.torch;

// Times every proxy on an NB201-sized network at batch 64 on 3×32×32, shared and alone, then runs repeated
// evaluations and prints the process's resident memory after each, to show nothing leaks.
// Usage: dotnet run -c Release --project bench/NasSharp.Bench -- [--batch 64] [--repeat 1] [--proxies all] [--alone]
//        [--leak 50]   (--alone also times each proxy in its own context; --leak runs N more evaluations and prints RSS)
var options = args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--", StringComparison.Ordinal))
    .ToDictionary(p => p.a[2..], p => p.i + 1 < args.Length ? args[p.i + 1] : "");
int batch = int.Parse(options.GetValueOrDefault("batch", "64"), CultureInfo.InvariantCulture);
int repeat = int.Parse(options.GetValueOrDefault("repeat", "1"), CultureInfo.InvariantCulture);
int leak = int.Parse(options.GetValueOrDefault("leak", "0"), CultureInfo.InvariantCulture);
var proxies = ProxyRegistry.Parse(options.GetValueOrDefault("proxies", "all"));

// NAS-Bench-201's best CIFAR-10 cell (index 6111) in the benchmark's network (C = 16, 5 cells per stage).
var space = new Nb201Space();
var cell = space.Parse(Nb201Genotype.Example);
Console.WriteLine($"threads {torch.get_num_threads()}, batch {batch}, 3×32×32, 10 classes, network: NAS-Bench-201 C=16, 5 cells/stage, cell {cell}");
random.manual_seed(0);
var x = randn(new long[] { batch, 3, 32, 32 });
var y = randint(0, 10, new long[] { batch }, dtype: ScalarType.Int64);
Func<nn.Module<Tensor, Tensor>> Build(long seed) => () => space.BuildNetwork(cell, [3, 32, 32], 10, new NetworkOptions(), seed);

var evaluator = new ProxyEvaluator(proxies);
new ProxyEvaluator([new GradNormProxy()]).Evaluate(Build(0), x, y, 10, 0); // warm-up: the first calls in a process are slow
using (var baselineScope = NewDisposeScope())
{
    using var net = Build(0)();
    var watch = Stopwatch.StartNew();
    var loss = nn.functional.cross_entropy(net.call(x), y);
    autograd.grad(new[] { loss }, net.parameters().ToArray());
    Console.WriteLine($"baseline: one forward + backward of the mean cross-entropy (train mode) {watch.Elapsed.TotalSeconds:F2} s");
}
for (int r = 1; r <= repeat; r++)
{
    var e = evaluator.Evaluate(Build(r), x, y, 10, r);
    Console.WriteLine($"shared evaluation {r}: total {e.TotalSeconds:F2} s");
    foreach (var s in e.SharedStages) Console.WriteLine($"  stage {s.Name,-60} {s.Seconds,8:F3} s");
    foreach (var p in e.Results) Console.WriteLine($"  proxy {p.Name,-12} {p.Seconds,8:F3} s   {p.Score}");
}

if (options.ContainsKey("alone")) Console.WriteLine("each proxy alone (own context: builds the network and does its own passes):");
foreach (var proxy in options.ContainsKey("alone") ? proxies : [])
{
    var watch = Stopwatch.StartNew();
    new ProxyEvaluator([proxy]).Evaluate(Build(1), x, y, 10, 1);
    Console.WriteLine($"  {proxy.Name,-12} {watch.Elapsed.TotalSeconds,8:F3} s");
}

if (leak > 0)
{
    Console.WriteLine($"{leak} evaluations, resident memory after each:");
    for (int i = 0; i < leak; i++)
    {
        var e = evaluator.Evaluate(Build(100 + i), x, y, 10, 100 + i);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var rss = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        Console.WriteLine($"  {i + 1,3}: {e.TotalSeconds,6:F2} s  {rss.Split(':')[1].Trim()}");
    }
}
