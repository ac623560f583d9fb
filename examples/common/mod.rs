//! Shared by the examples: where the bundled data are, and the train/test splits the PyTorch
//! baselines used (`examples/data/splits_seed0.json`), read by a small JSON parser.

use std::fmt;
use std::path::{Path, PathBuf};

/// The path of a file in `examples/data/`, wherever the example is run from.
pub fn data_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(file)
}

/// Row indices (counting data rows from 0) of the two parts of a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The training rows, in the order the baselines used.
    pub train: Vec<usize>,
    /// The test rows.
    pub test: Vec<usize>,
}

/// The split of `dataset` (`"diabetes"`, `"digits"` or `"iris"`) in `splits_seed0.json`.
pub fn load_split(dataset: &str) -> Result<Split, SplitError> {
    let path = data_path("splits_seed0.json");
    let text = std::fs::read_to_string(&path).map_err(|source| SplitError::Io {
        path: path.clone(),
        source,
    })?;
    parse_split(&text, dataset)
}

/// The split of `dataset` in the JSON text `json`: `{"<dataset>": {"train_idx": [..], "test_idx": [..]}, ..}`.
pub fn parse_split(json: &str, dataset: &str) -> Result<Split, SplitError> {
    let root = Parser::new(json).document()?;
    let entry = root.get(dataset).ok_or_else(|| SplitError::Missing {
        key: dataset.to_owned(),
    })?;
    let indices = |list: &str| -> Result<Vec<usize>, SplitError> {
        let key = format!("{dataset}.{list}");
        let Some(Json::Array(items)) = entry.get(list) else {
            return Err(SplitError::Missing { key });
        };
        items
            .iter()
            .enumerate()
            .map(|(position, item)| match item {
                Json::Number(n) if n.fract() == 0.0 && (0.0..9.0e15).contains(n) => Ok(*n as usize),
                other => Err(SplitError::NotAnIndex {
                    key: key.clone(),
                    position,
                    found: other.kind(),
                }),
            })
            .collect()
    };
    Ok(Split {
        train: indices("train_idx")?,
        test: indices("test_idx")?,
    })
}

/// Why a split could not be read.
#[derive(Debug)]
pub enum SplitError {
    /// The file could not be read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not JSON; line and column count from 1.
    Syntax {
        line: usize,
        column: usize,
        expected: &'static str,
    },
    /// A key is missing, or does not hold a list.
    Missing { key: String },
    /// A list item is not a row index (a whole number, 0 or above).
    NotAnIndex {
        key: String,
        position: usize,
        found: &'static str,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Syntax {
                line,
                column,
                expected,
            } => write!(f, "line {line}, column {column}: expected {expected}"),
            Self::Missing { key } => write!(
                f,
                "expected a list of row indices at `{key}`, but found none"
            ),
            Self::NotAnIndex {
                key,
                position,
                found,
            } => write!(
                f,
                "expected row indices (whole numbers, 0 or above) in `{key}`, but item {position} is {found}"
            ),
        }
    }
}

impl std::error::Error for SplitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A JSON value.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Self::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "a boolean",
            Self::Number(_) => "a number that is not a row index",
            Self::String(_) => "a string",
            Self::Array(_) => "a list",
            Self::Object(_) => "an object",
        }
    }
}

/// A small recursive-descent JSON parser: enough for the splits file, with errors that say where.
struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn document(mut self) -> Result<Json, SplitError> {
        let value = self.value()?;
        self.skip_space();
        if self.at < self.text.len() {
            return Err(self.error("the end of the text"));
        }
        Ok(value)
    }

    fn error(&self, expected: &'static str) -> SplitError {
        let before = &self.text[..self.at];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        SplitError::Syntax {
            line,
            column,
            expected,
        }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start_matches([' ', '\t', '\n', '\r']).len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let found = self.rest().starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn value(&mut self) -> Result<Json, SplitError> {
        self.skip_space();
        if self.eat("null") {
            Ok(Json::Null)
        } else if self.eat("true") {
            Ok(Json::Bool(true))
        } else if self.eat("false") {
            Ok(Json::Bool(false))
        } else if self.rest().starts_with('"') {
            self.string().map(Json::String)
        } else if self.eat("[") {
            self.items("]", |parser| parser.value()).map(Json::Array)
        } else if self.eat("{") {
            self.items("}", |parser| {
                parser.skip_space();
                let key = parser.string()?;
                if !parser.eat(":") {
                    return Err(parser.error("`:` after an object key"));
                }
                Ok((key, parser.value()?))
            })
            .map(Json::Object)
        } else {
            self.number()
        }
    }

    /// Comma-separated items up to `close`, the opening bracket already read.
    fn items<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> Result<T, SplitError>,
    ) -> Result<Vec<T>, SplitError> {
        let mut items = Vec::new();
        if self.eat(close) {
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(",") {
                return Err(self.error("`,` or a closing bracket"));
            }
        }
    }

    fn string(&mut self) -> Result<String, SplitError> {
        if !self.eat("\"") {
            return Err(self.error("a string"));
        }
        let start = self.at;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((offset, c)) = chars.next() {
            // Errors point at the character being read.
            self.at = start + offset;
            match c {
                '"' => {
                    self.at += 1;
                    return Ok(value);
                }
                '\\' => match chars.next().map(|(_, escaped)| escaped) {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some('r') => value.push('\r'),
                    Some('b') => value.push('\u{8}'),
                    Some('f') => value.push('\u{c}'),
                    Some('u') => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next())
                            .map(|(_, h)| h)
                            .collect();
                        let code = u32::from_str_radix(&hex, 16)
                            .map_err(|_| self.error("four hex digits after `\\u`"))?;
                        // Surrogate pairs are not joined: the splits file has none.
                        value.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    Some(escaped @ ('"' | '\\' | '/')) => value.push(escaped),
                    _ => return Err(self.error("a valid escape after `\\`")),
                },
                c => value.push(c),
            }
        }
        self.at = self.text.len();
        Err(self.error("a closing `\"`"))
    }

    fn number(&mut self) -> Result<Json, SplitError> {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !matches!(c, '0'..='9' | '-' | '+' | '.' | 'e' | 'E'))
            .unwrap_or(rest.len());
        match rest[..len].parse::<f64>() {
            Ok(n) if len > 0 => {
                self.at += len;
                Ok(Json::Number(n))
            }
            _ => Err(self.error("a JSON value")),
        }
    }
}
