//! The streaming causal convolution in networks: parity with PyTorch's `nn.Conv1d` on a
//! left-padded sequence (tests/reference/causal_conv_reference.py), loaded by PyTorch's tensor
//! names; `step`, `reset` and the sequence methods beside recurrent layers; truncated
//! back-propagation through time that needs the past inputs carried between windows.

#[allow(dead_code)]
mod fixture {
    include!("fixtures/causal_conv_reference.rs");
}

use typenn::prelude::*;
use typenn::{
    CausalConv1dState, DataError, Layer, LoadError, Scalar, SequenceTrainer, SplitMix64, Streaming,
};

network! {
    /// The reference script's model.
    struct Causal {
        first: CausalConv1d<2, 4, 3, Tanh>,
        second: CausalConv1d<4, 3, 2, 3>,
        out: Dense<3, 2>,
    }
}

network! {
    /// A convolution in front of a recurrent cell, with a memoryless layer between.
    struct ConvThenGru(CausalConv1d<1, 3, 2, 2>, Relu, Gru<3, 2>, Dense<2, 1>);
}

const F64: &[u8] = include_bytes!("fixtures/causal_conv_f64.safetensors");
const F32: &[u8] = include_bytes!("fixtures/causal_conv_f32.safetensors");

const STEPS: usize = 14;

fn inputs<T: Scalar>() -> SMatrix<T, 2, STEPS> {
    SMatrix::from_fn(|i, t| T::cast_from(fixture::INPUTS[t][i]))
}

/// The largest difference from PyTorch's outputs, printed for the report.
fn largest_error<T: Scalar>(label: &str, got: &SMatrix<T, 2, STEPS>, want: &[[f64; 2]]) -> f64 {
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
fn matches_pytorch_in_f64() -> Result<(), LoadError> {
    let net = <Causal<f64> as Persist<f64>>::from_safetensors_bytes(F64)?;
    let mut state = CausalState::zeros();
    let outputs = net.sequence(&mut state, &inputs());
    assert!(largest_error("CausalConv1d f64", &outputs, &fixture::OUTPUTS) < 1e-13);
    // The first layer's state holds the last input frame.
    assert_eq!(
        state.first.past(0).map(|x| x[1]),
        Some(fixture::INPUTS[STEPS - 1][1])
    );
    Ok(())
}

#[test]
fn matches_pytorch_in_f32() -> Result<(), LoadError> {
    let net = Causal::from_safetensors_bytes(F32)?;
    let outputs = net.sequence(&mut CausalState::zeros(), &inputs());
    assert!(largest_error("CausalConv1d f32", &outputs, &fixture::F32_OUTPUTS) < 1e-5);
    Ok(())
}

#[test]
fn a_step_is_the_layers_stepped_in_turn_and_reset_starts_again() -> Result<(), LoadError> {
    let net = <Causal<f64> as Persist<f64>>::from_safetensors_bytes(F64)?;
    let mut state = CausalState::zeros();
    let (mut first, mut second) = (CausalConv1dState::default(), CausalConv1dState::default());
    let xs = inputs::<f64>();
    for t in 0..STEPS {
        let x = xs.column(t).into_owned();
        let y = net.step(&mut state, &x);
        let by_hand = net.out.forward(
            &net.second
                .step(&mut second, &net.first.step(&mut first, &x)),
        );
        assert_eq!(y, by_hand, "step {t}");
    }
    assert_eq!((state.first, state.second), (first, second));
    state.reset();
    assert_eq!(state, CausalState::zeros());
    let again = net.sequence(&mut state, &xs);
    assert!(largest_error("after reset", &again, &fixture::OUTPUTS) < 1e-13);
    Ok(())
}

#[test]
fn a_file_for_another_kernel_is_refused() {
    network! {
        struct Wider {
            first: CausalConv1d<2, 4, 2, Tanh>,
            second: CausalConv1d<4, 3, 2, 3>,
            out: Dense<3, 2>,
        }
    }
    let message = <Wider<f64> as Persist<f64>>::from_safetensors_bytes(F64)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    println!("{message}");
    assert!(message.contains("first.weight"), "{message}");
}

#[test]
fn beside_a_recurrent_cell_sequences_are_steps() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = ConvThenGru::<f64>::zeros();
    net.initialize(Init::GlorotUniform, &mut rng);
    let xs = SMatrix::<f64, 1, 9>::from_fn(|_, t| (t as f64 * 0.8).sin());
    let mut state = ConvThenGruState::zeros();
    let all = net.sequence(&mut state, &xs);
    let (mut conv, mut h) = (CausalConv1dState::default(), SVector::zeros());
    for t in 0..9 {
        let x = xs.column(t).into_owned();
        let features = net.0.step(&mut conv, &x).map(|v| v.max(0.0));
        let y = net.3.forward(&net.2.step(&mut h, &features));
        assert!((all[t] - y[0]).abs() < 1e-15, "step {t}");
    }
    assert_eq!((state.0, state.2), (conv, h));
    assert_eq!(
        net.sequence_last(&mut ConvThenGruState::zeros(), &xs)[0],
        all[8]
    );
}

network! {
    /// Four taps one step apart: it can see the input three steps back.
    struct Delay(CausalConv1d<1, 2, 4>, Dense<2, 1>);
}

/// A recording whose target is its input three steps earlier (zero before the start).
fn delayed(len: usize, seed: u64) -> Result<Dataset<f64, 1, 1>, DataError> {
    let mut rng = SplitMix64::new(seed);
    let x: Vec<[f64; 1]> = (0..len)
        .map(|_| [2.0 * f64::from(rng.next_f32()) - 1.0])
        .collect();
    let y: Vec<[f64; 1]> = (0..len)
        .map(|t| t.checked_sub(3).map_or([0.0], |back| x[back]))
        .collect();
    Dataset::from_rows(&x, &y)
}

#[test]
fn truncated_training_carries_the_past_inputs_across_windows()
-> Result<(), Box<dyn std::error::Error>> {
    // Windows of 2 steps: every target is an input from an earlier window, which only the
    // frames carried in the convolution's state hold.
    let recordings = [delayed(256, 21)?, delayed(256, 22)?];
    let mut carried = Delay::<f64>::zeros();
    carried.initialize(Init::GlorotUniform, &mut StdRng::seed_from_u64(23));
    let mut reset = carried.clone();
    let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.02))?;
    let history = trainer.fit_truncated(&mut carried, &recordings, 2, 20)?;
    let carried_loss = history.loss[19];

    // The same windows as separate sequences, each from a zero state.
    let mut windows = Vec::new();
    let mut targets = Vec::new();
    for recording in &recordings {
        for w in 0..128 {
            let at = 2 * w;
            windows.push(SMatrix::<f64, 1, 2>::from_fn(|_, t| {
                recording.inputs()[at + t][0]
            }));
            targets.push(SMatrix::<f64, 1, 2>::from_fn(|_, t| {
                recording.targets()[at + t][0]
            }));
        }
    }
    let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.02))?;
    let mut reset_loss = 0.0;
    for _ in 0..20 {
        reset_loss = 0.0;
        for (x, y) in windows.chunks(2).zip(targets.chunks(2)) {
            reset_loss += trainer.step(&mut reset, x, y)? / 128.0;
        }
    }
    // From zero, no tap sees the input three steps back: the loss stays near the target's
    // variance, 1/3.
    println!("carried {carried_loss}, reset {reset_loss}");
    assert!(carried_loss < 1e-4, "carried {carried_loss}");
    assert!(reset_loss > 0.25, "reset {reset_loss}");
    // What it learnt is the delay: the weight of the tap three steps back, through the Dense.
    let w = carried.1.weights;
    let gain: f64 = (0..2).map(|c| w[(0, c)] * carried.0.weight[0][0][c]).sum();
    assert!((gain - 1.0).abs() < 1e-2, "gain {gain}");
    Ok(())
}
