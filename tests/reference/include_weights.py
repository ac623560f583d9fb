#!/usr/bin/env python3
"""Safetensors files for `#[weights(..)]` in `network!`: the networks of tests/include_weights.rs
and one file per mistake for the compile-fail cases in tests/ui/include_weights_*.rs.

Tensors are named and shaped as PyTorch's state_dict names and shapes them (`0.weight` of a
Linear is (out, in), of a Conv2d (out, in, kh, kw); a BatchNorm has weight, bias, running_mean,
running_var and an int64 num_batches_tracked, which typenn ignores). The values are chosen so a
test can check them by hand: value = layer + position / 100 for tensor position in C order
(row-major), negated at odd positions, so that a transposed or reordered tensor shows.

Written with safetensors.numpy.save_file. Regenerate with:

    python3 tests/reference/include_weights.py
"""

import pathlib

import numpy as np
from safetensors.numpy import save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "include_weights"
UI = ROOT / "tests" / "ui" / "weights"


def values(layer, shape, dtype=np.float32):
    """layer + position / 100, negated at odd positions, in C order."""
    count = int(np.prod(shape))
    position = np.arange(count, dtype=np.float64)
    sign = np.where(position % 2 == 0, 1.0, -1.0)
    return ((layer + position / 100.0) * sign).reshape(shape).astype(dtype)


def batch_norm(prefix, layer, channels):
    """A BatchNorm's four tensors, the variances positive, and its step count."""
    return {
        f"{prefix}.weight": values(layer, (channels,)),
        f"{prefix}.bias": values(layer + 0.5, (channels,)),
        f"{prefix}.running_mean": values(layer + 0.25, (channels,)),
        f"{prefix}.running_var": np.abs(values(layer + 0.75, (channels,))),
        f"{prefix}.num_batches_tracked": np.array(7, dtype=np.int64),
    }


def image():
    """`#[input_shape(1, 4, 4)] Image(Conv2d<1, 2, 3, Relu>, BatchNorm, Flatten, Dense<8, 3>,
    LayerNorm)`."""
    tensors = {
        "0.weight": values(1, (2, 1, 3, 3)),
        "0.bias": values(2, (2,)),
        "3.weight": values(4, (3, 8)),
        "3.bias": values(5, (3,)),
        "4.weight": values(6, (3,)),
        "4.bias": values(7, (3,)),
    }
    tensors.update(batch_norm("1", 3, 2))
    return tensors


def sequence():
    """`#[input_shape(2, 6)] Sequence { conv: Conv1d<2, 3, 3>, norm: LayerNorm, pool: MaxPool1d<2>,
    flat: Flatten, out: Dense<6, 2, Tanh> }`: LayerNorm over the (3, 4) sample."""
    return {
        "conv.weight": values(1, (3, 2, 3)),
        "conv.bias": values(2, (3,)),
        "norm.weight": values(3, (3, 4)),
        "norm.bias": values(4, (3, 4)),
        "out.weight": values(5, (2, 6)),
        "out.bias": values(6, (2,)),
    }


def small(dtype=np.float32):
    """`Small(Dense<2, 3, Relu>, Dense<3, 1>)`, the network of the compile-fail cases."""
    return {
        "0.weight": values(1, (3, 2), dtype),
        "0.bias": values(2, (3,), dtype),
        "1.weight": values(3, (1, 3), dtype),
        "1.bias": values(4, (1,), dtype),
    }


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    UI.mkdir(parents=True, exist_ok=True)
    save_file(image(), str(FIXTURES / "image.safetensors"))
    save_file(sequence(), str(FIXTURES / "sequence.safetensors"))
    save_file(small(np.float64), str(FIXTURES / "small_f64.safetensors"))

    save_file(small(), str(UI / "small.safetensors"))
    wrong_shape = small()
    wrong_shape["0.weight"] = values(1, (3, 3))
    save_file(wrong_shape, str(UI / "wrong_shape.safetensors"))
    missing = small()
    del missing["1.bias"]
    save_file(missing, str(UI / "missing_tensor.safetensors"))
    extra = small()
    extra["2.weight"] = values(5, (1, 1))
    save_file(extra, str(UI / "extra_tensor.safetensors"))
    save_file(small(np.float64), str(UI / "wrong_dtype.safetensors"))
    non_finite = small()
    non_finite["1.weight"][0, 2] = np.inf
    save_file(non_finite, str(UI / "non_finite.safetensors"))


if __name__ == "__main__":
    main()
