#!/usr/bin/env python3
"""PyTorch reference for the causal convolution's back-propagation through time in
tests/bptt_parity.rs: two causal, dilated nn.Conv1d layers and an nn.Linear applied at every time
step, over a batch of 3 sequences of 6 steps, with the MSE over every step of every sequence.

The model has fields `first` (Conv1d(2, 4, 3, dilation=2), then tanh), `second`
(Conv1d(4, 5, 2, dilation=3)) and `out` (Linear(5, 3)), PyTorch's own initialization. Each
convolution runs on its input with (kernel - 1) * dilation zeros on the left (causal: output t
sees inputs t, t - dilation, ..., t - (kernel - 1) * dilation). The state_dict is written to
tests/fixtures/causal_conv_bptt_f64.safetensors and, in float32, causal_conv_bptt_f32.safetensors,
by the few lines of `save_file` below (the format's layout, as make_safetensors.py describes it;
this needs no safetensors package). tests/fixtures/causal_conv_bptt_reference.rs gets:

- the inputs and targets; the loss, the gradient of every tensor and of the input; the losses of
  4 steps of plain SGD (lr 0.1) on that batch and every tensor after them; the same trajectory
  computed in float32;
- truncated back-propagation through time: 3 recordings of 12 steps cut into windows of 4,
  2 epochs of one SGD step (lr 0.1) per window. Each layer keeps the last (kernel - 1) *
  dilation frames of its input from one window (as they were computed there, detached) and puts
  them in front of the next window's in place of the zeros: the state a streaming convolution
  carries, with gradients stopping at the window's start. The carried frames start at zero each
  epoch. The mean loss of each epoch's windows and every tensor after the two epochs.

Tensors are written in typenn's order, every index reversed (a Conv1d weight [out, in, k] with
out fastest, a Linear weight column by column). Regenerate with:

    /work/venv/bin/python tests/reference/causal_conv_bptt_reference.py
"""

import json
import pathlib
import struct

import torch

from rust_fixture import rust_array, rust_const

SEED = 29
SEQUENCES = 3
STEPS = 6
IN = 2
OUT = 3
LEARNING_RATE = 0.1
SGD_STEPS = 4
RECORDING = 12
WINDOW = 4
EPOCHS = 2

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures"


def save_file(tensors, path):
    """A safetensors file of `tensors` (name to tensor), as PyTorch's writer lays it out: the
    header's length (8 bytes, little-endian), the JSON header padded with spaces to a multiple
    of 8 bytes, then each tensor's values in C order, little-endian."""
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, tensor in tensors.items():
        dtype = {torch.float64: "F64", torch.float32: "F32"}[tensor.dtype]
        values = tensor.detach().contiguous().numpy().astype(tensor.numpy().dtype.newbyteorder("<"))
        raw = values.tobytes()
        header[name] = {
            "dtype": dtype,
            "shape": list(tensor.shape),
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def reach(conv):
    """How many frames before a step's own the convolution's taps read."""
    return (conv.kernel_size[0] - 1) * conv.dilation[0]


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first = torch.nn.Conv1d(IN, 4, 3, dilation=2)
        self.second = torch.nn.Conv1d(4, 5, 2, dilation=3)
        self.out = torch.nn.Linear(5, OUT)

    def layers(self):
        return [(self.first, torch.tanh), (self.second, lambda x: x)]

    def forward(self, x, carried=None):
        """`x` is (batch, steps, inputs). `carried` holds each convolution's frames from before
        the sequence (zeros when not given); returns the outputs and the frames to carry on."""
        h = x.transpose(1, 2)
        kept = []
        for index, (conv, activation) in enumerate(self.layers()):
            if carried is None:
                before = h.new_zeros(h.shape[0], h.shape[1], reach(conv))
            else:
                before = carried[index]
            padded = torch.cat([before, h], dim=2)
            kept.append(padded[:, :, padded.shape[2] - reach(conv):].detach())
            h = activation(conv(padded))
        return self.out(h.transpose(1, 2)), kept


def ours(tensor):
    """A tensor's values in typenn's order: every index reversed, the first fastest."""
    t = tensor.detach().double()
    return t.permute(*reversed(range(t.dim()))).contiguous().reshape(-1).numpy()


def tensors(name, values):
    """`pub const NAME: &[(&str, &[f64])]`: each tensor's name and values."""
    text = f"pub const {name}: &[(&str, &[f64])] = &[\n"
    for key, value in values:
        text += f'    ("{key}", &{rust_array(ours(value), 4, len(key) + 10)}),\n'
    return text + "];\n"


def trajectory(model, inputs, targets):
    """The losses of plain SGD's steps and the parameters after them."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    losses = []
    for _ in range(SGD_STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs)[0], targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, list(model.state_dict().items())


def truncated(model, inputs, targets):
    """Truncated back-propagation through time: each epoch's mean window loss, and the
    parameters after the last epoch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    means = []
    for _ in range(EPOCHS):
        carried = None
        total = 0.0
        windows = RECORDING // WINDOW
        for w in range(windows):
            x = inputs[:, w * WINDOW:(w + 1) * WINDOW, :]
            y = targets[:, w * WINDOW:(w + 1) * WINDOW, :]
            optimizer.zero_grad()
            output, carried = model(x, carried)
            loss = torch.nn.functional.mse_loss(output, y)
            loss.backward()
            optimizer.step()
            total += loss.item()
        means.append(total / windows)
    return means, list(model.state_dict().items())


def main():
    torch.manual_seed(SEED)
    inputs = torch.rand(SEQUENCES, STEPS, IN, dtype=torch.float64) * 4.0 - 2.0
    targets = torch.rand(SEQUENCES, STEPS, OUT, dtype=torch.float64) * 2.0 - 1.0
    long_inputs = torch.rand(SEQUENCES, RECORDING, IN, dtype=torch.float64) * 4.0 - 2.0
    long_targets = torch.rand(SEQUENCES, RECORDING, OUT, dtype=torch.float64) * 2.0 - 1.0
    model = Model().double()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    save_file(
        {k: v.contiguous() for k, v in start.items()},
        FIXTURES / "causal_conv_bptt_f64.safetensors",
    )
    text = (
        "// Generated by tests/reference/causal_conv_bptt_reference.py (torch, seed 29); do not\n"
        "// edit. Regenerate with\n"
        "// `/work/venv/bin/python tests/reference/causal_conv_bptt_reference.py`.\n"
        "//\n"
        "// 3 sequences of 6 steps of 2 inputs through causal Conv1d(2, 4, 3, dilation=2), tanh,\n"
        "// causal Conv1d(4, 5, 2, dilation=3) and Linear(5, 3) at each step, MSE over every\n"
        "// step; INPUTS[s][t] and TARGETS[s][t] are step t of sequence s. LONG_INPUTS and\n"
        "// LONG_TARGETS are 3 recordings of 12 steps for truncated BPTT in windows of 4. The\n"
        "// starting weights are in causal_conv_bptt_f64.safetensors (and _f32).\n\n"
    )
    text += rust_const("INPUTS", inputs.numpy())
    text += rust_const("TARGETS", targets.numpy())
    x = inputs.clone().requires_grad_(True)
    loss = torch.nn.functional.mse_loss(model(x)[0], targets)
    loss.backward()
    text += rust_const("LOSS", loss.item(), kind="f64")
    text += tensors("GRADIENTS", [(k, p.grad) for k, p in model.named_parameters()])
    text += rust_const("INPUT_GRADIENT", x.grad.numpy())
    losses, after = trajectory(model, inputs, targets)
    text += rust_const("SGD_LOSSES", losses)
    text += tensors("SGD_AFTER", after)

    narrow = Model().float()
    narrow.load_state_dict(start)
    save_file(
        {k: v.contiguous() for k, v in narrow.state_dict().items()},
        FIXTURES / "causal_conv_bptt_f32.safetensors",
    )
    losses, after = trajectory(narrow, inputs.float(), targets.float())
    text += rust_const("F32_SGD_LOSSES", losses)
    text += tensors("F32_SGD_AFTER", after)

    model.load_state_dict(start)
    text += rust_const("LONG_INPUTS", long_inputs.numpy())
    text += rust_const("LONG_TARGETS", long_targets.numpy())
    means, after = truncated(model, long_inputs, long_targets)
    text += rust_const("TRUNCATED_LOSSES", means)
    text += tensors("TRUNCATED_AFTER", after)
    (FIXTURES / "causal_conv_bptt_reference.rs").write_text(text)


if __name__ == "__main__":
    main()
