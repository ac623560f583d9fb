//! Parity with PyTorch's `nn.LSTM`, `nn.GRU` and `nn.RNN`: their state dicts, saved by
//! safetensors' torch writer, load into the matching networks by PyTorch's tensor names, and
//! the outputs over a sequence match PyTorch's (tests/reference/recurrent_reference.py).

#[allow(dead_code)]
mod fixture {
    include!("fixtures/recurrent_reference.rs");
}

use typenn::prelude::*;
use typenn::{LoadError, Scalar};

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
    struct TanhNet {
        cell: Rnn<2, 5>,
        out: Dense<5, 3>,
    }
}

network! {
    struct ReluNet {
        cell: Rnn<2, 5, Relu>,
        out: Dense<5, 3>,
    }
}

const LSTM_F64: &[u8] = include_bytes!("fixtures/recurrent_lstm_f64.safetensors");
const LSTM_F32: &[u8] = include_bytes!("fixtures/recurrent_lstm_f32.safetensors");
const GRU_F64: &[u8] = include_bytes!("fixtures/recurrent_gru_f64.safetensors");
const RNN_TANH_F64: &[u8] = include_bytes!("fixtures/recurrent_rnn_tanh_f64.safetensors");
const RNN_RELU_F64: &[u8] = include_bytes!("fixtures/recurrent_rnn_relu_f64.safetensors");

/// The fixture's input sequence, one time step per column.
fn inputs<T: Scalar>() -> SMatrix<T, 2, 5> {
    SMatrix::from_fn(|i, t| T::cast_from(fixture::INPUTS[t][i]))
}

/// The largest difference from PyTorch's outputs, printed for the report.
fn largest_error<T: Scalar>(label: &str, got: &SMatrix<T, 3, 5>, want: &[[f64; 3]; 5]) -> f64 {
    let mut largest = 0.0_f64;
    for (t, row) in want.iter().enumerate() {
        for (i, want) in row.iter().enumerate() {
            largest = largest.max((got[(i, t)].as_f64() - want).abs());
        }
    }
    println!("{label}: largest difference from PyTorch {largest:e}");
    largest
}

#[test]
fn lstm_matches_pytorch() -> Result<(), LoadError> {
    let net = <LstmNet<f64> as Persist<f64>>::from_safetensors_bytes(LSTM_F64)?;
    let mut state = LstmNetState::zeros();
    let outputs = net.sequence(&mut state, &inputs());
    assert!(largest_error("LSTM f64", &outputs, &fixture::LSTM_OUTPUTS) < 1e-12);
    for j in 0..5 {
        assert!((state.cell.h[j] - fixture::LSTM_H[j]).abs() < 1e-12);
        assert!((state.cell.c[j] - fixture::LSTM_C[j]).abs() < 1e-12);
    }
    Ok(())
}

#[test]
fn lstm_matches_pytorch_in_f32() -> Result<(), LoadError> {
    let net = LstmNet::from_safetensors_bytes(LSTM_F32)?;
    let outputs = net.sequence(&mut LstmNetState::zeros(), &inputs());
    assert!(largest_error("LSTM f32", &outputs, &fixture::LSTM_F32_OUTPUTS) < 1e-5);
    Ok(())
}

#[test]
fn gru_matches_pytorch() -> Result<(), LoadError> {
    let net = <GruNet<f64> as Persist<f64>>::from_safetensors_bytes(GRU_F64)?;
    let mut state = GruNetState::zeros();
    let outputs = net.sequence(&mut state, &inputs());
    assert!(largest_error("GRU f64", &outputs, &fixture::GRU_OUTPUTS) < 1e-12);
    for j in 0..5 {
        assert!((state.cell[j] - fixture::GRU_H[j]).abs() < 1e-12);
    }
    Ok(())
}

#[test]
fn rnn_matches_pytorch_with_tanh_and_relu() -> Result<(), LoadError> {
    let tanh = <TanhNet<f64> as Persist<f64>>::from_safetensors_bytes(RNN_TANH_F64)?;
    let outputs = tanh.sequence(&mut TanhNetState::zeros(), &inputs());
    assert!(largest_error("RNN tanh f64", &outputs, &fixture::RNN_TANH_OUTPUTS) < 1e-12);
    let relu = <ReluNet<f64> as Persist<f64>>::from_safetensors_bytes(RNN_RELU_F64)?;
    let mut state = ReluNetState::zeros();
    let outputs = relu.sequence(&mut state, &inputs());
    assert!(largest_error("RNN relu f64", &outputs, &fixture::RNN_RELU_OUTPUTS) < 1e-12);
    for j in 0..5 {
        assert!((state.cell[j] - fixture::RNN_RELU_H[j]).abs() < 1e-12);
    }
    Ok(())
}

#[test]
fn a_file_for_another_cell_is_refused() {
    // A GRU's weight_ih_l0 is [15, 2], an LSTM's [20, 2].
    let error = <LstmNet<f64> as Persist<f64>>::from_safetensors_bytes(GRU_F64).err();
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    println!("{message}");
    assert!(message.contains("cell.weight_ih_l0"), "{message}");
}
