#!/usr/bin/env python3
"""Reference numbers from PyTorch (float64) for the numerical cores of the convolution, pooling
and normalization layers in nn-core/src/layer/ (conv1d.rs, conv2d.rs, pool.rs, batch_norm.rs,
layer_norm.rs), whose unit tests `include!` the fixture this writes.

Every case is one module call on random data with the loss `sum(output * delta)`, so the
recorded gradients are the backward pass of `delta`. Arrays are flat, in PyTorch's contiguous
order: one sample `(C, L)` or `(C, H, W)` for convolutions and pooling, a batch `(N, C, ...)`
for the normalizations. Padding that PyTorch's modules cannot express (different before and
after) is applied with `F.pad` (zeros, or -inf before a max pool) and the module run unpadded.
Pooling inputs are a shuffle of evenly spaced values, so that no window has a tie and rounding
to f32 changes no maximum, except for the "ties" cases: small integers, whose equal maxima show
which one PyTorch's backward pass picks.

Batch norm records two training calls (output, gradients, running statistics after each) and
then one call in eval mode. Regenerate with:

    python3 tests/reference/layers_reference.py

It runs rustfmt on the result when rustfmt is on the PATH.
"""

import pathlib
import shutil
import subprocess

import numpy as np
import torch
import torch.nn.functional as F

from rust_fixture import rust_array

SEED = 7
FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "layers_reference.rs"

torch.set_default_dtype(torch.float64)
GENERATOR = torch.Generator().manual_seed(SEED)


def uniform(*shape, low=-1.0, high=1.0):
    return torch.rand(*shape, generator=GENERATOR) * (high - low) + low


def spaced(*shape):
    """A shuffle of -0.5, -0.49, ...: distinct values 1e-2 apart."""
    n = int(np.prod(shape))
    order = torch.randperm(n, generator=GENERATOR).to(torch.float64)
    return (order * 1e-2 - 0.5).reshape(shape)


def flat(tensor):
    return tensor.detach().reshape(-1).numpy()


def literal(value):
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ")"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "&[" + ", ".join(value) + "]"
    if isinstance(value, torch.Tensor):
        value = flat(value)
    return "&" + rust_array(value, 8)


def struct_literal(name, fields):
    body = "".join(f"        {key}: {literal(value)},\n" for key, value in fields.items())
    return f"    {name} {{\n{body}    }}"


def case_list(const, struct, cases):
    items = ",\n".join(struct_literal(struct, case) for case in cases)
    return f"pub const {const}: &[{struct}] = &[\n{items},\n];\n"


def pad_last(x, pads, value=0.0):
    """Pads the trailing axes of x: pads is ((before, after), ...) from the first padded axis."""
    spec = []
    for before, after in reversed(pads):
        spec += [before, after]
    return F.pad(x, spec, value=value)


def conv1d_case(name, in_channels, out_channels, length, kernel, stride, dilation, padding):
    x = uniform(in_channels, length).requires_grad_()
    w = uniform(out_channels, in_channels, kernel).requires_grad_()
    b = uniform(out_channels).requires_grad_()
    if padding == "same":
        y = F.conv1d(x[None], w, b, stride=stride, dilation=dilation, padding="same")[0]
        total = dilation * (kernel - 1)
        padding = (total // 2, total - total // 2)
    else:
        padded = pad_last(x[None], [padding])
        y = F.conv1d(padded, w, b, stride=stride, dilation=dilation)[0]
    delta = uniform(*y.shape)
    (y * delta).sum().backward()
    return {
        "name": name,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "len": length,
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "padding": padding,
        "input": x,
        "weight": w,
        "bias": b,
        "output": y,
        "delta": delta,
        "weight_gradient": w.grad,
        "bias_gradient": b.grad,
        "input_gradient": x.grad,
    }


def conv2d_case(name, channels, size, kernel, stride, dilation, padding):
    (in_channels, out_channels), (height, width) = channels, size
    x = uniform(in_channels, height, width).requires_grad_()
    w = uniform(out_channels, in_channels, *kernel).requires_grad_()
    b = uniform(out_channels).requires_grad_()
    if padding == "same":
        y = F.conv2d(x[None], w, b, stride=stride, dilation=dilation, padding="same")[0]
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        padding = tuple((t // 2, t - t // 2) for t in totals)
    else:
        y = F.conv2d(pad_last(x[None], padding), w, b, stride=stride, dilation=dilation)[0]
    delta = uniform(*y.shape)
    (y * delta).sum().backward()
    return {
        "name": name,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "height": height,
        "width": width,
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "row_padding": padding[0],
        "col_padding": padding[1],
        "input": x,
        "weight": w,
        "bias": b,
        "output": y,
        "delta": delta,
        "weight_gradient": w.grad,
        "bias_gradient": b.grad,
        "input_gradient": x.grad,
    }


def pool(x, kind, kernel, stride, dilation, padding, count_include_pad):
    """Max or average pooling of x (1, C, ...) with (before, after) padding per axis."""
    two_d = x.dim() == 4
    symmetric = all(before == after for before, after in padding)
    if kind == "max":
        fn = F.max_pool2d if two_d else F.max_pool1d
        if symmetric:
            pads = tuple(before for before, _ in padding)
            return fn(x, kernel, stride, padding=pads if two_d else pads[0], dilation=dilation)
        return fn(pad_last(x, padding, float("-inf")), kernel, stride, dilation=dilation)
    assert dilation in (1, (1, 1)), "PyTorch's average pooling has no dilation"
    fn = F.avg_pool2d if two_d else F.avg_pool1d
    if symmetric:
        pads = tuple(before for before, _ in padding)
        pads = pads if two_d else pads[0]
        return fn(x, kernel, stride, padding=pads, count_include_pad=count_include_pad)
    assert count_include_pad, "uneven padding is zeros, which always count"
    return fn(pad_last(x, padding), kernel, stride)


def ties(*shape):
    """Small integers, so that windows hold equal maxima (exact in f32 too)."""
    return torch.randint(0, 3, shape, generator=GENERATOR).to(torch.float64)


def pool1d_case(
    name, kind, channels, length, kernel, stride, dilation, padding, include=True, make=spaced
):
    x = make(channels, length).requires_grad_()
    y = pool(x[None], kind, kernel, stride, dilation, [padding], include)[0]
    delta = uniform(*y.shape)
    (y * delta).sum().backward()
    return {
        "name": name,
        "max": kind == "max",
        "count_include_pad": include,
        "channels": channels,
        "len": length,
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "padding": padding,
        "input": x,
        "output": y,
        "delta": delta,
        "input_gradient": x.grad,
    }


def pool2d_case(
    name, kind, channels, size, kernel, stride, dilation, padding, include=True, make=spaced
):
    x = make(channels, *size).requires_grad_()
    y = pool(x[None], kind, kernel, stride, dilation, padding, include)[0]
    delta = uniform(*y.shape)
    (y * delta).sum().backward()
    return {
        "name": name,
        "max": kind == "max",
        "count_include_pad": include,
        "channels": channels,
        "height": size[0],
        "width": size[1],
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "row_padding": padding[0],
        "col_padding": padding[1],
        "input": x,
        "output": y,
        "delta": delta,
        "input_gradient": x.grad,
    }


def global_avg_pool_case(name, shape):
    x = uniform(*shape).requires_grad_()
    fn = F.adaptive_avg_pool2d if len(shape) == 3 else F.adaptive_avg_pool1d
    y = fn(x[None], 1).reshape(-1)
    delta = uniform(*y.shape)
    (y * delta).sum().backward()
    return {
        "name": name,
        "channels": shape[0],
        "input": x,
        "output": y,
        "delta": delta,
        "input_gradient": x.grad,
    }


def batch_norm_case(name, shape, eps=1e-5, momentum=0.1):
    """Two training calls and one eval call of BatchNorm1d/2d on (N, C, ...) batches."""
    channels = shape[1]
    module = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(
        channels, eps=eps, momentum=momentum
    )
    with torch.no_grad():
        module.weight.copy_(uniform(channels, low=0.5, high=1.5))
        module.bias.copy_(uniform(channels))
    gamma, beta = module.weight.detach().clone(), module.bias.detach().clone()
    steps = []
    for step in range(2):
        x = (uniform(*shape) * (step + 1) + 0.3 * step).requires_grad_()
        module.train()
        module.zero_grad()
        y = module(x)
        delta = uniform(*y.shape)
        (y * delta).sum().backward()
        fields = {
            "input": x,
            "output": y,
            "delta": delta,
            "gamma_gradient": module.weight.grad,
            "beta_gradient": module.bias.grad,
            "input_gradient": x.grad,
            "running_mean": module.running_mean.clone(),
            "running_variance": module.running_var.clone(),
        }
        steps.append(struct_literal("BatchNormStep", fields).replace("\n", "\n    "))
    module.eval()
    x = uniform(*shape)
    y = module(x)
    spatial = int(np.prod(shape[2:]))
    return {
        "name": name,
        "channels": channels,
        "spatial": spatial,
        "eps": eps,
        "momentum": momentum,
        "gamma": gamma,
        "beta": beta,
        "steps": steps,
        "eval_input": x,
        "eval_output": y,
    }


def layer_norm_case(name, shape, eps=1e-5):
    """LayerNorm over every axis but the first of a batch."""
    module = torch.nn.LayerNorm(shape[1:], eps=eps)
    with torch.no_grad():
        module.weight.copy_(uniform(*shape[1:], low=0.5, high=1.5))
        module.bias.copy_(uniform(*shape[1:]))
    gamma, beta = module.weight.detach().clone(), module.bias.detach().clone()
    x = (uniform(*shape) * 2.0 + 0.4).requires_grad_()
    y = module(x)
    delta = uniform(*y.shape)
    (y * delta).sum().backward()
    return {
        "name": name,
        "features": int(np.prod(shape[1:])),
        "eps": eps,
        "gamma": gamma,
        "beta": beta,
        "input": x,
        "output": y,
        "delta": delta,
        "gamma_gradient": module.weight.grad,
        "beta_gradient": module.bias.grad,
        "input_gradient": x.grad,
    }


STRUCTS = """\
/// One `Conv1d` call on one sample.
pub struct Conv1dCase {
    pub name: &'static str,
    pub in_channels: usize,
    pub out_channels: usize,
    pub len: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub padding: (usize, usize),
    pub input: &'static [f64],
    pub weight: &'static [f64],
    pub bias: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub weight_gradient: &'static [f64],
    pub bias_gradient: &'static [f64],
    pub input_gradient: &'static [f64],
}

/// One `Conv2d` call on one sample; pairs are (rows, columns).
pub struct Conv2dCase {
    pub name: &'static str,
    pub in_channels: usize,
    pub out_channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    pub row_padding: (usize, usize),
    pub col_padding: (usize, usize),
    pub input: &'static [f64],
    pub weight: &'static [f64],
    pub bias: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub weight_gradient: &'static [f64],
    pub bias_gradient: &'static [f64],
    pub input_gradient: &'static [f64],
}

/// One `MaxPool1d` (`max`) or `AvgPool1d` call on one sample.
pub struct Pool1dCase {
    pub name: &'static str,
    pub max: bool,
    pub count_include_pad: bool,
    pub channels: usize,
    pub len: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub padding: (usize, usize),
    pub input: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub input_gradient: &'static [f64],
}

/// One `MaxPool2d` (`max`) or `AvgPool2d` call on one sample; pairs are (rows, columns).
pub struct Pool2dCase {
    pub name: &'static str,
    pub max: bool,
    pub count_include_pad: bool,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    pub dilation: (usize, usize),
    pub row_padding: (usize, usize),
    pub col_padding: (usize, usize),
    pub input: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub input_gradient: &'static [f64],
}

/// Global average pooling of one sample `(channels, ...)` to `channels` numbers.
pub struct GlobalAvgPoolCase {
    pub name: &'static str,
    pub channels: usize,
    pub input: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub input_gradient: &'static [f64],
}

/// One training call of batch norm: its batch, and the running statistics after it.
pub struct BatchNormStep {
    pub input: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub gamma_gradient: &'static [f64],
    pub beta_gradient: &'static [f64],
    pub input_gradient: &'static [f64],
    pub running_mean: &'static [f64],
    pub running_variance: &'static [f64],
}

/// Batch norm from fresh running statistics (mean 0, variance 1): the training steps in
/// order, then one call in eval mode.
pub struct BatchNormCase {
    pub name: &'static str,
    pub channels: usize,
    pub spatial: usize,
    pub eps: f64,
    pub momentum: f64,
    pub gamma: &'static [f64],
    pub beta: &'static [f64],
    pub steps: &'static [BatchNormStep],
    pub eval_input: &'static [f64],
    pub eval_output: &'static [f64],
}

/// `LayerNorm` over each sample's `features` numbers, on a batch; the parameter gradients are
/// sums over the batch.
pub struct LayerNormCase {
    pub name: &'static str,
    pub features: usize,
    pub eps: f64,
    pub gamma: &'static [f64],
    pub beta: &'static [f64],
    pub input: &'static [f64],
    pub output: &'static [f64],
    pub delta: &'static [f64],
    pub gamma_gradient: &'static [f64],
    pub beta_gradient: &'static [f64],
    pub input_gradient: &'static [f64],
}
"""


def main():
    conv1d = [
        conv1d_case("conv1d valid", 2, 3, 8, 3, 1, 1, (0, 0)),
        conv1d_case("conv1d stride 2, padding (1, 2)", 3, 2, 11, 3, 2, 1, (1, 2)),
        conv1d_case("conv1d same, kernel 4", 2, 2, 9, 4, 1, 1, "same"),
        conv1d_case("conv1d same, dilation 2", 2, 3, 7, 3, 1, 2, "same"),
        conv1d_case("conv1d stride 3, dilation 2, padding (2, 0)", 1, 2, 12, 3, 3, 2, (2, 0)),
    ]
    conv2d = [
        conv2d_case("conv2d valid", (2, 3), (5, 6), (3, 2), (1, 1), (1, 1), ((0, 0), (0, 0))),
        conv2d_case(
            "conv2d strides (2, 3), dilation (1, 2), uneven padding",
            (2, 2),
            (7, 6),
            (3, 3),
            (2, 3),
            (1, 2),
            ((1, 2), (2, 1)),
        ),
        conv2d_case("conv2d same", (1, 2), (5, 4), (4, 3), (1, 1), (1, 2), "same"),
    ]
    pool1d = [
        pool1d_case("max1d kernel 3, stride 2, padding 1", "max", 2, 9, 3, 2, 1, (1, 1)),
        pool1d_case("max1d kernel 2, stride 2", "max", 2, 10, 2, 2, 1, (0, 0)),
        pool1d_case("max1d dilation 2, padding 1", "max", 2, 11, 3, 1, 2, (1, 1)),
        pool1d_case("max1d padding (0, 2)", "max", 1, 9, 3, 2, 1, (0, 2)),
        pool1d_case("max1d ties", "max", 2, 12, 3, 1, 1, (1, 1), make=ties),
        pool1d_case("avg1d padding 1, counted", "avg", 2, 9, 3, 2, 1, (1, 1), True),
        pool1d_case("avg1d padding 1, not counted", "avg", 2, 9, 3, 2, 1, (1, 1), False),
        pool1d_case("avg1d kernel 4, stride 3", "avg", 2, 10, 4, 3, 1, (0, 0)),
        pool1d_case("avg1d padding (2, 1)", "avg", 1, 8, 3, 2, 1, (2, 1)),
    ]
    pool2d = [
        pool2d_case(
            "max2d", "max", 2, (5, 6), (2, 3), (2, 1), (1, 1), ((0, 0), (1, 1))
        ),
        pool2d_case(
            "max2d dilation (2, 1)", "max", 1, (7, 5), (3, 2), (2, 1), (2, 1), ((1, 1), (0, 0))
        ),
        pool2d_case(
            "max2d uneven padding", "max", 2, (6, 5), (2, 2), (2, 2), (1, 1), ((1, 0), (0, 1))
        ),
        pool2d_case(
            "max2d ties", "max", 2, (5, 6), (3, 2), (1, 2), (1, 1), ((1, 1), (1, 0)), make=ties
        ),
        pool2d_case(
            "avg2d counted", "avg", 2, (5, 6), (3, 2), (2, 2), (1, 1), ((1, 1), (1, 1)), True
        ),
        pool2d_case(
            "avg2d not counted", "avg", 2, (5, 6), (3, 2), (2, 2), (1, 1), ((1, 1), (1, 1)), False
        ),
        pool2d_case(
            "avg2d uneven padding", "avg", 1, (4, 5), (2, 3), (1, 2), (1, 1), ((0, 1), (2, 0))
        ),
    ]
    global_avg_pool = [
        global_avg_pool_case("global average (3, 7)", (3, 7)),
        global_avg_pool_case("global average (2, 3, 4)", (2, 3, 4)),
    ]
    batch_norm = [
        batch_norm_case("batch norm dense (5, 3)", (5, 3)),
        batch_norm_case("batch norm 1d (3, 2, 4)", (3, 2, 4)),
        batch_norm_case(
            "batch norm 2d (2, 2, 3, 3), eps 1e-3, momentum 0.3", (2, 2, 3, 3), 1e-3, 0.3
        ),
    ]
    layer_norm = [
        layer_norm_case("layer norm (4, 5)", (4, 5)),
        layer_norm_case("layer norm (3, 2, 6), eps 1e-3", (3, 2, 6), 1e-3),
    ]
    out = [
        "// Generated by tests/reference/layers_reference.py (PyTorch "
        f"{torch.__version__.split('+')[0]}, float64, seed {SEED}); do not edit.\n",
        "// Regenerate with `python3 tests/reference/layers_reference.py`.\n",
        "//\n",
        "// Included by the unit tests of nn-core/src/layer/{conv1d, conv2d, pool, batch_norm,\n",
        "// layer_norm}.rs. Arrays are flat, in PyTorch's contiguous order; every `delta` is the\n",
        "// gradient of the loss with respect to the output the gradients come from.\n",
        "\n",
        STRUCTS,
        "\n",
        case_list("CONV1D", "Conv1dCase", conv1d),
        "\n",
        case_list("CONV2D", "Conv2dCase", conv2d),
        "\n",
        case_list("POOL1D", "Pool1dCase", pool1d),
        "\n",
        case_list("POOL2D", "Pool2dCase", pool2d),
        "\n",
        case_list("GLOBAL_AVG_POOL", "GlobalAvgPoolCase", global_avg_pool),
        "\n",
        case_list("BATCH_NORM", "BatchNormCase", batch_norm),
        "\n",
        case_list("LAYER_NORM", "LayerNormCase", layer_norm),
    ]
    FIXTURE.write_text("".join(out))
    rustfmt = shutil.which("rustfmt")
    if rustfmt:
        subprocess.run([rustfmt, "--edition", "2024", str(FIXTURE)], check=True)
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
