#!/usr/bin/env bash
# Runs typenn, dfdx and PyTorch workloads back to back, in rounds (ROUNDS, default 3).
# PyTorch's W9 (the digits CNN) comes from bench_torch_cnn.py, in the same round.
cd "$(dirname "$0")/.."
for round in $(seq "${ROUNDS:-3}"); do
  echo "## round $round typenn"; ./target/release/examples/workloads
  echo "## round $round dfdx"; "${DFDX_BENCH:-/tmp/dfdx-bench/release/dfdx-bench}"
  echo "## round $round torch"; OMP_NUM_THREADS=1 "${PYTHON:-python3}" ../shared/peers/torch/bench_torch.py --threads 1
  echo "## round $round torch"; OMP_NUM_THREADS=1 "${PYTHON:-python3}" benches/bench_torch_cnn.py --threads 1
done
