//! Keras's own LSTM, GRU and SimpleRNN, each followed by a Dense at every time step, load by
//! Keras's names (`kernel`, `recurrent_kernel`, `bias`) with their gates put in PyTorch's order,
//! and give Keras's outputs over a sequence (tests/reference/keras_recurrent.py).

#[allow(dead_code)]
mod fixture {
    include!("fixtures/keras_recurrent_outputs.rs");
}

use typenn::prelude::*;
use typenn::{LoadError, LoadOptions, Scalar};

network! {
    struct LstmNet {
        cell: Lstm<2, 5>,
        out: Dense<5, 3>,
    }
}

network! {
    struct GruNet {
        cell: Gru<2, 5>,
        out: Dense<5, 3>,
    }
}

network! {
    struct RnnNet {
        cell: Rnn<2, 5>,
        out: Dense<5, 3>,
    }
}

const LSTM: &[u8] = include_bytes!("fixtures/keras_lstm.safetensors");
const GRU: &[u8] = include_bytes!("fixtures/keras_gru.safetensors");
const SIMPLE_RNN: &[u8] = include_bytes!("fixtures/keras_simple_rnn.safetensors");
const LSTM_F32: &[u8] = include_bytes!("fixtures/keras_lstm_f32.safetensors");
const GRU_F32: &[u8] = include_bytes!("fixtures/keras_gru_f32.safetensors");

/// Keras's recurrent layers' float64 outputs are about 1e-8 to 1e-7 from a numpy forward pass
/// of Keras's own equations over the same weights (the script prints both), so this is the
/// bound against Keras; against those exact values typenn must be far closer (`EXACT`).
const TOLERANCE: f64 = 2e-7;

/// The bound against the numpy forward pass of Keras's equations, in float64.
const EXACT: f64 = 1e-12;

/// The fixture's input sequence, one time step per column.
fn inputs<T: Scalar>() -> SMatrix<T, 2, 6> {
    SMatrix::from_fn(|i, t| T::cast_from(fixture::INPUTS[t][i]))
}

/// The largest difference from `want`, printed for the report.
fn largest_error<T: Scalar>(label: &str, got: &SMatrix<T, 3, 6>, want: &[[f64; 3]; 6]) -> f64 {
    let mut largest = 0.0_f64;
    for (t, row) in want.iter().enumerate() {
        for (i, want) in row.iter().enumerate() {
            largest = largest.max((got[(i, t)].as_f64() - want).abs());
        }
    }
    println!("{label}: largest difference {largest:e}");
    largest
}

#[test]
fn keras_lstm_and_dense_give_keras_outputs() -> Result<(), LoadError> {
    let mut net = LstmNet::<f64>::zeros();
    net.load_safetensors(LSTM, &LoadOptions::new().keras_layers(&["lstm", "dense"]))?;
    // One bias in Keras: PyTorch's hidden-side bias stays zero.
    assert!(
        net.cell
            .bias_hh
            .iter()
            .all(|gate| gate.iter().all(|&b| b == 0.0))
    );
    let outputs = net.sequence(&mut LstmNetState::zeros(), &inputs());
    assert!(largest_error("Keras LSTM f64", &outputs, &fixture::LSTM_OUTPUTS) < TOLERANCE);
    assert!(largest_error("Keras's LSTM equations", &outputs, &fixture::LSTM_EXACT) < EXACT);
    Ok(())
}

#[test]
fn keras_float32_lstm_and_gru_give_keras_outputs_in_f32() -> Result<(), LoadError> {
    let mut lstm = LstmNet::zeros();
    lstm.load_safetensors(
        LSTM_F32,
        &LoadOptions::new().keras_layers(&["lstm", "dense"]),
    )?;
    let outputs = lstm.sequence(&mut LstmNetState::zeros(), &inputs());
    assert!(largest_error("Keras LSTM f32", &outputs, &fixture::LSTM_F32_OUTPUTS) < 1e-5);
    let mut gru = GruNet::zeros();
    gru.load_safetensors(GRU_F32, &LoadOptions::new().keras_layers(&["gru", "dense"]))?;
    let outputs = gru.sequence(&mut GruNetState::zeros(), &inputs());
    assert!(largest_error("Keras GRU f32", &outputs, &fixture::GRU_F32_OUTPUTS) < 1e-5);
    Ok(())
}

#[test]
fn a_float64_keras_file_does_not_load_into_f32() {
    // An f32 network takes F32 tensors only.
    let error = LstmNet::<f32>::zeros()
        .load_safetensors(LSTM, &LoadOptions::new().keras_layers(&["lstm", "dense"]))
        .err();
    assert!(
        matches!(error, Some(LoadError::WrongDtype { .. })),
        "{error:?}"
    );
}

#[test]
fn keras_gru_gates_and_two_row_bias_give_keras_outputs() -> Result<(), LoadError> {
    let mut net = GruNet::<f64>::zeros();
    net.load_safetensors(GRU, &LoadOptions::new().keras_layers(&["gru", "dense"]))?;
    let outputs = net.sequence(&mut GruNetState::zeros(), &inputs());
    assert!(largest_error("Keras GRU f64", &outputs, &fixture::GRU_OUTPUTS) < TOLERANCE);
    assert!(largest_error("Keras's GRU equations", &outputs, &fixture::GRU_EXACT) < EXACT);
    Ok(())
}

#[test]
fn keras_simple_rnn_gives_keras_outputs() -> Result<(), LoadError> {
    let mut net = RnnNet::<f64>::zeros();
    net.load_safetensors(
        SIMPLE_RNN,
        &LoadOptions::new().keras_layers(&["simple_rnn", "dense"]),
    )?;
    let outputs = net.sequence(&mut RnnNetState::zeros(), &inputs());
    let error = largest_error(
        "Keras SimpleRNN f64",
        &outputs,
        &fixture::SIMPLE_RNN_OUTPUTS,
    );
    assert!(error < TOLERANCE);
    let exact = largest_error(
        "Keras's SimpleRNN equations",
        &outputs,
        &fixture::SIMPLE_RNN_EXACT,
    );
    assert!(exact < EXACT);
    Ok(())
}

#[test]
fn a_keras_gru_file_does_not_fit_an_lstm() {
    let error = LstmNet::<f64>::zeros()
        .load_safetensors(GRU, &LoadOptions::new().keras_layers(&["gru", "dense"]))
        .err();
    let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(&error, Some(LoadError::WrongShape { tensor, expected, found })
            if tensor == "gru.kernel" && expected == &[2, 20] && found == &[2, 15]),
        "{message}"
    );
    assert_eq!(
        message,
        "expected tensor `gru.kernel` of shape [2, 20], but found shape [2, 15]"
    );
}

#[test]
fn a_keras_layer_name_that_is_not_in_the_file_is_named() {
    let error = GruNet::<f64>::zeros()
        .load_safetensors(GRU, &LoadOptions::new().keras_layers(&["gru_1", "dense"]))
        .err();
    assert!(
        matches!(&error, Some(LoadError::MissingTensor { tensor, parameter, .. })
            if tensor == "gru_1.kernel" && parameter == "cell.weight_ih_l0"),
        "{error:?}"
    );
}

#[test]
fn one_name_for_two_keras_layers_is_refused() {
    let error = GruNet::<f64>::zeros()
        .load_safetensors(GRU, &LoadOptions::new().keras_layers(&["gru", "gru"]))
        .err();
    assert!(
        matches!(&error, Some(LoadError::NameCollision { tensor, .. }) if tensor == "gru.kernel"),
        "{error:?}"
    );
}

network! {
    /// The LSTM alone: the file's Dense is left over.
    struct LstmOnly {
        cell: Lstm<2, 5>,
    }
}

#[test]
fn a_keras_layer_the_network_does_not_have_is_named() {
    let error = LstmOnly::<f64>::zeros()
        .load_safetensors(LSTM, &LoadOptions::new().keras_layers(&["lstm"]))
        .err();
    assert!(
        matches!(&error, Some(LoadError::UnexpectedTensors { tensors })
            if tensors == &["dense.bias", "dense.kernel"]),
        "{error:?}"
    );
}

/// The file with the first value of tensor `name` replaced by `value`.
fn with_first_value(bytes: &[u8], name: &str, value: f64) -> Vec<u8> {
    let (length, rest) = bytes.split_at(8);
    let length = usize::try_from(u64::from_le_bytes(length.try_into().unwrap_or_default()))
        .unwrap_or_default();
    let header: serde_json::Value = serde_json::from_slice(&rest[..length]).unwrap_or_default();
    let offset = header[name]["data_offsets"][0]
        .as_u64()
        .and_then(|offset| usize::try_from(offset).ok())
        .unwrap_or_default();
    let at = 8 + length + offset;
    let mut bytes = bytes.to_vec();
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
    bytes
}

#[test]
fn a_non_finite_keras_weight_is_named() {
    let bytes = with_first_value(GRU, "gru.bias", f64::NAN);
    let mut net = GruNet::<f64>::zeros();
    let error = net
        .load_safetensors(&bytes, &LoadOptions::new().keras_layers(&["gru", "dense"]))
        .err();
    assert!(
        matches!(&error, Some(LoadError::NonFinite { tensor, index, value })
            if tensor == "gru.bias" && index == &[0, 0] && value.is_nan()),
        "{error:?}"
    );
    assert_eq!(net, GruNet::<f64>::zeros(), "the network was written to");
}

#[test]
fn a_truncated_keras_file_is_refused() {
    let error = GruNet::<f64>::zeros()
        .load_safetensors(
            &GRU[..GRU.len() - 8],
            &LoadOptions::new().keras_layers(&["gru", "dense"]),
        )
        .err();
    assert!(matches!(error, Some(LoadError::Format(_))), "{error:?}");
}
