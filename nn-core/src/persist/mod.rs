//! Weights in and out as [safetensors](https://github.com/huggingface/safetensors), the file
//! format of Hugging Face and PyTorch checkpoints, for any network (anything that implements
//! [`Parameters`]).
//!
//! # The file
//!
//! | what | how |
//! | --- | --- |
//! | names | `"{layer}.{tensor}"`: `0.weight`, `0.bias`, `1.weight`, ... for a tuple struct (as PyTorch's `nn.Sequential` names them), `hidden.weight` for a named one |
//! | weights | PyTorch's shape `[out, in]`, row-major: row `i` holds unit `i`'s input weights |
//! | biases | one dimension, `[out]` |
//! | element type | `F32` for an `f32` network, `F64` for an `f64` one, little-endian; no conversion on load |
//!
//! So a file written here holds what the `state_dict` of the matching `nn.Sequential` of
//! `nn.Linear` layers holds, and a PyTorch file loads here (with
//! [`LoadOptions::sequential_indices`] when activations take module slots there).
//!
//! # Loading checks everything
//!
//! Every tensor of the network must be present with the network's element type and shape, every
//! value must be finite, and (unless allowed) the file may hold nothing else. Any mistake is a
//! [`LoadError`] that names the tensor and says what was expected and what was found; the file
//! is checked completely before the network is written, so on error the network is unchanged.
//!
//! # Example
//!
//! With a `network!` struct, `model.save_safetensors(path)?` and
//! `Regressor::from_safetensors_bytes(include_bytes!("regressor.safetensors"))?` work the same way.
//!
//! ```
//! use typenn::persist::{LoadError, Persist};
//! use typenn::{Dense, Relu, SMatrix, SVector};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = Dense::<2, 3, Relu>::from_parts(
//!     SMatrix::<f32, 3, 2>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
//!     SVector::<f32, 3>::new(0.1, 0.2, 0.3),
//! );
//! let bytes = layer.to_safetensors_bytes()?;
//! let loaded = Dense::<2, 3, Relu>::from_safetensors_bytes(&bytes)?;
//! assert_eq!(loaded, layer);
//!
//! // The same file does not fit a layer of another shape.
//! let error = Dense::<3, 2, Relu>::from_safetensors_bytes(&bytes).unwrap_err();
//! assert!(matches!(error, LoadError::WrongShape { .. }));
//! assert_eq!(error.to_string(), "expected tensor `weight` of shape [2, 3], but found shape [3, 2]");
//! # Ok(())
//! # }
//! ```

mod error;
mod load;
mod options;
mod save;

use std::path::Path;

pub use error::{LoadError, SaveError};
pub use load::{from_bytes, from_bytes_boxed, load_bytes, load_file, open, open_boxed};
pub use options::LoadOptions;
pub use safetensors::{Dtype, SafeTensorError};
pub use save::{save, to_bytes};

use crate::{Parameters, Scalar, TensorInfo};

/// Saving and loading safetensors as methods of every network (every [`Parameters`] type).
///
/// Bring it into scope (`use typenn::prelude::*;` does) and call it on a `network!` struct:
/// `model.save_safetensors("model.safetensors")?`, `Regressor::from_safetensors_bytes(bytes)?`.
/// The free functions of [`persist`](self) do the same.
///
/// The scalar type is a parameter of the trait, found from the network's type. When nothing
/// else fixes it (a model loaded and only passed to generic code), name the type:
/// `let model: Regressor = Regressor::from_safetensors_bytes(bytes)?;` (`f32`) or
/// `Regressor::<f64>::from_safetensors_bytes(bytes)?`.
///
/// # Example
///
/// ```
/// use typenn::persist::{LoadOptions, Persist};
/// use typenn::{Dense, Parameters, SMatrix, SVector, Tanh};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let trained = Dense::<2, 1, Tanh, f64>::from_parts(
///     SMatrix::<f64, 1, 2>::new(0.5, -0.25),
///     SVector::<f64, 1>::new(1.0),
/// );
/// let bytes = trained.to_safetensors_bytes()?;
///
/// let mut layer = Dense::<2, 1, Tanh, f64>::zeros();
/// layer.load_safetensors(&bytes, &LoadOptions::new())?;
/// assert_eq!(layer, trained);
///
/// // An f32 layer does not silently take f64 weights.
/// assert!(Dense::<2, 1, Tanh>::from_safetensors_bytes(&bytes).is_err());
/// # Ok(())
/// # }
/// ```
pub trait Persist<T: Scalar>: Parameters<T> + Sized {
    /// The parameters as the bytes of a safetensors file.
    ///
    /// # Errors
    ///
    /// [`SaveError::NonFinite`] when a parameter is NaN or infinite.
    fn to_safetensors_bytes(&self) -> Result<Vec<u8>, SaveError> {
        to_bytes(self)
    }

    /// Writes the parameters to a safetensors file at `path`, replacing it if it exists.
    ///
    /// # Errors
    ///
    /// [`SaveError::NonFinite`] when a parameter is NaN or infinite, [`SaveError::Io`] when the
    /// file cannot be written.
    fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), SaveError> {
        save(self, path)
    }

    /// A network with the parameters of a safetensors file's bytes, under the network's own names
    /// and with nothing else in the file ([`LoadOptions::new`]). Works on `include_bytes!`.
    ///
    /// # Errors
    ///
    /// A [`LoadError`] naming the first mistake found.
    fn from_safetensors_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        from_bytes(bytes, &LoadOptions::new())
    }

    /// A network with the parameters of the safetensors file at `path` ([`LoadOptions::new`]).
    ///
    /// # Errors
    ///
    /// [`LoadError::Io`] when the file cannot be read, or the first mistake found in it.
    fn open_safetensors(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        open(path, &LoadOptions::new())
    }

    /// Replaces the parameters with those of a safetensors file's bytes, matched as `options`
    /// says. On error the network is unchanged.
    ///
    /// # Errors
    ///
    /// A [`LoadError`] naming the first mistake found.
    fn load_safetensors(&mut self, bytes: &[u8], options: &LoadOptions) -> Result<(), LoadError> {
        load_bytes(self, bytes, options)
    }

    /// Replaces the parameters with those of the safetensors file at `path`, matched as `options`
    /// says. On error the network is unchanged.
    ///
    /// # Errors
    ///
    /// [`LoadError::Io`] when the file cannot be read, or the first mistake found in it.
    fn load_safetensors_file(
        &mut self,
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<(), LoadError> {
        load_file(self, path, options)
    }
}

impl<T: Scalar, N: Parameters<T>> Persist<T> for N {}

/// One parameter tensor as the file sees it.
#[derive(Clone, Debug)]
struct Entry {
    /// Its index in [`Parameters`].
    index: usize,
    /// Which layer it belongs to, counting from 0 in declaration order.
    layer: usize,
    /// The tensor's name inside its layer: `weight` or `bias`.
    tensor: &'static str,
    /// The network's name for it: `0.weight`, `hidden.bias`, or `weight` for a lone layer.
    name: String,
    /// Rows (`out`) of the PyTorch-layout matrix.
    rows: usize,
    /// Columns (`in`), 1 for a bias.
    cols: usize,
    /// The shape in the file: `[rows, cols]`, or `[rows]` for a bias.
    shape: Vec<usize>,
}

impl Entry {
    /// `[row, column]` (or `[i]` for a vector) of the value at `position` of the file's row-major
    /// data.
    fn file_index(&self, position: usize) -> Vec<usize> {
        match self.shape.len() {
            1 => vec![position],
            _ => vec![position / self.cols.max(1), position % self.cols.max(1)],
        }
    }
}

/// The tensors of `N`, in [`Parameters`] order.
fn entries<T: Scalar, N: Parameters<T>>() -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::with_capacity(N::TENSORS);
    let mut previous: Option<&'static str> = None;
    let mut layer = 0;
    for index in 0..N::TENSORS {
        let Some(info) = N::tensor_info(index) else {
            continue;
        };
        let TensorInfo {
            layer: label,
            name: tensor,
            shape: [rows, cols],
            vector,
        } = info;
        if previous.is_some_and(|previous| previous != label) {
            layer += 1;
        }
        previous = Some(label);
        let name = info.full_name();
        // A vector (a bias) is stored with one dimension, as PyTorch stores it.
        let shape = if vector { vec![rows] } else { vec![rows, cols] };
        entries.push(Entry {
            index,
            layer,
            tensor,
            name,
            rows,
            cols,
            shape,
        });
    }
    entries
}

/// The file's element type for `T`.
fn dtype<T: Scalar>() -> Dtype {
    // `Scalar` is sealed to f32 and f64, told apart by their size.
    if size_of::<T>() == size_of::<f32>() {
        Dtype::F32
    } else {
        Dtype::F64
    }
}
