//! Inference checked against numbers computed by hand: `forward` for each activation in f32 and
//! f64, `forward_batch` and `predict` against `forward`, and `evaluate` against a hand-computed
//! mean squared error.

use typenn::prelude::*;
use typenn::{Activation, Scalar};

/// Tolerances for outputs of order 1.
const F32_TOLERANCE: f64 = 1e-6;
const F64_TOLERANCE: f64 = 1e-12;

/// The two inputs every hand-set network is run on.
const X1: [f64; 2] = [1.0, 2.0];
const X2: [f64; 2] = [-1.0, 0.5];

/// The hidden layer of every hand-set network, with weights and biases that f32 holds exactly:
///
/// ```text
/// W1 = [ 0.5  -1.0 ]    b1 = [  0.125 ]
///      [ 1.5   0.25]         [ -0.25  ]
/// ```
///
/// so that for X1 = (1, 2):   z1 = (0.5 - 2 + 0.125, 1.5 + 0.5 - 0.25)   = (-1.375,  1.75)
/// and  for X2 = (-1, 0.5):   z1 = (-0.5 - 0.5 + 0.125, -1.5 + 0.125 - 0.25) = (-0.875, -1.625).
fn hidden<A: Activation, T: Scalar>() -> Dense<2, 2, A, T> {
    let w = |v: f64| T::cast_from(v);
    Dense::from_parts(
        SMatrix::<T, 2, 2>::new(w(0.5), w(-1.0), w(1.5), w(0.25)),
        SVector::<T, 2>::new(w(0.125), w(-0.25)),
    )
}

/// The output layer: `y = 2 a1 - 0.5 a2 + 0.375`.
fn head<T: Scalar>() -> Dense<2, 1, Identity, T> {
    Dense::from_parts(
        SMatrix::<T, 1, 2>::new(T::cast_from(2.0), T::cast_from(-0.5)),
        SVector::<T, 1>::new(T::cast_from(0.375)),
    )
}

/// Checks `network`'s outputs for X1 and X2 against `expected`.
fn assert_outputs<T: Scalar, N: Network<T, 2, 1>>(network: &N, expected: [f64; 2], tolerance: f64) {
    for (x, want) in [X1, X2].into_iter().zip(expected) {
        let input = SVector::<T, 2>::from_fn(|i, _| T::cast_from(x[i]));
        let got = network.forward(&input)[0].as_f64();
        assert!(
            (got - want).abs() <= tolerance,
            "{}: input {x:?}: got {got}, expected {want}",
            T::NAME
        );
    }
}

#[test]
fn identity_by_hand() {
    network! {
        struct Linear(Dense<2, 2, Identity>, Dense<2, 1>);
    }
    // X1: a1 = (-1.375, 1.75);   y = 2 * -1.375 - 0.5 * 1.75 + 0.375 = -2.75 - 0.875 + 0.375 = -3.25
    // X2: a1 = (-0.875, -1.625); y = -1.75 + 0.8125 + 0.375 = -0.5625
    let expected = [-3.25, -0.5625];
    assert_outputs(&Linear::<f32>(hidden(), head()), expected, F32_TOLERANCE);
    assert_outputs(&Linear::<f64>(hidden(), head()), expected, F64_TOLERANCE);
}

#[test]
fn relu_by_hand() {
    network! {
        struct Rectified(Dense<2, 2, Relu>, Dense<2, 1>);
    }
    // X1: a1 = (0, 1.75); y = 0 - 0.875 + 0.375 = -0.5
    // X2: a1 = (0, 0);    y = 0.375
    let expected = [-0.5, 0.375];
    assert_outputs(&Rectified::<f32>(hidden(), head()), expected, F32_TOLERANCE);
    assert_outputs(&Rectified::<f64>(hidden(), head()), expected, F64_TOLERANCE);
}

#[test]
fn leaky_relu_by_hand() {
    network! {
        struct Leaky(Dense<2, 2, LeakyRelu>, Dense<2, 1>);
    }
    // X1: a1 = (0.01 * -1.375, 1.75) = (-0.01375, 1.75);
    //     y = -0.0275 - 0.875 + 0.375 = -0.5275
    // X2: a1 = (-0.00875, -0.01625); y = -0.0175 + 0.008125 + 0.375 = 0.365625
    let expected = [-0.5275, 0.365625];
    assert_outputs(&Leaky::<f32>(hidden(), head()), expected, F32_TOLERANCE);
    assert_outputs(&Leaky::<f64>(hidden(), head()), expected, F64_TOLERANCE);
}

#[test]
fn sigmoid_by_hand() {
    network! {
        struct Logistic(Dense<2, 2, Sigmoid>, Dense<2, 1>);
    }
    // X1: e^1.375 = 3.955076722920577, so s(-1.375) = 1 / 4.955076722920577 = 0.20181322226037884;
    //     e^-1.75 = 0.17377394345044514, so s(1.75) = 1 / 1.17377394345044514 = 0.8519528019683106;
    //     y = 0.4036264445207577 - 0.4259764009841553 + 0.375 = 0.3526500435366024
    // X2: e^0.875 = 2.398875293967098, so s(-0.875) = 1 / 3.398875293967098 = 0.29421497216298875;
    //     e^1.625 = 5.0784190371800815, so s(-1.625) = 1 / 6.0784190371800815 = 0.16451646289656316;
    //     y = 0.5884299443259775 - 0.08225823144828158 + 0.375 = 0.8811717128776959
    let expected = [0.352_650_043_536_602_4, 0.881_171_712_877_695_9];
    assert_outputs(&Logistic::<f32>(hidden(), head()), expected, F32_TOLERANCE);
    assert_outputs(&Logistic::<f64>(hidden(), head()), expected, F64_TOLERANCE);
}

#[test]
fn tanh_by_hand() {
    network! {
        struct Hyperbolic(Dense<2, 2, Tanh>, Dense<2, 1>);
    }
    // tanh z = (e^2z - 1) / (e^2z + 1).
    // X1: tanh(-1.375) = -0.8798266996519848, tanh(1.75) = 0.9413755384972874;
    //     y = -1.7596533993039696 - 0.4706877692486437 + 0.375 = -1.8553411685526133
    // X2: tanh(-0.875) = -0.7039056039366212, tanh(-1.625) = -0.925346225311741;
    //     y = -1.4078112078732424 + 0.4626731126558705 + 0.375 = -0.5701380952173718
    let expected = [-1.855_341_168_552_613_3, -0.570_138_095_217_371_8];
    assert_outputs(
        &Hyperbolic::<f32>(hidden(), head()),
        expected,
        F32_TOLERANCE,
    );
    assert_outputs(
        &Hyperbolic::<f64>(hidden(), head()),
        expected,
        F64_TOLERANCE,
    );
}

network! {
    /// Random weights and biases, three activations, several outputs.
    struct Mixed(Dense<4, 6, Tanh>, Dense<6, 5, LeakyRelu>, Dense<5, 3, Sigmoid>);
}

/// A `Mixed` network with Glorot weights and non-zero biases.
fn mixed<T: Scalar>() -> Mixed<T> {
    let mut network = <Mixed<T> as Network<T, 4, 3>>::new(&mut StdRng::seed_from_u64(9));
    for tensor in [1, 3, 5] {
        for (i, bias) in network.tensor_mut(tensor).iter_mut().enumerate() {
            *bias = T::cast_from(0.1 * (i as f64 + 1.0) * if tensor == 3 { -1.0 } else { 1.0 });
        }
    }
    network
}

/// Distinct inputs: sample `i`, feature `k` is `sin(0.37 i + 1.3 k)`.
fn sample<T: Scalar>(i: usize) -> SVector<T, 4> {
    SVector::from_fn(|k, _| T::cast_from((0.37 * i as f64 + 1.3 * k as f64).sin()))
}

#[test]
fn forward_batch_matches_forward_per_sample() {
    fn check<T: Scalar>(tolerance: f64) {
        let network = mixed::<T>();
        let inputs = SMatrix::<T, 4, 3>::from_columns(&[sample(0), sample(1), sample(2)]);
        let outputs = network.forward_batch::<3>(&inputs);
        for j in 0..3 {
            let single = network.forward(&sample(j));
            for k in 0..3 {
                let (batch, one) = (outputs[(k, j)].as_f64(), single[k].as_f64());
                assert!(
                    (batch - one).abs() <= tolerance,
                    "{}: sample {j}, output {k}: batch {batch}, single {one}",
                    T::NAME
                );
            }
        }
        // The samples differ, so a batch that repeated one column would be caught.
        assert_ne!(outputs.column(0), outputs.column(1));
    }
    check::<f32>(F32_TOLERANCE);
    check::<f64>(F64_TOLERANCE);
}

#[test]
fn predict_matches_forward_across_its_chunks() {
    // 300 samples: predict works through them 256 at a time, so the last 44 are a second chunk.
    let network = mixed::<f32>();
    let inputs: Vec<SVector<f32, 4>> = (0..300).map(sample).collect();
    let outputs = network.predict(&inputs);
    assert_eq!(outputs.len(), 300);
    let mut worst: f64 = 0.0;
    for (i, (input, output)) in inputs.iter().zip(&outputs).enumerate() {
        let single = network.forward(input);
        for k in 0..3 {
            let difference = f64::from((output[k] - single[k]).abs());
            // Batched and single-sample paths sum in different orders.
            assert!(
                difference <= F32_TOLERANCE,
                "sample {i}, output {k}: predict {}, forward {}",
                output[k],
                single[k]
            );
            worst = worst.max(difference);
        }
    }
    println!("predict vs forward, f32: largest difference {worst:e}");
}

#[test]
fn evaluate_is_the_hand_computed_mean_squared_error() {
    network! {
        struct Linear(Dense<2, 2, Identity>, Dense<2, 1>);
    }
    let network = Linear::<f64>(hidden(), head());
    // From `identity_by_hand`: X1 -> -3.25, X2 -> -0.5625; and (0, 0) -> z1 = b1 = (0.125, -0.25),
    // y = 0.25 + 0.125 + 0.375 = 0.75.
    // Targets -3.0, 0.4375, 0.25 leave errors -0.25, -1.0, 0.5:
    // mean = (0.0625 + 1.0 + 0.25) / 3 = 1.3125 / 3 = 0.4375.
    let data = Dataset::from_rows(&[X1, X2, [0.0, 0.0]], &[[-3.0], [0.4375], [0.25]])
        .expect("finite data");
    let loss = network.evaluate(&data, &Mse);
    assert!(
        (loss - 0.4375).abs() <= F64_TOLERANCE,
        "evaluate gave {loss}"
    );
}

#[test]
fn evaluate_averages_over_outputs_and_chunks() {
    network! {
        struct Affine(Dense<2, 2>);
    }
    // W = [1 2; 3 4] (row = output unit), b = (0.5, -0.5).
    let network = Affine::<f64>(Dense::from_parts(
        SMatrix::<f64, 2, 2>::new(1.0, 2.0, 3.0, 4.0),
        SVector::<f64, 2>::new(0.5, -0.5),
    ));
    // (1, 0) -> (1 + 0.5, 3 - 0.5) = (1.5, 2.5); target (1, 3): errors (0.5, -0.5) -> 0.25 + 0.25.
    // (0, 1) -> (2 + 0.5, 4 - 0.5) = (2.5, 3.5); target (2.5, 1.5): errors (0, 2) -> 0 + 4.
    // Mean over 2 samples x 2 outputs: 4.5 / 4 = 1.125.
    let data = Dataset::from_rows(&[[1.0, 0.0], [0.0, 1.0]], &[[1.0, 3.0], [2.5, 1.5]])
        .expect("finite data");
    let loss = network.evaluate(&data, &Mse);
    assert!(
        (loss - 1.125).abs() <= F64_TOLERANCE,
        "evaluate gave {loss}"
    );

    // 300 samples of (0, 0) -> b = (0.5, -0.5). Against targets (0.5 + d, -0.5), the squared errors
    // per sample are d^2 and 0. With d = 1 for the first 256 samples (one full chunk) and d = 3 for
    // the last 44: mean = (256 * 1 + 44 * 9) / (300 * 2) = 652 / 600.
    let inputs = vec![SVector::<f64, 2>::zeros(); 300];
    let targets = (0..300)
        .map(|i| SVector::<f64, 2>::new(if i < 256 { 1.5 } else { 3.5 }, -0.5))
        .collect();
    let data = Dataset::new(inputs, targets).expect("finite data");
    let loss = network.evaluate(&data, &Mse);
    assert!(
        (loss - 652.0 / 600.0).abs() <= F64_TOLERANCE,
        "evaluate gave {loss}"
    );
}

/// Networks may take the names the generated methods give their own const parameters (`B` for
/// a batch, `STEPS` for a sequence, `TARGETS` for a calibration set's targets): the methods'
/// widths must not resolve to the user's types. `A` and `C` sit beside them.
mod names_of_generated_parameters {
    #![allow(non_camel_case_types)]

    use typenn::prelude::*;

    network! {
        struct A(Dense<2, 2, Relu>, Dense<2, 1>);
    }
    network! {
        struct B(Dense<2, 1>);
    }
    network! {
        struct C(Dense<1, 1>);
    }
    network! {
        struct STEPS(Rnn<1, 1>, Dense<1, 1>);
    }
    network! {
        struct TARGETS(Dense<1, 1>);
    }

    #[test]
    fn networks_named_like_generated_parameters_run() {
        // y = 0.5 * 1 - 0.25 * 2 + 0.125 = 0.125 and 0.5 * -2 - 0.25 * 4 + 0.125 = -1.875.
        let b = B::<f64>(Dense::from_parts(
            SMatrix::<f64, 1, 2>::new(0.5, -0.25),
            SVector::from([0.125]),
        ));
        let outputs = b.forward_batch(&SMatrix::<f64, 2, 2>::new(1.0, -2.0, 2.0, 4.0));
        assert_eq!(outputs, SMatrix::<f64, 1, 2>::new(0.125, -1.875));

        let a = A::<f64>::zeros();
        assert_eq!(
            a.forward_batch(&SMatrix::<f64, 2, 3>::zeros()),
            SMatrix::<f64, 1, 3>::zeros()
        );
        assert_eq!(
            C::<f32>::zeros().forward(&SVector::from([3.0])),
            SVector::from([0.0])
        );

        // A zero RNN and head give zeros at every step.
        let steps = STEPS::<f64>::zeros();
        let mut state = STEPSState::zeros();
        let inputs = SMatrix::<f64, 1, 4>::new(1.0, 2.0, 3.0, 4.0);
        assert_eq!(
            steps.sequence(&mut state, &inputs),
            SMatrix::<f64, 1, 4>::zeros()
        );
        assert_eq!(
            steps.sequence_last(&mut state, &inputs),
            SVector::<f64, 1>::zeros()
        );

        // int8 of y = 2 x on x in [-1, 1]: the weight is 127 at scale 2 / 127.
        let targets = TARGETS::<f32>(Dense::from_parts(
            SMatrix::<f32, 1, 1>::new(2.0),
            SVector::from([0.0]),
        ));
        let calibration = Dataset::new(
            vec![SVector::from([-1.0]), SVector::from([1.0])],
            vec![SVector::from([-2.0]), SVector::from([2.0])],
        )
        .unwrap();
        let int8 = targets.quantize(&calibration).unwrap();
        let y = int8.forward_batch(&SMatrix::<f32, 1, 2>::new(1.0, -0.5));
        assert!(
            (y[0] - 2.0).abs() < 0.02 && (y[1] + 1.0).abs() < 0.02,
            "{y}"
        );
    }
}
