//! Parameters and buffers out: in PyTorch's row-major order, little-endian.

use std::path::Path;

use safetensors::tensor::TensorView;

use super::order::{slice_position, unravel};
use super::{Entry, SaveError, dtype, entries};
use crate::{Parameters, Scalar};

/// The parameters (and buffers) of `network` as the bytes of a safetensors file.
///
/// # Errors
///
/// [`SaveError::NonFinite`] when a parameter or buffer is NaN or infinite.
///
/// # Example
///
/// ```
/// use typenn::{Dense, SMatrix, SVector, persist};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let layer = Dense::<1, 1>::from_parts(SMatrix::<f32, 1, 1>::new(2.0), SVector::<f32, 1>::new(-1.0));
/// let bytes = persist::to_bytes(&layer)?;
/// // An 8-byte little-endian header length, the JSON header, then the data.
/// let header_len = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
/// let header = std::str::from_utf8(&bytes[8..8 + header_len])?;
/// assert!(header.contains(r#""weight":{"dtype":"F32","shape":[1,1]"#));
/// assert!(header.contains(r#""bias":{"dtype":"F32","shape":[1]"#));
/// # Ok(())
/// # }
/// ```
pub fn to_bytes<T: Scalar, N: Parameters<T>>(network: &N) -> Result<Vec<u8>, SaveError> {
    let entries = entries::<T, N>();
    let data = entries
        .iter()
        .map(|entry| encode(entry, entry.values(network)))
        .collect::<Result<Vec<Vec<u8>>, SaveError>>()?;
    let views = entries
        .iter()
        .zip(&data)
        .map(|(entry, data)| {
            TensorView::new(dtype::<T>(), entry.shape.to_vec(), data)
                .map(|view| (entry.name.as_str(), view))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(safetensors::serialize(views, None)?)
}

/// Writes the parameters of `network` to a safetensors file at `path`, replacing it if it exists.
///
/// # Errors
///
/// [`SaveError::NonFinite`] when a parameter is NaN or infinite, [`SaveError::Io`] when the file
/// cannot be written.
pub fn save<T: Scalar, N: Parameters<T>>(
    network: &N,
    path: impl AsRef<Path>,
) -> Result<(), SaveError> {
    let bytes = to_bytes(network)?;
    let path = path.as_ref();
    std::fs::write(path, bytes).map_err(|source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// One tensor's bytes in the file's row-major order: a row-major slice copies straight, a
/// column-major one (nalgebra's) is transposed.
fn encode<T: Scalar>(entry: &Entry, values: &[T]) -> Result<Vec<u8>, SaveError> {
    let mut bytes = Vec::with_capacity(size_of_val(values));
    let len: usize = entry.shape.iter().product();
    // A slice shorter than its shape leaves the data short, which `TensorView::new` reports.
    let row_major = (0..len)
        .map(|position| slice_position(entry.shape, entry.layout, position))
        .filter_map(|position| values.get(position));
    for (position, value) in row_major.enumerate() {
        let value = value.as_f64();
        if !value.is_finite() {
            return Err(SaveError::NonFinite {
                tensor: entry.name.clone(),
                index: unravel(entry.shape, position),
                value,
            });
        }
        // Exact: an f32 widened to f64 narrows back to itself.
        if size_of::<T>() == size_of::<f32>() {
            bytes.extend_from_slice(&(value as f32).to_le_bytes());
        } else {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
    Ok(bytes)
}
