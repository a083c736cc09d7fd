"""Which architecture would an exact maximiser of NASI's objective pick among architectures whose trained accuracies are known?

NASI (Shu, Cai, Dai, Ooi, Low, ICLR 2022, arXiv 2109.00817) selects the architecture A that maximises
R(A) = T(A) - mu * max(0, T(A) - nu) (its Eq. 14), where T(A) = ||grad_theta L||^2 of the batch-mean loss at
initialisation is its approximation of the NTK trace norm (Eq. 12, NasSharp's `ntk_trace` proxy); its relaxed
Gumbel-softmax search only approximates that maximiser. This script reads

  SCORES.json   the `--json` output of `nas search --strategy proxy --proxy ntk_trace --archs FILE` (T of each architecture)
  TRAINED.json  the `--json` output of `nas bench train` (each trained architecture's role and test accuracy)

and prints, for each nu given (`inf`: no constraint), the architecture of largest R among those in both files, its test
accuracy and rank, beside the median of the `random` ones, and Spearman's rho between T and test accuracy.

    python3 bench/analysis/nasi_objective.py SCORES.json TRAINED.json [--mu 2] [--nu 100,inf]

Standard library only.
"""
import argparse
import json
import math
import statistics


def average_ranks(values):
    """Ranks 1..n, ties sharing their average rank (as scipy's rankdata)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x, y):
    """Spearman's rho: Pearson's correlation of the average ranks."""
    return statistics.correlation(average_ranks(x), average_ranks(y))


def objective(t, mu, nu):
    """NASI's Eq. 14: the trace norm, penalised with slope mu above nu."""
    return t - mu * max(0.0, t - nu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores")
    parser.add_argument("trained")
    parser.add_argument("--mu", type=float, default=2.0)
    parser.add_argument("--nu", default="100,inf", help="comma-separated constraints; inf for none")
    args = parser.parse_args()

    with open(args.scores) as f:
        scores = json.load(f)
    with open(args.trained) as f:
        trained = json.load(f)
    if scores.get("options", {}).get("proxy") != "ntk_trace":
        raise SystemExit(f"{args.scores}: not a proxy search by ntk_trace")
    t_of = {c["arch"]: c["score"] for c in scores["ranked"] if c["score"] is not None and math.isfinite(c["score"])}
    items = [(x["arch"], x["role"], x["test_accuracy_percent"]) for x in trained["trained"]
             if x["arch"] in t_of and x.get("test_accuracy_percent") is not None]
    if len(items) < 3:
        raise SystemExit(f"only {len(items)} architectures are in both files with a finite T and an accuracy: too few to rank")
    t = [t_of[a] for a, _, _ in items]
    acc = [x for _, _, x in items]
    random_acc = [x for _, role, x in items if role == "random"]
    median = statistics.median(random_acc) if random_acc else None
    order = sorted(range(len(items)), key=lambda i: -acc[i])  # rank 1 = most accurate; ties keep the file's order
    rank_of = {i: k + 1 for k, i in enumerate(order)}
    out = {
        "n": len(items),
        "random_median": median,
        "spearman_trace_norm_test_accuracy": spearman(t, acc),
        "architectures": [{"arch": a, "role": role, "trace_norm": t_of[a], "test_accuracy_percent": x} for a, role, x in items],
        "maximisers": [],
    }
    for text in args.nu.split(","):
        nu = math.inf if text.strip() == "inf" else float(text)
        best = max(range(len(items)), key=lambda i: objective(t[i], args.mu, nu))
        out["maximisers"].append({
            "nu": None if math.isinf(nu) else nu,
            "mu": args.mu,
            "above_nu": sum(x > nu for x in t),
            "arch": items[best][0],
            "role": items[best][1],
            "trace_norm": t[best],
            "test_accuracy_percent": acc[best],
            "rank": rank_of[best],
            "of": len(items),
            "above_random_median": None if median is None else acc[best] > median,
        })
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
