//! Why a weight file could not be written or read, saying what was expected and what was found.

use core::fmt;
use std::io;
use std::path::PathBuf;

use safetensors::{Dtype, SafeTensorError};

/// How many of a file's tensor names a [`LoadError::MissingTensor`] message lists.
const LISTED_NAMES: usize = 8;

/// Why weights could not be loaded. The network being loaded into is left unchanged.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The bytes are not a safetensors file: too short, truncated, a header that is not JSON,
    /// offsets that do not cover the data, and so on.
    Format(SafeTensorError),
    /// [`LoadOptions::sequential_indices`](super::LoadOptions::sequential_indices) lists a
    /// different number of module indices than the network has layers.
    IndexCount {
        /// The network's layers.
        layers: usize,
        /// The indices given.
        indices: usize,
    },
    /// The renaming maps two of the network's tensors to the same name in the file.
    NameCollision {
        /// The name in the file.
        tensor: String,
        /// The first of the network's tensors mapped to it.
        first: String,
        /// The second.
        second: String,
    },
    /// The file has no tensor of a name the network needs.
    MissingTensor {
        /// The name looked up in the file.
        tensor: String,
        /// The network's own name for the tensor (the same unless renamed).
        parameter: String,
        /// Every tensor name the file holds, sorted.
        available: Vec<String>,
    },
    /// The file holds tensors the network has no place for (allowed by
    /// [`LoadOptions::allow_extra_tensors`](super::LoadOptions::allow_extra_tensors)).
    UnexpectedTensors {
        /// Their names, sorted.
        tensors: Vec<String>,
    },
    /// A tensor's element type is not the network's.
    WrongDtype {
        /// The name in the file.
        tensor: String,
        /// The type the network is stored in: `F32` for `f32`, `F64` for `f64`.
        expected: Dtype,
        /// The type in the file.
        found: Dtype,
    },
    /// A tensor's shape is not the network's.
    WrongShape {
        /// The name in the file.
        tensor: String,
        /// The tensor's PyTorch shape (`[out, in]` for a weight, `[out]` for a bias), or Keras's
        /// channels-last shape of a kernel or a LayerNormalization's `gamma` and `beta` read
        /// with [`LoadOptions::keras_layers`](super::LoadOptions::keras_layers).
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A value is NaN or infinite.
    NonFinite {
        /// The name in the file.
        tensor: String,
        /// The value's index in the file's shape, one number per dimension: `[row, column]` of a
        /// weight, `[i]` of a bias, `[out, in, k]` of a Conv1d kernel.
        index: Vec<usize>,
        /// The value found.
        value: f64,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => {
                write!(
                    f,
                    "cannot read the weights file {}: {source}",
                    path.display()
                )
            }
            Self::Format(error) => write!(f, "expected a safetensors file, but {error}"),
            Self::IndexCount { layers, indices } => write!(
                f,
                "expected one module index or Keras layer name per layer ({layers}), but the options list {indices}"
            ),
            Self::NameCollision {
                tensor,
                first,
                second,
            } => write!(
                f,
                "expected each tensor to get its own name, but the renaming maps both `{first}` and \
                 `{second}` to `{tensor}`"
            ),
            Self::MissingTensor {
                tensor,
                parameter,
                available,
            } => {
                write!(f, "expected a tensor named `{tensor}`")?;
                if tensor != parameter {
                    write!(f, " (the network's `{parameter}`)")?;
                }
                write!(f, ", but the file has none; it holds ")?;
                list_names(f, available)
            }
            Self::UnexpectedTensors { tensors } => {
                f.write_str("expected only the network's tensors, but the file also holds ")?;
                list_names(f, tensors)?;
                f.write_str(" (LoadOptions::allow_extra_tensors ignores them)")
            }
            Self::WrongDtype {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "expected tensor `{tensor}` to hold {expected} values, but it holds {found}"
            ),
            Self::WrongShape {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "expected tensor `{tensor}` of shape {expected:?}, but found shape {found:?}"
            ),
            Self::NonFinite {
                tensor,
                index,
                value,
            } => write!(
                f,
                "expected finite numbers, but tensor `{tensor}` holds {value} at index {index:?}"
            ),
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Format(error) => Some(error),
            _ => None,
        }
    }
}

impl From<SafeTensorError> for LoadError {
    fn from(error: SafeTensorError) -> Self {
        Self::Format(error)
    }
}

/// Why weights could not be saved.
#[derive(Debug)]
#[non_exhaustive]
pub enum SaveError {
    /// A parameter or buffer is NaN or infinite: such a file could not be loaded back.
    NonFinite {
        /// The tensor's name in the file.
        tensor: String,
        /// The value's index in the file's shape, one number per dimension: `[row, column]` of a
        /// weight, `[i]` of a bias, `[out, in, k]` of a Conv1d kernel.
        index: Vec<usize>,
        /// The value found.
        value: f64,
    },
    /// The safetensors encoder refused the tensors.
    Format(SafeTensorError),
    /// The file could not be written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonFinite {
                tensor,
                index,
                value,
            } => write!(
                f,
                "expected finite parameters, but tensor `{tensor}` holds {value} at index {index:?}"
            ),
            Self::Format(error) => write!(f, "cannot encode the weights as safetensors: {error}"),
            Self::Io { path, source } => {
                write!(
                    f,
                    "cannot write the weights file {}: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Format(error) => Some(error),
            Self::NonFinite { .. } => None,
        }
    }
}

impl From<SafeTensorError> for SaveError {
    fn from(error: SafeTensorError) -> Self {
        Self::Format(error)
    }
}

/// `` `a`, `b` and 3 more `` or `no tensors`.
fn list_names(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    if names.is_empty() {
        return f.write_str("no tensors");
    }
    for (position, name) in names.iter().take(LISTED_NAMES).enumerate() {
        if position > 0 {
            f.write_str(", ")?;
        }
        write!(f, "`{name}`")?;
    }
    if names.len() > LISTED_NAMES {
        write!(f, " and {} more", names.len() - LISTED_NAMES)?;
    }
    Ok(())
}
