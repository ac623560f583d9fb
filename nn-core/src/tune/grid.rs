//! Grid search: every candidate setting cross-validated on the same folds, and the best picked.

use core::fmt;

use super::folds::validate_folds;
use super::{CrossValidation, FoldError, KFold, TuneError};
use crate::{Dataset, FitOptions, Mode, Scalar};

/// One candidate of a [`Grid`]: a learning rate for the optimizer, and the options of `fit`.
///
/// `Display` shows `lr 0.01, batch 32, 100 epochs`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyperparameters {
    /// The optimizer's learning rate.
    pub learning_rate: f64,
    /// The options to train with: the grid's base options with this candidate's batch size and
    /// epochs.
    pub options: FitOptions,
}

impl fmt::Display for Hyperparameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lr {}, batch {}, {} epochs",
            self.learning_rate,
            self.options.batch_size_value(),
            self.options.epochs_value()
        )
    }
}

/// Candidates for [`grid_search`]: every combination of some learning rates, batch sizes and
/// numbers of epochs, over base [`FitOptions`] that set the rest (shuffling, early stopping).
///
/// Candidates come learning rate by learning rate, then batch size by batch size, then by
/// epochs. Settings the grid does not vary (momentum, betas, a network's width) are searched
/// with a `Vec` of candidates of your own type instead; [`grid_search`] takes any list.
///
/// # Example
///
/// ```
/// use typenn::FitOptions;
/// use typenn::tune::Grid;
///
/// let grid = Grid::new([0.1, 0.01], FitOptions::new().shuffle(3)).epochs([10, 20]);
/// assert_eq!(grid.len(), 4);
/// let names: Vec<String> = grid.candidates().iter().map(|c| c.to_string()).collect();
/// assert_eq!(
///     names,
///     [
///         "lr 0.1, batch 32, 10 epochs",
///         "lr 0.1, batch 32, 20 epochs",
///         "lr 0.01, batch 32, 10 epochs",
///         "lr 0.01, batch 32, 20 epochs",
///     ]
/// );
/// assert_eq!(grid.candidates()[0].options.shuffle_seed(), Some(3));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    learning_rates: Vec<f64>,
    batch_sizes: Vec<usize>,
    epochs: Vec<usize>,
    options: FitOptions,
}

impl Grid {
    /// A grid over `learning_rates`, training with `options`, whose batch size and epochs are the
    /// only ones tried until [`batch_sizes`](Self::batch_sizes) or [`epochs`](Self::epochs) vary
    /// them.
    #[must_use]
    pub fn new(learning_rates: impl IntoIterator<Item = f64>, options: FitOptions) -> Self {
        Self {
            learning_rates: learning_rates.into_iter().collect(),
            batch_sizes: vec![options.batch_size_value()],
            epochs: vec![options.epochs_value()],
            options,
        }
    }

    /// Tries each of these batch sizes.
    #[must_use]
    pub fn batch_sizes(mut self, batch_sizes: impl IntoIterator<Item = usize>) -> Self {
        self.batch_sizes = batch_sizes.into_iter().collect();
        self
    }

    /// Tries each of these numbers of epochs.
    #[must_use]
    pub fn epochs(mut self, epochs: impl IntoIterator<Item = usize>) -> Self {
        self.epochs = epochs.into_iter().collect();
        self
    }

    /// The number of candidates: the product of the numbers of values on each axis.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.learning_rates.len() * self.batch_sizes.len() * self.epochs.len()
    }

    /// Whether some axis has no values, so that there is no candidate.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every candidate, in the order described on [`Grid`].
    #[must_use]
    pub fn candidates(&self) -> Vec<Hyperparameters> {
        let mut candidates = Vec::with_capacity(self.len());
        for &learning_rate in &self.learning_rates {
            for &batch_size in &self.batch_sizes {
                for &epochs in &self.epochs {
                    candidates.push(Hyperparameters {
                        learning_rate,
                        options: self.options.batch_size(batch_size).epochs(epochs),
                    });
                }
            }
        }
        candidates
    }
}

impl IntoIterator for &Grid {
    type Item = Hyperparameters;
    type IntoIter = std::vec::IntoIter<Hyperparameters>;

    fn into_iter(self) -> Self::IntoIter {
        self.candidates().into_iter()
    }
}

impl IntoIterator for Grid {
    type Item = Hyperparameters;
    type IntoIter = std::vec::IntoIter<Hyperparameters>;

    fn into_iter(self) -> Self::IntoIter {
        self.candidates().into_iter()
    }
}

/// The outcome of a search: each candidate with its cross-validation (or the error that stopped
/// it), and the best one.
///
/// A candidate whose training failed (a learning rate so large that the loss diverged) is kept
/// with its error and never chosen, as is one whose mean score is not a number. `Display` prints
/// a table of the candidates (for `C: Display`), with the precision given (`{:.3}`) or 4
/// decimals.
#[derive(Clone, Debug, PartialEq)]
pub struct GridSearch<C> {
    candidates: Vec<(C, Result<CrossValidation, TuneError>)>,
    mode: Mode,
    best: Option<usize>,
}

impl<C> GridSearch<C> {
    /// The best of candidates cross-validated separately: by [`cross_validate`](super::cross_validate)
    /// once per network type, to compare architectures, which [`grid_search`] (one model type
    /// for all candidates) cannot.
    ///
    /// The best candidate has the smallest mean score for [`Mode::Min`] and the largest for
    /// [`Mode::Max`]; on a tie, the first.
    ///
    /// # Errors
    ///
    /// [`TuneError::EmptyGrid`] when there are no results.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::Mode;
    /// use typenn::tune::{CrossValidation, GridSearch, TuneError};
    ///
    /// # fn main() -> Result<(), TuneError> {
    /// let search = GridSearch::from_results(
    ///     [
    ///         ("narrow", Ok(CrossValidation::from_scores(vec![0.3, 0.5]))),
    ///         ("wide", Ok(CrossValidation::from_scores(vec![0.5, 0.6]))),
    ///         ("deep", Err(TuneError::TooFewFolds { folds: 1 })),
    ///     ],
    ///     Mode::Max,
    /// )?;
    /// let (name, cv) = search.best().ok_or(TuneError::EmptyGrid)?;
    /// assert_eq!((*name, cv.mean), ("wide", 0.55));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_results(
        results: impl IntoIterator<Item = (C, Result<CrossValidation, TuneError>)>,
        mode: Mode,
    ) -> Result<Self, TuneError> {
        let candidates: Vec<_> = results.into_iter().collect();
        if candidates.is_empty() {
            return Err(TuneError::EmptyGrid);
        }
        let mut best: Option<(usize, f64)> = None;
        for (index, (_, result)) in candidates.iter().enumerate() {
            let Ok(cv) = result else { continue };
            if cv.mean.is_nan() {
                continue;
            }
            let better = best.is_none_or(|(_, mean)| match mode {
                Mode::Min => cv.mean < mean,
                Mode::Max => cv.mean > mean,
            });
            if better {
                best = Some((index, cv.mean));
            }
        }
        Ok(Self {
            candidates,
            mode,
            best: best.map(|(index, _)| index),
        })
    }

    /// Every candidate in the order given, with its cross-validation or the error that stopped
    /// it.
    #[inline]
    pub fn candidates(&self) -> &[(C, Result<CrossValidation, TuneError>)] {
        &self.candidates
    }

    /// Whether a smaller or a larger score is better.
    #[inline]
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The best candidate's position in [`candidates`](Self::candidates); `None` when no
    /// candidate has a mean score that is a number (every one failed, or scored NaN).
    #[inline]
    #[must_use]
    pub fn best_index(&self) -> Option<usize> {
        self.best
    }

    /// The best candidate and its cross-validation; `None` as for
    /// [`best_index`](Self::best_index).
    #[must_use]
    pub fn best(&self) -> Option<(&C, &CrossValidation)> {
        let (candidate, result) = self.candidates.get(self.best?)?;
        Some((candidate, result.as_ref().ok()?))
    }
}

impl<C: fmt::Display> fmt::Display for GridSearch<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let precision = f.precision().unwrap_or(4);
        let names: Vec<String> = self
            .candidates
            .iter()
            .map(|(candidate, _)| candidate.to_string())
            .collect();
        let width = names.iter().map(|name| name.chars().count()).max();
        let width = width.unwrap_or(0).max("candidate".len());
        let better = match self.mode {
            Mode::Min => "lower is better",
            Mode::Max => "higher is better",
        };
        write!(f, "{:<width$}  mean ± std ({better})", "candidate")?;
        for (index, (name, (_, result))) in names.iter().zip(&self.candidates).enumerate() {
            write!(f, "\n{name:<width$}  ")?;
            match result {
                Ok(cv) => write!(f, "{cv:.precision$}")?,
                Err(error) => write!(f, "failed: {error}")?,
            }
            if self.best == Some(index) {
                f.write_str("  <- best")?;
            }
        }
        Ok(())
    }
}

/// Cross-validates every candidate on the same folds and picks the best: the smallest mean score
/// for [`Mode::Min`] (a loss), the largest for [`Mode::Max`] (R², an accuracy); on a tie, the
/// first.
///
/// `candidates` is any list: a [`Grid`] of [`Hyperparameters`], or a `Vec` of a type of your
/// own. `train` gets the candidate and a fold's training samples and returns a trained model, as
/// for [`cross_validate`](super::cross_validate); `score` measures it on the validation fold. A
/// candidate whose training fails is recorded with its error ([`TuneError::Fold`]) and the
/// search goes on.
///
/// # Errors
///
/// [`TuneError::TooFewFolds`] or [`TuneError::TooManyFolds`], then [`TuneError::EmptyGrid`],
/// before anything is trained.
///
/// # Example
///
/// The "model" is a fraction of the training targets' mean; the candidates are the fraction.
///
/// ```
/// use typenn::tune::{KFold, TuneError, grid_search};
/// use typenn::{Dataset, Mode};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let data = Dataset::<f64, 1, 1>::from_rows(&[[0.0], [1.0], [2.0], [3.0]], &[[1.0], [2.0], [3.0], [6.0]])?;
/// let search = grid_search(
///     &data,
///     &KFold::new(4, 0),
///     [0.0, 0.5, 1.0],
///     Mode::Min,
///     |fraction, train| {
///         let mean = train.targets().iter().map(|t| t[0]).sum::<f64>() / train.len() as f64;
///         Ok(fraction * mean)
///     },
///     |prediction, validation| {
///         let errors = validation.targets().iter().map(|t| (t[0] - prediction).powi(2));
///         errors.sum::<f64>() / validation.len() as f64
///     },
/// )?;
/// // Squared errors of the leave-one-out means: (64/9 + 16/9 + 0 + 16) / 4 = 56/9.
/// let (fraction, cv) = search.best().ok_or(TuneError::EmptyGrid)?;
/// assert_eq!(*fraction, 1.0);
/// assert!((cv.mean - 56.0 / 9.0).abs() < 1e-12);
/// # Ok(())
/// # }
/// ```
pub fn grid_search<T: Scalar, const IN: usize, const OUT: usize, C, N>(
    data: &Dataset<T, IN, OUT>,
    kfold: &KFold,
    candidates: impl IntoIterator<Item = C>,
    mode: Mode,
    mut train: impl FnMut(&C, &Dataset<T, IN, OUT>) -> Result<N, FoldError>,
    mut score: impl FnMut(&N, &Dataset<T, IN, OUT>) -> f64,
) -> Result<GridSearch<C>, TuneError> {
    let folds = kfold.splits(data.len())?;
    let candidates: Vec<C> = candidates.into_iter().collect();
    if candidates.is_empty() {
        return Err(TuneError::EmptyGrid);
    }
    let results = candidates.into_iter().map(|candidate| {
        let result = validate_folds(data, &folds, |fold| train(&candidate, fold), &mut score);
        (candidate, result)
    });
    GridSearch::from_results(results, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrainError;

    fn cv(scores: &[f64]) -> Result<CrossValidation, TuneError> {
        Ok(CrossValidation::from_scores(scores.to_vec()))
    }

    #[test]
    fn the_best_follows_the_mode_and_the_first_wins_a_tie() {
        let results = || {
            [
                ("a", cv(&[2.0, 4.0])),
                ("b", cv(&[1.0, 2.0])),
                ("c", cv(&[2.0, 1.0])),
                ("d", cv(&[5.0, 5.0])),
            ]
        };
        let lowest = GridSearch::from_results(results(), Mode::Min).unwrap();
        assert_eq!(lowest.best_index(), Some(1));
        assert_eq!(lowest.best().map(|(name, _)| *name), Some("b"));
        let highest = GridSearch::from_results(results(), Mode::Max).unwrap();
        assert_eq!(
            highest.best().map(|(name, cv)| (*name, cv.mean)),
            Some(("d", 5.0))
        );
    }

    #[test]
    fn failures_and_nan_are_never_best() {
        let failed = Err(TuneError::Fold {
            fold: 1,
            folds: 2,
            source: FoldError::Train(TrainError::EmptyBatch),
        });
        let search = GridSearch::from_results(
            [("nan", cv(&[f64::NAN, 0.0])), ("failed", failed.clone())],
            Mode::Min,
        )
        .unwrap();
        assert_eq!(search.best_index(), None);
        assert!(search.best().is_none());
        let search = GridSearch::from_results(
            [
                ("failed", failed),
                ("nan", cv(&[f64::NAN])),
                ("ok", cv(&[9.0])),
            ],
            Mode::Min,
        )
        .unwrap();
        assert_eq!(search.best_index(), Some(2));
    }

    #[test]
    fn no_results_is_an_empty_grid() {
        let results: [(&str, _); 0] = [];
        assert_eq!(
            GridSearch::from_results(results, Mode::Min),
            Err(TuneError::EmptyGrid)
        );
    }

    #[test]
    fn the_table_marks_the_best_and_shows_failures() {
        let search = GridSearch::from_results(
            [
                ("lr 0.1", cv(&[1.0, 3.0])),
                ("lr 0.01", cv(&[0.5, 0.5])),
                ("lr 10", Err(TuneError::TooFewFolds { folds: 1 })),
            ],
            Mode::Min,
        )
        .unwrap();
        assert_eq!(
            format!("{search:.2}"),
            "candidate  mean ± std (lower is better)\n\
             lr 0.1     2.00 ± 1.00\n\
             lr 0.01    0.50 ± 0.00  <- best\n\
             lr 10      failed: expected at least 2 folds for cross-validation, but found 1"
        );
    }

    #[test]
    fn grid_axes_multiply_and_an_empty_axis_empties_the_grid() {
        let grid = Grid::new([0.1, 0.2, 0.3], FitOptions::new().epochs(7)).batch_sizes([8, 16]);
        assert_eq!(grid.len(), 6);
        let candidates = grid.candidates();
        assert_eq!(candidates[1].learning_rate, 0.1);
        assert_eq!(candidates[1].options.batch_size_value(), 16);
        assert_eq!(candidates[5].learning_rate, 0.3);
        assert!(candidates.iter().all(|c| c.options.epochs_value() == 7));
        assert!(grid.clone().epochs([]).is_empty());
        assert!(Grid::new([], FitOptions::new()).is_empty());
    }
}
