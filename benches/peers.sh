#!/usr/bin/env bash
# Runs typenn and its peers back to back, in rounds (ROUNDS, default 3): typenn's workloads, dfdx,
# PyTorch (W1-W3, the digits CNN of W9, and the sequence workloads W4-W8), RTNeural's four builds
# (W2, W4-W7) and the FMA ceiling of this core. `benches/summarize.py` turns the output into
# medians and per-round ratios.
#
#   bash ../shared/peers/rtneural/run.sh 1000 > /dev/null  # builds RTNeural's four binaries once
#   ROUNDS=5 PYTHON=/path/to/venv/bin/python bash benches/peers.sh > run.txt
#   python3 benches/summarize.py run.txt
#
# A peer that is not built or installed is skipped with a line saying so.
cd "$(dirname "$0")/.."
peers=../shared/peers
python=${PYTHON:-python3}
dfdx=${DFDX_BENCH:-/tmp/dfdx-bench/release/dfdx-bench}
rtneural=${RTNEURAL_BUILD:-/tmp/rtneural-bench}
peak=${FMA_PEAK:-/tmp/fma_peak}
[ -x "$peak" ] || gcc -O2 -mavx2 -mfma benches/fma_peak.c -o "$peak" 2>/dev/null ||
    echo "# fma_peak: gcc could not build benches/fma_peak.c" >&2
for round in $(seq "${ROUNDS:-3}"); do
  echo "## round $round typenn"; ./target/release/examples/workloads
  if [ -x "$dfdx" ]; then echo "## round $round dfdx"; "$dfdx"; else echo "# dfdx: $dfdx not built" >&2; fi
  echo "## round $round torch"
  OMP_NUM_THREADS=1 "$python" "$peers/torch/bench_torch.py" --threads 1
  OMP_NUM_THREADS=1 "$python" benches/bench_torch_cnn.py --threads 1
  OMP_NUM_THREADS=1 "$python" "$peers/torch/bench_torch_seq.py"
  for backend in xsimd-avx2 xsimd-native eigen-avx2 eigen-native; do
    if [ -x "$rtneural/$backend" ]; then
      echo "## round $round rtneural"; "$rtneural/$backend" 2> /dev/null
    fi
  done
  if [ -x "$peak" ]; then
    echo "## round $round peak"
    "$peak" | sed -n 's/^\([0-9]*\)-bit: \([0-9.]*\) GFLOP\/s.*/workload=fma_peak_\1 metric=\2 unit=gflop_per_s/p'
  fi
done
