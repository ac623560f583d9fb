//! Reading a dataset from CSV: a header row of column names, then one sample per line.
//!
//! The dialect is the common one: fields separated by commas, `\n` or `\r\n` line endings (a
//! lone `\r`, as classic Mac files end lines, is an error that says so), blank lines skipped,
//! and optional double quotes around a field (`"a, b"`, with `""` for a quote inside). A quoted
//! field must end on its line.

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::Path;

use nalgebra::SVector;

use super::Dataset;
use crate::{CsvColumn, CsvError, CsvErrorKind, Scalar};

/// A column of a CSV file, by its name in the header or by its position.
///
/// `"label".into()` and `4.into()` make one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnId {
    /// The column whose header is this name.
    Name(String),
    /// The column at this position, counting from 0.
    Index(usize),
    /// The last column.
    Last,
}

impl From<&str> for ColumnId {
    #[inline]
    fn from(name: &str) -> Self {
        Self::Name(name.to_owned())
    }
}

impl From<String> for ColumnId {
    #[inline]
    fn from(name: String) -> Self {
        Self::Name(name)
    }
}

impl From<usize> for ColumnId {
    #[inline]
    fn from(index: usize) -> Self {
        Self::Index(index)
    }
}

impl fmt::Display for ColumnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => write!(f, "`{name}`"),
            Self::Index(index) => write!(f, "index {index}"),
            Self::Last => f.write_str("the last position"),
        }
    }
}

/// Which column of a CSV file holds the targets, and how to read it. Every other column is an
/// input feature, in file order.
///
/// # Example
///
/// ```
/// use typenn::{ColumnId, Target};
///
/// assert_eq!(Target::one_hot("label"), Target::OneHot(ColumnId::Name("label".into())));
/// assert_eq!(Target::column(10), Target::Column(ColumnId::Index(10)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A number to regress on; the dataset's `OUT` must be 1.
    Column(ColumnId),
    /// A class label, a whole number from 0 to `OUT - 1`, read as a one-hot vector of `OUT`
    /// values (1 at the label, 0 elsewhere).
    OneHot(ColumnId),
}

impl Target {
    /// A regression target in `column`.
    #[must_use]
    pub fn column(column: impl Into<ColumnId>) -> Self {
        Self::Column(column.into())
    }

    /// Class labels in `column`, read as one-hot vectors.
    #[must_use]
    pub fn one_hot(column: impl Into<ColumnId>) -> Self {
        Self::OneHot(column.into())
    }

    fn column_id(&self) -> &ColumnId {
        match self {
            Self::Column(column) | Self::OneHot(column) => column,
        }
    }
}

impl<T: Scalar, const IN: usize, const OUT: usize> Dataset<T, IN, OUT> {
    /// A dataset from CSV text: a header row, then one sample per line, with the target in the
    /// column `target` names and the `IN` input features in the other columns, in file order.
    ///
    /// Fields are separated by commas and may be quoted (`"1.5"`, with `""` for a quote
    /// inside); spaces around a field are ignored; lines end with `\n` or `\r\n`; blank lines
    /// are skipped.
    ///
    /// # Errors
    ///
    /// A [`CsvError`] naming the line (counting from 1) and column at fault: see
    /// [`CsvErrorKind`] for each case.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::{CsvError, Dataset, Target};
    ///
    /// # fn main() -> Result<(), CsvError> {
    /// let csv = "height,weight,label\n1.5,50,0\n1.8,80,2\n";
    /// let data = Dataset::<f32, 2, 3>::from_csv(csv, Target::one_hot("label"))?;
    /// assert_eq!(data.inputs()[1].as_slice(), &[1.8, 80.0]);
    /// assert_eq!(data.targets()[1].as_slice(), &[0.0, 0.0, 1.0]);
    ///
    /// let error = Dataset::<f32, 2, 3>::from_csv("a,b,label\n1,x,0\n", Target::one_hot("label"))
    ///     .unwrap_err();
    /// assert_eq!(error.to_string(), "line 2, column `b` (index 1): expected a number, but found `x`");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_csv(text: &str, target: Target) -> Result<Self, CsvError> {
        parse(text, &target).map_err(CsvError::new)
    }

    /// As [`Dataset::from_csv`], reading the text from `reader`.
    ///
    /// # Errors
    ///
    /// [`CsvErrorKind::Io`] when reading fails (or the text is not UTF-8), then as
    /// [`Dataset::from_csv`].
    pub fn from_csv_reader(mut reader: impl Read, target: Target) -> Result<Self, CsvError> {
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(|error| CsvError::new(CsvErrorKind::Io(error)))?;
        Self::from_csv(&text, target)
    }

    /// As [`Dataset::from_csv`], reading the file at `path`. Every error names the file.
    ///
    /// # Errors
    ///
    /// [`CsvErrorKind::Io`] when the file cannot be read, then as [`Dataset::from_csv`].
    pub fn from_csv_path(path: impl AsRef<Path>, target: Target) -> Result<Self, CsvError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|error| CsvError::new(CsvErrorKind::Io(error)).in_file(path))?;
        Self::from_csv(&text, target).map_err(|error| error.in_file(path))
    }
}

fn parse<T: Scalar, const IN: usize, const OUT: usize>(
    text: &str,
    target: &Target,
) -> Result<Dataset<T, IN, OUT>, CsvErrorKind> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
        .filter(|(_, line)| !line.trim().is_empty());

    let (header_line, header_text) = lines.next().ok_or(CsvErrorKind::EmptyFile)?;
    reject_lone_cr(header_line, header_text)?;
    let header: Vec<String> = split_fields(header_text)
        .map_err(|error| error.at(header_line, &[]))?
        .iter()
        .map(|name| name.trim().to_owned())
        .collect();
    if header.iter().all(|name| name.parse::<f64>().is_ok()) {
        return Err(CsvErrorKind::MissingHeader {
            line: header_line,
            text: header_text.to_owned(),
        });
    }
    if let Some(index) = header.iter().position(String::is_empty) {
        return Err(CsvErrorKind::EmptyColumnName {
            line: header_line,
            index,
            last: index + 1 == header.len(),
        });
    }
    let target_index = find_column(&header, target.column_id())?;
    let one_hot = matches!(target, Target::OneHot(_));
    if !one_hot && OUT != 1 {
        return Err(CsvErrorKind::TargetWidth { found: OUT });
    }
    let features = header.len() - 1;
    if features != IN {
        return Err(CsvErrorKind::FeatureCount {
            line: header_line,
            expected: IN,
            found: features,
            target: column_at(&header, target_index),
        });
    }

    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for (line, text) in lines {
        reject_lone_cr(line, text)?;
        let fields = split_fields(text).map_err(|error| error.at(line, &header))?;
        if fields.len() != header.len() {
            return Err(CsvErrorKind::FieldCount {
                line,
                expected: header.len(),
                found: fields.len(),
            });
        }
        let mut input = SVector::<T, IN>::zeros();
        let mut slots = input.iter_mut();
        let mut output = SVector::<T, OUT>::zeros();
        for (index, field) in fields.iter().enumerate() {
            let field = Field {
                text: field.trim(),
                line,
                index,
                header: &header,
            };
            if index != target_index {
                if let Some(slot) = slots.next() {
                    *slot = field.number()?;
                }
            } else if one_hot {
                let class = field.class(OUT)?;
                if let Some(slot) = output.get_mut(class) {
                    *slot = T::one();
                }
            } else if let Some(slot) = output.get_mut(0) {
                *slot = field.number()?;
            }
        }
        inputs.push(input);
        targets.push(output);
    }
    if inputs.is_empty() {
        return Err(CsvErrorKind::NoRows);
    }
    // Every value was checked to be finite where it was read, with its line and column.
    Ok(Dataset { inputs, targets })
}

/// A carriage return left in a line once `\r\n` is stripped ends a line only for CR-only (classic
/// Mac) files, whose lines would otherwise run together into one and fail far from the cause.
fn reject_lone_cr(line: usize, text: &str) -> Result<(), CsvErrorKind> {
    if text.contains('\r') {
        Err(CsvErrorKind::CrLineEndings { line })
    } else {
        Ok(())
    }
}

/// The position of `column` in the header.
fn find_column(header: &[String], column: &ColumnId) -> Result<usize, CsvErrorKind> {
    let unknown = || CsvErrorKind::UnknownColumn {
        column: column.clone(),
        header: header.to_vec(),
    };
    match column {
        ColumnId::Name(name) => {
            let mut found = (0..header.len()).filter(|&i| header[i] == *name);
            match (found.next(), found.next()) {
                (Some(index), None) => Ok(index),
                (Some(first), Some(second)) => Err(CsvErrorKind::DuplicateColumn {
                    name: name.clone(),
                    first,
                    second,
                }),
                (None, _) => Err(unknown()),
            }
        }
        ColumnId::Index(index) if *index < header.len() => Ok(*index),
        ColumnId::Index(_) => Err(unknown()),
        // A line always splits into at least one field.
        ColumnId::Last => header.len().checked_sub(1).ok_or_else(unknown),
    }
}

fn column_at(header: &[String], index: usize) -> CsvColumn {
    CsvColumn {
        index,
        name: header.get(index).cloned().unwrap_or_default(),
    }
}

/// One field of a data row, with what an error about it must name.
struct Field<'a> {
    text: &'a str,
    line: usize,
    index: usize,
    header: &'a [String],
}

impl Field<'_> {
    fn column(&self) -> CsvColumn {
        column_at(self.header, self.index)
    }

    fn parse_f64(&self) -> Result<f64, CsvErrorKind> {
        self.text
            .parse()
            .map_err(|_| CsvErrorKind::UnparsableNumber {
                line: self.line,
                column: self.column(),
                text: self.text.to_owned(),
            })
    }

    fn number<T: Scalar>(&self) -> Result<T, CsvErrorKind> {
        let value = T::cast_from(self.parse_f64()?);
        if value.is_finite() {
            Ok(value)
        } else {
            Err(CsvErrorKind::NonFinite {
                line: self.line,
                column: self.column(),
                text: self.text.to_owned(),
                scalar: T::NAME,
            })
        }
    }

    fn class(&self, classes: usize) -> Result<usize, CsvErrorKind> {
        let value = self.parse_f64()?;
        if !value.is_finite() || value.fract() != 0.0 {
            return Err(CsvErrorKind::LabelNotInteger {
                line: self.line,
                column: self.column(),
                text: self.text.to_owned(),
            });
        }
        if value < 0.0 || value >= classes as f64 {
            return Err(CsvErrorKind::LabelOutOfRange {
                line: self.line,
                column: self.column(),
                text: self.text.to_owned(),
                classes,
            });
        }
        // A whole number in 0..classes, so the conversion is exact.
        Ok(value as usize)
    }
}

/// A quoting mistake in field `index` of a line.
#[derive(Debug, PartialEq, Eq)]
struct QuoteError {
    index: usize,
    unterminated: bool,
}

impl QuoteError {
    fn at(self, line: usize, header: &[String]) -> CsvErrorKind {
        let column = column_at(header, self.index);
        if self.unterminated {
            CsvErrorKind::UnterminatedQuote { line, column }
        } else {
            CsvErrorKind::StrayQuote { line, column }
        }
    }
}

/// The fields of one line: split at commas outside quotes, quotes removed, `""` read as `"`.
/// Spaces around a quoted field are dropped; an unquoted field is returned as written.
fn split_fields(line: &str) -> Result<Vec<Cow<'_, str>>, QuoteError> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let index = fields.len();
        let stray = QuoteError {
            index,
            unterminated: false,
        };
        let next = if let Some(mut quoted) = rest.trim_start_matches([' ', '\t']).strip_prefix('"')
        {
            let mut value = String::new();
            loop {
                let end = quoted.find('"').ok_or(QuoteError {
                    index,
                    unterminated: true,
                })?;
                value.push_str(&quoted[..end]);
                let after = &quoted[end + 1..];
                match after.strip_prefix('"') {
                    Some(escaped) => {
                        value.push('"');
                        quoted = escaped;
                    }
                    None => {
                        quoted = after;
                        break;
                    }
                }
            }
            fields.push(Cow::Owned(value));
            let after = quoted.trim_start_matches([' ', '\t']);
            match after.strip_prefix(',') {
                Some(next) => Some(next),
                None if after.is_empty() => None,
                None => return Err(stray),
            }
        } else {
            let (field, next) = match rest.split_once(',') {
                Some((field, next)) => (field, Some(next)),
                None => (rest, None),
            };
            if field.contains('"') {
                return Err(stray);
            }
            fields.push(Cow::Borrowed(field));
            next
        };
        match next {
            Some(next) => rest = next,
            None => return Ok(fields),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Result<Vec<String>, QuoteError> {
        split_fields(line).map(|fields| fields.into_iter().map(Cow::into_owned).collect())
    }

    #[test]
    fn splits_plain_fields_keeping_empty_ones() {
        assert_eq!(fields("1,2.5,x").unwrap(), ["1", "2.5", "x"]);
        assert_eq!(fields("").unwrap(), [""]);
        assert_eq!(fields("a,,b,").unwrap(), ["a", "", "b", ""]);
    }

    #[test]
    fn reads_quoted_fields() {
        assert_eq!(
            fields(r#""a, b",1, "say ""hi""" ,"""""#).unwrap(),
            ["a, b", "1", r#"say "hi""#, r#"""#]
        );
        assert_eq!(fields(r#""""#).unwrap(), [""]);
    }

    #[test]
    fn rejects_bad_quotes_naming_the_field() {
        let unterminated = |index| QuoteError {
            index,
            unterminated: true,
        };
        let stray = |index| QuoteError {
            index,
            unterminated: false,
        };
        assert_eq!(fields(r#"1,"open"#).unwrap_err(), unterminated(1));
        assert_eq!(fields(r#"1,"a"""#).unwrap_err(), unterminated(1));
        assert_eq!(fields(r#"1,"a"b,2"#).unwrap_err(), stray(1));
        assert_eq!(fields(r#"1,2,ab"c"#).unwrap_err(), stray(2));
    }
}
