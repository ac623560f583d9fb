//! Weights in and out as [safetensors](https://github.com/huggingface/safetensors), the file
//! format of Hugging Face and PyTorch checkpoints, for any network (anything that implements
//! [`Parameters`]).
//!
//! # The file
//!
//! | what | how |
//! | --- | --- |
//! | names | `"{layer}.{tensor}"`: `0.weight`, `0.bias`, `1.weight`, ... for a tuple struct (as PyTorch's `nn.Sequential` names them), `hidden.weight` for a named one |
//! | shapes | each tensor's [`TensorInfo::shape`], PyTorch's: `[out, in]` for a weight, `[out]` for a bias, `[out, in, k]` and `[out, in, kh, kw]` for convolution kernels |
//! | values | row-major, as PyTorch stores them: row `i` of a weight holds unit `i`'s input weights. A [`Layout::ColumnMajor`] tensor (Dense's weight) is transposed on the way, a [`Layout::RowMajor`] one copied straight |
//! | buffers | non-trainable tensors ([`Parameters::buffer`], such as BatchNorm's `running_mean` and `running_var`) under their own names, after their layer's parameters, checked on load as parameters are |
//! | element type | `F32` for an `f32` network, `F64` for an `f64` one, little-endian; no conversion on load |
//!
//! So a file written here holds what the `state_dict` of the matching PyTorch model holds, and a
//! PyTorch file loads here (with [`LoadOptions::sequential_indices`] when activations take
//! module slots there). PyTorch's BatchNorm also keeps `num_batches_tracked`, a step count that
//! has no place here: on load any tensor named `num_batches_tracked` (or `*.num_batches_tracked`)
//! is accepted and ignored, and it is never written.
//!
//! # Loading checks everything
//!
//! Every tensor (and buffer) of the network must be present with the network's element type and
//! shape, every value must be finite, and (unless allowed) the file may hold nothing else. Any mistake is a
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
mod order;
#[cfg(feature = "serde")]
pub mod rtneural;
mod save;

use std::path::Path;

pub use error::{LoadError, SaveError};
pub use load::{from_bytes, from_bytes_boxed, load_bytes, load_file, open, open_boxed};
pub use options::LoadOptions;
#[cfg(feature = "serde")]
pub use rtneural::RtNeuralError;
pub use safetensors::{Dtype, SafeTensorError};
pub use save::{save, to_bytes};

use crate::{Layout, Parameters, Scalar, TensorInfo};

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

    /// A network with the weights of an RTNeural JSON model's text ([`rtneural`]), as
    /// RTNeural's Python exporter writes it. Works on `include_str!`.
    ///
    /// # Errors
    ///
    /// An [`RtNeuralError`] naming the first mistake found.
    #[cfg(feature = "serde")]
    fn from_rtneural_json(json: &str) -> Result<Self, RtNeuralError> {
        rtneural::from_json(json)
    }

    /// A network with the weights of the RTNeural JSON model at `path` ([`rtneural`]).
    ///
    /// # Errors
    ///
    /// [`RtNeuralError::Io`] when the file cannot be read, or the first mistake found in it.
    #[cfg(feature = "serde")]
    fn open_rtneural(path: impl AsRef<Path>) -> Result<Self, RtNeuralError> {
        rtneural::open(path)
    }

    /// Replaces the weights with those of an RTNeural JSON model's text ([`rtneural`]). On
    /// error the network is unchanged.
    ///
    /// # Errors
    ///
    /// An [`RtNeuralError`] naming the first mistake found.
    #[cfg(feature = "serde")]
    fn load_rtneural_json(&mut self, json: &str) -> Result<(), RtNeuralError> {
        rtneural::load_json(self, json)
    }
}

impl<T: Scalar, N: Parameters<T>> Persist<T> for N {}

/// Where a tensor lives in [`Parameters`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Trainable tensor `index`.
    Tensor(usize),
    /// Buffer `index` (running statistics).
    Buffer(usize),
}

/// One tensor (parameter or buffer) as the file sees it.
#[derive(Clone, Debug)]
struct Entry {
    /// Where it is in [`Parameters`].
    slot: Slot,
    /// Which layer it belongs to, counting from 0 in declaration order among the layers that
    /// have tensors.
    layer: usize,
    /// The tensor's name inside its layer: `weight`, `bias`, `running_mean`.
    tensor: &'static str,
    /// The network's name for it: `0.weight`, `hidden.bias`, or `weight` for a lone layer.
    name: String,
    /// Its PyTorch shape, which is its shape in the file.
    shape: &'static [usize],
    /// How the network's slice orders it.
    layout: Layout,
    /// For a Dense weight after a `Flatten`: the flattened shape
    /// ([`Parameters::flattened_input`]); empty otherwise.
    flattened: &'static [usize],
}

impl Entry {
    /// The network's values of this tensor.
    fn values<'a, T: Scalar, N: Parameters<T>>(&self, network: &'a N) -> &'a [T] {
        match self.slot {
            Slot::Tensor(index) => network.tensor(index),
            Slot::Buffer(index) => network.buffer(index),
        }
    }

    /// The network's values of this tensor, mutably.
    fn values_mut<'a, T: Scalar, N: Parameters<T>>(&self, network: &'a mut N) -> &'a mut [T] {
        match self.slot {
            Slot::Tensor(index) => network.tensor_mut(index),
            Slot::Buffer(index) => network.buffer_mut(index),
        }
    }
}

/// The tensors of `N` as the file lists them: layer by layer, each layer's parameters in
/// [`Parameters`] order followed by its buffers.
fn entries<T: Scalar, N: Parameters<T>>() -> Vec<Entry> {
    let tensors =
        (0..N::TENSORS).filter_map(|index| Some((Slot::Tensor(index), N::tensor_info(index)?)));
    let buffers =
        (0..N::BUFFERS).filter_map(|index| Some((Slot::Buffer(index), N::buffer_info(index)?)));
    // Groups of consecutive tensors of one layer, the parameters' in order; each buffer group
    // goes after its layer's parameters, or (a layer with buffers only) after the group placed
    // last, which keeps both lists in declaration order.
    let mut groups: Vec<Vec<(Slot, TensorInfo)>> = Vec::new();
    for (slot, info) in tensors {
        match groups.last_mut() {
            Some(group) if group[0].1.layer == info.layer => group.push((slot, info)),
            _ => groups.push(vec![(slot, info)]),
        }
    }
    let mut after: usize = 0;
    let mut previous: Option<&'static str> = None;
    for (slot, info) in buffers {
        if previous == Some(info.layer) {
            if let Some(group) = groups.get_mut(after.saturating_sub(1)) {
                group.push((slot, info));
            }
            continue;
        }
        previous = Some(info.layer);
        match groups
            .iter()
            .position(|group| group[0].1.layer == info.layer)
        {
            Some(position) => {
                groups[position].push((slot, info));
                after = position + 1;
            }
            None => {
                groups.insert(after, vec![(slot, info)]);
                after += 1;
            }
        }
    }
    groups
        .into_iter()
        .enumerate()
        .flat_map(|(layer, group)| {
            group.into_iter().map(move |(slot, info)| Entry {
                slot,
                layer,
                tensor: info.name,
                name: info.full_name(),
                shape: info.shape,
                layout: info.layout,
                flattened: match slot {
                    Slot::Tensor(index) => N::flattened_input(index),
                    Slot::Buffer(_) => &[],
                },
            })
        })
        .collect()
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
