//! Parity of back-propagation through time with PyTorch (tests/reference/bptt_reference.py
//! and causal_conv_bptt_reference.py): the loss, every tensor's gradient and the input's, and
//! 4 steps of plain SGD, for nn.LSTM, nn.GRU, nn.RNN (tanh and ReLU) and two causal, dilated
//! nn.Conv1d with a Linear at every step, over a batch of sequences; for the convolutions also
//! truncated back-propagation through time with their past inputs carried between windows.

#[allow(dead_code)]
mod fixture {
    include!("fixtures/bptt_reference.rs");
}

#[allow(dead_code)]
mod causal_fixture {
    include!("fixtures/causal_conv_bptt_reference.rs");
}

use typenn::prelude::*;
use typenn::{Scalar, SequenceNetwork, SequenceTrainer};

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

network! {
    /// The causal reference script's model.
    struct CausalNet {
        first: CausalConv1d<2, 4, 3, 2, Tanh>,
        second: CausalConv1d<4, 5, 2, 3>,
        out: Dense<5, 3>,
    }
}

type Batch<T, const W: usize> = Vec<SMatrix<T, W, 6>>;

/// Sequences of steps of `W` numbers, `rows[s][t]` step `t` of sequence `s`, in `T`.
fn sequences<T: Scalar, const W: usize, const STEPS: usize>(
    rows: &[[[f64; W]; STEPS]],
) -> Vec<SMatrix<T, W, STEPS>> {
    rows.iter()
        .map(|s| SMatrix::from_fn(|i, t| T::cast_from(s[t][i])))
        .collect()
}

fn batch<T: Scalar>() -> (Batch<T, 2>, Batch<T, 3>) {
    (sequences(&fixture::INPUTS), sequences(&fixture::TARGETS))
}

/// The largest difference between every tensor of `net` (or its gradients) and PyTorch's, by
/// name; printed for the report.
fn largest_tensor_error<T: Scalar, P: Parameters<T>>(
    label: &str,
    got: &P,
    names: &[&str],
    want: &[(&str, &[f64])],
) -> f64 {
    let mut largest = 0.0_f64;
    assert_eq!(P::TENSORS, want.len());
    for (index, name) in names.iter().enumerate() {
        let (_, values) = want
            .iter()
            .find(|(key, _)| key == name)
            .unwrap_or_else(|| panic!("PyTorch has no {name}"));
        assert_eq!(got.tensor(index).len(), values.len(), "{name}");
        for (g, w) in got.tensor(index).iter().zip(*values) {
            largest = largest.max((g.as_f64() - w).abs());
        }
    }
    println!("{label}: largest difference from PyTorch {largest:e}");
    largest
}

fn names<T: Scalar, N: Parameters<T>>() -> Vec<&'static str> {
    (0..N::TENSORS)
        .map(|i| {
            let info = N::tensor_info(i).unwrap_or_else(|| panic!("tensor {i}"));
            // The fixture names tensors by PyTorch's state-dict keys.
            Box::leak(info.full_name().into_boxed_str()) as &'static str
        })
        .collect()
}

/// Loss, gradients and input gradient, then the SGD trajectory, against PyTorch in f64.
#[allow(clippy::too_many_arguments)]
fn check<N: SequenceNetwork<f64, 2, 3> + Persist<f64>>(
    label: &str,
    bytes: &[u8],
    (inputs, targets): (Batch<f64, 2>, Batch<f64, 3>),
    loss: f64,
    gradients: &[(&str, &[f64])],
    input_gradient: &[[[f64; 2]; 6]; 3],
    sgd_losses: &[f64; 4],
    after: &[(&str, &[f64])],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut net = N::from_safetensors_bytes(bytes)?;
    let (value, got, d_input) = net.gradients_through_time(&inputs, &targets, &Mse);
    println!("{label}: loss {value} (PyTorch {loss})");
    assert!((value - loss).abs() < 1e-13, "{label} loss");
    let names = names::<f64, N>();
    assert!(largest_tensor_error(&format!("{label} gradients"), &got, &names, gradients) < 1e-13);
    let mut largest = 0.0_f64;
    for (s, sequence) in input_gradient.iter().enumerate() {
        for (t, step) in sequence.iter().enumerate() {
            for (i, want) in step.iter().enumerate() {
                largest = largest.max((d_input[s][(i, t)] - want).abs());
            }
        }
    }
    println!("{label} input gradient: largest difference from PyTorch {largest:e}");
    assert!(largest < 1e-13);

    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(0.1))?;
    for (k, want) in sgd_losses.iter().enumerate() {
        let value = trainer.step(&mut net, &inputs, &targets)?;
        assert!(
            (value - want).abs() < 1e-12,
            "{label} SGD step {k}: {value} vs {want}"
        );
    }
    assert!(
        largest_tensor_error(&format!("{label} after 4 SGD steps"), &net, &names, after) < 1e-12
    );
    Ok(())
}

#[test]
fn lstm_matches_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    check::<LstmNet<f64>>(
        "LSTM",
        include_bytes!("fixtures/bptt_lstm_f64.safetensors"),
        batch(),
        fixture::LSTM_LOSS,
        fixture::LSTM_GRADIENTS,
        &fixture::LSTM_INPUT_GRADIENT,
        &fixture::LSTM_SGD_LOSSES,
        fixture::LSTM_SGD_AFTER,
    )
}

#[test]
fn gru_matches_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    check::<GruNet<f64>>(
        "GRU",
        include_bytes!("fixtures/bptt_gru_f64.safetensors"),
        batch(),
        fixture::GRU_LOSS,
        fixture::GRU_GRADIENTS,
        &fixture::GRU_INPUT_GRADIENT,
        &fixture::GRU_SGD_LOSSES,
        fixture::GRU_SGD_AFTER,
    )
}

#[test]
fn tanh_rnn_matches_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    check::<TanhNet<f64>>(
        "RNN tanh",
        include_bytes!("fixtures/bptt_rnn_tanh_f64.safetensors"),
        batch(),
        fixture::RNN_TANH_LOSS,
        fixture::RNN_TANH_GRADIENTS,
        &fixture::RNN_TANH_INPUT_GRADIENT,
        &fixture::RNN_TANH_SGD_LOSSES,
        fixture::RNN_TANH_SGD_AFTER,
    )
}

#[test]
fn relu_rnn_matches_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    check::<ReluNet<f64>>(
        "RNN relu",
        include_bytes!("fixtures/bptt_rnn_relu_f64.safetensors"),
        batch(),
        fixture::RNN_RELU_LOSS,
        fixture::RNN_RELU_GRADIENTS,
        &fixture::RNN_RELU_INPUT_GRADIENT,
        &fixture::RNN_RELU_SGD_LOSSES,
        fixture::RNN_RELU_SGD_AFTER,
    )
}

/// The SGD trajectory in f32 against PyTorch's in float32.
fn check_f32<N: SequenceNetwork<f32, 2, 3> + Persist<f32>>(
    label: &str,
    bytes: &[u8],
    (inputs, targets): (Batch<f32, 2>, Batch<f32, 3>),
    sgd_losses: &[f64; 4],
    after: &[(&str, &[f64])],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut net = N::from_safetensors_bytes(bytes)?;
    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(0.1))?;
    for (k, want) in sgd_losses.iter().enumerate() {
        let value = trainer.step(&mut net, &inputs, &targets)?;
        assert!(
            (f64::from(value) - want).abs() < 1e-5,
            "{label} SGD step {k}: {value} vs {want}"
        );
    }
    let names = names::<f32, N>();
    let largest = largest_tensor_error(
        &format!("{label} f32 after 4 SGD steps"),
        &net,
        &names,
        after,
    );
    assert!(largest < 1e-5);
    Ok(())
}

#[test]
fn lstm_sgd_matches_pytorch_in_f32() -> Result<(), Box<dyn std::error::Error>> {
    check_f32::<LstmNet>(
        "LSTM",
        include_bytes!("fixtures/bptt_lstm_f32.safetensors"),
        batch(),
        &fixture::LSTM_F32_SGD_LOSSES,
        fixture::LSTM_F32_SGD_AFTER,
    )
}

fn causal_batch<T: Scalar>() -> (Batch<T, 2>, Batch<T, 3>) {
    (
        sequences(&causal_fixture::INPUTS),
        sequences(&causal_fixture::TARGETS),
    )
}

#[test]
fn causal_conv_matches_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    check::<CausalNet<f64>>(
        "CausalConv1d",
        include_bytes!("fixtures/causal_conv_bptt_f64.safetensors"),
        causal_batch(),
        causal_fixture::LOSS,
        causal_fixture::GRADIENTS,
        &causal_fixture::INPUT_GRADIENT,
        &causal_fixture::SGD_LOSSES,
        causal_fixture::SGD_AFTER,
    )
}

#[test]
fn causal_conv_sgd_matches_pytorch_in_f32() -> Result<(), Box<dyn std::error::Error>> {
    check_f32::<CausalNet>(
        "CausalConv1d",
        include_bytes!("fixtures/causal_conv_bptt_f32.safetensors"),
        causal_batch(),
        &causal_fixture::F32_SGD_LOSSES,
        causal_fixture::F32_SGD_AFTER,
    )
}

/// Windows of 4 steps over recordings of 12: each convolution's past inputs from one window are
/// where the next window's taps reach before its start (the first's reach, 4 frames, is a whole
/// window), so a pass that dropped them would give other losses from the second window on.
#[test]
fn causal_conv_truncated_bptt_matches_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    let mut net = <CausalNet<f64> as Persist<f64>>::from_safetensors_bytes(include_bytes!(
        "fixtures/causal_conv_bptt_f64.safetensors"
    ))?;
    let recordings = causal_fixture::LONG_INPUTS
        .iter()
        .zip(&causal_fixture::LONG_TARGETS)
        .map(|(x, y)| Dataset::from_rows(x, y))
        .collect::<Result<Vec<_>, _>>()?;
    let history =
        SequenceTrainer::new(Mse, Sgd::new(0.1))?.fit_truncated(&mut net, &recordings, 4, 2)?;
    for (epoch, (got, want)) in history
        .loss
        .iter()
        .zip(causal_fixture::TRUNCATED_LOSSES)
        .enumerate()
    {
        println!("truncated epoch {epoch}: loss {got} (PyTorch {want})");
        assert!((got - want).abs() < 1e-12, "epoch {epoch}: {got} vs {want}");
    }
    let names = names::<f64, CausalNet<f64>>();
    let largest = largest_tensor_error(
        "CausalConv1d after truncated BPTT",
        &net,
        &names,
        causal_fixture::TRUNCATED_AFTER,
    );
    assert!(largest < 1e-12);
    Ok(())
}
