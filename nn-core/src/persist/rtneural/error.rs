//! Why an RTNeural model file could not be read into a network, naming the layer and saying
//! what was expected and what was found.

use core::fmt;
use std::io;
use std::path::PathBuf;

/// Why an RTNeural JSON model could not be loaded. The network being loaded into is left
/// unchanged.
///
/// File layers are counted from 0 in the file's `layers` list; network layers are named by
/// their field (`cell`, `0`).
#[derive(Debug)]
#[non_exhaustive]
pub enum RtNeuralError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The text is not JSON.
    Json(serde_json::Error),
    /// The JSON is not an RTNeural model: a member missing or of the wrong type.
    Format {
        /// Where: `in_shape`, `layers[2].weights`.
        at: String,
        /// What RTNeural's reader expects there.
        expected: &'static str,
    },
    /// A layer of the network has no counterpart in RTNeural's format as read here (dense,
    /// activations, lstm, gru, conv1d).
    UnsupportedLayer {
        /// The network's field.
        field: &'static str,
    },
    /// A file layer of a type this reader does not take, holding weights.
    UnsupportedFileLayer {
        /// Its position in the file.
        index: usize,
        /// Its `type`.
        kind: String,
    },
    /// The file ends before the network does.
    MissingLayer {
        /// The network's field.
        field: &'static str,
        /// What the network has there: `dense`, `tanh`, `lstm`.
        expected: String,
    },
    /// The file has a layer after the network's last.
    ExtraLayer {
        /// Its position in the file.
        index: usize,
        /// What it is: `dense`, `tanh`, `gru`.
        found: String,
    },
    /// A file layer is of another kind than the network's layer in its place.
    WrongKind {
        /// Its position in the file.
        index: usize,
        /// What it is.
        found: String,
        /// The network's field.
        field: &'static str,
        /// What the network has there.
        expected: String,
    },
    /// A file layer's shape or one of its weight arrays' shape is not the network's.
    WrongShape {
        /// Its position in the file.
        index: usize,
        /// Its `type`.
        kind: String,
        /// The network's field.
        field: &'static str,
        /// What: `shape` (the output width), `in_shape`, `weights` (how many arrays), or a
        /// weight array by Keras's name: `kernel`, `recurrent_kernel`, `bias`.
        tensor: &'static str,
        /// The shape the network needs, Keras's as RTNeural stores it: `[in, out]` for a
        /// dense kernel, `[in, 4 H]` for an LSTM's, `[KERNEL, in, out]` for a conv1d's.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A file layer's setting is not the network's: a `conv1d` layer's `kernel_size` or
    /// `dilation` (the network's `CausalConv1d`'s `KERNEL` and `DILATION`), or its `groups`,
    /// which must be 1.
    WrongSetting {
        /// Its position in the file.
        index: usize,
        /// The network's field.
        field: &'static str,
        /// The setting, by its name in the file: `kernel_size`, `dilation`, `groups`.
        setting: &'static str,
        /// What the network needs.
        expected: usize,
        /// What the file holds.
        found: usize,
    },
    /// A weight is NaN or infinite (written as `NaN` or `Infinity` by Python's `json`).
    NonFinite {
        /// Its layer's position in the file.
        index: usize,
        /// The network's field.
        field: &'static str,
        /// The weight array, by Keras's name.
        tensor: &'static str,
        /// The value's index in the array, one number per dimension.
        position: Vec<usize>,
        /// The value.
        value: f64,
    },
}

/// `` `cell` `` or `the layer` for a lone layer.
struct Field(&'static str);

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("the network's layer")
        } else {
            write!(f, "the network's `{}`", self.0)
        }
    }
}

impl fmt::Display for RtNeuralError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => {
                write!(
                    f,
                    "cannot read the RTNeural model {}: {source}",
                    path.display()
                )
            }
            Self::Json(error) => write!(f, "expected an RTNeural JSON model, but {error}"),
            Self::Format { at, expected } => {
                write!(f, "expected `{at}` to be {expected} in an RTNeural model")
            }
            Self::UnsupportedLayer { field } => write!(
                f,
                "expected layers that RTNeural's format holds (Dense, activations, Dropout, Lstm, \
                 Gru, CausalConv1d), but {} is not one",
                Field(field)
            ),
            Self::UnsupportedFileLayer { index, kind } => write!(
                f,
                "expected dense, activation, lstm, gru or conv1d layers, but layer {index} of the \
                 file is `{kind}`"
            ),
            Self::MissingLayer { field, expected } => write!(
                f,
                "expected a {expected} layer for {}, but the file has no more layers",
                Field(field)
            ),
            Self::ExtraLayer { index, found } => write!(
                f,
                "expected the file to end with the network, but it has a {found} layer more \
                 (layer {index})"
            ),
            Self::WrongKind {
                index,
                found,
                field,
                expected,
            } => write!(
                f,
                "expected a {expected} layer for {}, but layer {index} of the file is a {found} layer",
                Field(field)
            ),
            Self::WrongShape {
                index,
                kind,
                field,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "expected `{tensor}` of shape {expected:?} in layer {index} of the file \
                 (`{kind}`, for {}), but found shape {found:?}",
                Field(field)
            ),
            Self::WrongSetting {
                index,
                field,
                setting,
                expected,
                found,
            } => write!(
                f,
                "expected `{setting}` {expected} in layer {index} of the file (`conv1d`, for {}), \
                 but found {found}",
                Field(field)
            ),
            Self::NonFinite {
                index,
                field,
                tensor,
                position,
                value,
            } => write!(
                f,
                "expected finite weights, but `{tensor}` of layer {index} of the file (for {}) \
                 holds {value} at index {position:?}",
                Field(field)
            ),
        }
    }
}

impl std::error::Error for RtNeuralError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json(error) => Some(error),
            _ => None,
        }
    }
}
