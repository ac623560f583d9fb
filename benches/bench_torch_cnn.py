#!/usr/bin/env python3
"""PyTorch (CPU, f32) peer of typenn's W9_cnn_train_b32 line (examples/workloads.rs).

The digits CNN of examples/digits_cnn.rs,
    Conv2d(1, 16, 3, padding=1) -> BatchNorm2d(16) -> ReLU -> MaxPool2d(2)
    -> Conv2d(16, 32, 3, padding=1) -> BatchNorm2d(32) -> ReLU -> MaxPool2d(2)
    -> Flatten -> Dropout(0.25) -> Linear(128, 10),
trained in training mode on N = 2048 synthetic 1 x 8 x 8 images: x ~ U[0, 1] and a class
uniform in 0..10, from SplitMix64 with seed 0x5EED0001 ^ 0x0009 exactly as typenn draws them
(each float (next_u64 >> 40) / 2^24, then the class next_u64 % 10, sample by sample), softmax
cross-entropy (nn.CrossEntropyLoss), plain SGD lr 0.01, batch 32, 3 epochs, fixed order. As
bench_torch.py does, 50 untimed batches train a throwaway network first; only the epoch loop
is timed. Metric: trained samples per second (N * epochs / wall seconds).

Output, one line:
  workload=W9_cnn_train_b32 metric=<samples/s> unit=samples_per_s [key=value ...]

Usage: OMP_NUM_THREADS=1 python bench_torch_cnn.py [--threads 1] [--repeat 1]
"""
import argparse
import os
import time

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--repeat", type=int, default=1,
                help="train from the same fresh init this many times; report the median")
args = ap.parse_args()

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
try:
    torch.set_num_interop_threads(args.threads)
except RuntimeError:
    pass

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def next_f32(self):
        return (self.next_u64() >> 40) / float(1 << 24)


def w9_data(n=2048):
    rng = SplitMix64(0x5EED0001 ^ 0x0009)
    xs, ys = [], []
    for _ in range(n):
        xs.append([rng.next_f32() for _ in range(64)])
        ys.append(rng.next_u64() % 10)
    x = torch.tensor(xs, dtype=torch.float32).reshape(n, 1, 8, 8)
    return x, torch.tensor(ys, dtype=torch.int64)


def digits_cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(128, 10),
    ).train()


def train(model, batches, epochs, n):
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    last = float("nan")
    t0 = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for xb, yb in batches:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        last = total / n
    return time.perf_counter() - t0, last


X, Y = w9_data()
N, BATCH, EPOCHS = X.shape[0], 32, 3
batches = [(X[i:i + BATCH], Y[i:i + BATCH]) for i in range(0, N, BATCH)]
train(digits_cnn(123), batches[:50], 1, BATCH * 50)
runs = sorted(train(digits_cnn(0), batches, EPOCHS, N) for _ in range(args.repeat))
wall, loss = runs[len(runs) // 2]
print(f"workload=W9_cnn_train_b32 metric={N * EPOCHS / wall:.1f} unit=samples_per_s "
      f"framework=torch-{torch.__version__} threads={torch.get_num_threads()} "
      f"final_epoch_mean_loss={loss:.6f} wall_s={wall:.4f} "
      f"n={N} epochs={EPOCHS} batch={BATCH} lr=0.01", flush=True)
