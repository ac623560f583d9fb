#!/usr/bin/env python3
"""Reference SGD trajectories for tests/parity.rs, computed by hand in numpy (float64).

The semantics are PyTorch's and Keras's, written out so that no framework is needed:

- Dense layer: y = act(W x + b), W of shape (out, in), row i = the input weights of unit i;
- network 4 -> 5 (tanh) -> 4 (relu) -> 2 (sigmoid);
- loss: MSE, the mean over batch and outputs, no 1/2 factor (torch.nn.MSELoss);
- gradients by the chain rule, with relu'(z) = 0 for z <= 0;
- SGD: w <- w - lr g; momentum (Keras): v <- m v - lr g, w <- w + v;
  Nesterov (Keras): v <- m v - lr g, w <- w + m v - lr g.

Batches of 4 in order (no shuffling) over 12 samples, for several epochs. For each optimizer the
script records the loss of every step (taken before that step's update) and the final
parameters, and writes them with the initial parameters and the data to
tests/fixtures/sgd_trajectory.rs. Regenerate with:

    python3 tests/reference/sgd_trajectory.py
"""

import pathlib

import numpy as np

from rust_fixture import rust_const, rust_float, rust_parameters

SEED = 2
WIDTHS = (4, 5, 4, 2)
ACTIVATIONS = ("tanh", "relu", "sigmoid")
SAMPLES = 12
BATCH_SIZE = 4
EPOCHS = 4
# (module name, learning rate, momentum, nesterov)
RUNS = (
    ("plain", 0.5, 0.0, False),
    ("momentum", 0.1, 0.9, False),
    ("nesterov", 0.1, 0.9, True),
)
# No relu pre-activation may come this close to its kink, so that a rounding difference between
# f64, f32 and this script cannot flip a unit on or off.
KINK_MARGIN = 1e-3

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "sgd_trajectory.rs"


def activate(name, z):
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0.0, z, 0.0)
    return 1.0 / (1.0 + np.exp(-z))


def derivative(name, z, a):
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return np.where(z > 0.0, 1.0, 0.0)
    return a * (1.0 - a)


def forward(params, x):
    """Pre-activations and activations of every layer for a batch x of shape (batch, in)."""
    zs, activations = [], [x]
    for layer, name in enumerate(ACTIVATIONS):
        w, b = params[2 * layer], params[2 * layer + 1]
        zs.append(activations[-1] @ w.T + b)
        activations.append(activate(name, zs[-1]))
    return zs, activations


def loss_of(params, x, y):
    return np.mean((forward(params, x)[1][-1] - y) ** 2)


def loss_and_gradients(params, x, y):
    zs, activations = forward(params, x)
    error = activations[-1] - y
    delta = 2.0 * error / error.size  # d loss / d prediction
    gradients = [None] * len(params)
    for layer in reversed(range(len(ACTIVATIONS))):
        delta = delta * derivative(ACTIVATIONS[layer], zs[layer], activations[layer + 1])
        gradients[2 * layer] = delta.T @ activations[layer]
        gradients[2 * layer + 1] = delta.sum(axis=0)
        delta = delta @ params[2 * layer]
    return np.mean(error**2), gradients, zs


def check_gradients(params, x, y):
    """Central differences, so the hand-written backward pass is not taken on trust."""
    _, gradients, _ = loss_and_gradients(params, x, y)
    h = 1e-6
    for p, g in zip(params, gradients):
        for index in np.ndindex(p.shape):
            saved = p[index]
            p[index] = saved + h
            up = loss_of(params, x, y)
            p[index] = saved - h
            down = loss_of(params, x, y)
            p[index] = saved
            numeric = (up - down) / (2.0 * h)
            error = abs(numeric - g[index])
            assert error <= 1e-7 + 1e-6 * abs(numeric), (index, numeric, g[index])


def train(initial, x, y, lr, momentum, nesterov):
    params = [p.copy() for p in initial]
    velocities = [np.zeros_like(p) for p in initial]
    losses, relu_inputs = [], []
    for _ in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH_SIZE):
            batch = slice(start, start + BATCH_SIZE)
            loss, gradients, zs = loss_and_gradients(params, x[batch], y[batch])
            losses.append(loss)
            relu_inputs.append(zs[ACTIVATIONS.index("relu")])
            for p, v, g in zip(params, velocities, gradients):
                if momentum == 0.0:
                    p -= lr * g
                else:
                    v[...] = momentum * v - lr * g
                    p += momentum * v - lr * g if nesterov else v
    relu_inputs = np.concatenate(relu_inputs)
    closest = np.abs(relu_inputs).min()
    assert closest > KINK_MARGIN, f"a relu input comes within {closest} of 0; pick another SEED"
    # Both sides of every relu must be exercised, or the test would not see a wrong derivative.
    assert (relu_inputs > 0).any(axis=0).all(), "a relu unit never fires; pick another SEED"
    assert (relu_inputs < 0).any(), "no relu unit is ever off; pick another SEED"
    assert losses[-1] < losses[0], "training does not reduce the loss; pick another SEED"
    return losses, params


def main():
    rng = np.random.default_rng(SEED)
    initial = []
    for fan_in, fan_out in zip(WIDTHS, WIDTHS[1:]):
        initial.append(rng.uniform(-0.8, 0.8, size=(fan_out, fan_in)))
        initial.append(rng.uniform(-0.8, 0.8, size=fan_out))
    x = rng.uniform(-1.0, 1.0, size=(SAMPLES, WIDTHS[0]))
    y = rng.uniform(0.1, 0.9, size=(SAMPLES, WIDTHS[-1]))
    check_gradients([p.copy() for p in initial], x[:BATCH_SIZE], y[:BATCH_SIZE])

    steps = EPOCHS * SAMPLES // BATCH_SIZE
    out = [
        "// Generated by tests/reference/sgd_trajectory.py (numpy, float64, seed "
        f"{SEED}); do not edit.\n",
        "// Regenerate with `python3 tests/reference/sgd_trajectory.py`.\n",
        "//\n",
        "// A 4 -> 5 (tanh) -> 4 (relu) -> 2 (sigmoid) network trained with MSE on 12\n",
        "// samples in batches of 4, in order. Weights are `[[f64; IN]; OUT]`, row = output\n",
        "// unit. Losses are taken before each step's update.\n",
        "\n",
        rust_const("SAMPLES", SAMPLES, kind="usize"),
        rust_const("BATCH_SIZE", BATCH_SIZE, kind="usize"),
        rust_const("EPOCHS", EPOCHS, kind="usize"),
        rust_const("STEPS", steps, kind="usize"),
        rust_const("INPUTS", x),
        rust_const("TARGETS", y),
        "\n/// The parameters before training.\npub mod initial {\n",
        rust_parameters(initial, 4),
        "}\n",
    ]
    for name, lr, momentum, nesterov in RUNS:
        losses, final = train(initial, x, y, lr, momentum, nesterov)
        assert len(losses) == steps
        settings = f"learning rate {lr}, momentum {momentum}, Nesterov {str(nesterov).lower()}"
        out += [
            f"\n/// SGD with {settings}: step losses and final parameters.\n",
            f"pub mod {name} {{\n",
            rust_const("LEARNING_RATE", rust_float(lr), 4, "f64"),
            rust_const("MOMENTUM", rust_float(momentum), 4, "f64"),
            rust_const("NESTEROV", str(nesterov).lower(), 4, "bool"),
            rust_const("LOSSES", losses, 4),
            rust_parameters(final, 4),
            "}\n",
        ]
    FIXTURE.write_text("".join(out))
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
