"""Writes three tiny files in the layout of NASLib's NAS-Bench-201 pickles (nb201_<dataset>_full_training.pickle):
a dict from the cell's arch string to a dict from dataset key to a training record whose eval_acc1es lists the
evaluation accuracy (%) after each epoch. Three cells, three epochs; the last epoch's values are the ones the
conversion must keep (Nb201NaslibTests states them). Each file uses another pickle protocol (4, 3, 5).

    python3 make_naslib_nb201.py   # writes the three .pickle files beside this script
"""
import os
import pickle

CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
]


def record(final, cell):
    # A learning curve ending at `final`, losses, and the cost entry NASLib's records carry.
    return {
        "train_acc1es": [30.0 + cell, 60.0 + cell, 99.0],
        "eval_acc1es": [final / 4, final / 2, final],
        "train_losses": [2.0, 1.0, 0.5],
        "eval_losses": [2.1, 1.2, 0.7],
        "cost_info": {"flops": 82.49 - cell, "params": 0.5 + cell, "latency": 0.02, "train_time": 12.5},
    }


FINAL = {
    # cell: (cifar10-valid, cifar10, cifar100, ImageNet16-120)
    0: (91.60666666666667, 94.37, 73.49, 46.73333333333333),
    1: (81.9, 85.8633, 53.68, 25.7667),
    2: (10.0, 10.0, 1.0, 0.8333333333333334),
}


def write(name, protocol, keys, column):
    data = {cell: {key: record(FINAL[i][col], i) for key, col in zip(keys, column)} for i, cell in enumerate(CELLS)}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), "wb") as f:
        pickle.dump(data, f, protocol=protocol)


write("nb201_cifar10_full_training.pickle", 4, ["cifar10-valid", "cifar10"], [0, 1])
write("nb201_cifar100_full_training.pickle", 3, ["cifar100"], [2])
write("nb201_ImageNet16_full_training.pickle", 5, ["ImageNet16-120"], [3])
