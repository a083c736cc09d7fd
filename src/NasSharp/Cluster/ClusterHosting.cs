using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace NasSharp.Cluster;

/// <summary>
/// Where a silo listens and how it finds the cluster. With <see cref="Redis"/> the membership table lives in Redis and any
/// silo may come and go. Otherwise (Orleans' development clustering) a silo without <see cref="Primary"/> is the cluster's
/// primary: the others join it, it keeps the membership in memory, and the cluster lives as long as it does.
/// <see cref="Advertise"/> is the address other machines reach the silo at (loopback by default: one machine).
/// </summary>
public sealed record SiloSettings
{
    /// <summary>A StackExchange.Redis connection string (e.g. <c>redis-host:6379</c>) whose server holds the membership.</summary>
    public string? Redis { get; init; }
    /// <summary>A PostgreSQL connection string (Npgsql) whose database holds Orleans' ADO.NET membership table
    /// (<see cref="ClusterHosting.PostgresMembershipSql"/>).</summary>
    public string? AdoNet { get; init; }
    public int SiloPort { get; init; } = ClusterAddress.DefaultSiloPort;
    public int GatewayPort { get; init; } = ClusterAddress.DefaultGatewayPort;
    public IPEndPoint? Primary { get; init; }
    public IPAddress Advertise { get; init; } = IPAddress.Loopback;
    public string ClusterId { get; init; } = ClusterAddress.DefaultClusterId;
    /// <summary>How long a silo that stopped answering probes takes to be declared dead; its items then go to other silos.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// How a coordinator reaches a cluster: its gateways (host:port, comma-separated), <c>localhost</c> for silos on this
/// machine started with the default ports, or <c>redis:CONNECTION</c> for a cluster whose membership is in Redis (the
/// coordinator then finds every silo's gateway there), or <c>adonet:CONNECTION</c> for one whose membership is in PostgreSQL.
/// </summary>
public sealed record ClusterAddress(IReadOnlyList<IPEndPoint> Gateways, string ClusterId, string? Redis = null, string? AdoNet = null)
{
    public const int DefaultSiloPort = 11111;
    public const int DefaultGatewayPort = 30000;
    public const string DefaultClusterId = "nassharp";
    private const string RedisPrefix = "redis:";
    private const string AdoNetPrefix = "adonet:";

    public override string ToString() => Redis is { } r ? $"{RedisPrefix}{r}" : AdoNet is not null ? $"{AdoNetPrefix}(PostgreSQL)"
        : string.Join(",", Gateways.Select(g => g.ToString()));

    /// <summary>Reads <c>localhost</c>, <c>localhost:PORT</c> or <c>HOST:PORT[,HOST:PORT…]</c>; a mistake is one line.</summary>
    public static ClusterAddress Parse(string text, string clusterId = DefaultClusterId)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith(RedisPrefix, StringComparison.Ordinal))
            return text.Length > RedisPrefix.Length ? new([], clusterId, text[RedisPrefix.Length..])
                : throw new SettingException("--cluster redis: give the Redis connection, e.g. redis:redis-host:6379.");
        if (text.StartsWith(AdoNetPrefix, StringComparison.Ordinal))
            return text.Length > AdoNetPrefix.Length ? new([], clusterId, AdoNet: text[AdoNetPrefix.Length..])
                : throw new SettingException("--cluster adonet: give the PostgreSQL connection, e.g. 'adonet:Host=db-host;Database=orleans;Username=orleans;Password=…'.");
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new SettingException("--cluster: give 'localhost' or the silos' gateways as HOST:PORT[,HOST:PORT…].");
        return new([.. parts.Select(p => Endpoint(p, "--cluster", DefaultGatewayPort))], clusterId);
    }

    /// <summary>HOST[:PORT] as an endpoint (a host name is resolved; <c>localhost</c> is loopback).</summary>
    public static IPEndPoint Endpoint(string text, string option, int defaultPort)
    {
        int colon = text.LastIndexOf(':');
        string host = colon < 0 ? text : text[..colon];
        int port = defaultPort;
        if (colon >= 0 && (!int.TryParse(text[(colon + 1)..], out port) || port is < 1 or > 65535))
            throw new SettingException($"{option} {text}: the port must be a number from 1 to 65535.");
        if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        try { return new IPEndPoint(Dns.GetHostAddresses(host).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork), port); }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException)
        { throw new SettingException($"{option} {text}: cannot resolve host '{host}'."); }
    }
}

/// <summary>Builds silos (workers) and clients (coordinators) with NasSharp's grains and settings.</summary>
public static class ClusterHosting
{
    /// <summary>The ADO.NET provider Orleans' ADO.NET clustering is given for PostgreSQL (Npgsql).</summary>
    private const string PostgresInvariant = "Npgsql";

    static ClusterHosting() => System.Data.Common.DbProviderFactories.RegisterFactory(PostgresInvariant, Npgsql.NpgsqlFactory.Instance);

    /// <summary>The SQL that creates Orleans' membership table in a PostgreSQL database (Orleans' own scripts, main then
    /// clustering): run it once per database, e.g. <c>nas cluster sql | psql -d orleans</c>.</summary>
    public static string PostgresMembershipSql()
    {
        var assembly = typeof(ClusterHosting).Assembly;
        return string.Concat(new[] { "PostgreSQL-Main.sql", "PostgreSQL-Clustering.sql" }.Select(name =>
        {
            using var stream = assembly.GetManifestResourceStream($"NasSharp.Cluster.Sql.{name}")
                ?? throw new InvalidOperationException($"{name} is missing from this build of NasSharp.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd() + "\n";
        }));
    }

    /// <summary>A worker silo, not yet started.</summary>
    public static IHost BuildSilo(SiloSettings silo, WorkerSettings worker, LogLevel logLevel = LogLevel.Error)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(worker);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(logLevel);
        builder.UseOrleans(b => ConfigureSilo(b, silo, worker));
        return builder.Build();
    }

    /// <summary>What a silo needs beyond its clustering: NasSharp's worker and the failure-detection times.</summary>
    public static void ConfigureSilo(ISiloBuilder builder, SiloSettings silo, WorkerSettings worker)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (silo.Redis is { } redis)
        {
            if (silo.Primary is not null) throw new SettingException("--primary: a silo of a Redis-membership cluster has no primary; give --redis alone.");
            builder.UseRedisClustering(redis);
        }
        else if (silo.AdoNet is { } connection)
        {
            if (silo.Primary is not null) throw new SettingException("--primary: a silo of a PostgreSQL-membership cluster has no primary; give --clustering adonet --connection alone.");
            builder.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (PostgresInvariant, connection));
        }
        else builder.UseDevelopmentClustering(silo.Primary ?? new IPEndPoint(silo.Advertise, silo.SiloPort));
        builder.ConfigureEndpoints(silo.Advertise, silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(silo.Advertise));
        builder.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (silo.ClusterId, silo.ClusterId));
        ConfigureWorker(builder, worker, silo.ProbeTimeout);
    }

    /// <summary>NasSharp's worker in a silo of any clustering (also used by the in-process test cluster).</summary>
    public static void ConfigureWorker(ISiloBuilder builder, WorkerSettings worker, TimeSpan probeTimeout)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(worker);
        builder.Services.AddSingleton(sp => new SiloWorker(worker, sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToString()));
        builder.Configure<ClusterMembershipOptions>(o =>
        {
            // A killed silo is declared dead after a few missed probes; the defaults take about a minute.
            o.ProbeTimeout = probeTimeout;
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
        });
        // An item takes as long as it takes (training a network: minutes); a lost silo is found by the membership instead.
        builder.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromHours(6));
    }

    /// <summary>A coordinator's client, connected.</summary>
    public static async Task<IHost> ConnectClient(ClusterAddress address, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(c =>
        {
            if (address.Redis is { } redis) c.UseRedisClustering(redis);
            else if (address.AdoNet is { } connection) c.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (PostgresInvariant, connection));
            else c.UseStaticClustering([.. address.Gateways]);
            c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (address.ClusterId, address.ClusterId));
            c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromHours(6));
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellation);
            return host;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            host.Dispose();
            throw new ClusterException($"--cluster: cannot reach a silo at {address} ({e.Message.Split('\n')[0]}); " +
                "start one with 'nas cluster silo'.");
        }
    }
}
