#!/usr/bin/env python3
"""Medians and ratios from `benches/peers.sh` output (read from a file or standard input).

    ROUNDS=5 bash benches/peers.sh > run.txt; python3 benches/summarize.py run.txt

For each workload: every implementation's figures per round, their median, and typenn's ratio
to each peer, both of the medians and per round (rounds run back to back, so a round's ratio
compares figures taken a few seconds apart). Where an implementation prints several lines for
one workload in a round (RTNeural's four builds), the round keeps its best.
"""
import re
import statistics
import sys

PEERS = ("dfdx", "torch", "rtneural")


def lower_is_better(unit):
    return unit.startswith(("ns_", "us_"))


def parse(lines):
    runs = {}  # (implementation, workload) -> {round: metric}
    units = {}
    implementation = None
    for line in lines:
        header = re.match(r"## round (\d+) (\w+)", line)
        if header:
            round_, implementation = int(header.group(1)), header.group(2)
            continue
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        if "workload" not in fields or implementation is None:
            continue
        # PyTorch prints two W2 lines; the plain inference variant is the comparable one.
        if fields.get("variant", "").startswith("n"):
            continue
        value, unit = float(fields["metric"]), fields["unit"]
        if unit == "us_per_call":
            value, unit = value * 1000.0, "ns_per_sample"
        workload = fields["workload"]
        units[workload] = unit
        rounds = runs.setdefault((implementation, workload), {})
        if round_ in rounds:
            best = min if lower_is_better(unit) else max
            value = best(value, rounds[round_])
        rounds[round_] = value
    return runs, units


def ratio(unit, ours, theirs):
    return theirs / ours if lower_is_better(unit) else ours / theirs


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    runs, units = parse(source)
    for workload in sorted(units):
        unit = units[workload]
        print(f"{workload} ({unit}):")
        ours = runs.get(("typenn", workload), {})
        for implementation in ("typenn", *PEERS, "peak"):
            values = runs.get((implementation, workload), {})
            if values:
                print(f"  {implementation:8} median {statistics.median(values.values()):14.1f}"
                      "   rounds " + ", ".join(f"{v:.1f}" for v in values.values()))
        for peer in PEERS:
            theirs = runs.get((peer, workload), {})
            common = sorted(set(ours) & set(theirs))
            if common:
                per_round = [ratio(unit, ours[r], theirs[r]) for r in common]
                medians = ratio(unit, statistics.median(ours.values()),
                                statistics.median(theirs.values()))
                print(f"  typenn/{peer}: {medians:.2f}x of medians; per round "
                      + ", ".join(f"{r:.2f}" for r in per_round)
                      + f" (median {statistics.median(per_round):.2f}x)")
    # W3's share of this core's FMA ceiling: 409,088 flops a sample (WORKLOADS.md), against the
    # best of the 512-bit and 256-bit peaks measured in the same round.
    for workload in ("W3_train_b64",):
        ours = runs.get(("typenn", workload), {})
        # A CPU without AVX-512F has no 512-bit figure: its ceiling is the 256-bit one.
        peaks = [runs.get(("peak", f"fma_peak_{bits}"), {}) for bits in (512, 256)]
        peaks = [p for p in peaks if p]
        common = sorted(r for r in ours if peaks and all(r in p for p in peaks))
        if common:
            shares = [ours[r] * 409_088 / (max(p[r] for p in peaks) * 1e9) for r in common]
            print(f"{workload} share of one core's FMA peak: per round "
                  + ", ".join(f"{x:.0%}" for x in shares)
                  + f" (median {statistics.median(shares):.0%})")


if __name__ == "__main__":
    main()
