//! K-fold splits and cross-validation.

use core::fmt;

use super::{FoldError, TuneError};
use crate::rng::SplitMix64;
use crate::{Dataset, Scalar};

/// K-fold cross-validation: the samples shuffled by `seed`, then cut into `folds` parts of
/// nearly equal size, each validated on once by a model trained on the others.
///
/// As scikit-learn's `KFold(n_splits=folds, shuffle=True)`: with `n` samples the first
/// `n % folds` folds hold `n / folds + 1` samples and the rest `n / folds` (10 samples in 3 folds
/// make folds of 4, 3 and 3). The shuffle is not NumPy's, so a seed picks different samples than
/// scikit-learn does; it is the same on every platform.
///
/// # Example
///
/// ```
/// use typenn::tune::{KFold, TuneError};
///
/// # fn main() -> Result<(), TuneError> {
/// let folds = KFold::new(3, 7).splits(10)?;
/// let sizes: Vec<usize> = folds.iter().map(|fold| fold.validation.len()).collect();
/// assert_eq!(sizes, [4, 3, 3]);
/// assert_eq!(folds[0].train.len(), 6);
/// assert_eq!(
///     KFold::new(11, 7).splits(10).unwrap_err().to_string(),
///     "expected at most one fold per sample, but found 11 folds for 10 samples"
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KFold {
    /// The number of folds, at least 2 and at most the number of samples.
    pub folds: usize,
    /// The seed of the shuffle that assigns samples to folds.
    pub seed: u64,
}

/// One train/validation split of [`KFold::splits`]: sample indices, each list in ascending order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fold {
    /// The samples to train on: those of every other fold.
    pub train: Vec<usize>,
    /// The samples to validate on.
    pub validation: Vec<usize>,
}

impl KFold {
    /// `folds` folds, assigned by a shuffle from `seed`.
    #[inline]
    #[must_use]
    pub const fn new(folds: usize, seed: u64) -> Self {
        Self { folds, seed }
    }

    /// The splits of `samples` samples, one per fold: every sample is validated on in exactly one
    /// of them and trained on in all the others.
    ///
    /// # Errors
    ///
    /// [`TuneError::TooFewFolds`] for fewer than 2 folds, [`TuneError::TooManyFolds`] for more
    /// folds than samples.
    pub fn splits(&self, samples: usize) -> Result<Vec<Fold>, TuneError> {
        let folds = self.folds;
        if folds < 2 {
            return Err(TuneError::TooFewFolds { folds });
        }
        if folds > samples {
            return Err(TuneError::TooManyFolds { folds, samples });
        }
        let mut order: Vec<usize> = (0..samples).collect();
        SplitMix64::new(self.seed).shuffle(&mut order);
        let (size, larger) = (samples / folds, samples % folds);
        let mut start = 0;
        Ok((0..folds)
            .map(|fold| {
                let end = start + size + usize::from(fold < larger);
                let mut validation = order[start..end].to_vec();
                let mut train: Vec<usize> = order[..start]
                    .iter()
                    .chain(&order[end..])
                    .copied()
                    .collect();
                validation.sort_unstable();
                train.sort_unstable();
                start = end;
                Fold { train, validation }
            })
            .collect())
    }
}

/// The scores of a cross-validation, one per fold, with their mean and standard deviation.
///
/// `Display` shows `mean ± std`, with the precision given (`{:.3}`) or 4 decimals.
#[derive(Clone, Debug, PartialEq)]
pub struct CrossValidation {
    /// The score of each fold's model on its validation fold, in fold order.
    pub scores: Vec<f64>,
    /// The mean of the scores, each fold counting once whatever its size (as scikit-learn's
    /// `cross_val_score(..).mean()`).
    pub mean: f64,
    /// The population standard deviation of the scores (divided by the number of folds, as
    /// NumPy's `std` and scikit-learn's `std_test_score`).
    pub std: f64,
}

impl CrossValidation {
    /// The mean and standard deviation of `scores`: for results of folds run by hand, to compare
    /// with [`GridSearch::from_results`](super::GridSearch::from_results). With no scores both
    /// are NaN; a NaN score makes both NaN.
    #[must_use]
    pub fn from_scores(scores: Vec<f64>) -> Self {
        let count = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / count;
        let variance = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / count;
        Self {
            scores,
            mean,
            std: variance.sqrt(),
        }
    }
}

impl fmt::Display for CrossValidation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(4);
        write!(f, "{:.precision$} ± {:.precision$}", self.mean, self.std)
    }
}

/// Cross-validates a way of training a model: for each fold of `kfold`, `train` builds and
/// trains a model on the other folds, and `score` measures it on the fold (a loss, R², an
/// accuracy: whatever the caller picks).
///
/// `train` gets a copy of the training samples of each fold and returns the trained model; a
/// model that needs preprocessing (standardisation) fits it there, on the fold's training part
/// only, and keeps it for `score`. Each call is monomorphized for the model type `N`.
///
/// # Errors
///
/// [`TuneError::TooFewFolds`] or [`TuneError::TooManyFolds`] before anything is trained, and
/// [`TuneError::Fold`] naming the fold where `train` failed (the remaining folds are not run).
///
/// # Example
///
/// The "model" here is the mean of the training targets, scored by its squared error.
///
/// ```
/// use typenn::Dataset;
/// use typenn::tune::{KFold, cross_validate};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let data = Dataset::<f64, 1, 1>::from_rows(&[[0.0], [1.0], [2.0], [3.0]], &[[1.0], [2.0], [3.0], [6.0]])?;
/// let mean_target = |data: &Dataset<f64, 1, 1>| {
///     data.targets().iter().map(|t| t[0]).sum::<f64>() / data.len() as f64
/// };
/// let squared_error = |model: &f64, validation: &Dataset<f64, 1, 1>| {
///     let errors = validation.targets().iter().map(|t| (t[0] - model).powi(2));
///     errors.sum::<f64>() / validation.len() as f64
/// };
/// // Leave-one-out: 4 folds of one sample. Leaving out 1, 2, 3 or 6, the others' mean is
/// // 11/3, 10/3, 3 or 2, which misses by 8/3, 4/3, 0 or 4.
/// let cv = cross_validate(&data, &KFold::new(4, 0), |train| Ok(mean_target(train)), squared_error)?;
/// assert!((cv.mean - (64.0 / 9.0 + 16.0 / 9.0 + 0.0 + 16.0) / 4.0).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
pub fn cross_validate<T: Scalar, const IN: usize, const OUT: usize, N>(
    data: &Dataset<T, IN, OUT>,
    kfold: &KFold,
    train: impl FnMut(&Dataset<T, IN, OUT>) -> Result<N, FoldError>,
    score: impl FnMut(&N, &Dataset<T, IN, OUT>) -> f64,
) -> Result<CrossValidation, TuneError> {
    let folds = kfold.splits(data.len())?;
    validate_folds(data, &folds, train, score)
}

/// Cross-validation on splits already made (and checked) by [`KFold::splits`].
pub(super) fn validate_folds<T: Scalar, const IN: usize, const OUT: usize, N>(
    data: &Dataset<T, IN, OUT>,
    folds: &[Fold],
    mut train: impl FnMut(&Dataset<T, IN, OUT>) -> Result<N, FoldError>,
    mut score: impl FnMut(&N, &Dataset<T, IN, OUT>) -> f64,
) -> Result<CrossValidation, TuneError> {
    let mut scores = Vec::with_capacity(folds.len());
    for (index, fold) in folds.iter().enumerate() {
        let in_fold = |source| TuneError::Fold {
            fold: index + 1,
            folds: folds.len(),
            source,
        };
        // `splits` makes neither part empty and every index in range, so these do not fail.
        let training = data
            .subset(&fold.train)
            .map_err(|error| in_fold(error.into()))?;
        let validation = data
            .subset(&fold.validation)
            .map_err(|error| in_fold(error.into()))?;
        let model = train(&training).map_err(in_fold)?;
        scores.push(score(&model, &validation));
    }
    Ok(CrossValidation::from_scores(scores))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainError;

    #[test]
    fn folds_partition_the_samples_with_sizes_differing_by_at_most_one() {
        for samples in 2..40 {
            for folds in 2..=samples.min(9) {
                let splits = KFold::new(folds, samples as u64).splits(samples).unwrap();
                assert_eq!(splits.len(), folds);
                let mut validated: Vec<usize> = splits
                    .iter()
                    .flat_map(|fold| fold.validation.iter().copied())
                    .collect();
                validated.sort_unstable();
                assert_eq!(validated, (0..samples).collect::<Vec<_>>());
                let sizes: Vec<usize> = splits.iter().map(|fold| fold.validation.len()).collect();
                let (smallest, largest) = (sizes.iter().min(), sizes.iter().max());
                assert!(largest.unwrap() - smallest.unwrap() <= 1, "{sizes:?}");
                for fold in &splits {
                    let mut all = fold.train.clone();
                    all.extend(&fold.validation);
                    all.sort_unstable();
                    assert_eq!(all, (0..samples).collect::<Vec<_>>());
                }
            }
        }
    }

    #[test]
    fn mean_and_population_std_by_hand() {
        // Mean 4; squared deviations 4, 0, 4 over 3 folds: variance 8/3.
        let cv = CrossValidation::from_scores(vec![2.0, 4.0, 6.0]);
        assert_eq!(cv.mean, 4.0);
        assert!((cv.std - (8.0_f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(format!("{cv}"), "4.0000 ± 1.6330");
        assert_eq!(format!("{cv:.1}"), "4.0 ± 1.6");
        assert!(CrossValidation::from_scores(Vec::new()).mean.is_nan());
    }

    #[test]
    fn training_stops_at_the_fold_that_fails() {
        let data = Dataset::<f64, 1, 1>::from_flat(&[0.0; 6], &[1.0; 6]).unwrap();
        let mut calls = 0;
        let error = cross_validate(
            &data,
            &KFold::new(3, 0),
            |_| {
                calls += 1;
                if calls == 2 {
                    Err(TrainError::EmptyBatch)?;
                }
                Ok(())
            },
            |_, _| 0.0,
        )
        .unwrap_err();
        assert_eq!(calls, 2);
        assert_eq!(
            error,
            TuneError::Fold {
                fold: 2,
                folds: 3,
                source: FoldError::Train(TrainError::EmptyBatch)
            }
        );
    }
}
