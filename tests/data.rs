//! Data: the bundled CSVs load with the right shapes and values, every CSV mistake is reported
//! with its line and column, standardisation gives hand-computed and numpy figures, and splits,
//! subsets and batches hold what they say.

#[path = "../examples/common/mod.rs"]
mod common;
#[path = "fixtures/data_reference.rs"]
mod reference;

use std::collections::BTreeSet;
use std::error::Error;

use typenn::prelude::*;
use typenn::{ColumnId, CsvColumn, CsvError, CsvErrorKind, DataError, Part};

fn iris() -> Dataset<f64, 4, 3> {
    Dataset::from_csv_path(common::data_path("iris.csv"), Target::one_hot("label"))
        .expect("the bundled iris.csv loads")
}

fn diabetes() -> Dataset<f64, 10, 1> {
    Dataset::from_csv_path(common::data_path("diabetes.csv"), Target::column("target"))
        .expect("the bundled diabetes.csv loads")
}

fn digits() -> Dataset<f64, 64, 10> {
    Dataset::from_csv_path(common::data_path("digits.csv"), Target::one_hot("label"))
        .expect("the bundled digits.csv loads")
}

/// How many samples of each class, checking that every target is one-hot.
fn class_counts<const IN: usize, const OUT: usize>(data: &Dataset<f64, IN, OUT>) -> [usize; OUT] {
    let mut counts = [0; OUT];
    for target in data.targets() {
        assert_eq!(target.sum(), 1.0, "{target:?}");
        assert!(target.iter().all(|&v| v == 0.0 || v == 1.0), "{target:?}");
        counts[target.imax()] += 1;
    }
    counts
}

/// A line of a CSV file as numbers.
fn numbers(line: &str) -> Vec<f64> {
    line.split(',')
        .map(|v| v.parse().expect("a number"))
        .collect()
}

// The bundled files.

#[test]
fn iris_has_150_rows_of_4_features_and_one_hot_labels() {
    let data = iris();
    assert_eq!(data.len(), reference::IRIS_ROWS);
    // First and last data rows of iris.csv: `5.1,3.5,1.4,0.2,0` and `5.9,3,5.1,1.8,2`.
    assert_eq!(data.inputs()[0].as_slice(), &[5.1, 3.5, 1.4, 0.2]);
    assert_eq!(data.targets()[0].as_slice(), &[1.0, 0.0, 0.0]);
    assert_eq!(data.inputs()[149].as_slice(), &[5.9, 3.0, 5.1, 1.8]);
    assert_eq!(data.targets()[149].as_slice(), &[0.0, 0.0, 1.0]);
    assert_eq!(class_counts(&data), reference::IRIS_CLASS_COUNTS);
}

#[test]
fn diabetes_has_442_rows_of_10_features_and_a_numeric_target() {
    let data = diabetes();
    assert_eq!(data.len(), reference::DIABETES_ROWS);
    // First and last data rows of diabetes.csv.
    let first = numbers("59,2,32.1,101,157,93.2,38,4,4.8598,87,151");
    let last = numbers("36,1,19.6,71,250,133.2,97,3,4.5951,92,57");
    assert_eq!(data.inputs()[0].as_slice(), &first[..10]);
    assert_eq!(data.targets()[0].as_slice(), &first[10..]);
    assert_eq!(data.inputs()[441].as_slice(), &last[..10]);
    assert_eq!(data.targets()[441].as_slice(), &last[10..]);
    let targets = data.targets().iter().map(|y| y[0]);
    assert_eq!(
        targets.clone().fold(f64::INFINITY, f64::min),
        reference::DIABETES_TARGET_MIN
    );
    assert_eq!(
        targets.fold(f64::NEG_INFINITY, f64::max),
        reference::DIABETES_TARGET_MAX
    );
}

#[test]
fn the_target_column_can_be_named_by_index_or_as_the_last() {
    let path = common::data_path("diabetes.csv");
    let by_index = Dataset::from_csv_path(&path, Target::column(10)).expect("loads");
    let by_position = Dataset::from_csv_path(&path, Target::column(ColumnId::Last)).expect("loads");
    assert_eq!(by_index, diabetes());
    assert_eq!(by_position, diabetes());
    // A target in the middle: the other columns stay in file order.
    let csv = "a,y,b\n1,10,2\n3,30,4\n";
    let data = Dataset::<f64, 2, 1>::from_csv(csv, Target::column("y")).expect("loads");
    assert_eq!(data.inputs()[1].as_slice(), &[3.0, 4.0]);
    assert_eq!(data.targets()[1].as_slice(), &[30.0]);
}

#[test]
fn digits_has_1797_rows_of_64_pixels_and_ten_classes() {
    let data = digits();
    assert_eq!(data.len(), reference::DIGITS_ROWS);
    // First and last data rows of digits.csv.
    let first = numbers(
        "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,0,5,8,0,0,9,8,0,0,\
         4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0,0",
    );
    let last = numbers(
        "0,0,10,14,8,1,0,0,0,2,16,14,6,1,0,0,0,0,15,15,8,15,0,0,0,0,5,16,16,10,0,0,0,0,12,15,15,\
         12,0,0,0,4,16,6,4,16,6,0,0,8,16,10,8,16,8,0,0,1,8,12,14,12,1,0,8",
    );
    assert_eq!(data.inputs()[0].as_slice(), &first[..64]);
    assert_eq!(data.targets()[0].imax(), 0);
    assert_eq!(data.inputs()[1796].as_slice(), &last[..64]);
    assert_eq!(data.targets()[1796].imax(), 8);
    assert_eq!(class_counts(&data), reference::DIGITS_CLASS_COUNTS);
    // f32 reads the same file.
    let single = Dataset::<f32, 64, 10>::from_csv_path(
        common::data_path("digits.csv"),
        Target::one_hot("label"),
    )
    .expect("loads");
    assert_eq!(single.inputs()[1796][2], 10.0);
}

// The dialect.

#[test]
fn reads_quotes_crlf_blank_lines_spaces_and_a_byte_order_mark() {
    let csv = "\u{feff}\"a\", b ,\"label\"\r\n\r\n\"1.5\", 2 ,1\r\n  \r\n-3e-1,4,\"0\"\r\n\r\n";
    let data = Dataset::<f64, 2, 2>::from_csv(csv, Target::one_hot("label")).expect("loads");
    assert_eq!(data.len(), 2);
    assert_eq!(data.inputs()[0].as_slice(), &[1.5, 2.0]);
    assert_eq!(data.targets()[0].as_slice(), &[0.0, 1.0]);
    assert_eq!(data.inputs()[1].as_slice(), &[-0.3, 4.0]);
    assert_eq!(data.targets()[1].as_slice(), &[1.0, 0.0]);
    let from_reader =
        Dataset::<f64, 2, 2>::from_csv_reader(csv.as_bytes(), Target::one_hot("label"))
            .expect("loads");
    assert_eq!(from_reader, data);
}

#[test]
fn a_label_may_be_written_as_a_whole_float() {
    let data = Dataset::<f32, 1, 3>::from_csv("x,label\n0.5,2.0\n", Target::one_hot("label"))
        .expect("loads");
    assert_eq!(data.targets()[0].as_slice(), &[0.0, 0.0, 1.0]);
}

// Every mistake, with its line and column.

fn csv_error<const IN: usize, const OUT: usize>(text: &str, target: Target) -> CsvError {
    match Dataset::<f32, IN, OUT>::from_csv(text, target) {
        Ok(data) => panic!("expected an error for {text:?}, but read {data:?}"),
        Err(error) => error,
    }
}

fn column(index: usize, name: &str) -> CsvColumn {
    CsvColumn {
        index,
        name: name.to_owned(),
    }
}

#[test]
fn an_empty_file_is_an_error() {
    for text in ["", "\n", "\r\n  \n\n"] {
        let error = csv_error::<2, 3>(text, Target::one_hot("label"));
        assert!(matches!(error.kind(), CsvErrorKind::EmptyFile), "{error:?}");
        assert_eq!(
            error.to_string(),
            "expected a header row and at least one data row, but the CSV data are empty"
        );
        assert_eq!(error.line(), None);
    }
}

#[test]
fn a_missing_header_is_an_error() {
    let error = csv_error::<2, 3>("\n1,2,0\n3,4,1\n", Target::one_hot(2));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::MissingHeader { line: 2, .. }
    ));
    assert_eq!(
        error.to_string(),
        "line 2: expected a header row of column names, but found only numbers: `1,2,0`"
    );
}

#[test]
fn cr_only_line_endings_are_named() {
    // Classic Mac line endings: without a `\n` the whole file reads as one line.
    let error = csv_error::<2, 3>("a,b,label\r1,2,0\r3,4,1\r", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::CrLineEndings { line: 1 }
    ));
    assert_eq!(error.line(), Some(1));
    assert_eq!(
        error.to_string(),
        "line 1: expected lines to end with `\\n` or `\\r\\n`, but found CR-only (classic Mac) line \
         endings; convert them to `\\n` (for example `tr '\\r' '\\n' < old.csv > new.csv`)"
    );
    // A line that ends in a lone CR among `\n` lines is named too, with its line.
    let error = csv_error::<2, 3>("a,b,label\n1,2,0\r3,4,1\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::CrLineEndings { line: 2 }
    ));
}

#[test]
fn an_empty_header_name_is_named() {
    let error = csv_error::<4, 3>("a,b,c,label,\n1,2,3,0,\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::EmptyColumnName {
            line: 1,
            index: 4,
            last: true
        }
    ));
    assert_eq!(error.line(), Some(1));
    assert_eq!(
        error.to_string(),
        "line 1: expected a name for every column, but column 5 of the header is empty (a trailing comma?)"
    );
    // An empty name elsewhere, here after a byte-order mark and blank lines, is named without
    // the hint.
    let error = csv_error::<2, 1>("\u{feff}\n\na, ,y\n1,2,3\n", Target::column("y"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::EmptyColumnName {
            line: 3,
            index: 1,
            last: false
        }
    ));
    assert_eq!(
        error.to_string(),
        "line 3: expected a name for every column, but column 2 of the header is empty"
    );
}

#[test]
fn a_header_without_rows_is_an_error() {
    let error = csv_error::<2, 3>("a,b,label\n\n", Target::one_hot("label"));
    assert!(matches!(error.kind(), CsvErrorKind::NoRows));
    assert_eq!(
        error.to_string(),
        "expected at least one data row after the header, but found only the header"
    );
}

#[test]
fn an_unknown_target_column_is_an_error() {
    let error = csv_error::<2, 3>("a,b,label\n1,2,0\n", Target::one_hot("lable"));
    assert!(matches!(error.kind(), CsvErrorKind::UnknownColumn { .. }));
    assert_eq!(
        error.to_string(),
        "expected a column named `lable`, but the header has `a`, `b`, `label`"
    );
    let error = csv_error::<2, 3>("a,b,label\n1,2,0\n", Target::one_hot(3));
    assert_eq!(
        error.to_string(),
        "expected a column at index 3, but the header has 3 columns (indices 0 to 2)"
    );
}

#[test]
fn a_target_name_shared_by_two_columns_is_an_error() {
    let error = csv_error::<2, 3>("label,b,label\n1,2,0\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::DuplicateColumn {
            first: 0,
            second: 2,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "expected one column named `label`, but the header has two (indices 0 and 2); choose the target by index"
    );
    // By index it is fine.
    let data = Dataset::<f32, 2, 3>::from_csv("label,b,label\n1,2,0\n", Target::one_hot(2));
    assert!(data.is_ok());
}

#[test]
fn a_regression_target_needs_out_1() {
    let error = csv_error::<2, 3>("a,b,y\n1,2,0.5\n", Target::column("y"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::TargetWidth { found: 3 }
    ));
    assert_eq!(
        error.to_string(),
        "a regression target is one column, so the dataset's OUT must be 1, but it is 3 \
         (use `Target::OneHot` for class labels)"
    );
}

#[test]
fn the_feature_count_must_equal_in() {
    let error = csv_error::<3, 1>("a,b,y\n1,2,0.5\n", Target::column("y"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::FeatureCount {
            line: 1,
            expected: 3,
            found: 2,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "line 1: expected 3 feature columns (the dataset's IN) besides the target column `y` (index 2), \
         but the header has 2"
    );
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_an_error() {
    let error = csv_error::<2, 3>("a,b,label\n1,2,0\n1,2\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::FieldCount {
            line: 3,
            expected: 3,
            found: 2
        }
    ));
    assert_eq!(
        error.to_string(),
        "line 3: expected 3 fields, as in the header, but found 2"
    );
    let error = csv_error::<2, 3>("a,b,label\n1,2,0,\n", Target::one_hot("label"));
    assert_eq!(
        error.to_string(),
        "line 2: expected 3 fields, as in the header, but found 4"
    );
}

#[test]
fn bad_quotes_are_errors() {
    let error = csv_error::<2, 3>("a,b,label\n1,\"2,0\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::UnterminatedQuote { line: 2, .. }
    ));
    assert_eq!(error.column(), Some(&column(1, "b")));
    assert_eq!(
        error.to_string(),
        "line 2, column `b` (index 1): expected a closing quote before the end of the line, but found none"
    );
    let error = csv_error::<2, 3>("a,b,label\n1,2\"x,0\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::StrayQuote { line: 2, .. }
    ));
    assert_eq!(
        error.to_string(),
        "line 2, column `b` (index 1): expected quotes only around a whole field, but found a quote inside it"
    );
    // In the header the names are not known yet.
    let error = csv_error::<2, 3>("a,\"b\"c,label\n1,2,0\n", Target::one_hot("label"));
    assert_eq!(
        error.to_string(),
        "line 1, column index 1: expected quotes only around a whole field, but found a quote inside it"
    );
}

#[test]
fn an_unparsable_number_is_an_error_on_the_line_an_editor_shows() {
    // CRLF line endings and a blank line: the error is still on line 4.
    let csv = "a,b,label\r\n1,2,0\r\n\r\n1,x y,0\r\n";
    let error = csv_error::<2, 3>(csv, Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::UnparsableNumber { line: 4, text, .. } if text == "x y"
    ));
    assert_eq!(error.line(), Some(4));
    assert_eq!(error.column(), Some(&column(1, "b")));
    assert_eq!(
        error.to_string(),
        "line 4, column `b` (index 1): expected a number, but found `x y`"
    );
    let error = csv_error::<2, 3>("a,b,label\n1,,0\n", Target::one_hot("label"));
    assert_eq!(
        error.to_string(),
        "line 2, column `b` (index 1): expected a number, but found ``"
    );
    let error = csv_error::<2, 3>("a,b,label\n1,2,one\n", Target::one_hot("label"));
    assert_eq!(
        error.to_string(),
        "line 2, column `label` (index 2): expected a number, but found `one`"
    );
}

#[test]
fn non_finite_numbers_are_errors() {
    let error = csv_error::<2, 3>("a,b,label\n1,2,0\nNaN,2,0\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::NonFinite {
            line: 3,
            scalar: "f32",
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "line 3, column `a` (index 0): expected a finite f32 number, but found `NaN`"
    );
    let error = csv_error::<1, 1>("x,y\n1,-inf\n", Target::column("y"));
    assert_eq!(
        error.to_string(),
        "line 2, column `y` (index 1): expected a finite f32 number, but found `-inf`"
    );
    // Too large for f32, fine for f64.
    let error = csv_error::<1, 1>("x,y\n1e39,1\n", Target::column("y"));
    assert_eq!(
        error.to_string(),
        "line 2, column `x` (index 0): expected a finite f32 number, but found `1e39`"
    );
    let data = Dataset::<f64, 1, 1>::from_csv("x,y\n1e39,1\n", Target::column("y"));
    assert_eq!(data.expect("fits in f64").inputs()[0][0], 1e39);
}

#[test]
fn a_label_that_is_not_a_whole_number_is_an_error() {
    let error = csv_error::<2, 3>("a,b,label\n1,2,1.5\n", Target::one_hot("label"));
    assert!(matches!(
        error.kind(),
        CsvErrorKind::LabelNotInteger { line: 2, .. }
    ));
    assert_eq!(error.column(), Some(&column(2, "label")));
    assert_eq!(
        error.to_string(),
        "line 2, column `label` (index 2): expected a whole-number class label, but found `1.5`"
    );
}

#[test]
fn a_label_out_of_range_is_an_error() {
    for label in ["3", "-1", "1e3"] {
        let csv = format!("a,b,label\n1,2,2\n1,2,{label}\n");
        let error = csv_error::<2, 3>(&csv, Target::one_hot("label"));
        assert!(matches!(
            error.kind(),
            CsvErrorKind::LabelOutOfRange { classes: 3, .. }
        ));
        assert_eq!(error.line(), Some(3));
        assert_eq!(
            error.to_string(),
            format!(
                "line 3, column `label` (index 2): expected a class label from 0 to 2 \
                 (the dataset's OUT is 3), but found `{label}`"
            )
        );
    }
}

#[test]
fn an_unreadable_file_is_an_error_naming_it() {
    let path = common::data_path("no_such_file.csv");
    let error = Dataset::<f32, 4, 3>::from_csv_path(&path, Target::one_hot("label")).unwrap_err();
    let CsvErrorKind::Io(io) = error.kind() else {
        panic!("expected an I/O error, found {error:?}");
    };
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(error.path(), Some(path.as_path()));
    assert!(
        error.to_string().starts_with(&format!(
            "{}: could not read the CSV data: ",
            path.display()
        )),
        "{error}"
    );
    assert!(error.source().is_some());
    // Text that is not UTF-8 is an I/O error of the reader too.
    let error =
        Dataset::<f32, 4, 3>::from_csv_reader(&[0xff, 0xfe][..], Target::one_hot(4)).unwrap_err();
    assert!(
        matches!(error.kind(), CsvErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData)
    );
    assert_eq!(error.path(), None);
}

#[test]
fn errors_in_a_file_name_the_file() {
    let path = std::env::temp_dir().join(format!("typenn-data-test-{}.csv", std::process::id()));
    std::fs::write(&path, "a,b,label\n1,2,0\n1,2,7\n").expect("the temporary file is written");
    let error = Dataset::<f32, 2, 3>::from_csv_path(&path, Target::one_hot("label")).unwrap_err();
    std::fs::remove_file(&path).expect("the temporary file is removed");
    assert_eq!(error.path(), Some(path.as_path()));
    assert_eq!(
        error.to_string(),
        format!(
            "{}: line 3, column `label` (index 2): expected a class label from 0 to 2 \
             (the dataset's OUT is 3), but found `7`",
            path.display()
        )
    );
}

// Standardisation.

/// Column 0 is 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population variance (9+1+1+1+0+0+4+16)/8 = 4, so
/// standard deviation 2. Column 1 is constant. The targets are 0, 0, 0, 0, 6, 6, 6, 6: mean 3,
/// standard deviation 3.
fn tiny() -> Dataset<f64, 2, 1> {
    let column = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    let inputs: Vec<[f64; 2]> = column.iter().map(|&x| [x, 3.0]).collect();
    let targets: Vec<[f64; 1]> = (0..8).map(|i| [if i < 4 { 0.0 } else { 6.0 }]).collect();
    Dataset::from_rows(&inputs, &targets).expect("finite data")
}

#[test]
fn standardizer_matches_the_hand_computed_mean_and_population_std() {
    let mut data = tiny();
    let scaler = Standardizer::fit(&data);
    assert_eq!(scaler.mean().as_slice(), &[5.0, 3.0]);
    assert_eq!(scaler.scale().as_slice(), &[2.0, 1.0]);
    scaler.transform(&mut data).expect("finite");
    let column: Vec<f64> = data.inputs().iter().map(|x| x[0]).collect();
    assert_eq!(column, [-1.5, -0.5, -0.5, -0.5, 0.0, 0.0, 1.0, 2.0]);
    assert!(data.inputs().iter().all(|x| x[1] == 0.0));
    assert_eq!(
        data.targets(),
        tiny().targets(),
        "the targets are left alone"
    );

    let sample = SVector::from([11.0, 4.0]);
    assert_eq!(scaler.transform_input(&sample).as_slice(), &[3.0, 1.0]);
    assert_eq!(
        scaler.inverse_transform_input(&scaler.transform_input(&sample)),
        sample
    );
    let from_samples = Standardizer::fit_samples(tiny().inputs()).expect("not empty");
    assert_eq!(from_samples, scaler);
}

#[test]
fn target_scaler_standardizes_targets_and_maps_predictions_back() {
    let mut data = tiny();
    let scaler = TargetScaler::fit(&data);
    assert_eq!(scaler.mean().as_slice(), &[3.0]);
    assert_eq!(scaler.scale().as_slice(), &[3.0]);
    scaler.transform(&mut data).expect("finite");
    let targets: Vec<f64> = data.targets().iter().map(|y| y[0]).collect();
    assert_eq!(targets, [-1.0, -1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!(data.inputs(), tiny().inputs(), "the inputs are left alone");
    assert_eq!(scaler.inverse_transform(&SVector::from([0.5]))[0], 4.5);
    assert_eq!(scaler.transform_target(&SVector::from([9.0]))[0], 2.0);
}

#[test]
fn a_constant_column_keeps_its_exact_value_as_mean_and_scale_1() {
    // 0.1 three times: summing and dividing would not give back 0.1 exactly.
    let samples = [SVector::<f32, 1>::from([0.1]); 3];
    let scaler = Standardizer::fit_samples(&samples).expect("not empty");
    assert_eq!(scaler.mean()[0], 0.1);
    assert_eq!(scaler.scale()[0], 1.0);
    assert_eq!(scaler.transform_input(&samples[0])[0], 0.0);
}

#[test]
fn standardizer_errors() {
    assert_eq!(
        Standardizer::<f32, 2>::fit_samples(&[]).unwrap_err(),
        DataError::Empty
    );
    assert_eq!(
        TargetScaler::<f32, 1>::fit_samples(&[]).unwrap_err(),
        DataError::Empty
    );
    // A tiny spread in training, a huge value later: the standardised value overflows f32, and
    // the dataset is left as it was.
    let train = Dataset::<f32, 1, 1>::from_rows(&[[1.0], [1.000_000_1]], &[[0.0], [0.0]])
        .expect("finite data");
    let scaler = Standardizer::fit(&train);
    let mut test =
        Dataset::<f32, 1, 1>::from_rows(&[[1.0], [3e38]], &[[0.0], [0.0]]).expect("finite data");
    let before = test.clone();
    let error = scaler.transform(&mut test).unwrap_err();
    assert!(matches!(
        error,
        DataError::NonFinite {
            part: Part::Input,
            row: 1,
            column: 0,
            ..
        }
    ));
    assert_eq!(test, before);
}

fn assert_close(found: &[f64], expected: &[f64]) {
    assert_eq!(found.len(), expected.len());
    for (i, (&f, &e)) in found.iter().zip(expected).enumerate() {
        assert!(
            (f - e).abs() <= 1e-12 * e.abs().max(1.0),
            "column {i}: {f} vs numpy {e}"
        );
    }
}

/// numpy's standard deviation, with scale 1 where it is 0 (as scikit-learn's StandardScaler).
fn numpy_scale(std: &[f64]) -> Vec<f64> {
    std.iter()
        .map(|&s| if s == 0.0 { 1.0 } else { s })
        .collect()
}

#[test]
fn standardizer_on_the_training_parts_matches_numpy() {
    let iris_split = common::load_split("iris").expect("the split loads");
    let iris = Standardizer::fit(&iris().subset(&iris_split.train).expect("valid indices"));
    assert_close(iris.mean().as_slice(), &reference::IRIS_TRAIN_MEAN);
    assert_close(iris.scale().as_slice(), &reference::IRIS_TRAIN_STD);

    let split = common::load_split("diabetes").expect("the split loads");
    let train = diabetes().subset(&split.train).expect("valid indices");
    let inputs = Standardizer::fit(&train);
    assert_close(inputs.mean().as_slice(), &reference::DIABETES_TRAIN_MEAN);
    assert_close(inputs.scale().as_slice(), &reference::DIABETES_TRAIN_STD);
    let targets = TargetScaler::fit(&train);
    assert_close(
        &[targets.mean()[0], targets.scale()[0]],
        &[
            reference::DIABETES_TRAIN_TARGET_MEAN,
            reference::DIABETES_TRAIN_TARGET_STD,
        ],
    );

    let split = common::load_split("digits").expect("the split loads");
    let mut train = digits().subset(&split.train).expect("valid indices");
    let scaler = Standardizer::fit(&train);
    assert_close(scaler.mean().as_slice(), &reference::DIGITS_TRAIN_MEAN);
    assert_close(
        scaler.scale().as_slice(),
        &numpy_scale(&reference::DIGITS_TRAIN_STD),
    );
    // Afterwards every column has mean 0 and standard deviation 1, or is all 0 if constant.
    scaler.transform(&mut train).expect("finite");
    let refit = Standardizer::fit(&train);
    for (column, &std) in reference::DIGITS_TRAIN_STD.iter().enumerate() {
        assert!(refit.mean()[column].abs() < 1e-12, "column {column}");
        assert!(
            (refit.scale()[column] - 1.0).abs() < 1e-12,
            "column {column}"
        );
        if std == 0.0 {
            assert!(
                train.inputs().iter().all(|x| x[column] == 0.0),
                "column {column}"
            );
        }
    }
}

// Splits, subsets and batches.

/// Sample `i` holds `i` as its input and `10 i` as its target, so parts can be traced back.
fn numbered(n: usize) -> Dataset<f64, 1, 1> {
    let inputs: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let targets: Vec<f64> = inputs.iter().map(|i| 10.0 * i).collect();
    Dataset::from_flat(&inputs, &targets).expect("finite data")
}

fn ids(data: &Dataset<f64, 1, 1>) -> Vec<usize> {
    for (x, y) in data.inputs().iter().zip(data.targets()) {
        assert_eq!(y[0], 10.0 * x[0], "inputs and targets stay paired");
    }
    data.inputs().iter().map(|x| x[0] as usize).collect()
}

#[test]
fn split_sizes_follow_scikit_learn_and_the_parts_partition_the_data() {
    for (n, fraction, test) in [
        (150, 0.2, 30),
        (442, 0.2, 89),
        (1797, 0.2, 360),
        (10, 0.25, 3),
    ] {
        let (train_part, test_part) = numbered(n).split(fraction, 0).expect("splits");
        assert_eq!((train_part.len(), test_part.len()), (n - test, test));
        let train_ids: BTreeSet<usize> = ids(&train_part).into_iter().collect();
        let test_ids: BTreeSet<usize> = ids(&test_part).into_iter().collect();
        assert_eq!(train_ids.len(), n - test, "no sample is repeated");
        assert!(train_ids.is_disjoint(&test_ids));
        assert_eq!(train_ids.union(&test_ids).count(), n);
    }
}

#[test]
fn split_is_fixed_by_its_seed() {
    let data = numbered(150);
    let (train_a, test_a) = data.split(0.2, 7).expect("splits");
    let (train_b, test_b) = data.split(0.2, 7).expect("splits");
    assert_eq!((&train_a, &test_a), (&train_b, &test_b));
    let (_, test_c) = data.split(0.2, 8).expect("splits");
    assert_ne!(ids(&test_a), ids(&test_c));
    // Shuffled, not the first or last rows in order.
    assert_ne!(ids(&test_a), (0..30).collect::<Vec<_>>());
    assert_ne!(ids(&test_a), (120..150).collect::<Vec<_>>());
}

#[test]
fn split_errors() {
    for fraction in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        let error = numbered(10).split(fraction, 0).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::InvalidOption {
                    option: "the test fraction",
                    ..
                }
            ),
            "{error:?}"
        );
    }
    assert_eq!(
        numbered(10).split(1.5, 0).unwrap_err().to_string(),
        "the test fraction must be a number above 0 and below 1, but is 1.5"
    );
    let error = numbered(10).split(0.95, 0).unwrap_err();
    assert_eq!(
        error,
        DataError::EmptySplit {
            samples: 10,
            test_fraction: 0.95,
            train: 0,
            test: 10
        }
    );
    assert_eq!(
        error.to_string(),
        "expected at least one sample on each side of the split, but a test fraction of 0.95 of 10 \
         samples leaves 0 for training and 10 for testing"
    );
    assert!(matches!(
        numbered(1).split(0.5, 0).unwrap_err(),
        DataError::EmptySplit {
            train: 0,
            test: 1,
            ..
        }
    ));
}

#[test]
fn subset_picks_samples_in_the_order_given() {
    let data = numbered(5);
    assert_eq!(ids(&data.subset(&[4, 0, 4]).expect("valid")), [4, 0, 4]);
    let error = data.subset(&[0, 5, 9]).unwrap_err();
    assert_eq!(
        error,
        DataError::IndexOutOfRange {
            index: 5,
            position: 1,
            len: 5
        }
    );
    assert_eq!(
        error.to_string(),
        "expected sample indices below 5 (the dataset's length), but index 5 at position 1 of the list is out of range"
    );
    assert_eq!(data.subset(&[]).unwrap_err(), DataError::Empty);
}

#[test]
fn batches_cover_the_data_in_order() {
    let data = numbered(7);
    let batches = data.batches(3).expect("valid size");
    assert_eq!(batches.len(), 3);
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for (inputs, targets) in batches {
        assert_eq!(inputs.len(), targets.len());
        sizes.push(inputs.len());
        for (x, y) in inputs.iter().zip(targets) {
            assert_eq!(y[0], 10.0 * x[0]);
            seen.push(x[0] as usize);
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, (0..7).collect::<Vec<_>>());
    assert_eq!(data.batches(100).expect("valid size").count(), 1);
    let error = data.batches(0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the batch size must be at least 1, but is 0"
    );
}

// The baselines' split.

#[test]
fn the_baseline_splits_partition_each_file() {
    for (name, rows, train_rows) in [
        ("iris", reference::IRIS_ROWS, reference::IRIS_TRAIN_ROWS),
        (
            "diabetes",
            reference::DIABETES_ROWS,
            reference::DIABETES_TRAIN_ROWS,
        ),
        (
            "digits",
            reference::DIGITS_ROWS,
            reference::DIGITS_TRAIN_ROWS,
        ),
    ] {
        let split = common::load_split(name).expect("the split loads");
        assert_eq!(split.train.len(), train_rows, "{name}");
        assert_eq!(split.test.len(), rows - train_rows, "{name}");
        let all: BTreeSet<usize> = split.train.iter().chain(&split.test).copied().collect();
        assert_eq!(all, (0..rows).collect(), "{name}");
    }
    // The first indices as written in splits_seed0.json.
    let iris = common::load_split("iris").expect("the split loads");
    assert_eq!(iris.train[..3], [137, 84, 27]);
    assert_eq!(iris.test[..3], [114, 62, 33]);
    let train = self::iris().subset(&iris.train).expect("valid indices");
    assert_eq!(train.inputs()[0], self::iris().inputs()[137]);
}

#[test]
fn split_file_errors_say_where() {
    let error = common::parse_split("{\n  \"iris\": [1,,2]\n}", "iris").unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 2, column 14: expected a JSON value"
    );
    let error = common::parse_split("{\"iris\": {}}", "digits").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected a list of row indices at `digits`, but found none"
    );
    let error = common::parse_split("{\"iris\": {\"train_idx\": [1]}}", "iris").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected a list of row indices at `iris.test_idx`, but found none"
    );
    let json = "{\"iris\": {\"train_idx\": [0, 2.5], \"test_idx\": [1]}}";
    let error = common::parse_split(json, "iris").unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected row indices (whole numbers, 0 or above) in `iris.train_idx`, but item 1 is a number that is not a row index"
    );
    let json = "{\"doc\": \"a \\\"quoted\\\" \\u00e9\", \"iris\": {\"train_idx\": [0, 2], \"test_idx\": [1]}}";
    let split = common::parse_split(json, "iris").expect("parses");
    assert_eq!((split.train, split.test), (vec![0, 2], vec![1]));
}
