#!/usr/bin/env python3
"""Keras models with Conv2D and BatchNormalization or LayerNormalization, for tests/import.rs.

The first model is

    keras.Sequential([
        Input((6, 6, 2)),                            # channels last: (height, width, channels)
        Conv2D(3, 3, name="conv2d"),
        BatchNormalization(epsilon=1e-5, name="batch_normalization"),
        Activation("tanh"),
        GlobalAveragePooling2D(),
        Dense(4, name="dense"),
        BatchNormalization(epsilon=1e-5, name="batch_normalization_1"),
        Activation("relu"),
        Dense(2, name="dense_1"),
    ])

typenn's `BatchNorm` has PyTorch's eps, 1e-5, where Keras's default is 1e-3, so the model sets
it.

The second normalizes each sample over all its numbers, as typenn's `LayerNorm` (PyTorch's
`LayerNorm([3, 5, 5])`) does:

    keras.Sequential([
        Input((6, 6, 2)),
        Conv2D(3, 2, name="conv2d"),
        LayerNormalization(axis=[1, 2, 3], epsilon=1e-5, name="layer_normalization"),
        Activation("tanh"),
        GlobalAveragePooling2D(),
        Dense(2, name="dense"),
    ])

whose gamma and beta Keras keeps in the sample's channels-last shape (5, 5, 3), not PyTorch's
(3, 5, 5).

The third flattens a convolution's output into a Dense layer:

    keras.Sequential([
        Input((6, 6, 2)),
        Conv2D(3, 3, name="conv2d"),
        Activation("tanh"),
        Flatten(),
        Dropout(0.25),
        Dense(2, name="dense"),
    ])

Keras's `Flatten` of the channels-last (4, 4, 3) output numbers its inputs (h, w, c), where
typenn (as PyTorch) numbers them (c, h, w): the importer permutes the Dense kernel's rows.

The weights are Keras's initialization (seed 0) with each normalization's gamma and beta, and
BatchNormalization's moving mean and moving variance, then set to random values away from 1, 0,
0, 1, so that each matters in inference. Keras 3 runs here on its PyTorch backend (KERAS_BACKEND=torch, set by this
script), in float32. The script writes:

- tests/fixtures/keras_conv_bn.safetensors, keras_conv_ln.safetensors and
  keras_conv_flatten.safetensors: F32 tensors under
  Keras's names, `{layer}.kernel` (a Conv2D kernel (kh, kw, in, out), a Dense kernel
  (in, out)), `{layer}.bias`, and `{layer}.gamma`, `.beta`, `.moving_mean`, `.moving_variance`;
- tests/fixtures/keras_conv_norm_outputs.rs: for each model (modules `conv_bn`, `conv_ln`
  and `conv_flatten`), 5 random inputs and `model.predict`'s outputs for them. Keras's inputs are (N, H, W, C); the fixture holds each sample transposed to typenn's
  (and PyTorch's) (C, H, W) order, flat: `INPUTS[n][(c * 6 + h) * 6 + w]` is Keras's
  `x[n, h, w, c]`.

Regenerate with:

    /work/venv/bin/pip install keras safetensors
    /work/venv/bin/python tests/reference/keras_conv_norm.py

Made with keras 3.15.1 (torch 2.15.0 backend), safetensors 0.8.0, numpy 2.4.6 on CPU.
"""

import os
import pathlib

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported

import keras
import numpy as np
import safetensors.numpy

from rust_fixture import rust_const

SEED = 0
BATCH = 5
SHAPE = (6, 6, 2)

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures"


def conv_bn():
    keras.utils.set_random_seed(SEED)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            layers.Conv2D(3, 3, name="conv2d"),
            layers.BatchNormalization(epsilon=1e-5, name="batch_normalization"),
            layers.Activation("tanh"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(4, name="dense"),
            layers.BatchNormalization(epsilon=1e-5, name="batch_normalization_1"),
            layers.Activation("relu"),
            layers.Dense(2, name="dense_1"),
        ]
    )


def conv_ln():
    keras.utils.set_random_seed(SEED)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            layers.Conv2D(3, 2, name="conv2d"),
            layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5, name="layer_normalization"),
            layers.Activation("tanh"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2, name="dense"),
        ]
    )


def conv_flatten():
    keras.utils.set_random_seed(SEED)
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(SHAPE),
            layers.Conv2D(3, 3, name="conv2d"),
            layers.Activation("tanh"),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(2, name="dense"),
        ]
    )


def set_norms(net, rng):
    for layer in net.layers:
        if isinstance(layer, keras.layers.LayerNormalization):
            shape = layer.gamma.shape
            values = [0.75 + 0.5 * rng.random(shape), 0.4 * rng.random(shape) - 0.2]
            layer.set_weights([v.astype(np.float32) for v in values])
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            values = [
                0.75 + 0.5 * rng.random(c),
                0.4 * rng.random(c) - 0.2,
                0.4 * rng.random(c) - 0.2,
                0.5 + rng.random(c),
            ]
            layer.set_weights([v.astype(np.float32) for v in values])


def named_tensors(net):
    """`{layer}.{variable}` for every variable of every layer, as Keras names them."""
    return {
        f"{layer.name}.{variable.name}": keras.ops.convert_to_numpy(variable)
        for layer in net.layers
        for variable in layer.weights
    }


def export(label, build, rng):
    """Writes `label`'s tensors, and returns its module of the Rust fixture."""
    net = build()
    set_norms(net, rng)
    inputs = (rng.random((BATCH, *SHAPE)) * 2 - 1).astype(np.float32)
    outputs = net.predict(inputs, verbose=0)
    assert outputs.dtype == np.float32 and outputs.shape == (BATCH, 2)
    tensors = named_tensors(net)
    safetensors.numpy.save_file(tensors, FIXTURES / f"keras_{label}.safetensors")
    channels_first = inputs.transpose(0, 3, 1, 2).reshape(BATCH, -1)
    return "".join(
        [
            f"pub mod {label} {{\n",
            rust_const("INPUTS", channels_first.astype(np.float64)),
            rust_const("OUTPUTS", outputs.astype(np.float64)),
            "}\n",
        ]
    ), tensors


def main():
    rng = np.random.default_rng(SEED)
    bn, tensors = export("conv_bn", conv_bn, rng)
    assert tensors["conv2d.kernel"].shape == (3, 3, 2, 3), tensors["conv2d.kernel"].shape
    assert tensors["batch_normalization.moving_variance"].shape == (3,)
    ln, tensors = export("conv_ln", conv_ln, rng)
    assert tensors["layer_normalization.gamma"].shape == (5, 5, 3)
    flat, tensors = export("conv_flatten", conv_flatten, rng)
    assert tensors["dense.kernel"].shape == (48, 2), tensors["dense.kernel"].shape
    text = [
        (
            f"// Generated by tests/reference/keras_conv_norm.py (Keras {keras.__version__}, "
            f"{keras.backend.backend()} backend, seed {SEED}); do not edit.\n"
        ),
        "// Regenerate with `/work/venv/bin/python tests/reference/keras_conv_norm.py`.\n",
        "//\n",
        "// Inputs of the Keras models of keras_conv_bn.safetensors (Conv2D, BatchNormalization,\n",
        "// Dense), keras_conv_ln.safetensors (Conv2D, LayerNormalization, Dense) and\n",
        "// keras_conv_flatten.safetensors (Conv2D, Flatten, Dense), each Keras\n",
        "// (H, W, C) sample transposed to (C, H, W) and flattened, and the float32 outputs\n",
        "// `model.predict` gave for them (inference: BatchNormalization's moving statistics).\n\n",
        bn,
        "\n",
        ln,
        "\n",
        flat,
    ]
    fixture = FIXTURES / "keras_conv_norm_outputs.rs"
    fixture.write_text("".join(text))
    print(f"wrote {fixture}")


if __name__ == "__main__":
    main()
