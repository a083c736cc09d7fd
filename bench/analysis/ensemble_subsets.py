"""Can a subset of the ensemble's components, chosen on one sample of NAS-Bench-201 cells, pick better cells elsewhere?

Reads two NasSharp result stores (SQLite): a `nas bench correlate` run whose proxies include every component below (the
tuning sample; its cells' table accuracies are stored with the scores), and a `nas bench search` run of the proxy strategy
whose method scored the same components (the held-out samples: each seed's candidates with their component scores). For
every non-empty subset of the components it computes the expected CIFAR-10 test accuracy of the best of 100 cells drawn
from the tuning sample (exact, not simulated), aggregated as NasSharp aggregates (the sum over components of log(rank/N),
average ranks, non-finite scores below every finite one); then each named rule and the tuning sample's best subset pick
one cell per held-out seed, whose table accuracies it prints. Only the held-out figure measures a fitted subset.

    python3 bench/analysis/ensemble_subsets.py TUNING.db SEARCH.db METHOD NB201.csv

Needs numpy and scipy (Debian: python3-numpy, python3-scipy).
"""
import csv
import itertools
import json
import math
import sqlite3
import sys

import numpy as np
from scipy.stats import rankdata, spearmanr

ENSEMBLE = ["az_expressivity", "az_progressivity", "az_trainability", "flops", "swap", "meco", "synflow"]
COMPONENTS = ENSEMBLE + ["zico", "ntk_min_eig_bnfix_tr"]
RULES = {"az_nas": ENSEMBLE[:4], "ensemble": ENSEMBLE, "ensemble_full": COMPONENTS}
TARGETS = ["cifar10", "cifar100", "imagenet16"]


def log_ranks(values):
    v = np.array([x if x is not None and math.isfinite(x) else -math.inf for x in values], dtype=float)
    return np.log(rankdata(v, method="average") / len(v))


def aggregate(scores, components):
    return sum(log_ranks([s.get(c) for s in scores]) for c in components)


def expected_best_of(score, accuracy, k=100):
    """E[accuracy of the top-scored cell of a uniform k-subset]: the i-th ranked cell is the top with C(n-1-i, k-1)/C(n, k)."""
    n = len(score)
    ordered = np.asarray(accuracy)[np.argsort(-np.asarray(score), kind="stable")]
    p = np.array([math.comb(n - 1 - i, k - 1) for i in range(n)], dtype=float) / math.comb(n, k)
    return float(p @ ordered)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: ensemble_subsets.py TUNING.db SEARCH.db METHOD NB201.csv")
    tuning_db, search_db, method, table_csv = sys.argv[1:]
    table = {r["arch"]: r for r in csv.DictReader(open(table_csv))}
    rows = sqlite3.connect(tuning_db).execute("select value_json from results where item_key like 'arch/%'").fetchall()
    cells = [json.loads(r[0]) for r in rows]
    accuracy = np.array([c["accuracy_percent"] for c in cells])
    scores = [c["scores"] for c in cells]
    missing = [c for c in COMPONENTS if any(c not in s for s in scores)]
    if missing:
        sys.exit(f"the tuning run did not score {', '.join(missing)}")
    ranks = {c: log_ranks([s[c] for s in scores]) for c in COMPONENTS}
    subsets = sorted(((expected_best_of(sum(ranks[c] for c in sub), accuracy), sub)
                      for k in range(1, len(COMPONENTS) + 1) for sub in itertools.combinations(COMPONENTS, k)), reverse=True)
    held = {}
    for key, value in sqlite3.connect(search_db).execute("select item_key, value_json from results where item_key like ?", (method + "/%/score/%",)):
        x = json.loads(value)
        held.setdefault(int(key.split("/")[1]), []).append((x["arch"], x["measures"]))
    if not held:
        sys.exit(f"the search store has no candidates of method {method}")
    tuned = {c["arch"] for c in cells}
    out = {
        "tuning_cells": len(cells),
        "tuning_oracle_best_of_100": expected_best_of(accuracy, accuracy),
        "held_out_seeds": sorted(held),
        "held_out_cells": sum(len(v) for v in held.values()),
        "held_out_cells_in_tuning_sample": sum(a in tuned for v in held.values() for a, _ in v),
        "held_out_oracle_cifar10": [max(float(table[a]["cifar10_test"]) for a, _ in held[s]) for s in sorted(held)],
        "best_subsets_in_sample": [{"components": list(sub), "best_of_100": b} for b, sub in subsets[:10]],
        "rules": {},
    }
    rules = dict(RULES, best_subset=list(subsets[0][1]))
    for name, components in rules.items():
        total = sum(ranks[c] for c in components)
        picks = []
        for seed in sorted(held):
            candidates = held[seed]
            picks.append(candidates[int(np.argmax(aggregate([m for _, m in candidates], components)))][0])
        out["rules"][name] = {
            "components": components,
            "tuning_spearman": float(spearmanr(total, accuracy)[0]),
            "tuning_best_of_100": expected_best_of(total, accuracy),
            "held_out": {t: [float(table[p][t + "_test"]) for p in picks] for t in TARGETS},
        }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
