//! Back-propagation checked against central finite differences of the batch loss, in f64.
//!
//! Every parameter is nudged by `H` through `Parameters::tensor_mut` (or a public field) and the
//! loss recomputed; the analytic gradient must agree to a relative error of `RELATIVE`, or to
//! `ABSOLUTE` for gradients so small that the difference quotient's rounding dominates.

use typenn::prelude::*;
use typenn::{Activation, Layer};

#[path = "support/finite_difference.rs"]
mod finite_difference;

use finite_difference::{
    ABSOLUTE, H, Numbers, RELATIVE, assert_mostly_significant, batch_loss, check_all,
    randomize_biases,
};

/// No ReLU or leaky-ReLU pre-activation may be closer than this to its kink at 0, so that a
/// nudge of `H` never crosses it.
const KINK_MARGIN: f64 = 1e-4;

/// The pre-activations `W x + b` of `layer` for each input, from its public fields, and the
/// layer's outputs for the next layer.
fn pre_activations<const IN: usize, const OUT: usize, A: Activation>(
    layer: &Dense<IN, OUT, A, f64>,
    inputs: &[SVector<f64, IN>],
) -> (Vec<SVector<f64, OUT>>, Vec<SVector<f64, OUT>>) {
    let z: Vec<_> = inputs
        .iter()
        .map(|x| layer.weights * x + layer.bias)
        .collect();
    let a = inputs.iter().map(|x| layer.forward(x)).collect();
    (z, a)
}

fn assert_away_from_kink<const OUT: usize>(label: &str, z: &[SVector<f64, OUT>]) {
    let closest = z
        .iter()
        .flat_map(|sample| sample.iter())
        .map(|v| v.abs())
        .fold(f64::INFINITY, f64::min);
    assert!(
        closest > KINK_MARGIN,
        "{label}: a pre-activation is {closest:e} from the kink at 0; choose other seeds"
    );
}

network! {
    /// Every activation, in five layers.
    struct Deep(
        Dense<3, 6, Tanh>,
        Dense<6, 5, Relu>,
        Dense<5, 4, LeakyRelu>,
        Dense<4, 3, Sigmoid>,
        Dense<3, 2>,
    );
}

#[test]
fn deep_network_with_every_activation_matches_finite_differences() {
    let mut model = Deep::<f64>::new(&mut StdRng::seed_from_u64(5));
    let mut numbers = Numbers(17);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 3>> = numbers.batch(5);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(5);

    let (_, a0) = pre_activations(&model.0, &xs);
    let (z1, a1) = pre_activations(&model.1, &a0);
    assert_away_from_kink("Relu layer", &z1);
    let (z2, _) = pre_activations(&model.2, &a1);
    assert_away_from_kink("LeakyRelu layer", &z2);
    // Some ReLU units must be off and some leaky units negative, or the test would not
    // exercise the flat parts of those activations.
    assert!(z1.iter().flat_map(|z| z.iter()).any(|&v| v < 0.0));
    assert!(z1.iter().flat_map(|z| z.iter()).any(|&v| v > 0.0));
    assert!(z2.iter().flat_map(|z| z.iter()).any(|&v| v < 0.0));
    assert!(z2.iter().flat_map(|z| z.iter()).any(|&v| v > 0.0));

    let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert!(loss.is_finite() && loss > 1e-3, "loss {loss}");
    let errors = check_all("Deep", &mut model, &*analytic, |m| batch_loss(m, &xs, &ys));
    assert_mostly_significant(&errors);
}

/// A two-layer network `Dense<3, 4, $activation>, Dense<4, 2>` checked on its own.
macro_rules! two_layer_check {
    ($test:ident, $activation:ident, $seed:expr) => {
        #[test]
        fn $test() {
            network! {
                struct TwoLayers(Dense<3, 4, $activation>, Dense<4, 2>);
            }
            let mut model = TwoLayers::<f64>::new(&mut StdRng::seed_from_u64($seed));
            let mut numbers = Numbers($seed);
            randomize_biases(&mut model, &mut numbers);
            let xs: Vec<SVector<f64, 3>> = numbers.batch(5);
            let ys: Vec<SVector<f64, 2>> = numbers.batch(5);
            let (z0, _) = pre_activations(&model.0, &xs);
            assert_away_from_kink(stringify!($activation), &z0);

            let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
            assert!(loss.is_finite() && loss > 1e-3, "loss {loss}");
            let errors = check_all(stringify!($activation), &mut model, &*analytic, |m| {
                batch_loss(m, &xs, &ys)
            });
            assert_mostly_significant(&errors);
        }
    };
}

two_layer_check!(identity_matches_finite_differences, Identity, 21);
two_layer_check!(relu_matches_finite_differences, Relu, 22);
two_layer_check!(leaky_relu_matches_finite_differences, LeakyRelu, 23);
two_layer_check!(sigmoid_matches_finite_differences, Sigmoid, 24);
two_layer_check!(tanh_matches_finite_differences, Tanh, 25);

network! {
    /// Named layers: the gradients struct has the same field names.
    struct Named {
        encoder: Dense<3, 5, Sigmoid>,
        hidden: Dense<5, 4, Relu>,
        head: Dense<4, 2, Tanh>,
    }
}

#[test]
fn named_network_matches_finite_differences() {
    let mut model = Named::<f64>::new(&mut StdRng::seed_from_u64(32));
    let mut numbers = Numbers(32);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 3>> = numbers.batch(6);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(6);
    let data = Dataset::new(xs.clone(), ys.clone()).expect("finite data");
    let (_, a0) = pre_activations(&model.encoder, &xs);
    let (z1, _) = pre_activations(&model.hidden, &a0);
    assert_away_from_kink("hidden", &z1);

    let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert!((loss - model.evaluate(&data, &Mse)).abs() <= 1e-15 * loss);

    // The tensors are named after the fields, in declaration order.
    let hidden_weight = Named::<f64>::tensor_info(2).expect("tensor 2");
    assert_eq!(
        (hidden_weight.layer, hidden_weight.name, hidden_weight.shape),
        ("hidden", "weight", &[4, 5][..])
    );

    // Every tensor, with the loss recomputed by `evaluate` rather than `gradients`.
    let errors = check_all("Named", &mut model, &*analytic, |m| m.evaluate(&data, &Mse));
    assert_mostly_significant(&errors);

    // The same gradients through the named fields of `NamedGradients`, nudging the named
    // fields of the network, element (row, col) by element.
    let mut worst: f64 = 0.0;
    for row in 0..4 {
        for col in 0..5 {
            let original = model.hidden.weights[(row, col)];
            model.hidden.weights[(row, col)] = original + H;
            let plus = batch_loss(&model, &xs, &ys);
            model.hidden.weights[(row, col)] = original - H;
            let minus = batch_loss(&model, &xs, &ys);
            model.hidden.weights[(row, col)] = original;
            let numeric = (plus - minus) / (2.0 * H);
            let gradient = analytic.hidden.weights[(row, col)];
            let difference = (gradient - numeric).abs();
            assert!(
                difference <= (RELATIVE * gradient.abs().max(numeric.abs())).max(ABSOLUTE),
                "hidden.weights[({row}, {col})]: analytic {gradient:e}, numeric {numeric:e}"
            );
            worst = worst.max(difference);
        }
    }
    for unit in 0..5 {
        let original = model.encoder.bias[unit];
        model.encoder.bias[unit] = original + H;
        let plus = batch_loss(&model, &xs, &ys);
        model.encoder.bias[unit] = original - H;
        let minus = batch_loss(&model, &xs, &ys);
        model.encoder.bias[unit] = original;
        let numeric = (plus - minus) / (2.0 * H);
        let gradient = analytic.encoder.bias[unit];
        let difference = (gradient - numeric).abs();
        assert!(
            difference <= (RELATIVE * gradient.abs().max(numeric.abs())).max(ABSOLUTE),
            "encoder.bias[{unit}]: analytic {gradient:e}, numeric {numeric:e}"
        );
        worst = worst.max(difference);
    }
    println!("Named fields: largest absolute difference {worst:e}");
    assert_eq!(analytic.head.weights.as_slice(), analytic.tensor(4));
}
