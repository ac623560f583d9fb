//! Choosing a network's structure and settings: k-fold cross-validation and grid search.
//!
//! [`KFold`] splits the samples into folds; [`cross_validate`] trains one model per fold on the
//! other folds and scores it on the held-out one; [`grid_search`] does that for each candidate
//! setting and picks the best by a [`Mode`](crate::Mode) you choose. [`Grid`] builds the
//! candidates from learning rates, batch sizes and epochs; any other settings (momentum, betas,
//! a loss's parameter) are a `Vec` of a type of your own.
//!
//! Nothing here knows what a model is: the training closure builds and trains one, and the score
//! closure measures it, so each call is monomorphized for the model type it trains. Different
//! architectures are different types, so they are compared by calling [`cross_validate`] once per
//! type (typically through a generic function of yours, `fn evaluate<N: Network<..>>(..)`) and
//! handing the results to [`GridSearch::from_results`], which picks the best as [`grid_search`]
//! does.
//!
//! Preprocessing fitted on data (a [`Standardizer`](crate::Standardizer)) belongs inside the
//! training closure, fitted on the fold's training part only, so that nothing of the validation
//! fold leaks into the model. The closure returns a [`FoldError`], which `?` makes from a
//! [`TrainError`] and from a [`DataError`].

mod folds;
mod grid;

use core::fmt;

pub use folds::{CrossValidation, Fold, KFold, cross_validate};
pub use grid::{Grid, GridSearch, Hyperparameters, grid_search};

use crate::{DataError, TrainError};

/// Why a cross-validation or a grid search could not run.
#[derive(Clone, Debug, PartialEq)]
pub enum TuneError {
    /// Fewer than two folds: with one, nothing is left to train on.
    TooFewFolds {
        /// The number of folds asked for.
        folds: usize,
    },
    /// More folds than samples: some fold would validate on no sample.
    TooManyFolds {
        /// The number of folds asked for.
        folds: usize,
        /// The number of samples.
        samples: usize,
    },
    /// A grid search was given no candidates.
    EmptyGrid,
    /// Training a model, or preparing its data, failed in one fold.
    Fold {
        /// The fold, counting from 1.
        fold: usize,
        /// The number of folds.
        folds: usize,
        /// What the training closure returned.
        source: FoldError,
    },
}

impl fmt::Display for TuneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooFewFolds { folds } => write!(
                f,
                "expected at least 2 folds for cross-validation, but found {folds}"
            ),
            Self::TooManyFolds { folds, samples } => write!(
                f,
                "expected at most one fold per sample, but found {folds} folds for {samples} samples"
            ),
            Self::EmptyGrid => {
                f.write_str("expected at least one candidate to search, but the grid is empty")
            }
            Self::Fold {
                fold,
                folds,
                source,
            } => write!(f, "in fold {fold} of {folds}: {source}"),
        }
    }
}

impl std::error::Error for TuneError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Fold { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What the training closure of [`cross_validate`] or [`grid_search`] returns when it fails:
/// `?` turns a [`TrainError`] (from `fit`) or a [`DataError`] (from preprocessing the fold) into
/// one.
#[derive(Clone, Debug, PartialEq)]
pub enum FoldError {
    /// Training failed.
    Train(TrainError),
    /// The fold's data could not be prepared.
    Data(DataError),
}

impl From<TrainError> for FoldError {
    fn from(error: TrainError) -> Self {
        Self::Train(error)
    }
}

impl From<DataError> for FoldError {
    fn from(error: DataError) -> Self {
        Self::Data(error)
    }
}

impl fmt::Display for FoldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Train(error) => error.fmt(f),
            Self::Data(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for FoldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Train(error) => Some(error),
            Self::Data(error) => Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_was_expected_and_what_was_found() {
        assert_eq!(
            TuneError::TooFewFolds { folds: 1 }.to_string(),
            "expected at least 2 folds for cross-validation, but found 1"
        );
        assert_eq!(
            TuneError::TooManyFolds {
                folds: 6,
                samples: 5
            }
            .to_string(),
            "expected at most one fold per sample, but found 6 folds for 5 samples"
        );
        assert_eq!(
            TuneError::EmptyGrid.to_string(),
            "expected at least one candidate to search, but the grid is empty"
        );
        let error = TuneError::Fold {
            fold: 2,
            folds: 5,
            source: FoldError::Train(TrainError::EmptyBatch),
        };
        assert_eq!(
            error.to_string(),
            "in fold 2 of 5: a training step needs at least one sample, but the batch is empty"
        );
    }

    #[test]
    fn question_mark_makes_fold_errors() {
        fn train() -> Result<(), FoldError> {
            Err(TrainError::EmptyBatch)?
        }
        fn prepare() -> Result<(), FoldError> {
            Err(DataError::Empty)?
        }
        assert_eq!(train(), Err(FoldError::Train(TrainError::EmptyBatch)));
        assert_eq!(prepare(), Err(FoldError::Data(DataError::Empty)));
    }
}
