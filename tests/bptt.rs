//! Back-propagation through time: every parameter's gradient and the input's against f64
//! central differences of the loss, for each cell and the causal convolution with layers around
//! them; training's forward pass against the streaming one.

use typenn::prelude::*;
use typenn::{Columns, Loss, SequenceNetwork, SplitMix64, Workspace, columns, columns_mut};

network! {
    struct LstmNet(Lstm<2, 3>, Tanh, Dense<3, 2>);
}

network! {
    struct GruNet(Gru<2, 3>, Dense<3, 2>);
}

network! {
    struct TanhNet(Rnn<2, 3>, Dense<3, 2, Tanh>);
}

network! {
    struct ReluNet(Rnn<2, 3, Relu>, Dense<3, 2>);
}

network! {
    /// Probabilities out, for the binary cross-entropy.
    struct SigmoidNet(Gru<2, 3>, Dense<3, 2, Sigmoid>);
}

network! {
    /// Two recurrent layers with a layer between: the input gradient flows through time into
    /// the first.
    struct Stacked {
        gru: Gru<2, 3>,
        squash: Tanh,
        simple: Rnn<3, 4, Relu>,
        lstm: Lstm<4, 2>,
        out: Dense<2, 2>,
    }
}

network! {
    /// A dilated causal convolution: each step's output reaches the inputs 0, 2 and 4 steps back.
    struct ConvNet(CausalConv1d<2, 3, 3, 2, Tanh>, Dense<3, 2>);
}

network! {
    /// A kernel of one tap (no state) and a convolution as the last layer.
    struct ConvPair(CausalConv1d<2, 4, 1, 1, Relu>, CausalConv1d<4, 2, 3>);
}

network! {
    /// Convolutions around a cell: the gradient flows back through the later convolution's
    /// taps, the LSTM's state and the first convolution's taps.
    struct ConvAroundLstm {
        conv: CausalConv1d<2, 4, 2, 3>,
        lstm: Lstm<4, 3>,
        dilated: CausalConv1d<3, 3, 2, 2, Sigmoid>,
        out: Dense<3, 2>,
    }
}

const SEQUENCES: usize = 3;
const STEPS: usize = 5;

fn data() -> (Vec<SMatrix<f64, 2, STEPS>>, Vec<SMatrix<f64, 2, STEPS>>) {
    let inputs = (0..SEQUENCES)
        .map(|s| SMatrix::from_fn(|i, t| ((s * 11 + t * 3 + i) as f64 * 0.7).sin()))
        .collect();
    // Each step's two targets are a distribution (a, 1 - a): valid for every loss.
    let targets = (0..SEQUENCES)
        .map(|s| {
            SMatrix::from_fn(|i, t| {
                let a = 0.5 + 0.4 * ((s * 5 + t) as f64 * 0.4).cos();
                if i == 0 { a } else { 1.0 - a }
            })
        })
        .collect();
    (inputs, targets)
}

/// The loss by the inference pass, each sequence from a zero state.
fn loss_of<N: SequenceNetwork<f64, 2, 2>, L: Loss<f64>>(
    net: &N,
    inputs: &[SMatrix<f64, 2, STEPS>],
    targets: &[SMatrix<f64, 2, STEPS>],
    loss: &L,
) -> f64 {
    let mut outputs = vec![0.0; inputs.len() * STEPS * 2];
    let mut carry = vec![0.0; inputs.len() * N::CARRY];
    net.predict_sequences(
        columns::<f64, 2>(bytemuck::cast_slice(inputs)),
        STEPS,
        &mut carry,
        columns_mut::<f64, 2>(&mut outputs),
        &mut Workspace::new(),
    );
    let targets: Columns<'_, f64, 2> = columns(bytemuck::cast_slice(targets));
    loss.loss(columns::<f64, 2>(&outputs), targets)
}

fn close(analytic: f64, numeric: f64, what: &str) {
    let scale = analytic.abs().max(numeric.abs()).max(1e-3);
    assert!(
        (analytic - numeric).abs() / scale < 1e-6,
        "{what}: back-propagation {analytic}, central difference {numeric}"
    );
}

/// Every parameter and every input against central differences of `loss`.
fn check<N: SequenceNetwork<f64, 2, 2>, L: Loss<f64>>(mut net: N, loss: L) {
    let (mut inputs, targets) = data();
    let (value, gradients, input_gradient) = net.gradients_through_time(&inputs, &targets, &loss);
    assert!((value - loss_of(&net, &inputs, &targets, &loss)).abs() < 1e-14);
    let h = 1e-6;
    let mut checked = 0;
    for tensor in 0..N::TENSORS {
        for k in 0..net.tensor(tensor).len() {
            let original = net.tensor(tensor)[k];
            net.tensor_mut(tensor)[k] = original + h;
            let up = loss_of(&net, &inputs, &targets, &loss);
            net.tensor_mut(tensor)[k] = original - h;
            let down = loss_of(&net, &inputs, &targets, &loss);
            net.tensor_mut(tensor)[k] = original;
            let name = N::tensor_info(tensor).map_or_else(String::new, |i| i.full_name());
            close(
                gradients.tensor(tensor)[k],
                (up - down) / (2.0 * h),
                &format!("{name}[{k}]"),
            );
            checked += 1;
        }
    }
    assert_eq!(checked, N::PARAMETERS);
    for s in 0..SEQUENCES {
        for k in 0..2 * STEPS {
            let original = inputs[s][k];
            inputs[s][k] = original + h;
            let up = loss_of(&net, &inputs, &targets, &loss);
            inputs[s][k] = original - h;
            let down = loss_of(&net, &inputs, &targets, &loss);
            inputs[s][k] = original;
            close(
                input_gradient[s][k],
                (up - down) / (2.0 * h),
                &format!("input {s}, step {}, {}", k / 2, k % 2),
            );
        }
    }
}

fn network<N: SequenceNetwork<f64, 2, 2>>(seed: u64) -> N {
    let mut net = N::zeros();
    let mut rng = SplitMix64::new(seed);
    // Every parameter, biases too, away from zero: each gate's gradient shows.
    for tensor in 0..N::TENSORS {
        for v in net.tensor_mut(tensor) {
            *v = 1.6 * f64::from(rng.next_f32()) - 0.8;
        }
    }
    net
}

#[test]
fn lstm_gradients_are_the_central_differences() {
    check(network::<LstmNet<f64>>(1), Mse);
}

#[test]
fn gru_gradients_are_the_central_differences() {
    check(network::<GruNet<f64>>(2), Mse);
}

#[test]
fn tanh_rnn_gradients_are_the_central_differences() {
    check(
        network::<TanhNet<f64>>(3),
        Huber::new(0.3).expect("a valid delta"),
    );
}

#[test]
fn relu_rnn_gradients_are_the_central_differences() {
    check(network::<ReluNet<f64>>(4), Mae);
}

#[test]
fn gradients_flow_through_stacked_recurrent_layers() {
    check(network::<Stacked<f64>>(5), Mse);
}

#[test]
fn every_loss_back_propagates_through_time() {
    check(network::<LstmNet<f64>>(6), SoftmaxCrossEntropy);
    check(network::<GruNet<f64>>(7), BinaryCrossEntropyWithLogits);
    check(network::<SigmoidNet<f64>>(8), BinaryCrossEntropy);
}

#[test]
fn causal_conv_gradients_are_the_central_differences() {
    check(network::<ConvNet<f64>>(9), Mse);
    check(
        network::<ConvPair<f64>>(10),
        Huber::new(0.3).expect("a valid delta"),
    );
}

#[test]
fn gradients_flow_through_convolutions_around_a_cell() {
    check(network::<ConvAroundLstm<f64>>(11), Mse);
    check(network::<ConvAroundLstm<f64>>(12), SoftmaxCrossEntropy);
}
