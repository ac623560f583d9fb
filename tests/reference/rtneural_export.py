#!/usr/bin/env python3
"""An RTNeural JSON model, written by RTNeural's own Python exporter, and RTNeural's outputs for
it, for tests/rtneural.rs.

The model is a Keras 3 model (torch backend) of every layer kind typenn reads from RTNeural's
format, two inputs per time step:

    keras.Sequential([
        Input((None, 2)),
        Dense(4, activation="tanh"),        # a dense layer with its activation
        GRU(6, return_sequences=True),      # reset_after=True, Keras's default
        LSTM(5, return_sequences=True),
        Dense(3, activation="relu"),
        Activation("sigmoid"),              # an activation layer of its own
        Dense(2),                           # no activation
    ])

Its weights are drawn from numpy's generator (seed 5), uniform in [-0.8, 0.8], and set with
`set_weights` (float32, as Keras keeps them), so the files do not depend on Keras's random
streams. The JSON is written by `save_model` of RTNeural's exporter, `python/model_utils.py` of
the vendored RTNeural (../shared/peers/rtneural/vendor), unchanged. It imports TensorFlow's
Keras (`from tensorflow import keras`), which Keras 3 is: a module named `tensorflow` whose
`keras` is Keras 3 stands in for it, and for Keras 3 layers the exporter takes each layer's
shape from `layer.output.shape`, as its fallback does.

The script then builds tests/reference/rtneural_driver.cpp against the vendored RTNeural and the
system's Eigen, runs it on the inputs (a fixed stream of 24 steps), and writes:

- tests/fixtures/rtneural_model.json: the model as RTNeural's exporter writes it;
- tests/fixtures/rtneural_inputs.csv: the input stream, one step per line;
- tests/fixtures/rtneural_outputs.csv: RTNeural's outputs (Model<double>), one step per line;
- tests/fixtures/rtneural_keras_outputs.csv: Keras's own `model.predict` for the same stream
  (float32), a second check that RTNeural and Keras agree.

Regenerate from the project root with

    KERAS_BACKEND=torch /work/venv/bin/python tests/reference/rtneural_export.py \
        [--rtneural ../shared/peers/rtneural/vendor]

The output is the same bytes on every run.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import types

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import keras
import numpy as np

SEED = 5
STEPS = 24
ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def model():
    return keras.Sequential(
        [
            keras.Input((None, 2)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.GRU(6, return_sequences=True),
            keras.layers.LSTM(5, return_sequences=True),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Activation("sigmoid"),
            keras.layers.Dense(2),
        ]
    )


def rtneural_exporter(vendor):
    """RTNeural's `model_utils`, importing Keras 3 as TensorFlow's Keras."""
    tensorflow = types.ModuleType("tensorflow")
    tensorflow.keras = keras
    sys.modules["tensorflow"] = tensorflow
    sys.path.insert(0, str(vendor / "python"))
    import model_utils

    return model_utils


def csv(rows):
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtneural", default=str(ROOT.parent / "shared/peers/rtneural/vendor"))
    vendor = pathlib.Path(parser.parse_args().rtneural).resolve()

    rng = np.random.default_rng(SEED)
    net = model()
    net.set_weights([rng.uniform(-0.8, 0.8, size=w.shape).astype(np.float32) for w in net.get_weights()])
    inputs = rng.uniform(-1.5, 1.5, size=(STEPS, 2))
    # RTNeural reads doubles; Keras computes in float32: both from the same float32 values.
    inputs = inputs.astype(np.float32).astype(np.float64)

    model_path = FIXTURES / "rtneural_model.json"
    rtneural_exporter(vendor).save_model(net, str(model_path))
    (FIXTURES / "rtneural_inputs.csv").write_text(csv(inputs))
    keras_outputs = net.predict(inputs[None].astype(np.float32), verbose=0)[0]
    (FIXTURES / "rtneural_keras_outputs.csv").write_text(csv(keras_outputs))

    with tempfile.TemporaryDirectory() as build:
        driver = pathlib.Path(build) / "rtneural_driver"
        subprocess.run(
            [
                "g++", "-std=c++17", "-O2",
                f"-I{vendor}", f"-I{vendor / 'RTNeural'}", "-I/usr/include/eigen3",
                "-DRTNEURAL_USE_EIGEN=1", "-DRTNEURAL_DEFAULT_ALIGNMENT=16",
                str(ROOT / "tests/reference/rtneural_driver.cpp"), "-o", str(driver),
            ],
            check=True,
        )
        outputs = subprocess.run(
            [str(driver), str(model_path), str(FIXTURES / "rtneural_inputs.csv")],
            check=True, capture_output=True, text=True,
        ).stdout
    (FIXTURES / "rtneural_outputs.csv").write_text(outputs)
    rtneural = np.array([[float(v) for v in line.split(",")] for line in outputs.splitlines()])
    error = np.abs(rtneural - keras_outputs).max()
    print(f"RTNeural (double) and Keras (float32) agree within {error:.1e}")
    assert rtneural.shape == (STEPS, 2) and error < 1e-5, error


if __name__ == "__main__":
    main()
