//! Parts of a dataset: chosen samples, a seeded train/test split, and mini-batches.

use core::iter::FusedIterator;
use core::slice::Chunks;

use nalgebra::SVector;

use super::Dataset;
use crate::rng::SplitMix64;
use crate::{DataError, Scalar};

impl<T: Scalar, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// The samples at `indices`, in that order (an index may repeat).
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`] for no indices, [`DataError::IndexOutOfRange`] naming the first
    /// index that is not below [`Dataset::len`].
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::{DataError, Dataset};
    ///
    /// # fn main() -> Result<(), DataError> {
    /// let data = Dataset::<f32, 1, 1>::from_rows(&[[0.0], [1.0], [2.0]], &[[0.0], [10.0], [20.0]])?;
    /// let picked = data.subset(&[2, 0])?;
    /// assert_eq!(picked.targets()[0][0], 20.0);
    /// assert_eq!(
    ///     data.subset(&[1, 3]).unwrap_err().to_string(),
    ///     "expected sample indices below 3 (the dataset's length), but index 3 at position 1 of the list is out of range"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn subset(&self, indices: &[usize]) -> Result<Self, DataError> {
        if indices.is_empty() {
            return Err(DataError::Empty);
        }
        if let Some((position, &index)) = indices
            .iter()
            .enumerate()
            .find(|&(_, &index)| index >= self.len())
        {
            return Err(DataError::IndexOutOfRange {
                index,
                position,
                len: self.len(),
            });
        }
        Ok(Self {
            inputs: indices.iter().map(|&i| self.inputs[i]).collect(),
            targets: indices.iter().map(|&i| self.targets[i]).collect(),
        })
    }

    /// A shuffled split into a training part and a test part, fixed by `seed`.
    ///
    /// As scikit-learn's `train_test_split`, the test part gets `ceil(test_fraction * len)`
    /// samples and the training part the rest; both are in shuffled order. (The shuffle is not
    /// NumPy's, so the same seed picks different samples than scikit-learn does.)
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidOption`] unless `0 < test_fraction < 1`, and
    /// [`DataError::EmptySplit`] when either part would have no samples.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::{DataError, Dataset};
    ///
    /// # fn main() -> Result<(), DataError> {
    /// let data = Dataset::<f32, 1, 1>::from_flat(&[0.0; 10], &[1.0; 10])?;
    /// let (train, test) = data.split(0.25, 7)?;
    /// assert_eq!((train.len(), test.len()), (7, 3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self), DataError> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(DataError::InvalidOption {
                option: "the test fraction",
                expected: "a number above 0 and below 1",
                found: test_fraction,
            });
        }
        let samples = self.len();
        // Between 0 and `samples`, since 0 < test_fraction < 1.
        let test = ((test_fraction * samples as f64).ceil() as usize).min(samples);
        let train = samples - test;
        if train == 0 || test == 0 {
            return Err(DataError::EmptySplit {
                samples,
                test_fraction,
                train,
                test,
            });
        }
        let mut order: Vec<usize> = (0..samples).collect();
        SplitMix64::new(seed).shuffle(&mut order);
        let (test_indices, train_indices) = order.split_at(test);
        Ok((self.subset(train_indices)?, self.subset(test_indices)?))
    }

    /// The samples in order, `batch_size` at a time (the last batch may be smaller), as pairs of
    /// input and target slices.
    ///
    /// # Errors
    ///
    /// [`DataError::InvalidOption`] when `batch_size` is 0.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::{DataError, Dataset};
    ///
    /// # fn main() -> Result<(), DataError> {
    /// let data = Dataset::<f32, 1, 1>::from_flat(&[0.0; 5], &[1.0; 5])?;
    /// let sizes: Vec<usize> = data.batches(2)?.map(|(inputs, _targets)| inputs.len()).collect();
    /// assert_eq!(sizes, [2, 2, 1]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn batches(&self, batch_size: usize) -> Result<Batches<'_, T, IN, OUT>, DataError> {
        if batch_size == 0 {
            return Err(DataError::InvalidOption {
                option: "the batch size",
                expected: "at least 1",
                found: 0.0,
            });
        }
        Ok(Batches {
            inputs: self.inputs.chunks(batch_size),
            targets: self.targets.chunks(batch_size),
        })
    }
}

/// The iterator of [`Dataset::batches`]: `(inputs, targets)` slices of equal length.
#[derive(Clone, Debug)]
pub struct Batches<'a, T, const IN: usize, const OUT: usize> {
    inputs: Chunks<'a, SVector<T, IN>>,
    targets: Chunks<'a, SVector<T, OUT>>,
}

impl<'a, T, const IN: usize, const OUT: usize> Iterator for Batches<'a, T, IN, OUT> {
    type Item = (&'a [SVector<T, IN>], &'a [SVector<T, OUT>]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        Some((self.inputs.next()?, self.targets.next()?))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inputs.size_hint()
    }
}

impl<T, const IN: usize, const OUT: usize> ExactSizeIterator for Batches<'_, T, IN, OUT> {}

impl<T, const IN: usize, const OUT: usize> FusedIterator for Batches<'_, T, IN, OUT> {}
