namespace NasSharp.Benchmarks;

/// <summary>
/// Published rank correlations on NAS-Bench-201 (test accuracy; CIFAR-10 / CIFAR-100 / ImageNet16-120), for
/// side-by-side comparison in reports. Spearman ρ from Abdelfattah et al. 2021 (zero-cost proxies) as collected
/// in the ZiCo paper (Li et al. 2023, Table 1) and TE-NAS (Chen et al. 2021); NASWOT's are Kendall τ
/// (Mellor et al. 2021). Source of every figure: shared/PAPERS.md.
/// </summary>
public static class PublishedCorrelations
{
    public sealed record Figure(string Statistic, double Cifar10, double Cifar100, double ImageNet16)
    {
        public double? For(string target) => target switch
        {
            "cifar10" => Cifar10,
            "cifar100" => Cifar100,
            "imagenet16" => ImageNet16,
            _ => null,
        };
    }

    public static IReadOnlyDictionary<string, Figure> Nb201 { get; } = new Dictionary<string, Figure>
    {
        ["params"] = new("spearman", 0.75, 0.73, 0.69),
        ["flops"] = new("spearman", 0.73, 0.71, 0.67),
        ["synflow"] = new("spearman", 0.73, 0.76, 0.75),
        ["snip"] = new("spearman", 0.63, 0.63, 0.58),
        ["grad_norm"] = new("spearman", 0.63, 0.63, 0.58),
        ["grasp"] = new("spearman", 0.54, 0.51, 0.56),
        ["fisher"] = new("spearman", 0.55, 0.55, 0.50),
        ["zico"] = new("spearman", 0.80, 0.81, 0.79),
        ["ntk_cond"] = new("spearman", 0.70, 0.67, 0.64),
        ["naswot"] = new("kendall", 0.574, 0.611, 0.549),
    };
}
