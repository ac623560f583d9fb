#!/usr/bin/env python3
"""Reference Adam, AdamW and RMSprop trajectories for tests/optimizers.rs, in numpy (float64).

The update rules are PyTorch's (torch.optim.Adam, AdamW and RMSprop, single-tensor code path),
written out by hand so that no framework is needed. With gradient g, learning rate lr and step t
counting from 1:

- Adam: m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
  w <- w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
- AdamW: w <- w (1 - lr wd), then the Adam step.
- RMSprop: v <- a v + (1 - a) g^2; centered: ga <- a ga + (1 - a) g and v is replaced by
  v - ga^2; d = sqrt(v) + eps; no momentum: w <- w - lr g / d; momentum mu: b <- mu b + g / d,
  w <- w - lr b.

The network is 3 -> 4 (tanh) -> 2 (identity), loss MSE (mean over batch and outputs, no 1/2),
8 samples in batches of 4 in order, 5 epochs: 10 steps. Some runs change the learning rate at
the start of an epoch, as a schedule would, to check that the new rate is used from the next step
on and that the optimizer's state is kept. For each run the script records the loss of every
step (taken before that step's update) and the final parameters, and writes them with the
initial parameters and the data to tests/fixtures/optimizer_trajectories.rs. Regenerate with:

    python3 tests/reference/optimizer_trajectories.py
"""

import pathlib

import numpy as np

from rust_fixture import rust_const, rust_float, rust_parameters

SEED = 2
WIDTHS = (3, 4, 2)
ACTIVATIONS = ("tanh", "identity")
SAMPLES = 8
BATCH_SIZE = 4
EPOCHS = 5

# PyTorch's defaults (torch.optim documentation), which typenn's `default()` must equal.
ADAM_DEFAULTS = {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8}
ADAMW_DEFAULTS = {**ADAM_DEFAULTS, "weight_decay": 0.01}
RMSPROP_DEFAULTS = {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False}

# (module name, optimizer, settings, learning rate of each epoch). Epsilons well above the
# default make the place where epsilon enters the rule visible in the numbers.
RUNS = (
    ("adam_defaults", "adam", ADAM_DEFAULTS, [ADAM_DEFAULTS["lr"]] * EPOCHS),
    (
        "adam",
        "adam",
        {"betas": (0.8, 0.95), "eps": 0.01},
        [0.05, 0.05, 0.025, 0.025, 0.01],
    ),
    ("adamw_defaults", "adamw", ADAMW_DEFAULTS, [ADAMW_DEFAULTS["lr"]] * EPOCHS),
    (
        "adamw",
        "adamw",
        {"betas": (0.85, 0.99), "eps": 0.001, "weight_decay": 0.5},
        [0.05, 0.05, 0.02, 0.02, 0.02],
    ),
    ("rmsprop_defaults", "rmsprop", RMSPROP_DEFAULTS, [RMSPROP_DEFAULTS["lr"]] * EPOCHS),
    (
        "rmsprop_momentum",
        "rmsprop",
        {"alpha": 0.9, "eps": 0.01, "momentum": 0.8, "centered": False},
        [0.01, 0.01, 0.005, 0.005, 0.002],
    ),
    (
        "rmsprop_centered",
        "rmsprop",
        {"alpha": 0.95, "eps": 0.001, "momentum": 0.5, "centered": True},
        [0.01] * EPOCHS,
    ),
)

# Every gradient component must be at least this large, so that f32 and f64 agree on its sign
# (Adam's and RMSprop's first steps are close to lr * sign(g)).
GRADIENT_MARGIN = 1e-4
# The centered variance estimate v - ga^2 must stay at least this fraction of v, so that rounding
# cannot take it near 0 (where typenn floors it and PyTorch would take the root of a negative).
VARIANCE_MARGIN = 1e-3

FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "optimizer_trajectories.rs"


def activate(name, z):
    return np.tanh(z) if name == "tanh" else z


def derivative(name, a):
    return 1.0 - a * a if name == "tanh" else np.ones_like(a)


def forward(params, x):
    """Activations of every layer for a batch x of shape (batch, in)."""
    activations = [x]
    for layer, name in enumerate(ACTIVATIONS):
        w, b = params[2 * layer], params[2 * layer + 1]
        activations.append(activate(name, activations[-1] @ w.T + b))
    return activations


def loss_of(params, x, y):
    return np.mean((forward(params, x)[-1] - y) ** 2)


def loss_and_gradients(params, x, y):
    activations = forward(params, x)
    error = activations[-1] - y
    delta = 2.0 * error / error.size  # d loss / d prediction
    gradients = [None] * len(params)
    for layer in reversed(range(len(ACTIVATIONS))):
        delta = delta * derivative(ACTIVATIONS[layer], activations[layer + 1])
        gradients[2 * layer] = delta.T @ activations[layer]
        gradients[2 * layer + 1] = delta.sum(axis=0)
        delta = delta @ params[2 * layer]
    return np.mean(error**2), gradients


def check_gradients(params, x, y):
    """Central differences, so the hand-written backward pass is not taken on trust."""
    _, gradients = loss_and_gradients(params, x, y)
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


class Adam:
    """torch.optim.Adam (amsgrad off, no L2 weight decay); AdamW when weight_decay is given."""

    def __init__(self, params, betas, eps, weight_decay=None):
        self.b1, self.b2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, params, gradients, lr):
        self.t += 1
        correction1 = 1.0 - self.b1**self.t
        correction2 = 1.0 - self.b2**self.t
        for p, g, m, v in zip(params, gradients, self.m, self.v):
            if self.weight_decay is not None:
                p *= 1.0 - lr * self.weight_decay
            m[...] = self.b1 * m + (1.0 - self.b1) * g
            v[...] = self.b2 * v + (1.0 - self.b2) * g * g
            p -= lr / correction1 * m / (np.sqrt(v) / np.sqrt(correction2) + self.eps)


class RmsProp:
    """torch.optim.RMSprop (no L2 weight decay)."""

    def __init__(self, params, alpha, eps, momentum, centered):
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered
        self.square = [np.zeros_like(p) for p in params]
        self.average = [np.zeros_like(p) for p in params]
        self.buffer = [np.zeros_like(p) for p in params]

    def step(self, params, gradients, lr):
        a = self.alpha
        for p, g, v, ga, b in zip(params, gradients, self.square, self.average, self.buffer):
            v[...] = a * v + (1.0 - a) * g * g
            if self.centered:
                ga[...] = a * ga + (1.0 - a) * g
                variance = v - ga * ga
                closest = (variance / v).min()
                assert closest > VARIANCE_MARGIN, f"v - ga^2 is {closest} of v; pick another SEED"
            else:
                variance = v
            denominator = np.sqrt(variance) + self.eps
            if self.momentum > 0.0:
                b[...] = self.momentum * b + g / denominator
                p -= lr * b
            else:
                p -= lr * g / denominator


def optimizer_for(kind, settings, params):
    if kind == "adam":
        return Adam(params, settings["betas"], settings["eps"])
    if kind == "adamw":
        return Adam(params, settings["betas"], settings["eps"], settings["weight_decay"])
    return RmsProp(
        params, settings["alpha"], settings["eps"], settings["momentum"], settings["centered"]
    )


def train(initial, x, y, kind, settings, learning_rates):
    params = [p.copy() for p in initial]
    optimizer = optimizer_for(kind, settings, params)
    losses = []
    for epoch in range(EPOCHS):
        for start in range(0, SAMPLES, BATCH_SIZE):
            batch = slice(start, start + BATCH_SIZE)
            loss, gradients = loss_and_gradients(params, x[batch], y[batch])
            smallest = min(np.abs(g).min() for g in gradients)
            assert smallest > GRADIENT_MARGIN, f"a gradient is {smallest}; pick another SEED"
            losses.append(loss)
            optimizer.step(params, gradients, learning_rates[epoch])
    per_epoch = SAMPLES // BATCH_SIZE
    first, last = np.mean(losses[:per_epoch]), np.mean(losses[-per_epoch:])
    assert last < first, "training does not reduce the loss; pick another SEED"
    return losses, params


def rust_settings(kind, settings):
    lines = []
    if kind in ("adam", "adamw"):
        b1, b2 = settings["betas"]
        lines += [("BETA1", b1), ("BETA2", b2), ("EPSILON", settings["eps"])]
        if kind == "adamw":
            lines.append(("WEIGHT_DECAY", settings["weight_decay"]))
    else:
        lines += [
            ("ALPHA", settings["alpha"]),
            ("EPSILON", settings["eps"]),
            ("MOMENTUM", settings["momentum"]),
        ]
    text = "".join(rust_const(name, rust_float(value), 4, "f64") for name, value in lines)
    if kind == "rmsprop":
        text += rust_const("CENTERED", str(settings["centered"]).lower(), 4, "bool")
    return text


def describe(kind, settings):
    if kind == "rmsprop":
        return (
            f"RMSprop, alpha {settings['alpha']}, epsilon {settings['eps']}, "
            f"momentum {settings['momentum']}, centered {str(settings['centered']).lower()}"
        )
    b1, b2 = settings["betas"]
    text = f"{'AdamW' if kind == 'adamw' else 'Adam'}, betas {b1} and {b2}, epsilon {settings['eps']}"
    if kind == "adamw":
        text += f", weight decay {settings['weight_decay']}"
    return text


def main():
    rng = np.random.default_rng(SEED)
    initial = []
    for fan_in, fan_out in zip(WIDTHS, WIDTHS[1:]):
        initial.append(rng.uniform(-0.9, 0.9, size=(fan_out, fan_in)))
        initial.append(rng.uniform(-0.5, 0.5, size=fan_out))
    x = rng.uniform(-1.0, 1.0, size=(SAMPLES, WIDTHS[0]))
    y = rng.uniform(-0.8, 0.8, size=(SAMPLES, WIDTHS[-1]))
    check_gradients([p.copy() for p in initial], x[:BATCH_SIZE], y[:BATCH_SIZE])

    steps = EPOCHS * SAMPLES // BATCH_SIZE
    out = [
        "// Generated by tests/reference/optimizer_trajectories.py (numpy, float64, seed "
        f"{SEED}); do not edit.\n",
        "// Regenerate with `python3 tests/reference/optimizer_trajectories.py`.\n",
        "//\n",
        "// A 3 -> 4 (tanh) -> 2 (identity) network trained with MSE on 8 samples in batches of\n",
        "// 4, in order, by PyTorch's Adam, AdamW and RMSprop rules. Weights are\n",
        "// `[[f64; IN]; OUT]`, row = output unit. Losses are taken before each step's update.\n",
        "// `LEARNING_RATES` holds the rate of each epoch, set before its first step.\n",
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
    for name, kind, settings, learning_rates in RUNS:
        losses, final = train(initial, x, y, kind, settings, learning_rates)
        assert len(losses) == steps
        per_epoch = SAMPLES // BATCH_SIZE
        first, last = np.mean(losses[:per_epoch]), np.mean(losses[-per_epoch:])
        print(f"{name}: mean loss of the first epoch {first:.6f}, of the last {last:.6f}")
        out += [
            f"\n/// {describe(kind, settings)}: step losses and final parameters.\n",
            f"pub mod {name} {{\n",
            rust_const("LEARNING_RATES", np.array(learning_rates, dtype=float), 4),
            rust_settings(kind, settings),
            rust_const("LOSSES", losses, 4),
            rust_parameters(final, 4),
            "}\n",
        ]
    FIXTURE.write_text("".join(out))
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
