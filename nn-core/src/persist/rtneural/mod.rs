//! [RTNeural](https://github.com/jatinchowdhury18/RTNeural)'s JSON model format, as its Python
//! exporter (`model_utils.save_model`) writes a Keras model and its C++ reader
//! (`model_loader.h`, `parseJson`) reads it, into a declared network.
//!
//! # The file
//!
//! ```json
//! { "in_shape": [null, null, 1],
//!   "layers": [
//!     { "type": "gru", "activation": "tanh", "shape": [null, null, 8], "weights": [...] },
//!     { "type": "dense", "activation": "", "shape": [null, null, 1], "weights": [...] } ] }
//! ```
//!
//! | `type` | `weights` (Keras's `get_weights()`) | typenn |
//! | --- | --- | --- |
//! | `dense`, `time-distributed-dense` | kernel `[in, out]`, bias `[out]` (optional) | `Dense<IN, OUT, A>`, `A` from `activation` |
//! | `activation` | none | an activation layer: `tanh`, `relu`, `sigmoid`, `softmax`, `elu` |
//! | `lstm` | kernel `[in, 4 H]`, recurrent kernel `[H, 4 H]`, bias `[4 H]`; gates i, f, c, o | `Lstm<IN, H>` |
//! | `gru` | kernel `[in, 3 H]`, recurrent kernel `[H, 3 H]`, bias `[2, 3 H]` (`reset_after`); gates z, r, h | `Gru<IN, H>` |
//! | `conv1d` (with `kernel_size`, `dilation`, `groups`) | kernel `[KERNEL, in, out]`, bias `[out]` | `CausalConv1d<IN, OUT, KERNEL, DILATION, A>`, `A` from `activation` |
//!
//! A dense or conv1d layer's `activation` is a layer of its own in RTNeural; here it must be
//! the activation of the `Dense` or `CausalConv1d`, or the activation layer that follows it.
//! `Dropout` layers of the network stand for nothing (the exporter writes Keras's `Dropout` as
//! a weightless `unknown` layer, which RTNeural skips, as this reader does). `conv2d`, `prelu`
//! and `batchnorm` layers are not read yet. A `lstm` or `gru` layer's `activation` is ignored,
//! as RTNeural ignores it (both compute tanh and sigmoid).
//!
//! RTNeural runs every `conv1d` as a causal convolution one time step at a time, whatever the
//! Keras layer's `padding` was (the exporter does not write it): `CausalConv1d` computes the
//! same. The kernel's taps are in Keras's order, oldest first: tap `k` of `KERNEL` reads the
//! input of `(KERNEL - 1 - k) * DILATION` steps before, as `CausalConv1d`'s `weight[k]` does,
//! so `kernel[k][c][o]` is `weight[k][c][o]` (RTNeural's reader reverses the taps because its
//! own layer keeps them newest first). `kernel_size` and `dilation` must be the network's, and
//! `groups` 1: `CausalConv1d` has no groups.
//!
//! Everything is checked before the network is written: each file layer's kind against the
//! network's layer in its place, its `shape` and every weight array's shape, and every value;
//! any mistake is an [`RtNeuralError`] naming the file layer and the network's field.

mod error;

use std::path::Path;

use serde_json::Value;

pub use error::RtNeuralError;

use super::order::{
    KERAS_GRU_GATES, KERAS_LSTM_GATES, keras_gate_bias_to_torch, keras_gates_to_torch,
    keras_to_torch, slice_position,
};
use crate::layer::{LayerKind, LayerOf};
use crate::{Parameters, Scalar};

/// A network with the weights of an RTNeural JSON model's text.
///
/// # Errors
///
/// An [`RtNeuralError`] naming the first mistake found.
///
/// # Example
///
/// ```
/// use typenn::persist::{RtNeuralError, rtneural};
/// use typenn::prelude::*;
///
/// network! {
///     struct Tiny(Dense<2, 1, Tanh>);
/// }
///
/// # fn main() -> Result<(), RtNeuralError> {
/// let json = r#"{ "in_shape": [null, 2], "layers": [
///     { "type": "dense", "activation": "tanh", "shape": [null, 1],
///       "weights": [[[0.5], [-0.25]], [0.1]] } ] }"#;
/// let model: Tiny = rtneural::from_json(json)?;
/// let y = model.forward(&SVector::from([2.0, 4.0]));
/// assert!((y[0] - 0.1_f32.tanh()).abs() < 1e-7);
/// # Ok(())
/// # }
/// ```
pub fn from_json<T: Scalar, N: Parameters<T>>(json: &str) -> Result<N, RtNeuralError> {
    let mut network = N::zeros();
    load_json(&mut network, json)?;
    Ok(network)
}

/// A network with the weights of the RTNeural JSON model at `path`.
///
/// # Errors
///
/// [`RtNeuralError::Io`] when the file cannot be read, or the first mistake found in it.
pub fn open<T: Scalar, N: Parameters<T>>(path: impl AsRef<Path>) -> Result<N, RtNeuralError> {
    let path = path.as_ref();
    let json = std::fs::read_to_string(path).map_err(|source| RtNeuralError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_json(&json)
}

/// Replaces the weights of `network` with those of an RTNeural JSON model's text. The whole
/// file is checked first, so on error the network is unchanged.
///
/// # Errors
///
/// An [`RtNeuralError`] naming the first mistake found: the JSON, the file's structure, then
/// layer by layer its kind, shapes and values, and last a layer left over on either side.
pub fn load_json<T: Scalar, N: Parameters<T>>(
    network: &mut N,
    json: &str,
) -> Result<(), RtNeuralError> {
    let root: Value = serde_json::from_str(&quote_non_finite(json)).map_err(RtNeuralError::Json)?;
    let file = file_steps(&root)?;
    let declared = network_steps::<T, N>()?;
    let mut width = in_width(&root)?;
    let mut scratch: Vec<(usize, Vec<f64>)> = Vec::new();
    for position in 0..file.len().max(declared.len()) {
        let (here, there) = match (file.get(position), declared.get(position)) {
            (Some(here), Some(there)) => (here, there),
            (Some(here), None) => {
                return Err(RtNeuralError::ExtraLayer {
                    index: here.index,
                    found: here.step.describe(),
                });
            }
            (None, Some(there)) => {
                return Err(RtNeuralError::MissingLayer {
                    field: there.field,
                    expected: there.step.describe(),
                });
            }
            (None, None) => break,
        };
        if here.step != there.step {
            return Err(RtNeuralError::WrongKind {
                index: here.index,
                found: here.step.describe(),
                field: there.field,
                expected: there.step.describe(),
            });
        }
        if let Some(layer) = here.layer {
            let read = Reader {
                layer,
                index: here.index,
                field: there.field,
            };
            width = match there.kind {
                LayerKind::CausalConv1d { dilation, .. } => {
                    read.conv1d::<T, N>(there.first_tensor, dilation, width, &mut scratch)?
                }
                _ => read.tensors::<T, N>(there.step, there.first_tensor, width, &mut scratch)?,
            };
        }
    }
    for (index, values) in scratch {
        let Some(info) = N::tensor_info(index) else {
            continue;
        };
        let target = network.tensor_mut(index);
        for (position, value) in values.into_iter().enumerate() {
            if let Some(slot) = target.get_mut(slice_position(info.shape, info.layout, position)) {
                *slot = T::cast_from(value);
            }
        }
    }
    Ok(())
}

/// One step of computation, as both sides are compared: RTNeural's dense layer and its
/// activation are two steps, as they are two layers in RTNeural.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Dense,
    Lstm,
    Gru,
    Conv1d,
    /// An activation by RTNeural's name (`tanh`).
    Activation(&'static str),
    /// A file layer RTNeural reads and this reader does not (`conv2d`).
    Unread(&'static str),
}

impl Step {
    fn describe(self) -> String {
        match self {
            Self::Dense => "dense".to_owned(),
            Self::Lstm => "lstm".to_owned(),
            Self::Gru => "gru".to_owned(),
            Self::Conv1d => "conv1d".to_owned(),
            Self::Activation(name) => format!("`{name}` activation"),
            Self::Unread(kind) => format!("`{kind}`"),
        }
    }
}

/// RTNeural's name for a typenn activation, by its type name.
fn rtneural_activation(name: &str) -> Option<&'static str> {
    Some(match name {
        "Tanh" => "tanh",
        "Relu" => "relu",
        "Sigmoid" => "sigmoid",
        "Softmax" => "softmax",
        "Elu" => "elu",
        _ => return None,
    })
}

/// RTNeural's activations, by the names its reader knows.
fn known_activation(name: &str) -> Option<&'static str> {
    ["tanh", "relu", "sigmoid", "softmax", "elu"]
        .into_iter()
        .find(|known| *known == name)
}

/// A step of the network, with the layer it comes from.
struct NetworkStep {
    step: Step,
    field: &'static str,
    /// The index of the layer's first tensor in the network.
    first_tensor: usize,
    /// The layer's kind, for the settings no tensor's shape holds (a convolution's dilation).
    kind: LayerKind,
}

/// The network's steps, in order.
fn network_steps<T: Scalar, N: Parameters<T>>() -> Result<Vec<NetworkStep>, RtNeuralError> {
    let mut layers: Vec<LayerOf> = Vec::new();
    N::visit_layers(&mut |layer| layers.push(layer));
    let mut steps = Vec::with_capacity(layers.len() + 1);
    let mut first_tensor = 0;
    for layer in layers {
        let field = layer.field;
        let mut push = |step| {
            steps.push(NetworkStep {
                step,
                field,
                first_tensor,
                kind: layer.kind,
            });
        };
        let activation = |name| {
            rtneural_activation(name)
                .map(Step::Activation)
                .ok_or(RtNeuralError::UnsupportedLayer { field })
        };
        match layer.kind {
            LayerKind::Dense { activation: name } => {
                push(Step::Dense);
                if name != "Identity" {
                    push(activation(name)?);
                }
            }
            LayerKind::CausalConv1d {
                activation: name, ..
            } => {
                push(Step::Conv1d);
                if name != "Identity" {
                    push(activation(name)?);
                }
            }
            LayerKind::Activation(name) => push(activation(name)?),
            LayerKind::Lstm => push(Step::Lstm),
            LayerKind::Gru => push(Step::Gru),
            LayerKind::Dropout => {}
            _ => return Err(RtNeuralError::UnsupportedLayer { field }),
        }
        first_tensor += layer.tensors;
    }
    Ok(steps)
}

/// A step of the file, with the layer it comes from.
struct FileStep<'a> {
    step: Step,
    /// The layer's position in the file's `layers`.
    index: usize,
    /// The layer, for the step that holds its weights; `None` for its activation.
    layer: Option<&'a Value>,
}

/// The file's steps, in order.
fn file_steps(root: &Value) -> Result<Vec<FileStep<'_>>, RtNeuralError> {
    let layers = root
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| format_error("layers", "an array of layers"))?;
    let mut steps = Vec::with_capacity(layers.len() * 2);
    for (index, layer) in layers.iter().enumerate() {
        let text = |key: &str| -> Result<&str, RtNeuralError> {
            match layer.get(key) {
                None if key == "activation" => Ok(""),
                Some(Value::String(text)) => Ok(text),
                _ => Err(format_error(&format!("layers[{index}].{key}"), "a string")),
            }
        };
        let kind = text("type")?;
        let activation = text("activation")?;
        let step = match kind {
            "dense" | "time-distributed-dense" => Step::Dense,
            "lstm" => Step::Lstm,
            "gru" => Step::Gru,
            "conv1d" => Step::Conv1d,
            "activation" => {
                push_activation(&mut steps, index, activation)?;
                continue;
            }
            "conv2d" => Step::Unread("conv2d"),
            "prelu" => Step::Unread("prelu"),
            "batchnorm" => Step::Unread("batchnorm"),
            "batchnorm2d" => Step::Unread("batchnorm2d"),
            // RTNeural skips any other layer (the exporter's `unknown`: Keras's Dropout).
            _ if weights(layer, index)?.is_empty() => continue,
            _ => {
                return Err(RtNeuralError::UnsupportedFileLayer {
                    index,
                    kind: kind.to_owned(),
                });
            }
        };
        steps.push(FileStep {
            step,
            index,
            layer: Some(layer),
        });
        if matches!(step, Step::Dense | Step::Conv1d) {
            push_activation(&mut steps, index, activation)?;
        }
    }
    Ok(steps)
}

/// The step of an activation named `name` in layer `index`, if any: RTNeural adds none for an
/// empty name, and cannot read an activation it does not know.
fn push_activation<'a>(
    steps: &mut Vec<FileStep<'a>>,
    index: usize,
    name: &str,
) -> Result<(), RtNeuralError> {
    if name.is_empty() {
        return Ok(());
    }
    let known = known_activation(name).ok_or_else(|| RtNeuralError::UnsupportedFileLayer {
        index,
        kind: format!("{name} activation"),
    })?;
    steps.push(FileStep {
        step: Step::Activation(known),
        index,
        layer: None,
    });
    Ok(())
}

/// Layer `index`'s `weights`.
fn weights(layer: &Value, index: usize) -> Result<&[Value], RtNeuralError> {
    layer
        .get("weights")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| format_error(&format!("layers[{index}].weights"), "an array"))
}

/// The width of the model's input: the last number of `in_shape` (`[null, null, 1]`).
fn in_width(root: &Value) -> Result<usize, RtNeuralError> {
    root.get("in_shape")
        .and_then(Value::as_array)
        .and_then(|shape| shape.last())
        .and_then(as_usize)
        .ok_or_else(|| format_error("in_shape", "an array ending with the input width"))
}

fn as_usize(value: &Value) -> Option<usize> {
    value.as_u64().and_then(|n| usize::try_from(n).ok())
}

fn format_error(at: &str, expected: &'static str) -> RtNeuralError {
    RtNeuralError::Format {
        at: at.to_owned(),
        expected,
    }
}

/// Reads one file layer's weights for one network layer.
struct Reader<'a> {
    layer: &'a Value,
    index: usize,
    field: &'static str,
}

impl Reader<'_> {
    /// Checks the layer's output width and weights against the network's layer (`step`, its
    /// tensors from `first`) taking `width` inputs, and pushes its tensors, in PyTorch's
    /// row-major order, onto `scratch`. Returns the layer's output width.
    fn tensors<T: Scalar, N: Parameters<T>>(
        &self,
        step: Step,
        first: usize,
        width: usize,
        scratch: &mut Vec<(usize, Vec<f64>)>,
    ) -> Result<usize, RtNeuralError> {
        let shape = |index: usize| N::tensor_info(first + index).map_or(&[][..], |i| i.shape);
        let [rows, inputs] = *shape(0) else {
            return Err(RtNeuralError::UnsupportedLayer { field: self.field });
        };
        let (names, gates): (&[&'static str], usize) = match step {
            Step::Dense => (&["kernel", "bias"], 1),
            Step::Lstm => (&["kernel", "recurrent_kernel", "bias"], 4),
            _ => (&["kernel", "recurrent_kernel", "bias"], 3),
        };
        let out = rows / gates;
        if inputs != width {
            let tensor = if self.index == 0 { "in_shape" } else { "shape" };
            return Err(self.wrong_shape(tensor, vec![inputs], vec![width]));
        }
        self.check_width(out)?;
        let arrays = weights(self.layer, self.index)?;
        // RTNeural's dense bias may be left out (`use_bias=False`): it is zero then.
        let optional = usize::from(step == Step::Dense);
        if arrays.len() > names.len() || arrays.len() + optional < names.len() {
            return Err(self.wrong_shape("weights", vec![names.len()], vec![arrays.len()]));
        }
        let file_shapes: Vec<Vec<usize>> = match step {
            Step::Dense => vec![vec![inputs, out], vec![out]],
            Step::Gru => vec![vec![inputs, rows], vec![out, rows], vec![2, rows]],
            _ => vec![vec![inputs, rows], vec![out, rows], vec![rows]],
        };
        let mut read = Vec::with_capacity(names.len());
        for ((&name, expected), array) in names.iter().zip(&file_shapes).zip(arrays) {
            read.push(self.array(name, array, expected)?);
        }
        let order = if step == Step::Gru {
            KERAS_GRU_GATES
        } else {
            KERAS_LSTM_GATES
        };
        let mut push = |index: usize, values: Vec<f64>| scratch.push((first + index, values));
        match (step, read.as_slice()) {
            (Step::Dense, [kernel, rest @ ..]) => {
                push(0, keras_to_torch(shape(0), kernel));
                push(1, rest.first().cloned().unwrap_or_else(|| vec![0.0; out]));
            }
            (_, [kernel, recurrent, bias]) => {
                push(0, keras_gates_to_torch(shape(0), order, kernel));
                push(1, keras_gates_to_torch(shape(1), order, recurrent));
                push(2, keras_gate_bias_to_torch(shape(2), order, 0, bias));
                let hidden_bias = if step == Step::Gru {
                    keras_gate_bias_to_torch(shape(3), order, 1, bias)
                } else {
                    vec![0.0; rows]
                };
                push(3, hidden_bias);
            }
            _ => {}
        }
        Ok(out)
    }

    /// As [`tensors`](Self::tensors) for a `CausalConv1d` whose tensors start at `first`, of
    /// the given `dilation`: the file's kernel `[KERNEL, in, out]` is PyTorch's weight
    /// `[out, in, KERNEL]` with its axes reversed, the taps in the same order.
    fn conv1d<T: Scalar, N: Parameters<T>>(
        &self,
        first: usize,
        dilation: usize,
        width: usize,
        scratch: &mut Vec<(usize, Vec<f64>)>,
    ) -> Result<usize, RtNeuralError> {
        let Some(&[out, inputs, kernel]) = N::tensor_info(first).map(|info| info.shape) else {
            return Err(RtNeuralError::UnsupportedLayer { field: self.field });
        };
        if inputs != width {
            let tensor = if self.index == 0 { "in_shape" } else { "shape" };
            return Err(self.wrong_shape(tensor, vec![inputs], vec![width]));
        }
        self.check_width(out)?;
        // RTNeural reads the last number of Keras's tuples (`"kernel_size": [3]`) and takes
        // a missing `groups` as 1.
        self.check_setting("kernel_size", kernel, None)?;
        self.check_setting("dilation", dilation, None)?;
        self.check_setting("groups", 1, Some(1))?;
        let arrays = weights(self.layer, self.index)?;
        let [kernel_array, bias_array] = arrays else {
            return Err(self.wrong_shape("weights", vec![2], vec![arrays.len()]));
        };
        let keras = self.array("kernel", kernel_array, &[kernel, inputs, out])?;
        let bias = self.array("bias", bias_array, &[out])?;
        let mut torch = Vec::with_capacity(keras.len());
        for o in 0..out {
            for c in 0..inputs {
                for k in 0..kernel {
                    torch.push(keras[(k * inputs + c) * out + o]);
                }
            }
        }
        scratch.push((first, torch));
        scratch.push((first + 1, bias));
        Ok(out)
    }

    /// The layer's setting `name` (a number, or an array ending with one) must be `expected`;
    /// `default` when the file leaves it out, which is a mistake without one.
    fn check_setting(
        &self,
        name: &'static str,
        expected: usize,
        default: Option<usize>,
    ) -> Result<(), RtNeuralError> {
        let found = match self.layer.get(name) {
            None => default,
            Some(Value::Array(items)) => items.last().and_then(as_usize),
            Some(value) => as_usize(value),
        }
        .ok_or_else(|| {
            format_error(
                &format!("layers[{}].{name}", self.index),
                "a number or an array ending with one",
            )
        })?;
        if found == expected {
            return Ok(());
        }
        Err(RtNeuralError::WrongSetting {
            index: self.index,
            field: self.field,
            setting: name,
            expected,
            found,
        })
    }

    /// The layer's `shape` (`[null, null, out]`) must end with the network's width `out`.
    fn check_width(&self, out: usize) -> Result<(), RtNeuralError> {
        let found = self
            .layer
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|shape| shape.last())
            .and_then(as_usize)
            .ok_or_else(|| {
                format_error(
                    &format!("layers[{}].shape", self.index),
                    "an array ending with the layer's width",
                )
            })?;
        if found == out {
            Ok(())
        } else {
            Err(self.wrong_shape("shape", vec![out], vec![found]))
        }
    }

    fn wrong_shape(
        &self,
        tensor: &'static str,
        expected: Vec<usize>,
        found: Vec<usize>,
    ) -> RtNeuralError {
        let kind = self
            .layer
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        RtNeuralError::WrongShape {
            index: self.index,
            kind,
            field: self.field,
            tensor,
            expected,
            found,
        }
    }

    /// The numbers of `array`, row-major, checked to have shape `expected` and to be finite.
    fn array(
        &self,
        tensor: &'static str,
        array: &Value,
        expected: &[usize],
    ) -> Result<Vec<f64>, RtNeuralError> {
        let mut values = Vec::with_capacity(expected.iter().product());
        if !flatten(array, expected, &mut values) {
            let found = shape_of(array);
            if found == expected {
                return Err(format_error(
                    &format!("layers[{}].weights ({tensor})", self.index),
                    "a rectangular array of numbers",
                ));
            }
            return Err(self.wrong_shape(tensor, expected.to_vec(), found));
        }
        if let Some(position) = values.iter().position(|value| !value.is_finite()) {
            return Err(RtNeuralError::NonFinite {
                index: self.index,
                field: self.field,
                tensor,
                position: unravel(expected, position),
                value: values[position],
            });
        }
        Ok(values)
    }
}

/// Appends the numbers of `value` to `out` row-major; false unless it is an array of shape
/// `shape` of numbers (or of the non-finite values Python writes, quoted by
/// [`quote_non_finite`]).
fn flatten(value: &Value, shape: &[usize], out: &mut Vec<f64>) -> bool {
    match (shape.split_first(), value) {
        (None, Value::Number(number)) => number.as_f64().is_some_and(|n| {
            out.push(n);
            true
        }),
        (None, Value::String(text)) => match text.as_str() {
            "NaN" => {
                out.push(f64::NAN);
                true
            }
            "Infinity" => {
                out.push(f64::INFINITY);
                true
            }
            "-Infinity" => {
                out.push(f64::NEG_INFINITY);
                true
            }
            _ => false,
        },
        (Some((&len, rest)), Value::Array(items)) => {
            items.len() == len && items.iter().all(|item| flatten(item, rest, out))
        }
        _ => false,
    }
}

/// The shape of nested arrays, found by following their first items.
fn shape_of(mut value: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    while let Value::Array(items) = value {
        shape.push(items.len());
        match items.first() {
            Some(first) => value = first,
            None => break,
        }
    }
    shape
}

/// The index in `shape` of the value at `position` of row-major data.
fn unravel(shape: &[usize], position: usize) -> Vec<usize> {
    super::order::unravel(shape, position)
}

/// `json` with Python's non-standard `NaN`, `Infinity` and `-Infinity` (which `json.dump`
/// writes for non-finite floats) quoted as strings outside string literals, so that the
/// JSON parser accepts them and the reader can name the weight that holds one.
fn quote_non_finite(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        if !in_string {
            if let Some(token) = ["NaN", "Infinity", "-Infinity"]
                .into_iter()
                .find(|token| rest.starts_with(token))
            {
                out.push('"');
                out.push_str(token);
                out.push('"');
                rest = &rest[token.len()..];
                continue;
            }
        } else if c == '\\' {
            // An escape: the next character, whatever it is, is part of the string.
            let mut chars = rest.chars();
            chars.next();
            out.push(c);
            if let Some(next) = chars.next() {
                out.push(next);
            }
            rest = chars.as_str();
            continue;
        }
        if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use nalgebra::SVector;

    use super::*;
    use crate::activation::{Identity, Tanh};
    use crate::layer::{CausalConv1d, Streaming};

    /// A conv1d layer of `in_ch` inputs and `out_ch` outputs taking `kernel`, with RTNeural's
    /// settings.
    fn conv1d(in_ch: usize, out_ch: usize, kernel: &str, bias: &str, settings: &str) -> String {
        format!(
            r#"{{ "in_shape": [null, null, {in_ch}], "layers": [ {{ "type": "conv1d",
                "activation": "", "shape": [null, null, {out_ch}], {settings},
                "weights": [{kernel}, {bias}] }} ] }}"#
        )
    }

    #[test]
    fn a_conv1d_kernel_is_read_oldest_tap_first_by_hand() -> Result<(), RtNeuralError> {
        // One channel in and out, three taps two steps apart: an impulse comes out through
        // the taps newest first, tap 2 at once, tap 1 two steps later, tap 0 after four.
        let json = conv1d(
            1,
            1,
            "[[[1.0]], [[10.0]], [[100.0]]]",
            "[0.5]",
            r#""kernel_size": [3], "dilation": [2], "groups": 1"#,
        );
        let conv: CausalConv1d<1, 1, 3, 2, Identity, f64> = from_json(&json)?;
        let mut state = Default::default();
        let ys: Vec<f64> = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            .iter()
            .map(|&x| conv.step(&mut state, &SVector::from([x]))[0])
            .collect();
        assert_eq!(ys, [100.5, 0.5, 10.5, 0.5, 1.5, 0.5]);
        Ok(())
    }

    #[test]
    fn a_conv1d_kernel_is_keras_tap_channel_output_by_hand() -> Result<(), RtNeuralError> {
        // kernel[k][c][o]: tap 0 (one step back) [[1, 2], [3, 4]], tap 1 (now) [[5, 6], [7, 8]].
        let json = conv1d(
            2,
            2,
            "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]",
            "[0.25, -0.5]",
            r#""kernel_size": [2], "dilation": [1], "groups": 1"#,
        );
        let conv: CausalConv1d<2, 2, 2, 1, Identity, f64> = from_json(&json)?;
        // PyTorch's weight[o][c][k] is kernel[k][c][o].
        assert_eq!(conv.weight[0][1], SVector::from([3.0, 4.0]));
        assert_eq!(conv.weight[1][0], SVector::from([5.0, 6.0]));
        let mut state = Default::default();
        // x0 = (1, 0): tap 1 on channel 0: (5, 6) + bias.
        let y0 = conv.step(&mut state, &SVector::from([1.0, 0.0]));
        assert_eq!(y0, SVector::from([5.25, 5.5]));
        // x1 = (0, 1): tap 1 on channel 1 (7, 8), tap 0 on x0's channel 0 (1, 2), + bias.
        let y1 = conv.step(&mut state, &SVector::from([0.0, 1.0]));
        assert_eq!(y1, SVector::from([8.25, 9.5]));
        Ok(())
    }

    #[test]
    fn a_lone_conv1d_with_its_activation_and_the_wrong_setting() {
        let json = conv1d(
            2,
            2,
            "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]",
            "[0.25, -0.5]",
            r#""kernel_size": [2], "dilation": [3], "groups": 1"#,
        );
        let error = from_json::<f64, CausalConv1d<2, 2, 2, 1, Identity, f64>>(&json).err();
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some(
                "expected `dilation` 1 in layer 0 of the file (`conv1d`, for the network's \
                 layer), but found 3"
            )
        );
        // The file has no activation; a layer with tanh needs one.
        let error = from_json::<f64, CausalConv1d<2, 2, 2, 3, Tanh, f64>>(&json).err();
        assert!(
            matches!(&error, Some(RtNeuralError::MissingLayer { field: "", expected }) if expected == "`tanh` activation"),
            "{error:?}"
        );
    }

    #[test]
    fn python_non_finite_numbers_are_quoted_outside_strings() {
        let json = r#"{"a": [NaN, -Infinity, Infinity, 1.5], "b": "NaN \" Infinity"}"#;
        assert_eq!(
            quote_non_finite(json),
            r#"{"a": ["NaN", "-Infinity", "Infinity", 1.5], "b": "NaN \" Infinity"}"#
        );
    }

    #[test]
    fn arrays_are_flattened_row_major_and_shapes_checked() {
        let value: Value = serde_json::from_str("[[1, 2, 3], [4, 5, 6]]").unwrap_or_default();
        let mut out = Vec::new();
        assert!(flatten(&value, &[2, 3], &mut out));
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert!(!flatten(&value, &[3, 2], &mut Vec::new()));
        assert_eq!(shape_of(&value), [2, 3]);
        let ragged: Value = serde_json::from_str("[[1, 2], [3]]").unwrap_or_default();
        assert!(!flatten(&ragged, &[2, 2], &mut Vec::new()));
        assert_eq!(shape_of(&ragged), [2, 2]);
    }
}
