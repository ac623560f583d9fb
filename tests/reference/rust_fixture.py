"""Writes numpy values as Rust `pub const` items laid out as rustfmt lays them out, for the
generated fixtures of sgd_trajectory.py and optimizer_trajectories.py."""

import numpy as np


def rust_float(value):
    """The shortest text that reads back as the same float64."""
    return repr(float(value))


def rust_array(values, indent, prefix=0):
    """An array literal laid out as rustfmt would: on one line when its items take at most 60
    columns (array_width) and the line, `prefix` columns of text before the array and a `,` or
    `;` after it, fits in 100 (max_width); otherwise one item per line."""
    if np.ndim(values) == 1:
        items = [rust_float(v) for v in values]
    else:
        items = [rust_array(row, indent + 4) for row in values]
    inline = "[" + ", ".join(items) + "]"
    fits = len(inline) - 2 <= 60 and indent + prefix + len(inline) + 1 <= 100
    if "\n" not in inline and fits:
        return inline
    inner = " " * (indent + 4)
    return "[\n" + "".join(f"{inner}{item},\n" for item in items) + " " * indent + "]"


def rust_type(values):
    """`[[f64; C]; R]` for an R x C array."""
    text = "f64"
    for n in reversed(np.shape(values)):
        text = f"[{text}; {n}]"
    return text


def rust_const(name, values, indent=0, kind=None):
    """`pub const NAME: TYPE = VALUE;`, the type given as `kind` or derived from `values`."""
    pad = " " * indent
    if kind is not None:
        return f"{pad}pub const {name}: {kind} = {values};\n"
    head = f"pub const {name}: {rust_type(values)} = "
    return f"{pad}{head}{rust_array(values, indent, len(head))};\n"


def rust_parameters(params, indent):
    """`W1`, `B1`, `W2`, `B2`, ... for the weights and biases of each layer in turn."""
    names = [f"{kind}{layer + 1}" for layer in range(len(params) // 2) for kind in ("W", "B")]
    return "".join(rust_const(n, p, indent) for n, p in zip(names, params))
