#!/usr/bin/env python3
"""Writes model.safetensors, the firmware's network `Model(Dense<4, 8, Relu>, Dense<8, 3, Tanh>)`,
which `#[weights("model/model.safetensors")]` in src/lib.rs reads while the crate compiles.

The weights were drawn once, uniformly from [-1, 1] and rounded to two decimals; they are not
trained: the check is that the Cortex-M computes what the host computes. Tensors are named and
shaped as PyTorch's state_dict of nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3)) would be:
`0.weight` (8, 4), row i holding unit i's input weights, `0.bias` (8,), `1.weight` (3, 8),
`1.bias` (3,), float32.

Regenerate with (numpy and safetensors, as in /work/venv):

    python3 embedded/model/write_model.py
"""

import pathlib

import numpy as np
from safetensors.numpy import save_file

HERE = pathlib.Path(__file__).resolve().parent

HIDDEN_WEIGHTS = [
    [-0.05, 0.31, 0.33, -0.71],
    [-0.98, -0.25, -0.45, 0.62],
    [0.38, 0.20, 0.12, 0.32],
    [-0.71, -0.12, -0.68, 0.81],
    [-0.88, 0.64, -0.85, 0.37],
    [-0.33, -0.19, 0.68, -0.96],
    [-0.88, 0.83, 0.02, -0.82],
    [0.97, 0.89, -0.77, -0.15],
]
HIDDEN_BIAS = [-0.73, -0.37, 0.24, -0.67, 0.39, -0.90, -0.66, 0.63]
OUTPUT_WEIGHTS = [
    [-0.20, -0.16, 0.19, -0.05, -0.23, -0.94, 0.45, 0.93],
    [0.95, 0.33, -0.29, -0.27, 0.38, 0.35, -0.77, -0.53],
    [-0.27, 0.02, 0.62, 0.00, -0.94, 0.65, -0.14, 0.04],
]
OUTPUT_BIAS = [-0.56, -0.15, -0.22]


def main():
    tensors = {
        "0.weight": np.array(HIDDEN_WEIGHTS, dtype=np.float32),
        "0.bias": np.array(HIDDEN_BIAS, dtype=np.float32),
        "1.weight": np.array(OUTPUT_WEIGHTS, dtype=np.float32),
        "1.bias": np.array(OUTPUT_BIAS, dtype=np.float32),
    }
    save_file(tensors, str(HERE / "model.safetensors"))


if __name__ == "__main__":
    main()
