"""Times the reference implementation of the zero-cost proxies (SamsungLabs/zero-cost-nas; Abdelfattah, Mehrotra, Dudziak,
Lane, ICLR 2021, arXiv 2101.08134) on the workload of `nas bench proxies`: the same five NAS-Bench-201 cells, batch 64,
10 classes, one thread. It imports the reference from a checkout given on the command line and calls its own measure
functions; nothing of it is copied here. Run it at the same time as `nas bench proxies --threads 1` so that both see the
same machine:

    python3 bench/reference/zero_cost_nas.py PATH/TO/zero-cost-nas > reference.json

Inputs are standard-normal images (the reference's timings do not depend on the pixel values); labels cycle over the classes.
Prints JSON: per cell, the seconds of one train-mode forward + backward (the floor), of building the network and running
grad_norm, snip, fisher, jacob_cov and synflow (each by the reference's calc_measure, which copies the network as the
reference does), and of GraSP alone on the first cell; the process's peak resident memory.
"""
import json
import resource
import sys
import time

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|skip_connect~1|nor_conv_1x1~2|",
]
CHEAP = ["grad_norm", "snip", "fisher", "jacob_cov", "synflow"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: zero_cost_nas.py PATH/TO/zero-cost-nas (a checkout of SamsungLabs/zero-cost-nas)")
    sys.path.insert(0, sys.argv[1])
    import torch
    import torch.nn.functional as F
    from foresight.models.nasbench2 import get_model_from_arch_str
    from foresight.pruners import measures
    from foresight.pruners.predictive import copynet
    import types

    torch.set_num_threads(1)
    torch.manual_seed(0)
    inputs = torch.randn(64, 3, 32, 32)
    targets = torch.arange(64) % 10
    device = torch.device("cpu")

    def build(arch):
        net = get_model_from_arch_str(arch, 10)
        net.get_prunable_copy = types.MethodType(copynet, net)
        return net

    def floor(net):
        net.train()
        net.zero_grad()
        F.cross_entropy(net(inputs), targets).backward()

    # Warm-up: one untimed evaluation of everything, as `nas bench proxies` does.
    warm = build(CELLS[0])
    floor(warm)
    for name in CHEAP + ["grasp"]:
        measures.calc_measure(name, warm, device, inputs, targets, loss_fn=F.cross_entropy, split_data=1)

    rows = []
    for arch in CELLS:
        net = build(arch)
        start = time.perf_counter()
        floor(net)
        fwd_bwd = time.perf_counter() - start
        start = time.perf_counter()
        net = build(arch)
        for name in CHEAP:
            measures.calc_measure(name, net, device, inputs, targets, loss_fn=F.cross_entropy, split_data=1)
        cheap = time.perf_counter() - start
        rows.append({"arch": arch, "forward_backward_seconds": fwd_bwd, "five_cheap_seconds": cheap})
        print(f"{arch}: floor {fwd_bwd:.3f} s, five cheap {cheap:.3f} s", file=sys.stderr)
    start = time.perf_counter()
    net = build(CELLS[0])
    measures.calc_measure("grasp", net, device, inputs, targets, loss_fn=F.cross_entropy, split_data=1)
    grasp = time.perf_counter() - start
    n = len(rows)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cells": rows,
        "forward_backward_seconds_per_cell": sum(r["forward_backward_seconds"] for r in rows) / n,
        "five_cheap_seconds_per_cell": sum(r["five_cheap_seconds"] for r in rows) / n,
        "grasp_best_cell_seconds": grasp,
        "peak_resident_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, indent=2))


if __name__ == "__main__":
    main()
