#!/usr/bin/env python3
"""RTNeural's own convolution test models and data, for tests/rtneural_conv1d.rs, and RTNeural's
own outputs for them.

Copies, byte for byte, from the vendored RTNeural (../shared/peers/rtneural/vendor; RTNeural is
BSD-3-Clause, see tests/fixtures/rtneural_conv/README.md) into tests/fixtures/rtneural_conv/:

- models/conv.json: a Keras model written by RTNeural's exporter (python/conv.py): Dense(8,
  tanh), Conv1D(4, 3, tanh), BatchNormalization, PReLU, Conv1D(4, 1, tanh), Conv1D(6, 3,
  dilation 2, groups 2, tanh), BatchNormalization, PReLU, Dense(1, sigmoid);
- test_data/conv_x_python.csv and conv_y_python.csv: its input (100 steps) and TensorFlow's
  outputs (float32);
- models/conv1d_torch.json: a PyTorch nn.Conv1d(1, 12, 5)'s state_dict (python/conv1d_torch.py);
- test_data/conv1d_torch_x_python.csv and conv1d_torch_y_python.csv: its input (1000 steps) and
  PyTorch's outputs (float64, padding "valid": 12 rows of 996, row o holding channel o's output
  for the windows ending at steps 4 to 999).

It then builds tests/reference/rtneural_driver.cpp against the vendored RTNeural and the
system's Eigen, streams each model's input through RTNeural (conv.json by its JSON reader,
json_parser::parseJson; conv1d_torch.json by torch_helpers::loadConv1D, as RTNeural's own tests
read it, and again by its JSON reader as tests/rtneural_conv1d.rs writes it in RTNeural's
format), checks that RTNeural's outputs are TensorFlow's and PyTorch's, and writes RTNeural's
outputs for conv.json (Model<double>, one step per line) to
tests/fixtures/rtneural_conv/conv_rtneural_outputs.csv.

Run from the project root:

    /work/venv/bin/python tests/reference/rtneural_conv_fixtures.py \
        [--rtneural ../shared/peers/rtneural/vendor]

The output is the same bytes on every run.
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rtneural_conv"
COPIED = [
    "models/conv.json",
    "test_data/conv_x_python.csv",
    "test_data/conv_y_python.csv",
    "models/conv1d_torch.json",
    "test_data/conv1d_torch_x_python.csv",
    "test_data/conv1d_torch_y_python.csv",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rtneural", default=str(ROOT.parent / "shared/peers/rtneural/vendor"))
    vendor = pathlib.Path(parser.parse_args().rtneural).resolve()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(vendor / name, FIXTURES / pathlib.Path(name).name)
    shutil.copyfile(vendor / "RTNeural/LICENSE.RTNeural", FIXTURES / "LICENSE.RTNeural")

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

        def run(*args):
            return subprocess.run(
                [str(driver), *map(str, args)], check=True, capture_output=True, text=True
            ).stdout

        outputs = run(FIXTURES / "conv.json", FIXTURES / "conv_x_python.csv")
        (FIXTURES / "conv_rtneural_outputs.csv").write_text(outputs)
        rtneural = np.array([float(line) for line in outputs.splitlines()])
        tensorflow = np.loadtxt(FIXTURES / "conv_y_python.csv")
        error = np.abs(rtneural - tensorflow).max()
        print(f"conv.json: RTNeural (double) and TensorFlow (float32) agree within {error:.1e}")
        assert rtneural.shape == (100,) and error < 1e-6, error

        outputs = run(
            "--torch-conv1d", 1, 12, 5, 1,
            FIXTURES / "conv1d_torch.json", FIXTURES / "conv1d_torch_x_python.csv",
        )
        rtneural = np.array([[float(v) for v in line.split(",")] for line in outputs.splitlines()])
        torch = np.loadtxt(FIXTURES / "conv1d_torch_y_python.csv", delimiter=",")
        # RTNeural streams causally: its step t is PyTorch's "valid" window ending at t.
        error = np.abs(rtneural[4:].T - torch).max()
        print(f"conv1d_torch.json: RTNeural and PyTorch (both float64) agree within {error:.1e}")
        assert rtneural.shape == (1000, 12) and error < 1e-12, error

        # The same convolution in RTNeural's JSON format, as tests/rtneural_conv1d.rs writes it
        # (Keras's kernel [KERNEL, in, out] is PyTorch's weight with its axes reversed, the taps
        # in the same order), read by RTNeural's JSON reader: PyTorch's outputs again.
        state = json.loads((FIXTURES / "conv1d_torch.json").read_text())
        layer = {
            "type": "conv1d", "activation": "", "shape": [None, None, 12],
            "kernel_size": [5], "dilation": [1], "groups": 1,
            "weights": [np.transpose(np.array(state["weight"]), (2, 1, 0)).tolist(), state["bias"]],
        }
        converted = pathlib.Path(build) / "conv1d_torch_rtneural.json"
        converted.write_text(json.dumps({"in_shape": [None, None, 1], "layers": [layer]}))
        outputs = run(converted, FIXTURES / "conv1d_torch_x_python.csv")
        rtneural = np.array([[float(v) for v in line.split(",")] for line in outputs.splitlines()])
        error = np.abs(rtneural[4:].T - torch).max()
        print(
            f"conv1d_torch.json in RTNeural's format: its reader and PyTorch agree within {error:.1e}"
        )
        assert rtneural.shape == (1000, 12) and error < 1e-12, error


if __name__ == "__main__":
    main()
