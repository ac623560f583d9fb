//! Weights in and out as safetensors: exact round trips, PyTorch's names, shapes and layout,
//! files written by hand in numpy (`tests/reference/make_safetensors.py`), and every mistake a
//! file can hold, each leaving the network as it was.

use rand::RngExt;
use typenn::persist::{self, Dtype, SafeTensorError};
use typenn::prelude::*;
use typenn::{LoadError, LoadOptions, SaveError, Scalar};

#[path = "fixtures/safetensors_reference.rs"]
mod reference;
#[path = "support/safetensors.rs"]
mod support;

use support::{f32_tensor, f64_tensor, file};

network! {
    /// `nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))`, the numpy fixture's shape.
    #[derive(Debug)]
    struct Seq(Dense<3, 4, Relu>, Dense<4, 2>);
}

network! {
    /// Named layers, as the numpy fixture's second model.
    #[derive(Debug)]
    struct Named {
        hidden: Dense<2, 3, Tanh>,
        output: Dense<3, 1, Sigmoid>,
    }
}

network! {
    /// The network of `examples/embed.rs`.
    #[derive(Debug)]
    struct Sine(Dense<1, 16, Tanh>, Dense<16, 1>);
}

/// Every parameter, tensor after tensor.
fn values<T: Scalar, N: Parameters<T>>(network: &N) -> Vec<T> {
    (0..N::TENSORS)
        .flat_map(|i| network.tensor(i).to_vec())
        .collect()
}

/// A network whose every parameter (biases too) is drawn from U(-1, 1).
fn random<T: Scalar, N: Parameters<T>>(seed: u64) -> N {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut network = N::zeros();
    for i in 0..N::TENSORS {
        for value in network.tensor_mut(i) {
            *value = T::cast_from(rng.random_range(-1.0..1.0));
        }
    }
    network
}

fn bits<T: Scalar>(values: &[T]) -> Vec<f64> {
    values.iter().map(|v| v.as_f64()).collect()
}

/// Loads `bytes` into a random `Seq` with `options`, expects an error, and checks that not one
/// parameter changed.
fn load_error(bytes: &[u8], options: &LoadOptions) -> LoadError {
    let mut network: Seq = random(7);
    let before = values(&network);
    let error = network
        .load_safetensors(bytes, options)
        .expect_err("the file should be refused");
    assert_eq!(
        bits(&values(&network)),
        bits(&before),
        "a failed load changed the network: {error}"
    );
    error
}

/// A valid `Seq` file, tensors given row by row (PyTorch's layout).
fn seq_file(w0: &[f32], b0: &[f32], w1: &[f32], b1: &[f32]) -> Vec<u8> {
    file(&[
        f32_tensor("0.weight", &[4, 3], w0),
        f32_tensor("0.bias", &[4], b0),
        f32_tensor("1.weight", &[2, 4], w1),
        f32_tensor("1.bias", &[2], b1),
    ])
}

/// Distinct, recognisable values: 12 for `0.weight`, 4, 8 and 2 for the others.
fn seq_values() -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let ramp = |n: usize, base: f32| (0..n).map(|i| base + i as f32 / 8.0).collect::<Vec<f32>>();
    (ramp(12, 1.0), ramp(4, -1.0), ramp(8, 3.0), ramp(2, -3.0))
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn f32_round_trip_is_exact() -> Result<(), Box<dyn std::error::Error>> {
    let network: Seq = random(1);
    let loaded: Seq = Seq::from_safetensors_bytes(&network.to_safetensors_bytes()?)?;
    assert_eq!(bits(&values(&loaded)), bits(&values(&network)));

    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("persist_round_trip.safetensors");
    network.save_safetensors(&path)?;
    let opened: Seq = Seq::open_safetensors(&path)?;
    assert_eq!(bits(&values(&opened)), bits(&values(&network)));
    let mut into: Seq = random(2);
    into.load_safetensors_file(&path, &LoadOptions::new())?;
    assert_eq!(bits(&values(&into)), bits(&values(&network)));
    Ok(())
}

/// `Seq::open_safetensors(path)` names no scalar type and no annotation: the default `f32`
/// network's own methods answer, as `Seq::new` does, while `f64` goes through the trait.
#[test]
fn the_default_precision_loads_without_a_turbofish() -> Result<(), Box<dyn std::error::Error>> {
    let network: Seq = random(3);
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("persist_no_turbofish.safetensors");
    network.save_safetensors(&path)?;
    let opened = Seq::open_safetensors(&path)?;
    assert_eq!(bits(&values(&opened)), bits(&values(&network)));
    let read = Seq::from_safetensors_bytes(&network.to_safetensors_bytes()?)?;
    assert_eq!(bits(&values(&read)), bits(&values(&network)));
    // An f64 file is refused for the f32 network with the dtype named, and read as f64.
    let wide = Seq::<f64>::zeros();
    let bytes = wide.to_safetensors_bytes()?;
    assert!(matches!(
        Seq::from_safetensors_bytes(&bytes),
        Err(LoadError::WrongDtype { .. })
    ));
    let _: Seq<f64> = Seq::<f64>::from_safetensors_bytes(&bytes)?;
    Ok(())
}

#[test]
fn f64_round_trip_is_exact() -> Result<(), Box<dyn std::error::Error>> {
    let network: Named<f64> = random(3);
    // The values use f64's precision: an f32 detour would lose it.
    assert!(values(&network).iter().any(|v| f64::from(*v as f32) != *v));
    let bytes = persist::to_bytes(&network)?;
    let loaded: Named<f64> = persist::from_bytes(&bytes, &LoadOptions::new())?;
    assert_eq!(values(&loaded), values(&network));
    assert_eq!(
        loaded.forward(&SVector::from([0.3, -0.7])),
        network.forward(&SVector::from([0.3, -0.7]))
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What the file holds, read back by hand

#[test]
fn tuple_struct_is_saved_as_nn_sequential_row_major() -> Result<(), Box<dyn std::error::Error>> {
    let network: Seq = random(4);
    let bytes = network.to_safetensors_bytes()?;
    let header = support::header(&bytes);
    let data = support::data(&bytes);
    assert_eq!(header.matches("data_offsets").count(), 4, "{header}");
    assert!(!header.contains("__metadata__"), "{header}");

    let weights = [
        ("0.weight", network.0.weights.as_slice(), 4, 3),
        ("1.weight", network.1.weights.as_slice(), 2, 4),
    ];
    for (name, slice, rows, cols) in weights {
        let entry = support::entry(header, name).ok_or(name)?;
        assert_eq!(
            (entry.dtype.as_str(), entry.shape.as_slice()),
            ("F32", &[rows, cols][..])
        );
        let bytes = &data[entry.offsets.0..entry.offsets.1];
        assert_eq!(bytes.len(), rows * cols * 4);
        for r in 0..rows {
            for c in 0..cols {
                let at = (r * cols + c) * 4;
                let stored = f32::from_le_bytes(bytes[at..at + 4].try_into()?);
                // Row r of PyTorch's weight is unit r's input weights: nalgebra's (r, c),
                // at c * rows + r of its column-major slice.
                assert_eq!(stored, slice[c * rows + r], "{name}[{r}, {c}]");
            }
        }
    }
    let biases = [
        ("0.bias", network.0.bias.as_slice()),
        ("1.bias", network.1.bias.as_slice()),
    ];
    for (name, slice) in biases {
        let entry = support::entry(header, name).ok_or(name)?;
        assert_eq!(
            entry.shape,
            [slice.len()],
            "a bias is one-dimensional, as in PyTorch"
        );
        let stored: Vec<f32> = data[entry.offsets.0..entry.offsets.1]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(stored, slice);
    }
    Ok(())
}

#[test]
fn named_struct_uses_field_names_and_f64_uses_f64() -> Result<(), Box<dyn std::error::Error>> {
    let network: Named<f64> = random(5);
    let bytes = network.to_safetensors_bytes()?;
    let header = support::header(&bytes);
    let expected = [
        ("hidden.weight", vec![3, 2]),
        ("hidden.bias", vec![3]),
        ("output.weight", vec![1, 3]),
        ("output.bias", vec![1]),
    ];
    for (name, shape) in expected {
        let entry = support::entry(header, name).ok_or(name)?;
        assert_eq!(entry.dtype, "F64", "{name}");
        assert_eq!(entry.shape, shape, "{name}");
        assert_eq!(
            entry.offsets.1 - entry.offsets.0,
            shape.iter().product::<usize>() * 8
        );
    }
    assert_eq!(header.matches("data_offsets").count(), 4, "{header}");
    let entry = support::entry(header, "hidden.weight").ok_or("hidden.weight")?;
    let at = entry.offsets.0 + (2 * 2 + 1) * 8; // row 2, column 1 of a 3 x 2 matrix
    let stored = f64::from_le_bytes(support::data(&bytes)[at..at + 8].try_into()?);
    assert_eq!(stored, network.hidden.weights[(2, 1)]);
    Ok(())
}

#[test]
fn a_lone_layer_is_named_weight_and_bias() -> Result<(), Box<dyn std::error::Error>> {
    let layer = Dense::<2, 3>::zeros();
    let bytes = layer.to_safetensors_bytes()?;
    let header = support::header(&bytes);
    assert_eq!(
        support::entry(header, "weight").map(|e| e.shape),
        Some(vec![3, 2])
    );
    assert_eq!(
        support::entry(header, "bias").map(|e| e.shape),
        Some(vec![3])
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Files written by hand in numpy

#[test]
fn numpy_sequential_file_loads_with_sequential_indices() -> Result<(), Box<dyn std::error::Error>> {
    let bytes = include_bytes!("fixtures/sequential_f32.safetensors");
    let mut network = Seq::zeros();
    network.load_safetensors(bytes, &LoadOptions::new().sequential_indices(&[0, 2]))?;
    check_sequential(&network);

    let renamed = LoadOptions::new().rename(|name| name.replacen("1.", "2.", 1));
    let mut again: Seq = random(8);
    again.load_safetensors(bytes, &renamed)?;
    check_sequential(&again);
    Ok(())
}

/// The numpy file's values, element by element (exact: they are f32 numbers), and its outputs.
fn check_sequential(network: &Seq) {
    for r in 0..4 {
        for c in 0..3 {
            assert_eq!(
                network.0.weights[(r, c)],
                reference::SEQ_W0[r][c] as f32,
                "0.weight[{r}, {c}]"
            );
        }
        assert_eq!(network.0.bias[r], reference::SEQ_B0[r] as f32);
    }
    for r in 0..2 {
        for c in 0..4 {
            assert_eq!(
                network.1.weights[(r, c)],
                reference::SEQ_W2[r][c] as f32,
                "2.weight[{r}, {c}]"
            );
        }
        assert_eq!(network.1.bias[r], reference::SEQ_B2[r] as f32);
    }
    for (input, output) in reference::SEQ_INPUTS.iter().zip(reference::SEQ_OUTPUTS) {
        let y = network.forward(&SVector::from(input.map(|v| v as f32)));
        for (got, want) in y.iter().zip(output) {
            assert!(
                (f64::from(*got) - want).abs() < 1e-5,
                "{got} vs numpy {want}"
            );
        }
    }
}

#[test]
fn numpy_named_f64_file_loads_exactly() -> Result<(), Box<dyn std::error::Error>> {
    let network =
        Named::<f64>::from_safetensors_bytes(include_bytes!("fixtures/named_f64.safetensors"))?;
    for r in 0..3 {
        for c in 0..2 {
            assert_eq!(
                network.hidden.weights[(r, c)],
                reference::NAMED_HIDDEN_W[r][c]
            );
        }
        assert_eq!(network.hidden.bias[r], reference::NAMED_HIDDEN_B[r]);
        assert_eq!(
            network.output.weights[(0, r)],
            reference::NAMED_OUTPUT_W[0][r]
        );
    }
    assert_eq!(network.output.bias[0], reference::NAMED_OUTPUT_B[0]);
    for (input, output) in reference::NAMED_INPUTS.iter().zip(reference::NAMED_OUTPUTS) {
        let y = network.forward(&SVector::from(*input));
        assert!(
            (y[0] - output[0]).abs() < 1e-12,
            "{} vs numpy {}",
            y[0],
            output[0]
        );
    }
    // The same file does not fit an f32 network.
    let error =
        Named::<f32>::from_safetensors_bytes(include_bytes!("fixtures/named_f64.safetensors"))
            .unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::WrongDtype {
                expected: Dtype::F32,
                found: Dtype::F64,
                ..
            }
        ),
        "{error}"
    );
    Ok(())
}

#[test]
fn the_embedded_example_model_is_valid_and_follows_sine() -> Result<(), Box<dyn std::error::Error>>
{
    let model =
        Sine::from_safetensors_bytes(include_bytes!("../examples/models/sine.safetensors"))?;
    for i in 0..=100 {
        let x = -std::f32::consts::PI + 2.0 * std::f32::consts::PI * i as f32 / 100.0;
        let y = model.forward(&SVector::from([x]))[0];
        assert!(
            (y - x.sin()).abs() < 0.05,
            "model({x}) = {y}, sin = {}",
            x.sin()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Every mistake: a typed error, and the network unchanged

#[test]
fn missing_tensor_is_named_with_what_the_file_holds() {
    let error = load_error(
        include_bytes!("fixtures/sequential_f32.safetensors"),
        &LoadOptions::new(),
    );
    match &error {
        LoadError::MissingTensor {
            tensor,
            parameter,
            available,
        } => {
            assert_eq!(
                (tensor.as_str(), parameter.as_str()),
                ("1.weight", "1.weight")
            );
            assert_eq!(available, &["0.bias", "0.weight", "2.bias", "2.weight"]);
        }
        other => panic!("expected MissingTensor, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "expected a tensor named `1.weight`, but the file has none; it holds `0.bias`, `0.weight`, `2.bias`, `2.weight`"
    );

    // Renamed: both names are reported.
    let error = load_error(
        include_bytes!("fixtures/sequential_f32.safetensors"),
        &LoadOptions::new().sequential_indices(&[0, 3]),
    );
    assert!(
        error
            .to_string()
            .starts_with("expected a tensor named `3.weight` (the network's `1.weight`)"),
        "{error}"
    );
}

#[test]
fn extra_tensors_are_named_unless_allowed() -> Result<(), Box<dyn std::error::Error>> {
    let (w0, b0, w1, b1) = seq_values();
    let bytes = file(&[
        f32_tensor("0.weight", &[4, 3], &w0),
        f32_tensor("0.bias", &[4], &b0),
        f32_tensor("1.weight", &[2, 4], &w1),
        f32_tensor("1.bias", &[2], &b1),
        f32_tensor("optimizer.momentum", &[2], &[0.5, 0.5]),
        f64_tensor("2.weight", &[1], &[1.0]),
    ]);
    let error = load_error(&bytes, &LoadOptions::new());
    match &error {
        LoadError::UnexpectedTensors { tensors } => {
            assert_eq!(tensors, &["2.weight", "optimizer.momentum"])
        }
        other => panic!("expected UnexpectedTensors, got {other:?}"),
    }
    assert!(error.to_string().contains("allow_extra_tensors"), "{error}");

    let mut network: Seq = random(9);
    network.load_safetensors(&bytes, &LoadOptions::new().allow_extra_tensors(true))?;
    assert_eq!(network.1.weights[(1, 3)], w1[7]);
    Ok(())
}

#[test]
fn wrong_shapes_say_expected_and_found() {
    let (w0, b0, w1, b1) = seq_values();
    // A weight saved in nalgebra's (in, out) order instead of PyTorch's (out, in).
    let transposed = file(&[
        f32_tensor("0.weight", &[3, 4], &w0),
        f32_tensor("0.bias", &[4], &b0),
        f32_tensor("1.weight", &[2, 4], &w1),
        f32_tensor("1.bias", &[2], &b1),
    ]);
    let error = load_error(&transposed, &LoadOptions::new());
    assert!(
        matches!(&error, LoadError::WrongShape { tensor, expected, found }
            if tensor == "0.weight" && expected == &[4, 3] && found == &[3, 4]),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected tensor `0.weight` of shape [4, 3], but found shape [3, 4]"
    );

    // A bias saved as a column, and as the wrong length.
    for shape in [&[2, 1][..], &[1, 2], &[]] {
        let bytes = file(&[
            f32_tensor("0.weight", &[4, 3], &w0),
            f32_tensor("0.bias", &[4], &b0),
            f32_tensor("1.weight", &[2, 4], &w1),
            f32_tensor("1.bias", shape, &b1[..shape.iter().product::<usize>()]),
        ]);
        let error = load_error(&bytes, &LoadOptions::new());
        assert!(
            matches!(&error, LoadError::WrongShape { tensor, expected, found }
                if tensor == "1.bias" && expected == &[2] && found == shape),
            "{error:?}"
        );
    }
}

#[test]
fn wrong_dtypes_say_expected_and_found() {
    let (w0, _, w1, b1) = seq_values();
    let as_f64: Vec<f64> = [-1.0, -0.875, -0.75, -0.625].to_vec();
    let bytes = file(&[
        f32_tensor("0.weight", &[4, 3], &w0),
        f64_tensor("0.bias", &[4], &as_f64),
        f32_tensor("1.weight", &[2, 4], &w1),
        f32_tensor("1.bias", &[2], &b1),
    ]);
    let error = load_error(&bytes, &LoadOptions::new());
    assert!(
        matches!(&error, LoadError::WrongDtype { tensor, expected: Dtype::F32, found: Dtype::F64 } if tensor == "0.bias"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected tensor `0.bias` to hold F32 values, but it holds F64"
    );

    // Half precision, of the right byte count for nothing else: refused, not reinterpreted.
    for (dtype, width) in [("F16", 2), ("BF16", 2), ("I32", 4), ("U8", 1)] {
        let mut tensors = vec![
            f32_tensor("0.weight", &[4, 3], &w0),
            f32_tensor("0.bias", &[4], &[0.0; 4]),
            f32_tensor("1.weight", &[2, 4], &w1),
            f32_tensor("1.bias", &[2], &b1),
        ];
        tensors[3].dtype = dtype;
        tensors[3].data = vec![0x3c; 2 * width];
        let error = load_error(&file(&tensors), &LoadOptions::new());
        assert!(
            matches!(&error, LoadError::WrongDtype { tensor, expected: Dtype::F32, found } if tensor == "1.bias" && found.to_string() == dtype),
            "{dtype}: {error:?}"
        );
    }
}

#[test]
fn non_finite_values_are_located_even_in_the_last_tensor() {
    let (w0, b0, w1, b1) = seq_values();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        // Row 2, column 1 of the first weight.
        let mut w = w0.clone();
        w[2 * 3 + 1] = bad;
        let error = load_error(&seq_file(&w, &b0, &w1, &b1), &LoadOptions::new());
        assert!(
            matches!(&error, LoadError::NonFinite { tensor, index, value }
                if tensor == "0.weight" && index == &[2, 1] && value.to_bits() == f64::from(bad).to_bits()),
            "{error:?}"
        );

        // The last value of the last tensor: every tensor before it was valid, and still nothing
        // is written.
        let mut b = b1.clone();
        b[1] = bad;
        let error = load_error(&seq_file(&w0, &b0, &w1, &b), &LoadOptions::new());
        assert!(
            matches!(&error, LoadError::NonFinite { tensor, index, .. } if tensor == "1.bias" && index == &[1]),
            "{error:?}"
        );
    }
    let mut w = w1.clone();
    w[5] = f32::INFINITY;
    let error = load_error(&seq_file(&w0, &b0, &w, &b1), &LoadOptions::new());
    assert_eq!(
        error.to_string(),
        "expected finite numbers, but tensor `1.weight` holds inf at index [1, 1]"
    );
}

#[test]
fn broken_files_are_format_errors() {
    let (w0, b0, w1, b1) = seq_values();
    let good = seq_file(&w0, &b0, &w1, &b1);
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;

    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("shorter than the length field", good[..7].to_vec()),
        ("cut inside the header", good[..8 + header_len / 2].to_vec()),
        ("cut inside the data", good[..good.len() - 1].to_vec()),
        ("a byte too many", [good.as_slice(), &[0]].concat()),
        ("not JSON", [&8u64.to_le_bytes()[..], b"not json"].concat()),
        (
            "not UTF-8",
            [&4u64.to_le_bytes()[..], &[0xff, 0xfe, 0xfd, 0xfc]].concat(),
        ),
        ("a JSON list", [&2u64.to_le_bytes()[..], b"[]"].concat()),
    ];
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("header length u64::MAX", huge));
    let mut longer = good.clone();
    longer[..8].copy_from_slice(&(good.len() as u64).to_le_bytes());
    cases.push(("header length past the end", longer));
    let gap = good_with_header(&good, |h| h.replacen("[0,48]", "[4,52]", 1));
    cases.push(("offsets with a gap", gap));
    let overlap = good_with_header(&good, |h| h.replacen("[48,64]", "[40,56]", 1));
    cases.push(("overlapping offsets", overlap));
    let unknown = good_with_header(&good, |h| h.replacen("\"F32\"", "\"F31\"", 1));
    cases.push(("unknown dtype", unknown));
    let mismatch = good_with_header(&good, |h| h.replacen("[4,3]", "[4,4]", 1));
    cases.push(("shape does not fit the offsets", mismatch));
    cases.push(("offsets that overflow", overflowing_offsets()));

    for (what, bytes) in cases {
        let error = load_error(&bytes, &LoadOptions::new());
        assert!(matches!(error, LoadError::Format(_)), "{what}: {error:?}");
        assert!(
            error
                .to_string()
                .starts_with("expected a safetensors file, but "),
            "{what}: {error}"
        );
        assert!(std::error::Error::source(&error).is_some(), "{what}");
    }

    let error = load_error(&good[..8 + header_len / 2], &LoadOptions::new());
    assert!(
        matches!(
            error,
            LoadError::Format(SafeTensorError::InvalidHeaderLength)
        ),
        "{error:?}"
    );
    let error = load_error(&good[..good.len() - 1], &LoadOptions::new());
    assert!(
        matches!(
            error,
            LoadError::Format(SafeTensorError::MetadataIncompleteBuffer)
        ),
        "{error:?}"
    );
    // The crate's own words for a bad offset or a shape that does not fit its bytes.
    let gap = good_with_header(&good, |h| h.replacen("[0,48]", "[4,52]", 1));
    let error = load_error(&gap, &LoadOptions::new());
    assert!(
        matches!(&error, LoadError::Format(SafeTensorError::InvalidOffset(name)) if name == "0.weight"),
        "{error:?}"
    );
    let mismatch = good_with_header(&good, |h| h.replacen("[4,3]", "[4,4]", 1));
    let error = load_error(&mismatch, &LoadOptions::new());
    assert!(
        matches!(error, LoadError::Format(SafeTensorError::TensorInvalidInfo)),
        "{error:?}"
    );
    let error = load_error(&overflowing_offsets(), &LoadOptions::new());
    assert!(
        matches!(
            error,
            LoadError::Format(SafeTensorError::MetadataIncompleteBuffer)
        ),
        "{error:?}"
    );
}

/// `bytes` with its JSON header edited by `edit` and the length field updated.
fn good_with_header(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let header = edit(support::header(bytes));
    assert_ne!(
        header,
        support::header(bytes),
        "the edit must change the header"
    );
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(support::data(bytes));
    out
}

/// Eight tensors of 2^61 - 1 bytes each: consistent offsets whose end, plus the header, passes
/// `usize::MAX`. safetensors 0.8.0's `SafeTensors::deserialize` overflows on this sum (a panic
/// with overflow checks on); the loader must refuse it first.
fn overflowing_offsets() -> Vec<u8> {
    let size: u64 = (1 << 61) - 1;
    let tensors: Vec<String> = (0..8u64)
        .map(|i| {
            format!(
                r#""t{i}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
                i * size,
                (i + 1) * size
            )
        })
        .collect();
    let header = format!("{{{}}}", tensors.join(","));
    [&(header.len() as u64).to_le_bytes()[..], header.as_bytes()].concat()
}

#[test]
fn options_that_cannot_fit_the_network() {
    let bytes = include_bytes!("fixtures/sequential_f32.safetensors");
    let error = load_error(bytes, &LoadOptions::new().sequential_indices(&[0]));
    assert!(
        matches!(
            error,
            LoadError::IndexCount {
                layers: 2,
                indices: 1
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected one module index or Keras layer name per layer (2), but the options list 1"
    );

    let error = load_error(
        bytes,
        &LoadOptions::new().rename(|name| name.replace("bias", "weight")),
    );
    assert!(
        matches!(&error, LoadError::NameCollision { tensor, first, second }
            if tensor == "0.weight" && first == "0.weight" && second == "0.bias"),
        "{error:?}"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("no such model.safetensors");
    let error = Seq::<f32>::open_safetensors(&path).unwrap_err();
    assert!(
        matches!(&error, LoadError::Io { path: p, .. } if p == &path),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("no such model.safetensors"),
        "{error}"
    );
}

#[test]
fn saving_refuses_non_finite_parameters_and_reports_io() {
    let mut network: Seq = random(10);
    network.1.weights[(1, 2)] = f32::NAN;
    let error = network.to_safetensors_bytes().unwrap_err();
    assert!(
        matches!(&error, SaveError::NonFinite { tensor, index, value } if tensor == "1.weight" && index == &[1, 2] && value.is_nan()),
        "{error:?}"
    );
    network.1.weights[(1, 2)] = 0.5;
    network.0.bias[3] = f32::NEG_INFINITY;
    let error = network.to_safetensors_bytes().unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected finite parameters, but tensor `0.bias` holds -inf at index [3]"
    );

    network.0.bias[3] = 0.0;
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("no such directory/model.safetensors");
    let error = network.save_safetensors(&path).unwrap_err();
    assert!(matches!(error, SaveError::Io { .. }), "{error:?}");
}
