#!/usr/bin/env python3
"""W9 against its PyTorch peer, alternately: cnn_vs_torch.py ROUNDS WORKLOADS [WORKLOADS...]

Each round runs every given `workloads` binary with `--cnn` (a binary without the flag runs every
workload, W9 among them) and then `bench_torch_cnn.py --threads 1` under $PYTHON (default
python3), and prints each binary's samples per second and its ratio to the peer in that round;
at the end, the medians and the per-round ratios."""
import os, re, statistics, subprocess, sys

rounds, binaries = int(sys.argv[1]), sys.argv[2:]
peer = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_torch_cnn.py")
python = os.environ.get("PYTHON", "python3")
pattern = re.compile(r"workload=W9_cnn_train_b32 metric=(\S+)")
env = dict(os.environ, OMP_NUM_THREADS="1")


def metric(command, **kwargs):
    out = subprocess.run(command, capture_output=True, text=True, **kwargs).stdout
    return float(pattern.search(out)[1])


typenn = {b: [] for b in binaries}
torch = []
for r in range(rounds):
    for b in binaries if r % 2 == 0 else binaries[::-1]:
        typenn[b].append(metric([b, "--cnn"]))
    torch.append(metric([python, peer, "--threads", "1"], env=env))
    line = " ".join(f"{b}={typenn[b][-1]:.0f} ({typenn[b][-1] / torch[-1]:.2f}x)" for b in binaries)
    print(f"round {r}: {line} torch={torch[-1]:.0f}", flush=True)
for b in binaries:
    ratios = [x / t for x, t in zip(typenn[b], torch)]
    print(f"{b}: median {statistics.median(typenn[b]):.0f} samples/s, torch median "
          f"{statistics.median(torch):.0f}, per-round ratios "
          f"{', '.join(f'{x:.2f}' for x in ratios)}, median ratio {statistics.median(ratios):.2f}")
