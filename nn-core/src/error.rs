//! Errors a user can cause at run time, each saying what was expected and what was found.

use core::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::{ColumnId, History, Monitor};

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
    /// A value of a sequence is NaN or infinite.
    NonFiniteStep {
        /// Inputs or targets.
        part: Part,
        /// The sequence, counting from 0.
        sequence: usize,
        /// The time step, counting from 0.
        step: usize,
        /// The value's position in the step, counting from 0.
        column: usize,
        /// The value found.
        value: f64,
    },
    /// A list of sample indices names a sample the dataset does not have.
    IndexOutOfRange {
        /// The index found.
        index: usize,
        /// Where it is in the list, counting from 0.
        position: usize,
        /// The number of samples in the dataset.
        len: usize,
    },
    /// A train/test split would leave one side without samples.
    EmptySplit {
        /// The number of samples to split.
        samples: usize,
        /// The fraction asked for the test part.
        test_fraction: f64,
        /// Samples the training part would get.
        train: usize,
        /// Samples the test part would get.
        test: usize,
    },
    /// A setting is out of range.
    InvalidOption {
        /// The setting.
        option: &'static str,
        /// What it must be.
        expected: &'static str,
        /// What it was.
        found: f64,
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
                width: 0,
            } => write!(
                f,
                "expected samples of at least one {part} value, but the width is 0 (found {values} values)"
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
            Self::NonFiniteStep {
                part,
                sequence,
                step,
                column,
                value,
            } => write!(
                f,
                "expected finite numbers, but {part} sequence {sequence}, step {step}, column {column} is {value}"
            ),
            Self::IndexOutOfRange {
                index,
                position,
                len,
            } => write!(
                f,
                "expected sample indices below {len} (the dataset's length), but index {index} \
                 at position {position} of the list is out of range"
            ),
            Self::EmptySplit {
                samples,
                test_fraction,
                train,
                test,
            } => write!(
                f,
                "expected at least one sample on each side of the split, but a test fraction of \
                 {test_fraction} of {samples} samples leaves {train} for training and {test} for testing"
            ),
            Self::InvalidOption {
                option,
                expected,
                found,
            } => write!(f, "{option} must be {expected}, but is {found}"),
        }
    }
}

impl std::error::Error for DataError {}

/// A column of a CSV file, as its header names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvColumn {
    /// The position in the row, counting from 0.
    pub index: usize,
    /// The name in the header row (empty when the error is in the header row itself).
    pub name: String,
}

impl fmt::Display for CsvColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "column index {}", self.index)
        } else {
            write!(f, "column `{}` (index {})", self.name, self.index)
        }
    }
}

/// CSV data that cannot make a [`Dataset`](crate::Dataset): the file it came from, if any, and
/// what is wrong with it ([`CsvErrorKind`]).
///
/// The message names the file, the line (counting from 1, as an editor shows it) and the column.
#[derive(Debug)]
pub struct CsvError {
    path: Option<PathBuf>,
    kind: CsvErrorKind,
}

impl CsvError {
    pub(crate) fn new(kind: CsvErrorKind) -> Self {
        Self { path: None, kind }
    }

    pub(crate) fn in_file(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    /// What is wrong.
    #[must_use]
    pub fn kind(&self) -> &CsvErrorKind {
        &self.kind
    }

    /// The file read, when the data came from [`Dataset::from_csv_path`](crate::Dataset::from_csv_path).
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The line at fault, counting from 1, when the error is about one line.
    #[must_use]
    pub fn line(&self) -> Option<usize> {
        match &self.kind {
            CsvErrorKind::MissingHeader { line, .. }
            | CsvErrorKind::CrLineEndings { line }
            | CsvErrorKind::EmptyColumnName { line, .. }
            | CsvErrorKind::FeatureCount { line, .. }
            | CsvErrorKind::FieldCount { line, .. }
            | CsvErrorKind::UnterminatedQuote { line, .. }
            | CsvErrorKind::StrayQuote { line, .. }
            | CsvErrorKind::UnparsableNumber { line, .. }
            | CsvErrorKind::NonFinite { line, .. }
            | CsvErrorKind::LabelNotInteger { line, .. }
            | CsvErrorKind::LabelOutOfRange { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The column at fault, when the error is about one field.
    #[must_use]
    pub fn column(&self) -> Option<&CsvColumn> {
        match &self.kind {
            CsvErrorKind::UnterminatedQuote { column, .. }
            | CsvErrorKind::StrayQuote { column, .. }
            | CsvErrorKind::UnparsableNumber { column, .. }
            | CsvErrorKind::NonFinite { column, .. }
            | CsvErrorKind::LabelNotInteger { column, .. }
            | CsvErrorKind::LabelOutOfRange { column, .. } => Some(column),
            _ => None,
        }
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}: ", path.display())?;
        }
        self.kind.fmt(f)
    }
}

impl std::error::Error for CsvError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CsvErrorKind::Io(error) => Some(error),
            _ => None,
        }
    }
}

/// What is wrong with CSV data. Lines count from 1, as an editor shows them.
#[derive(Debug)]
pub enum CsvErrorKind {
    /// The data could not be read.
    Io(io::Error),
    /// There is nothing but blank lines.
    EmptyFile,
    /// The first line holds only numbers: the header row of column names is missing.
    MissingHeader {
        /// The line, counting from 1.
        line: usize,
        /// The line's text.
        text: String,
    },
    /// A line ends in a lone carriage return: the file uses CR-only (classic Mac OS) line
    /// endings, so its lines are not told apart.
    CrLineEndings {
        /// The line, counting from 1, that holds the first lone carriage return.
        line: usize,
    },
    /// A column of the header row has no name.
    EmptyColumnName {
        /// The header's line, counting from 1.
        line: usize,
        /// The column, counting from 0.
        index: usize,
        /// Whether it is the last column, as a trailing comma makes.
        last: bool,
    },
    /// There is a header row but no data rows.
    NoRows,
    /// The target column is not in the header.
    UnknownColumn {
        /// The column asked for.
        column: ColumnId,
        /// The names in the header row.
        header: Vec<String>,
    },
    /// The target column is named by a name that two columns of the header share.
    DuplicateColumn {
        /// The name.
        name: String,
        /// The first column with the name, counting from 0.
        first: usize,
        /// The second column with the name, counting from 0.
        second: usize,
    },
    /// A regression target is one column, but the dataset's `OUT` is not 1.
    TargetWidth {
        /// The dataset's `OUT`.
        found: usize,
    },
    /// The header has a different number of feature columns than the dataset's `IN`.
    FeatureCount {
        /// The header's line, counting from 1.
        line: usize,
        /// The dataset's `IN`.
        expected: usize,
        /// Columns other than the target.
        found: usize,
        /// The target column.
        target: CsvColumn,
    },
    /// A row has a different number of fields than the header.
    FieldCount {
        /// The line, counting from 1.
        line: usize,
        /// Fields in the header row.
        expected: usize,
        /// Fields in this row.
        found: usize,
    },
    /// A quoted field does not end on its line (fields that span lines are not supported).
    UnterminatedQuote {
        /// The line, counting from 1.
        line: usize,
        /// The field.
        column: CsvColumn,
    },
    /// A quote inside an unquoted field, or text after a closing quote.
    StrayQuote {
        /// The line, counting from 1.
        line: usize,
        /// The field.
        column: CsvColumn,
    },
    /// A field is not a number.
    UnparsableNumber {
        /// The line, counting from 1.
        line: usize,
        /// The field.
        column: CsvColumn,
        /// The field's text.
        text: String,
    },
    /// A field is NaN or infinite, or too large for the element type.
    NonFinite {
        /// The line, counting from 1.
        line: usize,
        /// The field.
        column: CsvColumn,
        /// The field's text.
        text: String,
        /// The element type, `f32` or `f64`.
        scalar: &'static str,
    },
    /// A class label is a number but not a whole one.
    LabelNotInteger {
        /// The line, counting from 1.
        line: usize,
        /// The label column.
        column: CsvColumn,
        /// The field's text.
        text: String,
    },
    /// A class label is outside `0..classes`.
    LabelOutOfRange {
        /// The line, counting from 1.
        line: usize,
        /// The label column.
        column: CsvColumn,
        /// The field's text.
        text: String,
        /// The number of classes: the dataset's `OUT`.
        classes: usize,
    },
}

impl fmt::Display for CsvErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "could not read the CSV data: {error}"),
            Self::EmptyFile => f.write_str(
                "expected a header row and at least one data row, but the CSV data are empty",
            ),
            Self::MissingHeader { line, text } => write!(
                f,
                "line {line}: expected a header row of column names, but found only numbers: `{text}`"
            ),
            Self::CrLineEndings { line } => write!(
                f,
                "line {line}: expected lines to end with `\\n` or `\\r\\n`, but found CR-only (classic Mac) \
                 line endings; convert them to `\\n` (for example `tr '\\r' '\\n' < old.csv > new.csv`)"
            ),
            Self::EmptyColumnName { line, index, last } => {
                write!(
                    f,
                    "line {line}: expected a name for every column, but column {} of the header is empty",
                    index + 1
                )?;
                if *last {
                    f.write_str(" (a trailing comma?)")?;
                }
                Ok(())
            }
            Self::NoRows => f.write_str(
                "expected at least one data row after the header, but found only the header",
            ),
            Self::UnknownColumn {
                column: ColumnId::Name(name),
                header,
            } => write!(
                f,
                "expected a column named `{name}`, but the header has {}",
                Names(header)
            ),
            Self::UnknownColumn { column, header } => write!(
                f,
                "expected a column at {column}, but the header has {} columns (indices 0 to {})",
                header.len(),
                header.len().saturating_sub(1)
            ),
            Self::DuplicateColumn {
                name,
                first,
                second,
            } => write!(
                f,
                "expected one column named `{name}`, but the header has two (indices {first} and {second}); \
                 choose the target by index"
            ),
            Self::TargetWidth { found } => write!(
                f,
                "a regression target is one column, so the dataset's OUT must be 1, but it is {found} \
                 (use `Target::OneHot` for class labels)"
            ),
            Self::FeatureCount {
                line,
                expected,
                found,
                target,
            } => write!(
                f,
                "line {line}: expected {expected} feature columns (the dataset's IN) besides the target \
                 {target}, but the header has {found}"
            ),
            Self::FieldCount {
                line,
                expected,
                found,
            } => write!(
                f,
                "line {line}: expected {expected} fields, as in the header, but found {found}"
            ),
            Self::UnterminatedQuote { line, column } => write!(
                f,
                "line {line}, {column}: expected a closing quote before the end of the line, but found none"
            ),
            Self::StrayQuote { line, column } => write!(
                f,
                "line {line}, {column}: expected quotes only around a whole field, but found a quote inside it"
            ),
            Self::UnparsableNumber { line, column, text } => {
                write!(
                    f,
                    "line {line}, {column}: expected a number, but found `{text}`"
                )
            }
            Self::NonFinite {
                line,
                column,
                text,
                scalar,
            } => write!(
                f,
                "line {line}, {column}: expected a finite {scalar} number, but found `{text}`"
            ),
            Self::LabelNotInteger { line, column, text } => write!(
                f,
                "line {line}, {column}: expected a whole-number class label, but found `{text}`"
            ),
            Self::LabelOutOfRange {
                line,
                column,
                text,
                classes,
            } => write!(
                f,
                "line {line}, {column}: expected a class label from 0 to {} (the dataset's OUT is {classes}), \
                 but found `{text}`",
                classes.saturating_sub(1)
            ),
        }
    }
}

/// Header names as a list: `a`, `b`, `c`.
struct Names<'a>(&'a [String]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{name}`")?;
        }
        Ok(())
    }
}

/// What was not finite in a refused step ([`TrainError::NonFiniteParameter`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonFiniteCause {
    /// The parameter's gradient overflowed (or was NaN) during back-propagation.
    Gradient,
    /// The gradient was finite, but the update made the parameter overflow.
    Update,
}

impl fmt::Display for NonFiniteCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Gradient => "gradient",
            Self::Update => "updated value",
        })
    }
}

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
    /// A step would have made a parameter NaN or infinite, through an overflow in its gradient
    /// or in the update, although the loss was finite. The step was not applied, so the network
    /// keeps the parameters it had before it.
    ///
    /// The optimizer's state (momentum, moment estimates) is unchanged too when the gradient was
    /// at fault; when the update itself overflowed, the state has taken in the refused step's
    /// gradient.
    NonFiniteParameter {
        /// The epoch, counting from 1.
        epoch: usize,
        /// The step within the epoch, counting from 1.
        step: usize,
        /// The parameter tensor, as weight files name it (`"0.weight"`, `"hidden.bias"`).
        tensor: String,
        /// The element within the tensor, counting from 0 in its slice's order (a weight
        /// matrix column by column).
        element: usize,
        /// What was not finite: the parameter's gradient or its updated value.
        cause: NonFiniteCause,
        /// The value found.
        value: f64,
        /// The figures of the epochs completed before this one.
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
    /// A callback set a learning rate that is not a finite number above 0 in the network's
    /// precision (`1e39` overflows and `1e-300` rounds to zero in `f32`). Training stopped at the
    /// end of the epoch the callback saw, and the network keeps that epoch's weights.
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
            Self::NonFiniteParameter {
                epoch,
                step,
                tensor,
                element,
                cause,
                value,
                ..
            } => write!(
                f,
                "at epoch {epoch}, step {step}, the {cause} of parameter `{tensor}` (element {element}) \
                 came out {value} although the loss was finite; the step was not applied, training stopped \
                 and the network keeps the parameters it had before the step (try a smaller learning \
                 rate or scaled inputs)"
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
                 number above 0 in the network's precision; training stopped and the network keeps the weights of epoch {epoch}"
            ),
        }
    }
}

impl std::error::Error for TrainError {}
