//! Datasets: samples and their targets, checked once so that training can trust them; read
//! from CSV, standardised, split and batched.

mod csv;
mod split;
mod standardize;

pub use csv::{ColumnId, Target};
pub use split::Batches;
pub use standardize::{Standardizer, TargetScaler};

use nalgebra::SVector;

use crate::{DataError, Part, Scalar};

/// Samples of `IN` inputs with targets of `OUT` values, all finite, at least one.
///
/// The widths are part of the type, so data of the wrong width cannot be given to `fit`.
///
/// # Example
///
/// ```
/// use typenn::{DataError, Dataset};
///
/// # fn main() -> Result<(), DataError> {
/// let xor = Dataset::<f32, 2, 1>::from_rows(
///     &[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]],
///     &[[0.0], [1.0], [1.0], [0.0]],
/// )?;
/// assert_eq!(xor.len(), 4);
///
/// let broken = Dataset::<f32, 2, 1>::from_rows(&[[0.0, f32::NAN]], &[[1.0]]);
/// assert_eq!(broken.unwrap_err().to_string(), "expected finite numbers, but input row 0, column 1 is NaN");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T, const IN: usize, const OUT: usize> {
    inputs: Vec<SVector<T, IN>>,
    targets: Vec<SVector<T, OUT>>,
}

impl<T: Scalar, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// A dataset from one vector per sample.
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`], [`DataError::LengthMismatch`] or [`DataError::NonFinite`] (naming
    /// the first bad value).
    pub fn new(
        inputs: Vec<SVector<T, IN>>,
        targets: Vec<SVector<T, OUT>>,
    ) -> Result<Self, DataError> {
        if inputs.len() != targets.len() {
            return Err(DataError::LengthMismatch {
                inputs: inputs.len(),
                targets: targets.len(),
            });
        }
        if inputs.is_empty() {
            return Err(DataError::Empty);
        }
        check_finite(Part::Input, &inputs)?;
        check_finite(Part::Target, &targets)?;
        Ok(Self { inputs, targets })
    }

    /// A dataset from one array per sample.
    ///
    /// # Errors
    ///
    /// As [`Dataset::new`].
    pub fn from_rows(inputs: &[[T; IN]], targets: &[[T; OUT]]) -> Result<Self, DataError> {
        Self::new(
            inputs.iter().map(|row| SVector::from(*row)).collect(),
            targets.iter().map(|row| SVector::from(*row)).collect(),
        )
    }

    /// A dataset from flat row-major values: `IN` inputs of sample 0, then of sample 1, and so on
    /// (likewise for the targets).
    ///
    /// # Errors
    ///
    /// [`DataError::PartialSample`] when a list does not split into whole samples, then as
    /// [`Dataset::new`].
    pub fn from_flat(inputs: &[T], targets: &[T]) -> Result<Self, DataError> {
        Self::new(split(Part::Input, inputs)?, split(Part::Target, targets)?)
    }

    /// The number of samples (never zero).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always `false`: a dataset has at least one sample.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The input samples.
    #[must_use]
    pub fn inputs(&self) -> &[SVector<T, IN>] {
        &self.inputs
    }

    /// The targets, one per input sample.
    #[must_use]
    pub fn targets(&self) -> &[SVector<T, OUT>] {
        &self.targets
    }
}

fn split<T: Scalar, const W: usize>(
    part: Part,
    values: &[T],
) -> Result<Vec<SVector<T, W>>, DataError> {
    if W == 0 || !values.len().is_multiple_of(W) {
        return Err(DataError::PartialSample {
            part,
            values: values.len(),
            width: W,
        });
    }
    Ok(values
        .chunks_exact(W)
        .map(SVector::from_column_slice)
        .collect())
}

fn check_finite<T: Scalar, const W: usize>(
    part: Part,
    samples: &[SVector<T, W>],
) -> Result<(), DataError> {
    for (row, sample) in samples.iter().enumerate() {
        if let Some(column) = sample.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFinite {
                part,
                row,
                column,
                value: sample[column].as_f64(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_mismatched_lengths() {
        let error = Dataset::<f64, 1, 1>::from_rows(&[[1.0], [2.0]], &[[1.0]]).unwrap_err();
        assert_eq!(
            error,
            DataError::LengthMismatch {
                inputs: 2,
                targets: 1
            }
        );
    }

    #[test]
    fn rejects_empty_data() {
        assert_eq!(
            Dataset::<f64, 1, 1>::from_rows(&[], &[]).unwrap_err(),
            DataError::Empty
        );
    }

    #[test]
    fn names_the_first_non_finite_target() {
        let error =
            Dataset::<f32, 1, 2>::from_rows(&[[0.0], [1.0]], &[[0.0, 1.0], [2.0, f32::INFINITY]])
                .unwrap_err();
        assert_eq!(
            error,
            DataError::NonFinite {
                part: Part::Target,
                row: 1,
                column: 1,
                value: f64::INFINITY
            }
        );
    }

    #[test]
    fn zero_width_is_reported_without_dividing_by_zero() {
        let error = Dataset::<f32, 0, 1>::from_flat(&[], &[1.0]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "expected samples of at least one input value, but the width is 0 (found 0 values)"
        );
    }

    #[test]
    fn flat_values_must_split_into_samples() {
        let error = Dataset::<f32, 2, 1>::from_flat(&[1.0, 2.0, 3.0], &[1.0, 2.0]).unwrap_err();
        assert_eq!(
            error,
            DataError::PartialSample {
                part: Part::Input,
                values: 3,
                width: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "expected the input values to split into samples of 2, but found 3 values (1 whole samples and 1 left over)"
        );
        let data = Dataset::<f32, 2, 1>::from_flat(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0]).unwrap();
        assert_eq!(data.inputs()[1], SVector::from([3.0, 4.0]));
    }
}
