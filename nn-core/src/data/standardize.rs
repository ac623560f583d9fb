//! Standardisation: shifting and scaling each column to mean 0 and standard deviation 1, with
//! the figures fitted on the training part only and then applied to any data.

use nalgebra::SVector;

use super::{Dataset, check_finite};
use crate::{DataError, Part, Scalar};

/// Means and scales of `N` columns, computed in `f64`.
#[derive(Clone, Debug, PartialEq)]
struct Moments<T, const N: usize> {
    mean: SVector<T, N>,
    scale: SVector<T, N>,
}

impl<T: Scalar, const N: usize> Moments<T, N> {
    /// The population mean and standard deviation of each column of `samples`, which is not
    /// empty. A constant column gets scale 1, so it becomes all zeros rather than NaN.
    fn fit(samples: &[SVector<T, N>]) -> Self {
        let count = samples.len() as f64;
        let mut mean = SVector::<T, N>::zeros();
        let mut scale = SVector::<T, N>::from_element(T::one());
        for column in 0..N {
            let values = || samples.iter().map(|sample| sample[column].as_f64());
            let first = values().next().unwrap_or_default();
            if values().all(|value| value == first) {
                mean[column] = T::cast_from(first);
                continue;
            }
            let average = values().sum::<f64>() / count;
            let variance = values().map(|v| (v - average).powi(2)).sum::<f64>() / count;
            mean[column] = T::cast_from(average);
            let deviation = T::cast_from(variance.sqrt());
            // A spread too small for T would divide by zero.
            if deviation > T::zero() {
                scale[column] = deviation;
            }
        }
        Self { mean, scale }
    }

    fn apply(&self, sample: &SVector<T, N>) -> SVector<T, N> {
        (sample - self.mean).component_div(&self.scale)
    }

    fn invert(&self, sample: &SVector<T, N>) -> SVector<T, N> {
        sample.component_mul(&self.scale) + self.mean
    }

    /// Standardised copies of `samples`, or the first value that is not finite.
    fn apply_all(
        &self,
        part: Part,
        samples: &[SVector<T, N>],
    ) -> Result<Vec<SVector<T, N>>, DataError> {
        let scaled: Vec<_> = samples.iter().map(|sample| self.apply(sample)).collect();
        check_finite(part, &scaled)?;
        Ok(scaled)
    }
}

/// Standardises the `IN` input features as scikit-learn's `StandardScaler`: `(x - mean) / std`,
/// with the population standard deviation, and scale 1 for a column that does not vary.
///
/// Fit it on the training part only, then transform the training part, the test part and every
/// sample given to the network later.
///
/// # Example
///
/// ```
/// use typenn::{DataError, Dataset, SVector, Standardizer};
///
/// # fn main() -> Result<(), DataError> {
/// let mut train = Dataset::<f64, 2, 1>::from_rows(&[[1.0, 5.0], [3.0, 5.0]], &[[0.0], [1.0]])?;
/// let scaler = Standardizer::fit(&train);
/// assert_eq!(scaler.mean().as_slice(), &[2.0, 5.0]);
/// assert_eq!(scaler.scale().as_slice(), &[1.0, 1.0]); // std of [1, 3] is 1; [5, 5] is constant
/// scaler.transform(&mut train)?;
/// assert_eq!(train.inputs()[0].as_slice(), &[-1.0, 0.0]);
/// assert_eq!(scaler.transform_input(&SVector::from([4.0, 6.0])).as_slice(), &[2.0, 1.0]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T, const IN: usize> {
    moments: Moments<T, IN>,
}

impl<T: Scalar, const IN: usize> Standardizer<T, IN> {
    /// The means and standard deviations of the inputs of `data`.
    #[must_use]
    pub fn fit<const OUT: usize>(data: &Dataset<T, IN, OUT>) -> Self {
        Self {
            moments: Moments::fit(data.inputs()),
        }
    }

    /// The means and standard deviations of `samples`.
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`] when there are no samples.
    pub fn fit_samples(samples: &[SVector<T, IN>]) -> Result<Self, DataError> {
        if samples.is_empty() {
            return Err(DataError::Empty);
        }
        Ok(Self {
            moments: Moments::fit(samples),
        })
    }

    /// The mean of each input column.
    #[must_use]
    pub fn mean(&self) -> &SVector<T, IN> {
        &self.moments.mean
    }

    /// What each input column is divided by: its standard deviation, or 1 if it is constant.
    #[must_use]
    pub fn scale(&self) -> &SVector<T, IN> {
        &self.moments.scale
    }

    /// Standardises the inputs of `data` in place.
    ///
    /// # Errors
    ///
    /// [`DataError::NonFinite`] if a standardised value overflows (a value far outside the
    /// fitted range over a tiny scale); `data` is then left unchanged.
    pub fn transform<const OUT: usize>(
        &self,
        data: &mut Dataset<T, IN, OUT>,
    ) -> Result<(), DataError> {
        data.inputs = self.moments.apply_all(Part::Input, &data.inputs)?;
        Ok(())
    }

    /// One standardised input sample, for inference.
    #[must_use]
    pub fn transform_input(&self, input: &SVector<T, IN>) -> SVector<T, IN> {
        self.moments.apply(input)
    }

    /// The original input sample: `z * std + mean`.
    #[must_use]
    pub fn inverse_transform_input(&self, input: &SVector<T, IN>) -> SVector<T, IN> {
        self.moments.invert(input)
    }
}

/// Standardises the `OUT` regression targets, and maps the network's predictions back to the
/// targets' units. As [`Standardizer`], for the other half of each sample.
///
/// # Example
///
/// ```
/// use typenn::{DataError, Dataset, SVector, TargetScaler};
///
/// # fn main() -> Result<(), DataError> {
/// let mut train = Dataset::<f64, 1, 1>::from_rows(&[[0.0], [1.0]], &[[100.0], [300.0]])?;
/// let scaler = TargetScaler::fit(&train);
/// scaler.transform(&mut train)?;
/// assert_eq!(train.targets()[1][0], 1.0);
/// let prediction = SVector::from([0.5]);
/// assert_eq!(scaler.inverse_transform(&prediction)[0], 250.0);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TargetScaler<T, const OUT: usize> {
    moments: Moments<T, OUT>,
}

impl<T: Scalar, const OUT: usize> TargetScaler<T, OUT> {
    /// The means and standard deviations of the targets of `data`.
    #[must_use]
    pub fn fit<const IN: usize>(data: &Dataset<T, IN, OUT>) -> Self {
        Self {
            moments: Moments::fit(data.targets()),
        }
    }

    /// The means and standard deviations of `targets`.
    ///
    /// # Errors
    ///
    /// [`DataError::Empty`] when there are no targets.
    pub fn fit_samples(targets: &[SVector<T, OUT>]) -> Result<Self, DataError> {
        if targets.is_empty() {
            return Err(DataError::Empty);
        }
        Ok(Self {
            moments: Moments::fit(targets),
        })
    }

    /// The mean of each target column.
    #[must_use]
    pub fn mean(&self) -> &SVector<T, OUT> {
        &self.moments.mean
    }

    /// What each target column is divided by: its standard deviation, or 1 if it is constant.
    #[must_use]
    pub fn scale(&self) -> &SVector<T, OUT> {
        &self.moments.scale
    }

    /// Standardises the targets of `data` in place.
    ///
    /// # Errors
    ///
    /// As [`Standardizer::transform`].
    pub fn transform<const IN: usize>(
        &self,
        data: &mut Dataset<T, IN, OUT>,
    ) -> Result<(), DataError> {
        data.targets = self.moments.apply_all(Part::Target, &data.targets)?;
        Ok(())
    }

    /// One standardised target.
    #[must_use]
    pub fn transform_target(&self, target: &SVector<T, OUT>) -> SVector<T, OUT> {
        self.moments.apply(target)
    }

    /// A prediction in the targets' units: `z * std + mean`.
    #[must_use]
    pub fn inverse_transform(&self, prediction: &SVector<T, OUT>) -> SVector<T, OUT> {
        self.moments.invert(prediction)
    }
}
