//! Parameters and buffers in: every tensor checked into a scratch copy, then written to the
//! network.

use std::collections::HashSet;
use std::path::Path;

use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use super::order::{FileOrder, slice_position, unravel};
use super::{Entry, LoadError, LoadOptions, dtype, entries};
use crate::{Parameters, Scalar};

/// Bytes in the little-endian header length that starts every safetensors file.
const LENGTH_BYTES: usize = size_of::<u64>();

/// The largest header the safetensors crate accepts (its `MAX_HEADER_SIZE`).
const MAX_HEADER_BYTES: usize = 100_000_000;

/// A network with the parameters of a safetensors file's bytes, matched as `options` says.
///
/// The network is built on the stack; for one too big for it, [`from_bytes_boxed`].
///
/// # Errors
///
/// A [`LoadError`] naming the first mistake found.
///
/// # Example
///
/// ```
/// use typenn::persist::{self, LoadOptions};
/// use typenn::{Dense, Parameters};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bytes = persist::to_bytes(&Dense::<3, 2>::zeros())?;
/// let layer: Dense<3, 2> = persist::from_bytes(&bytes, &LoadOptions::new())?;
/// assert_eq!(layer, Dense::zeros());
/// # Ok(())
/// # }
/// ```
pub fn from_bytes<T: Scalar, N: Parameters<T>>(
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<N, LoadError> {
    let mut network = N::zeros();
    load_bytes(&mut network, bytes, options)?;
    Ok(network)
}

/// A network with the parameters of the safetensors file at `path`, matched as `options` says.
///
/// The network is built on the stack; for one too big for it, [`open_boxed`].
///
/// # Errors
///
/// [`LoadError::Io`] when the file cannot be read, or the first mistake found in it.
pub fn open<T: Scalar, N: Parameters<T>>(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<N, LoadError> {
    let mut network = N::zeros();
    load_file(&mut network, path, options)?;
    Ok(network)
}

/// As [`from_bytes`], with the network built on the heap without passing through the stack: for
/// networks too big for a thread's stack.
///
/// # Errors
///
/// A [`LoadError`] naming the first mistake found.
pub fn from_bytes_boxed<T: Scalar, N: Parameters<T>>(
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<Box<N>, LoadError> {
    let mut network = N::zeros_boxed();
    load_bytes(&mut *network, bytes, options)?;
    Ok(network)
}

/// As [`open`], with the network built on the heap without passing through the stack: for
/// networks too big for a thread's stack.
///
/// # Errors
///
/// [`LoadError::Io`] when the file cannot be read, or the first mistake found in it.
pub fn open_boxed<T: Scalar, N: Parameters<T>>(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<Box<N>, LoadError> {
    let mut network = N::zeros_boxed();
    load_file(&mut *network, path, options)?;
    Ok(network)
}

/// Replaces the parameters of `network` with those of the safetensors file at `path`. On error
/// the network is unchanged.
///
/// # Errors
///
/// [`LoadError::Io`] when the file cannot be read, or the first mistake found in it.
pub fn load_file<T: Scalar, N: Parameters<T>>(
    network: &mut N,
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<(), LoadError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(network, &bytes, options)
}

/// Replaces the parameters of `network` with those of a safetensors file's bytes. The whole file
/// is checked first, so on error the network is unchanged.
///
/// # Errors
///
/// A [`LoadError`] naming the first mistake found, in this order: the options
/// ([`IndexCount`](LoadError::IndexCount), [`NameCollision`](LoadError::NameCollision)), the
/// file's framing ([`Format`](LoadError::Format)), then tensor by tensor in the network's order
/// ([`MissingTensor`](LoadError::MissingTensor), [`WrongDtype`](LoadError::WrongDtype),
/// [`WrongShape`](LoadError::WrongShape), [`NonFinite`](LoadError::NonFinite)), and last
/// [`UnexpectedTensors`](LoadError::UnexpectedTensors).
pub fn load_bytes<T: Scalar, N: Parameters<T>>(
    network: &mut N,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<(), LoadError> {
    let entries = entries::<T, N>();
    let names = options.file_names(&entries)?;
    let file = parse(bytes)?;

    let mut scratch: Vec<Vec<T>> = Vec::with_capacity(entries.len());
    for (entry, name) in entries.iter().zip(&names) {
        let values = match options.file_order(entry, &entries) {
            FileOrder::Absent => vec![T::zero(); entry.shape.iter().product()],
            order => read_tensor(&file, entry, name, order)?,
        };
        scratch.push(values);
    }
    if !options.allows_extra_tensors() {
        let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
        let mut extra: Vec<String> = file
            .names()
            .into_iter()
            .filter(|name| !wanted.contains(name) && !is_batches_tracked(name))
            .map(str::to_owned)
            .collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            return Err(LoadError::UnexpectedTensors { tensors: extra });
        }
    }

    for (entry, values) in entries.iter().zip(scratch) {
        let target = entry.values_mut(network);
        debug_assert_eq!(
            target.len(),
            values.len(),
            "`{}`: slice and shape",
            entry.name
        );
        for (target, value) in target.iter_mut().zip(values) {
            *target = value;
        }
    }
    Ok(())
}

/// The file's header and data, checked.
///
/// `SafeTensors::deserialize` computes `data end + 8 + header length` unchecked, which overflows
/// (a panic with overflow checks on) when the header's offsets reach past `usize::MAX - header`.
/// So the framing is checked here first, step by step as the crate does, with its own `Metadata`
/// (whose validation is checked arithmetic) but the last sum checked; once the offsets are known
/// to end at the end of `bytes`, the crate's parser cannot overflow.
fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, SafeTensorError> {
    let Some((length, rest)) = bytes.split_first_chunk::<LENGTH_BYTES>() else {
        return Err(SafeTensorError::HeaderTooSmall);
    };
    let header_len = usize::try_from(u64::from_le_bytes(*length))
        .ok()
        .filter(|&len| len <= MAX_HEADER_BYTES)
        .ok_or(SafeTensorError::HeaderTooLarge)?;
    let Some((header, data)) = rest.split_at_checked(header_len) else {
        return Err(SafeTensorError::InvalidHeaderLength);
    };
    let header = core::str::from_utf8(header).map_err(SafeTensorError::InvalidHeader)?;
    let metadata: Metadata = match serde_json::from_str(header) {
        Ok(metadata) => metadata,
        // The crate's parser fails at the same step, before the sum, and names the problem
        // more precisely (an offset, a shape) than a JSON error does.
        Err(error) => {
            return Err(SafeTensors::deserialize(bytes)
                .err()
                .unwrap_or(SafeTensorError::InvalidHeaderDeserialization(error)));
        }
    };
    if metadata.data_len() != data.len() {
        return Err(SafeTensorError::MetadataIncompleteBuffer);
    }
    SafeTensors::deserialize(bytes)
}

/// Whether `name` is PyTorch's count of a BatchNorm's training steps, which has no place in
/// a network here and is ignored on load.
fn is_batches_tracked(name: &str) -> bool {
    name.rsplit('.').next() == Some("num_batches_tracked")
}

/// Tensor `name` of the file, checked against `entry`, in the order of the network's slice.
///
/// The file keeps it in `order` (Keras's channels-last kernels and samples), which is
/// permuted into PyTorch's order on the way in.
fn read_tensor<T: Scalar>(
    file: &SafeTensors<'_>,
    entry: &Entry,
    name: &str,
    order: FileOrder,
) -> Result<Vec<T>, LoadError> {
    let shape = order.shape(entry.shape);
    let Ok(view) = file.tensor(name) else {
        let mut available: Vec<String> = file.names().into_iter().map(str::to_owned).collect();
        available.sort_unstable();
        return Err(LoadError::MissingTensor {
            tensor: name.to_owned(),
            parameter: entry.name.clone(),
            available,
        });
    };
    let expected = dtype::<T>();
    if view.dtype() != expected {
        return Err(LoadError::WrongDtype {
            tensor: name.to_owned(),
            expected,
            found: view.dtype(),
        });
    }
    if view.shape() != shape.as_slice() {
        return Err(LoadError::WrongShape {
            tensor: name.to_owned(),
            expected: shape,
            found: view.shape().to_vec(),
        });
    }
    let data = decode(view.dtype(), view.data());
    let len: usize = entry.shape.iter().product();
    if data.len() != shape.iter().product::<usize>() {
        // The crate checks that the data fit the shape; this keeps a short read from passing.
        return Err(LoadError::Format(SafeTensorError::InvalidTensorView(
            view.dtype(),
            view.shape().to_vec(),
            view.data().len(),
        )));
    }
    if let Some((position, value)) = data
        .iter()
        .enumerate()
        .find(|(_, value)| !value.is_finite())
    {
        return Err(LoadError::NonFinite {
            tensor: name.to_owned(),
            index: unravel(&shape, position),
            value: *value,
        });
    }
    let row_major = order.to_torch(entry.shape, data);
    let mut values = vec![T::zero(); len];
    for (position, value) in row_major.into_iter().enumerate() {
        if let Some(target) = values.get_mut(slice_position(entry.shape, entry.layout, position)) {
            *target = T::cast_from(value);
        }
    }
    Ok(values)
}

/// The values of little-endian `F32` or `F64` data, widened to `f64` (exactly); empty for
/// another type, which the caller has already refused.
fn decode(dtype: Dtype, data: &[u8]) -> Vec<f64> {
    match dtype {
        Dtype::F32 => {
            let (values, _) = data.as_chunks::<4>();
            values
                .iter()
                .map(|&bytes| f64::from(f32::from_le_bytes(bytes)))
                .collect()
        }
        Dtype::F64 => {
            let (values, _) = data.as_chunks::<8>();
            values
                .iter()
                .map(|&bytes| f64::from_le_bytes(bytes))
                .collect()
        }
        _ => Vec::new(),
    }
}
