using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Spectre.Console;
using NasSharp.Cluster;
using NasSharp.Data;

namespace NasSharp.Cli.Commands;

/// <summary><c>nas cluster silo</c>: a worker silo of an Orleans cluster that computes the items of coordinators' runs.</summary>
public static class ClusterCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("cluster", "Run experiments on an Orleans cluster: start worker silos, then give a resumable command --cluster.");
        cmd.Subcommands.Add(Silo(console));
        var sql = new Command("sql", "Print the SQL that creates Orleans' membership table in a PostgreSQL database, for silos started with " +
            "--clustering adonet: run it once, e.g. nas cluster sql | psql -d orleans.");
        sql.SetAction(_ =>
        {
            console.Out.Write(ClusterHosting.PostgresMembershipSql());
            return 0;
        });
        cmd.Subcommands.Add(sql);
        var control = new Command("control-worker", "One process of the control of 'nas bench cluster' (which starts it): computes a request's items without Orleans.")
            { Hidden = true };
        var request = new Option<string>("--request") { Required = true, Description = "The request file 'nas bench cluster' wrote." };
        control.Options.Add(request);
        control.SetAction(pr =>
        {
            ControlWorker.Run(pr.GetValue(request)!, DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path, TorchSharp.torch.get_num_threads(),
                Console.In, console.Out);
            return 0;
        });
        cmd.Subcommands.Add(control);
        return cmd;
    }

    private static Command Silo(CliConsole console)
    {
        var cmd = new Command("silo", "Start a worker silo; it runs until Ctrl+C or SIGTERM. With --redis every silo registers in Redis; without, " +
            "the first silo is the cluster's primary and the others join it with --primary HOST:PORT. Each computes one item at a time with --threads libtorch threads.");
        var port = new Option<int>("--port") { Description = "Port the silos talk on.", DefaultValueFactory = _ => ClusterAddress.DefaultSiloPort };
        var gateway = new Option<int>("--gateway-port") { Description = "Port coordinators connect to (their --cluster HOST:PORT).", DefaultValueFactory = _ => ClusterAddress.DefaultGatewayPort };
        var primary = new Option<string?>("--primary") { Description = "The primary silo's HOST:PORT (its --port); omit it on the primary." };
        var redis = new Option<string?>("--redis") { Description = "Keep the membership in Redis (a connection such as redis-host:6379): no primary, any silo may leave; coordinators then use --cluster redis:CONNECTION." };
        var clustering = new Option<string?>("--clustering") { Description = "adonet: keep the membership in a PostgreSQL database (--connection; create its table once with 'nas cluster sql'): no primary, any silo may leave; coordinators then use --cluster adonet:CONNECTION. redis: the same as --redis." };
        var connection = new Option<string?>("--connection") { Description = "The --clustering database's connection, e.g. 'Host=db-host;Database=orleans;Username=orleans;Password=...'." };
        var advertise = new Option<string>("--advertise") { Description = "This machine's IP address as the other machines reach it (default loopback: one machine).", DefaultValueFactory = _ => "127.0.0.1" };
        var clusterId = ExperimentCli.NewClusterId();
        foreach (var o in new Option[] { port, gateway, primary, redis, clustering, connection, advertise, clusterId }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            foreach (var (option, value) in new[] { ("--port", pr.GetValue(port)), ("--gateway-port", pr.GetValue(gateway)) })
                if (value is < 1 or > 65535) throw new UsageException($"{option} {value}: must be a port number from 1 to 65535.");
            switch (pr.GetValue(clustering), pr.GetValue(connection))
            {
                case (null, null): break;
                case ("adonet" or "redis", null): throw new UsageException($"--clustering {pr.GetValue(clustering)}: give the database with --connection.");
                case ("adonet" or "redis", _) when pr.GetValue(redis) is not null: throw new UsageException("--redis: give --clustering redis --connection or --redis, not both.");
                case ("adonet" or "redis", _): break;
                case (null, _): throw new UsageException("--connection: give the kind of database with --clustering adonet or --clustering redis.");
                case ({ } kind, _): throw new UsageException($"--clustering {kind}: use adonet (PostgreSQL) or redis.");
            }
            if (!IPAddress.TryParse(pr.GetValue(advertise), out var address))
                throw new UsageException($"--advertise {pr.GetValue(advertise)}: not an IP address.");
            var settings = new SiloSettings
            {
                SiloPort = pr.GetValue(port),
                GatewayPort = pr.GetValue(gateway),
                Primary = pr.GetValue(primary) is { } p ? ClusterAddress.Endpoint(p, "--primary", ClusterAddress.DefaultSiloPort) : null,
                Redis = pr.GetValue(clustering) == "redis" ? pr.GetValue(connection) : pr.GetValue(redis),
                AdoNet = pr.GetValue(clustering) == "adonet" ? pr.GetValue(connection) : null,
                Advertise = address,
                ClusterId = pr.GetValue(clusterId)!,
            };
            var data = DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path;
            using var host = ClusterHosting.BuildSilo(settings, new WorkerSettings(data, GlobalOptions.ResolveDevice(pr)) { Threads = TorchSharp.torch.get_num_threads() });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(console.Cancellation);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            host.StartAsync(stop.Token).GetAwaiter().GetResult();
            console.Out.WriteLine($"silo {settings.Advertise}:{settings.SiloPort} (gateway {settings.GatewayPort}) of cluster '{settings.ClusterId}', " +
                $"{(settings.Redis is { } r ? $"membership in Redis at {r}" : settings.AdoNet is not null ? "membership in PostgreSQL" : settings.Primary is { } pe ? $"joined primary {pe}" : "primary")}; data {data}; {TorchSharp.torch.get_num_threads()} libtorch threads. " +
                "Waiting for work; stop with Ctrl+C.");
            console.Out.Flush();
            try { Task.Delay(Timeout.Infinite, stop.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
            host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            return 0;
        });
        return cmd;
    }
}

/// <summary><c>nas bench cluster</c>: items per second of clusters of 1, 2, … silos on this machine, side by side, and of as
/// many plain threads without Orleans.</summary>
public static class ClusterBenchCommand
{
    public static Command Create(CliConsole console)
    {
        var cmd = new Command("cluster", "Items per second of clusters of 1, 2, ... silos on this machine (each silo a process with --threads libtorch " +
            "threads), side by side in one run, with the same items by 1, 2, ... plain processes without Orleans (the machine's ceiling), " +
            "CPU seconds per item, and the coordinator's store writes per second.");
        var silos = new Option<string>("--silos") { Description = "Cluster sizes to measure, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var workload = new Option<string>("--workload")
        {
            Description = $"What an item is ({ClusterBenchmark.KnownWorkloads}): nb201-proxies scores a NAS-Bench-201 cell on CIFAR-10 by --proxies; " +
                "mlp-eigen scores an eigen-search candidate of a small mlp space on digits (a working set that fits a core's cache).",
            DefaultValueFactory = _ => ClusterWorkload.Nb201Proxies.Name(),
        };
        var items = new Option<int>("--items") { Description = "Timed items per silo: a cluster of n silos computes them n times over, as n control processes each compute them all.", DefaultValueFactory = _ => 24 };
        var proxies = new Option<string>("--proxies") { Description = "Proxies each nb201-proxies item scores.", DefaultValueFactory = _ => ClusterBenchmark.DefaultProxies };
        var batch = new Option<int?>("--batch") { Description = $"Inputs per evaluation (default 64 for nb201-proxies, {ClusterBenchmark.MlpEigenBatch} for mlp-eigen)." };
        var seed = ExperimentCli.NewSeed();
        foreach (var o in new Option[] { silos, workload, items, proxies, batch, seed }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var sizes = pr.GetValue(silos)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.TryParse(s, out var v) ? v : throw new UsageException($"--silos {pr.GetValue(silos)}: '{s}' is not a number.")).ToList();
            if (!ClusterBenchmark.TryParseWorkload(pr.GetValue(workload)!, out var kind))
                throw new UsageException($"--workload {pr.GetValue(workload)}: use {ClusterBenchmark.KnownWorkloads}.");
            if (kind != ClusterWorkload.Nb201Proxies && pr.GetResult(proxies) is { Implicit: false })
                throw new UsageException($"--proxies: only the nb201-proxies workload scores proxies; drop it for --workload {kind.Name()}.");
            NasSharp.Proxies.ProxyRegistry.Parse(pr.GetValue(proxies)!);
            var config = new ClusterBenchmarkConfig(sizes, pr.GetValue(items), GlobalOptions.ResolveThreads(pr) ?? 1, pr.GetValue(seed), kind,
                pr.GetValue(proxies)!, pr.GetValue(batch));
            var data = DataDirectory.Resolve(pr.GetValue(GlobalOptions.DataDir)).Path;
            var output = console.WithProgress("bench cluster", progress => ClusterBenchmark.Run(config, LocalSilos.CurrentNas(), data, progress, console.Cancellation));
            if (pr.GetValue(GlobalOptions.Json)) { console.WriteJson(output); return 0; }
            console.Out.WriteLine($"Item ({output.Workload}): {output.ItemDescription}.");
            var table = new Table().AddColumns("", "items", "seconds", "items/s", "speedup", "compute CPU s/item", "silos' other CPU s/item",
                "coordinator CPU s/item", "items each");
            void Rows(IEnumerable<ClusterSizeResult> rows, IReadOnlyDictionary<int, double> speedup, string unit, string suffix = "")
            {
                foreach (var s in rows)
                    table.AddRow($"{s.Silos} {unit}{(s.Silos == 1 ? "" : unit.EndsWith('s') ? "es" : "s")}{suffix}", $"{s.Items}", $"{s.Seconds:F1}", $"{s.ItemsPerSecond:F3}", $"{speedup[s.Silos]:F2}x",
                        $"{s.ComputeCpuSecondsPerItem:F3}", $"{s.OtherSiloCpuSecondsPerItem:F3}", $"{s.CoordinatorCpuSecondsPerItem:F3}",
                        string.Join(", ", s.ItemsPerSilo.Values.Order()));
            }
            Rows(output.Sizes, output.Speedup, "silo");
            Rows(output.Control, output.ControlSpeedup, "process", " (no Orleans)");
            console.Ansi.Write(table);
            console.Out.WriteLine($"Coordinator store: {output.StoreWritesPerSecond:F0} results committed per second; a record is {output.RecordBytes:F0} bytes, " +
                $"a request {output.RequestBytes:F0} bytes ({output.Threads} libtorch thread{(output.Threads == 1 ? "" : "s")} per silo).");
            return 0;
        });
        return cmd;
    }
}
