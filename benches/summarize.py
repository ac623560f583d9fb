#!/usr/bin/env python3
"""Medians and ratios from `benches/peers.sh` output (read from a file or standard input).

    ROUNDS=5 benches/peers.sh > run.txt; python3 benches/summarize.py run.txt

For each workload: every implementation's figures per round, their median, and typenn's ratio
to each peer, both of the medians and per round (rounds run back to back, so a round's ratio
compares figures taken a few seconds apart).
"""
import re
import statistics
import sys

LOWER_IS_BETTER = {"W2_infer_1"}


def parse(lines):
    runs = {}  # (implementation, workload) -> [metric per round]
    implementation = None
    for line in lines:
        header = re.match(r"## round \d+ (\w+)", line)
        if header:
            implementation = header.group(1)
            continue
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        if "workload" not in fields or implementation is None:
            continue
        # PyTorch prints two W2 lines; the plain inference variant is the comparable one.
        if fields.get("variant", "").startswith("n"):
            continue
        value = float(fields["metric"])
        if fields.get("unit") == "us_per_call":
            value *= 1000.0  # to ns
        runs.setdefault((implementation, fields["workload"]), []).append(value)
    return runs


def ratio(workload, ours, theirs):
    return theirs / ours if workload in LOWER_IS_BETTER else ours / theirs


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    runs = parse(source)
    workloads = sorted({w for (_, w) in runs})
    for workload in workloads:
        print(f"{workload}:")
        ours = runs.get(("typenn", workload), [])
        for implementation in ("typenn", "dfdx", "torch"):
            values = runs.get((implementation, workload), [])
            if values:
                print(f"  {implementation:7} median {statistics.median(values):14.1f}   rounds "
                      + ", ".join(f"{v:.1f}" for v in values))
        for peer in ("dfdx", "torch"):
            theirs = runs.get((peer, workload), [])
            if ours and theirs:
                per_round = [ratio(workload, a, b) for a, b in zip(ours, theirs)]
                medians = ratio(workload, statistics.median(ours), statistics.median(theirs))
                print(f"  typenn/{peer}: {medians:.2f}x of medians; per round "
                      + ", ".join(f"{r:.2f}" for r in per_round)
                      + f" (median {statistics.median(per_round):.2f}x)")


if __name__ == "__main__":
    main()
