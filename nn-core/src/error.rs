//! Errors a user can cause at run time, each saying what was expected and what was found.

use core::fmt;

use crate::{History, Monitor};

/// Which half of a sample a data error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The input features.
    Input,
    /// The targets.
    Target,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Input => "input",
            Self::Target => "target",
        })
    }
}

/// Data that cannot make a [`Dataset`](crate::Dataset).
#[derive(Clone, Debug, PartialEq)]
pub enum DataError {
    /// There are no samples.
    Empty,
    /// The inputs and the targets count different numbers of samples.
    LengthMismatch {
        /// Number of input samples.
        inputs: usize,
        /// Number of target samples.
        targets: usize,
    },
    /// A flat list of values does not split into whole samples.
    PartialSample {
        /// Inputs or targets.
        part: Part,
        /// Values given.
        values: usize,
        /// Values per sample.
        width: usize,
    },
    /// A value is NaN or infinite.
    NonFinite {
        /// Inputs or targets.
        part: Part,
        /// The sample, counting from 0.
        row: usize,
        /// The value's position in the sample, counting from 0.
        column: usize,
        /// The value found.
        value: f64,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the dataset is empty: expected at least one sample"),
            Self::LengthMismatch { inputs, targets } => write!(
                f,
                "expected one target per input sample, but found {inputs} input samples and {targets} targets"
            ),
            Self::PartialSample {
                part,
                values,
                width,
            } => write!(
                f,
                "expected the {part} values to split into samples of {width}, but found {values} values \
                 ({} whole samples and {} left over)",
                values / width,
                values % width
            ),
            Self::NonFinite {
                part,
                row,
                column,
                value,
            } => {
                write!(
                    f,
                    "expected finite numbers, but {part} row {row}, column {column} is {value}"
                )
            }
        }
    }
}

impl std::error::Error for DataError {}

/// Why training could not go on.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainError {
    /// A setting is out of range.
    InvalidOption {
        /// The setting.
        option: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it was.
        found: f64,
    },
    /// A training step was given no samples.
    EmptyBatch,
    /// A training step was given different numbers of inputs and targets.
    BatchMismatch {
        /// Number of input samples.
        inputs: usize,
        /// Number of target samples.
        targets: usize,
    },
    /// The loss became NaN or infinite. The step that produced it was not applied, so the network
    /// keeps the weights of the last step with a finite loss.
    NonFiniteLoss {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The step within the epoch, counting from 1.
        step: usize,
        /// The loss found.
        loss: f64,
        /// The figures of the epochs completed before this one (boxed, so that every `Result`
        /// carrying a `TrainError` stays small).
        history: Box<History>,
    },
    /// A validation split leaves no sample to train on or none to validate on.
    EmptySplit {
        /// The fraction held out for validation.
        split: f64,
        /// The number of samples.
        samples: usize,
        /// Samples left to train on: `floor(samples * (1 - split))`.
        training: usize,
        /// Samples held out to validate on.
        validation: usize,
    },
    /// Two options that exclude each other were both given.
    ConflictingOptions {
        /// One option.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// Early stopping watches a figure that this training does not compute.
    UnavailableMonitor {
        /// The figure watched.
        monitor: Monitor,
        /// What computing it needs.
        needs: &'static str,
    },
    /// A callback set a learning rate that is not a finite number above 0. Training stopped at
    /// the end of the epoch the callback saw, and the network keeps that epoch's weights.
    InvalidLearningRate {
        /// The epoch that had just ended, counting from 1.
        epoch: usize,
        /// The learning rate set.
        found: f64,
        /// The figures of the epochs completed, this one included.
        history: Box<History>,
    },
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidOption {
                option,
                expected,
                found,
            } => {
                write!(f, "{option} must be {expected}, but is {found}")
            }
            Self::EmptyBatch => {
                f.write_str("a training step needs at least one sample, but the batch is empty")
            }
            Self::BatchMismatch { inputs, targets } => write!(
                f,
                "a training step needs one target per input, but found {inputs} inputs and {targets} targets"
            ),
            Self::NonFiniteLoss {
                epoch, step, loss, ..
            } => write!(
                f,
                "the loss became {loss} at epoch {epoch}, step {step}; training stopped and the network keeps \
                 the weights of the last finite step (try a smaller learning rate or scaled inputs)"
            ),
            Self::EmptySplit {
                split,
                samples,
                training,
                validation,
            } => write!(
                f,
                "a validation split must leave at least one sample for training and one for validation, \
                 but {split} of {samples} samples leaves {training} for training and {validation} for validation"
            ),
            Self::ConflictingOptions { first, second } => write!(
                f,
                "expected either {first} or {second}, but both were given"
            ),
            Self::UnavailableMonitor { monitor, needs } => write!(
                f,
                "early stopping monitors {monitor}, which needs {needs}, but it is not computed"
            ),
            Self::InvalidLearningRate { epoch, found, .. } => write!(
                f,
                "a callback set the learning rate to {found} after epoch {epoch}, but it must be a finite \
                 number above 0; training stopped and the network keeps the weights of epoch {epoch}"
            ),
        }
    }
}

impl std::error::Error for TrainError {}
