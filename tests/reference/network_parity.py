#!/usr/bin/env python3
"""PyTorch reference for tests/network_parity.rs: whole networks of the layers beyond Dense.

Two `nn.Sequential` networks, each the same list of layers as its typenn declaration, so that
the `state_dict` names (`0.weight`, `1.running_mean`, ...) are typenn's:

- `sequence`, over (2, 16):
  Conv1d(2, 3, 3, stride 2, padding 1, dilation 2) -> BatchNorm1d(3) over the channels -> Tanh
  -> MaxPool1d(2) -> AvgPool1d(3, stride 2, padding 1) -> Flatten -> Linear(6, 4)
  -> BatchNorm1d(4) over the features -> Sigmoid -> Linear(4, 2);
- `image`, over (2, 12, 12):
  Conv2d(2, 3, 3, stride 2, padding 1, dilation 2) -> BatchNorm2d(3) -> Tanh
  -> MaxPool2d(2, stride 1) -> AvgPool2d(3, stride 2, padding 1) -> global average pooling
  (`Flatten` of `AdaptiveAvgPool2d(1)`, one module here as in typenn) -> Linear(3, 2).

Dropout is left out of the trajectories: its mask is typenn's own random draw, which PyTorch
cannot reproduce; it is in the two networks that are only imported (below).

Each network starts from PyTorch's default initialization (seed 11), with BatchNorm's weight,
bias and running statistics set away from 1, 0, 0, 1 so that each matters. For a batch of 5
the script records, in float64 (and for `sequence` once more in float32):

- the outputs in eval mode, from the starting running statistics;
- in training mode (batch statistics): the outputs, the MSE loss, the gradient of every
  parameter and of the input (on a copy, so that this pass does not move the running
  statistics);
- 4 plain SGD steps (lr 0.1) on the same batch: the loss before each step and every parameter
  and buffer after it (`num_batches_tracked` left out: typenn keeps no step count);
- the outputs in eval mode after the steps, from the running statistics they left.

Two more networks are only imported: `normed_1d`, Conv1d(2, 3, 3) -> LayerNorm([3, 5]) ->
Dropout(0.3) -> Tanh -> Flatten -> Linear(15, 2) over (2, 7), and `normed_2d`, Conv2d(1, 2, 3)
-> LayerNorm([2, 3, 3]) -> Dropout(0.3) -> global average pooling -> Linear(2, 1) over
(1, 5, 5), with their outputs in eval mode (dropout the identity) for 5 inputs.

Inputs are random, so no max-pooling window has a tie: the script checks that in every window
of every forward pass the largest value leads the next by more than 1e-6.

The starting `state_dict`s are written with `safetensors.torch.save_file` (F64, and F32 for the
float32 case, `num_batches_tracked` included as PyTorch keeps it), and the test loads them
with typenn's loader. Arrays are flat in PyTorch's contiguous order: inputs `(N, C, L)` or
`(N, C, H, W)` one sample per row, tensors row-major. Regenerate with:

    /work/venv/bin/python tests/reference/network_parity.py

Made with torch 2.15.0 (CPU), safetensors 0.8.0 and numpy 2.4.6.
"""

import copy
import pathlib

import safetensors.torch
import torch

from rust_fixture import rust_array, rust_const, rust_float

SEED = 11
BATCH = 5
STEPS = 4
LEARNING_RATE = 0.1
MIN_GAP = 1e-6

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE = FIXTURES / "network_parity.rs"


class GlobalAvgPool(torch.nn.Module):
    """Each channel's mean: typenn's `GlobalAvgPool`, one module as there."""

    def forward(self, x):
        return x.mean(dim=tuple(range(2, x.dim())))


def sequence():
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=2),
        torch.nn.BatchNorm1d(3),
        torch.nn.Tanh(),
        torch.nn.MaxPool1d(2),
        torch.nn.AvgPool1d(3, stride=2, padding=1),
        torch.nn.Flatten(),
        torch.nn.Linear(6, 4),
        torch.nn.BatchNorm1d(4),
        torch.nn.Sigmoid(),
        torch.nn.Linear(4, 2),
    )


def image():
    return torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=2),
        torch.nn.BatchNorm2d(3),
        torch.nn.Tanh(),
        torch.nn.MaxPool2d(2, stride=1),
        torch.nn.AvgPool2d(3, stride=2, padding=1),
        GlobalAvgPool(),
        torch.nn.Linear(3, 2),
    )


def normed_1d():
    return torch.nn.Sequential(
        torch.nn.Conv1d(2, 3, 3),
        torch.nn.LayerNorm([3, 5]),
        torch.nn.Dropout(0.3),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        torch.nn.Linear(15, 2),
    )


def normed_2d():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3),
        torch.nn.LayerNorm([2, 3, 3]),
        torch.nn.Dropout(0.3),
        GlobalAvgPool(),
        torch.nn.Linear(2, 1),
    )


def windows(x, module):
    """Every max-pooling window of `x` as the last axis."""
    if isinstance(module, torch.nn.MaxPool1d):
        return x.unfold(2, module.kernel_size, module.stride)
    k, s = module.kernel_size, module.stride
    return x.unfold(2, k, s).unfold(3, k, s).flatten(-2)


def watch_ties(model, gaps):
    """Records, before each max pool, the smallest lead of a window's largest value."""
    for module in model:
        if isinstance(module, (torch.nn.MaxPool1d, torch.nn.MaxPool2d)):
            assert module.padding == 0 and module.dilation == 1

            def hook(module, args):
                top = windows(args[0].detach(), module).topk(2, dim=-1).values
                gaps.append((top[..., 0] - top[..., 1]).min().item())

            module.register_forward_pre_hook(hook)


def set_norms(model, generator):
    with torch.no_grad():
        for module in model:
            if isinstance(module, torch.nn.LayerNorm):
                shape = module.weight.shape
                module.weight.copy_(0.75 + 0.5 * torch.rand(shape, generator=generator))
                module.bias.copy_(0.4 * torch.rand(shape, generator=generator) - 0.2)
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                c = module.num_features
                module.weight.copy_(0.75 + 0.5 * torch.rand(c, generator=generator))
                module.bias.copy_(0.4 * torch.rand(c, generator=generator) - 0.2)
                module.running_mean.copy_(0.4 * torch.rand(c, generator=generator) - 0.2)
                module.running_var.copy_(0.5 + torch.rand(c, generator=generator))


def tensors(model):
    """(name, values) of every parameter and buffer but `num_batches_tracked`, in order."""
    return [
        (name, value.detach())
        for name, value in model.state_dict().items()
        if not name.endswith("num_batches_tracked")
    ]


def tensor_list(name, named):
    """`pub const NAME: &[(&str, &[f64])]`: flat row-major values by `state_dict` name."""
    items = "".join(
        f'    (\n        "{key}",\n        &{rust_array(value.reshape(-1).numpy(), 8)},\n    ),\n'
        for key, value in named
    )
    return f"pub const {name}: &[(&str, &[f64])] = &[\n{items}];\n"


def rows(tensor):
    """A batch as one flat sample per row, float64."""
    return tensor.detach().reshape(tensor.shape[0], -1).double().numpy()


def record(label, model, inputs, targets):
    """The module `label` of the fixture: every figure of the docstring for `model`."""
    gaps = []
    watch_ties(model, gaps)
    loss_fn = torch.nn.MSELoss()
    model.eval()
    with torch.no_grad():
        eval_before = model(inputs)

    probe = copy.deepcopy(model).train()
    watch_ties(probe, gaps)
    x = inputs.clone().requires_grad_()
    outputs = probe(x)
    loss = loss_fn(outputs, targets)
    loss.backward()
    gradients = [(name, p.grad) for name, p in probe.named_parameters()]

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    losses, steps = [], []
    for _ in range(STEPS):
        optimizer.zero_grad()
        step_loss = loss_fn(model(inputs), targets)
        losses.append(step_loss.item())
        step_loss.backward()
        optimizer.step()
        steps.append(tensor_list(f"STEP_{len(steps)}", tensors(model)))
    model.eval()
    with torch.no_grad():
        eval_after = model(inputs)
    assert min(gaps) > MIN_GAP, (label, min(gaps))
    print(f"{label}: smallest lead in a max-pooling window {min(gaps):.2e}")

    text = [
        f"pub mod {label} {{\n",
        rust_const("INPUTS", rows(inputs)),
        rust_const("TARGETS", rows(targets)),
        rust_const("EVAL_BEFORE", rows(eval_before)),
        rust_const("TRAINING_OUTPUTS", rows(outputs)),
        f"pub const LOSS: f64 = {rust_float(loss.item())};\n",
        tensor_list("GRADIENTS", gradients),
        rust_const("INPUT_GRADIENT", rows(x.grad)),
        rust_const("LOSSES", losses),
        *steps,
        f"pub const STEPS: [&[(&str, &[f64])]; {STEPS}] = [{', '.join(f'STEP_{i}' for i in range(STEPS))}];\n",
        rust_const("EVAL_AFTER", rows(eval_after)),
        "}\n\n",
    ]
    return "".join(text)


def case(build, shape, seed):
    """The starting network, inputs and targets, the same for every call with `seed`."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build().double()
    set_norms(model, generator)
    inputs = torch.rand(BATCH, *shape, generator=generator) * 2 - 1
    outputs = model.eval()(inputs).shape[1]
    targets = torch.rand(BATCH, outputs, generator=generator) * 2 - 1
    return model, inputs, targets


def main():
    torch.set_default_dtype(torch.float64)
    text = [
        "// Generated by tests/reference/network_parity.py (torch, seed 11); do not edit.\n",
        "// Regenerate with `/work/venv/bin/python tests/reference/network_parity.py`.\n",
        "//\n",
        "// Arrays are flat in PyTorch's contiguous order, one sample per row; tensors are named\n",
        "// as the `state_dict` names them, row-major. Each network's starting `state_dict` is\n",
        "// network_parity_{name}.safetensors.\n\n",
        f"pub const LEARNING_RATE: f64 = {rust_float(LEARNING_RATE)};\n\n",
    ]
    # The float32 case is `sequence`'s starting network and data rounded to float32.
    cases = [
        ("sequence", sequence, (2, 16), SEED, torch.float64),
        ("image", image, (2, 12, 12), SEED + 1, torch.float64),
        ("sequence_f32", sequence, (2, 16), SEED, torch.float32),
    ]
    for label, build, shape, seed, dtype in cases:
        model, inputs, targets = case(build, shape, seed)
        model, inputs, targets = model.to(dtype), inputs.to(dtype), targets.to(dtype)
        path = FIXTURES / f"network_parity_{label}.safetensors"
        safetensors.torch.save_file(model.state_dict(), path)
        text.append(record(label, model, inputs, targets))
    # Import only: LayerNorm and Dropout (an index of its own in `nn.Sequential`) from a real
    # `state_dict`, and the outputs in eval mode, where dropout is the identity.
    imports = [("normed_1d", normed_1d, (2, 7)), ("normed_2d", normed_2d, (1, 5, 5))]
    for seed, (label, build, shape) in enumerate(imports, SEED + 2):
        model, inputs, _ = case(build, shape, seed)
        safetensors.torch.save_file(model.state_dict(), FIXTURES / f"network_parity_{label}.safetensors")
        with torch.no_grad():
            outputs = model.eval()(inputs)
        text += [
            f"pub mod {label} {{\n",
            rust_const("INPUTS", rows(inputs)),
            rust_const("EVAL", rows(outputs)),
            "}\n\n",
        ]
    FIXTURE.write_text("".join(text))
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
