//! Networks with recurrent layers run one time step at a time: `step` with a typed state,
//! `reset`, and the sequence methods, against the layers stepped by hand.

use typenn::prelude::*;
use typenn::{Layer, LstmState, Streaming};

network! {
    /// An LSTM and a readout, as the W4 workload's network.
    struct Amp(Lstm<1, 4>, Dense<4, 1>);
}

network! {
    /// Every kind of layer around the cells: memoryless layers between recurrent ones.
    struct Mixed {
        gru: Gru<2, 3>,
        squash: Tanh,
        simple: Rnn<3, 2, Relu>,
        out: Dense<2, 1>,
    }
}

fn input(t: usize) -> f64 {
    (t as f64 * 0.3).sin()
}

#[test]
fn a_step_is_the_layers_stepped_in_turn() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = Amp::<f64>::zeros();
    net.initialize(Init::GlorotUniform, &mut rng);
    let mut state = AmpState::zeros();
    let mut lstm_state = LstmState::default();
    for t in 0..20 {
        let x = SVector::from([input(t)]);
        let y = net.step(&mut state, &x);
        let h = net.0.step(&mut lstm_state, &x);
        assert_eq!(y, net.1.forward(&h), "step {t}");
        assert_eq!(state.0, lstm_state);
        assert_eq!(state.1, ());
    }
}

#[test]
fn reset_starts_the_stream_again() {
    let mut rng = StdRng::seed_from_u64(8);
    let net = Amp::new(&mut rng);
    let mut state = AmpState::default();
    let first: Vec<f32> = (0..10)
        .map(|t| net.step(&mut state, &SVector::from([input(t) as f32]))[0])
        .collect();
    assert_ne!(state, AmpState::zeros());
    state.reset();
    assert_eq!(state, AmpState::zeros());
    let again: Vec<f32> = (0..10)
        .map(|t| net.step(&mut state, &SVector::from([input(t) as f32]))[0])
        .collect();
    assert_eq!(first, again);
    // The state carries: the same input twice in a row gives two different outputs.
    let x = SVector::from([0.5]);
    assert_ne!(net.step(&mut state, &x), net.step(&mut state, &x));
}

#[test]
fn sequences_are_steps() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut net = Mixed::<f64>::zeros();
    net.initialize(Init::GlorotUniform, &mut rng);
    let inputs = SMatrix::<f64, 2, 6>::from_fn(|i, t| input(2 * t + i));
    let mut state = MixedState::zeros();
    let all = net.sequence(&mut state, &inputs);
    let after = state;

    let mut state = MixedState::zeros();
    let (mut h_gru, mut h_rnn) = (SVector::zeros(), SVector::zeros());
    for t in 0..6 {
        let x = inputs.column(t).into_owned();
        let stepped = net.step(&mut state, &x);
        let by_hand = net.out.forward(
            &net.simple
                .step(&mut h_rnn, &net.gru.step(&mut h_gru, &x).map(f64::tanh)),
        );
        assert_eq!(all.column(t), stepped.column(0), "step {t}");
        assert!((stepped[0] - by_hand[0]).abs() < 1e-14, "step {t}");
    }
    assert_eq!(state, after);
    assert_eq!((state.gru, state.simple), (h_gru, h_rnn));

    let mut fresh = MixedState::zeros();
    assert_eq!(
        net.sequence_last(&mut fresh, &inputs),
        all.column(5).into_owned()
    );
}
