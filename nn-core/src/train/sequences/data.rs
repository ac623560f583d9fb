//! Sequences and their targets, checked once so that training can trust them.

use nalgebra::SMatrix;

use crate::{DataError, Part, Scalar};

/// Sequences of `STEPS` time steps, each step `IN` inputs with a target of `OUT` values, all
/// finite, at least one sequence. A sequence is a matrix with one step per column.
///
/// The length and widths are part of the type, so sequences of the wrong length or width
/// cannot be given to a network's training.
///
/// # Example
///
/// ```
/// use typenn::{DataError, SMatrix, SequenceDataset};
///
/// # fn main() -> Result<(), DataError> {
/// let ramp = SMatrix::<f32, 1, 4>::from_fn(|_, t| t as f32);
/// let data = SequenceDataset::<f32, 4, 1, 1>::new(vec![ramp], vec![ramp * 2.0])?;
/// assert_eq!(data.len(), 1);
///
/// let mut broken = ramp;
/// broken[(0, 2)] = f32::NAN;
/// let error = SequenceDataset::<f32, 4, 1, 1>::new(vec![broken], vec![ramp]).unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "expected finite numbers, but input sequence 0, step 2, column 0 is NaN"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SequenceDataset<T, const STEPS: usize, const IN: usize, const OUT: usize> {
    inputs: Vec<SMatrix<T, IN, STEPS>>,
    targets: Vec<SMatrix<T, OUT, STEPS>>,
}

impl<T: Scalar, const STEPS: usize, const IN: usize, const OUT: usize>
    SequenceDataset<T, STEPS, IN, OUT>
{
    /// A dataset from one matrix per sequence (one column per step).
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`], [`DataError::LengthMismatch`] or [`DataError::NonFiniteStep`]
    /// (naming the first bad value).
    pub fn new(
        inputs: Vec<SMatrix<T, IN, STEPS>>,
        targets: Vec<SMatrix<T, OUT, STEPS>>,
    ) -> Result<Self, DataError> {
        const { assert!(STEPS > 0, "a sequence needs at least one time step") };
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

    /// A dataset from flat values: sequence 0's `STEPS` steps of `IN` inputs one after the
    /// other, then sequence 1's, and so on (likewise for the targets).
    ///
    /// # Errors
    ///
    /// [`DataError::PartialSample`] when a list does not split into whole sequences, then as
    /// [`SequenceDataset::new`].
    pub fn from_flat(inputs: &[T], targets: &[T]) -> Result<Self, DataError> {
        Self::new(split(Part::Input, inputs)?, split(Part::Target, targets)?)
    }

    /// The number of sequences (never zero).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always `false`: a dataset has at least one sequence.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The input sequences.
    #[must_use]
    pub fn inputs(&self) -> &[SMatrix<T, IN, STEPS>] {
        &self.inputs
    }

    /// The target sequences, one per input sequence.
    #[must_use]
    pub fn targets(&self) -> &[SMatrix<T, OUT, STEPS>] {
        &self.targets
    }
}

fn split<T: Scalar, const W: usize, const STEPS: usize>(
    part: Part,
    values: &[T],
) -> Result<Vec<SMatrix<T, W, STEPS>>, DataError> {
    let width = W * STEPS;
    if width == 0 || !values.len().is_multiple_of(width) {
        return Err(DataError::PartialSample {
            part,
            values: values.len(),
            width,
        });
    }
    Ok(values
        .chunks_exact(width)
        .map(SMatrix::from_column_slice)
        .collect())
}

fn check_finite<T: Scalar, const W: usize, const STEPS: usize>(
    part: Part,
    sequences: &[SMatrix<T, W, STEPS>],
) -> Result<(), DataError> {
    for (sequence, values) in sequences.iter().enumerate() {
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(DataError::NonFiniteStep {
                part,
                sequence,
                step: at / W,
                column: at % W,
                value: values.as_slice()[at].as_f64(),
            });
        }
    }
    Ok(())
}
