//! int8 post-training quantization of whole networks: the calibration rule and the integers of
//! a hand-computed network, typed errors for bad calibration data, and on the digits data an
//! error bound that every output of the int8 network is checked against.

#[path = "../examples/common/mod.rs"]
#[allow(dead_code, reason = "the tests use the data path only")]
mod common;

use typenn::prelude::*;
use typenn::quant::{QuantizedLayer, Scales, quantize_input};
use typenn::{QuantizeError, Train};

network! {
    /// Weights and calibration chosen so that every scale is exact: see `hand_computed`.
    struct Small(Dense<2, 2, Relu>, Dense<2, 1>);
}

network! {
    /// A ReLU on its own keeps the scale of the layer before.
    struct Separate(Dense<2, 2>, Relu, Dense<2, 1>);
}

network! {
    struct Digits {
        hidden: Dense<64, 32, Relu>,
        logits: Dense<32, 10>,
    }
}

/// Row 0 of `Small`'s first layer is `[127, 0]` and row 1 `[0, -127]`, so both weight scales
/// are 1; the second layer is `[127, 63.5]`, scale 1 too, and 63.5 is a tie.
fn small() -> Small {
    let mut net = Small::zeros();
    net.0.weights = SMatrix::from_row_slice(&[127.0, 0.0, 0.0, -127.0]);
    net.1.weights = SMatrix::from_row_slice(&[127.0, 63.5]);
    net
}

/// The calibration inputs: the largest magnitude is 63.5, so the input scale is 0.5.
fn small_calibration() -> [SVector<f32, 2>; 2] {
    [SVector::from([63.5, 1.0]), SVector::from([-2.0, 31.75])]
}

#[test]
fn hand_computed() -> Result<(), QuantizeError> {
    let int8 = small().quantize_inputs(&small_calibration())?;
    // Layer 0 on the calibration inputs: relu([127 * 63.5, -127]) = [8064.5, 0] and
    // relu([-254, -4032.25]) = 0, so its output scale is 8064.5 / 127 = 63.5. Layer 1:
    // 127 * 8064.5 = 1024191.5 at most, scale 8064.5.
    assert_eq!(int8.input_scale(), 0.5);
    assert_eq!(
        int8.0.scales(),
        Scales {
            input: 0.5,
            output: 63.5
        }
    );
    assert_eq!(int8.output_scale(), 8064.5);
    assert_eq!(int8.0.weights(), &[[127, 0], [0, -127]]);
    // 63.5 is a tie: away from zero, 64.
    assert_eq!(int8.1.weights(), &[[127, 64]]);

    let [a, b] = small_calibration();
    // 63.5 / 0.5 = 127, 1 / 0.5 = 2; -2 / 0.5 = -4, 31.75 / 0.5 = 63.5, a tie, 64.
    assert_eq!(quantize_input(&a, int8.input_scale()), [127, 2]);
    assert_eq!(quantize_input(&b, int8.input_scale()), [-4, 64]);
    // Layer 0: sums [127 * 127, -127 * 2] = [16129, -254]; relu and M = 0.5 / 63.5 = 1/127:
    // [127, 0]. Layer 1: 127 * 127 = 16129, M = 63.5 / 8064.5 = 1/127: 127.
    assert_eq!(int8.0.sums(&[127, 2]), [16129, -254]);
    assert_eq!(int8.0.forward(&[127, 2]), [127, 0]);
    assert_eq!(int8.forward_int8(&[127, 2]), [127]);
    // Sums [-508, -8128]: both negative, so ReLU gives 0 and so does the network.
    assert_eq!(int8.0.forward(&[-4, 64]), [0, 0]);
    assert_eq!(int8.forward_int8(&[-4, 64]), [0]);
    // 127 * 8064.5: the f32 network's output, exactly.
    assert_eq!(int8.forward(&a), SVector::from([1_024_191.5]));
    assert_eq!(small().forward(&a), SVector::from([1_024_191.5]));
    Ok(())
}

#[test]
fn a_relu_of_its_own_keeps_the_scale_before_it() -> Result<(), QuantizeError> {
    let net = Separate::new(&mut StdRng::seed_from_u64(3));
    let int8 = net.quantize_inputs(&[SVector::from([1.0, -0.5]), SVector::from([-2.0, 0.25])])?;
    let before = int8.0.scales().output;
    assert_eq!(
        int8.1.scales(),
        Scales {
            input: before,
            output: before
        }
    );
    assert_eq!(int8.1.forward(&[-7, 9]), [0, 9]);
    Ok(())
}

#[test]
fn bad_calibration_data_is_a_typed_error() {
    let net = small();
    let error = net.quantize_inputs(&[]).unwrap_err();
    assert_eq!(error, QuantizeError::EmptyCalibration);
    assert_eq!(
        error.to_string(),
        "calibration data: expected at least one sample to measure the ranges on, found none"
    );

    let inputs = [SVector::from([1.0, 2.0]), SVector::from([f32::NAN, 0.0])];
    let error = net.quantize_inputs(&inputs).unwrap_err();
    assert!(
        matches!(error, QuantizeError::NonFiniteInput { sample: 1, feature: 0, value } if value.is_nan()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "calibration data: expected finite inputs, found NaN at sample 1, input 0"
    );

    let inputs = [SVector::from([0.0, f32::NEG_INFINITY])];
    assert_eq!(
        net.quantize_inputs(&inputs).unwrap_err(),
        QuantizeError::NonFiniteInput {
            sample: 0,
            feature: 1,
            value: f32::NEG_INFINITY
        }
    );

    // Finite inputs whose first layer's output is not: 127 * 3e38 overflows f32.
    let inputs = [SVector::from([1.0, 1.0]), SVector::from([3e38, 0.0])];
    let error = net.quantize_inputs(&inputs).unwrap_err();
    assert_eq!(
        error,
        QuantizeError::NonFiniteOutput {
            sample: 1,
            layer: "0",
            unit: 0,
            value: f32::INFINITY
        }
    );
    assert_eq!(
        error.to_string(),
        "calibration: expected finite outputs of layer `0`, found inf at output 0 for sample 1"
    );
}

#[test]
fn a_non_finite_parameter_is_a_typed_error_naming_its_layer() {
    let inputs = [SVector::from([0.5; 64])];
    let mut net = Digits::new(&mut StdRng::seed_from_u64(0));
    net.logits.bias[3] = f32::NAN;
    let error = net.quantize_inputs(&inputs).unwrap_err();
    assert!(
        matches!(error, QuantizeError::NonFiniteParameter { layer: "logits", tensor: "bias", index: 3, value } if value.is_nan()),
        "{error:?}"
    );
    let mut net = Digits::new(&mut StdRng::seed_from_u64(0));
    // Row 5, column 63: index 63 * 32 + 5 in the column-major slice.
    net.hidden.weights[(5, 63)] = f32::INFINITY;
    let error = net.quantize_inputs(&inputs).unwrap_err();
    assert_eq!(
        error,
        QuantizeError::NonFiniteParameter {
            layer: "hidden",
            tensor: "weight",
            index: 63 * 32 + 5,
            value: f32::INFINITY
        }
    );
    assert_eq!(
        error.to_string(),
        "layer `hidden`: expected finite parameters to quantize, found inf in `weight` at index 2021"
    );
}

/// Digits scaled to 0..1, split into the first 1200 rows and the rest.
fn digits() -> (Dataset<f32, 64, 10>, Dataset<f32, 64, 10>) {
    let data = Dataset::<f32, 64, 10>::from_csv_path(
        common::data_path("digits.csv"),
        Target::one_hot("label"),
    )
    .expect("the bundled digits load");
    let inputs: Vec<_> = data.inputs().iter().map(|x| x / 16.0).collect();
    let targets = data.targets().to_vec();
    let part = |range: std::ops::Range<usize>| {
        Dataset::new(inputs[range.clone()].to_vec(), targets[range].to_vec()).expect("finite")
    };
    (part(0..1200), part(1200..inputs.len()))
}

/// A bound on `|f32 output - int8 output|` for each output of `int8` on `x`, by propagating the
/// error layer by layer in f64: with `x^` the int8 input as a real number, a Dense layer's
/// error is at most `|W| e + |W - W^| |x^| + |b - b^|` (the triangle inequality on
/// `W x + b - (W^ x^ + b^)`), ReLU does not increase it, and requantization adds at most half
/// a step (plus what clipping to +-127 steps cuts off, and the fixed-point multiplier's
/// `2^-30` relative error).
fn bound(net: &Digits, int8: &DigitsInt8, x: &SVector<f32, 64>) -> [f64; 10] {
    let s0 = f64::from(int8.input_scale());
    let q0 = quantize_input(x, int8.input_scale());
    let e0: Vec<f64> = (0..64)
        .map(|k| (f64::from(x[k]) - f64::from(q0[k]) * s0).abs())
        .collect();
    let (e1, q1) = layer_bound::<64, 32, Relu>(&net.hidden, &int8.hidden, &e0, &q0);
    let (e2, _) = layer_bound::<32, 10, typenn::Identity>(&net.logits, &int8.logits, &e1, &q1);
    e2.try_into().expect("ten outputs")
}

fn layer_bound<const IN: usize, const OUT: usize, A: typenn::Activation>(
    dense: &Dense<IN, OUT, A>,
    int8: &typenn::quant::QuantizedDense<IN, OUT, A>,
    error: &[f64],
    input: &[i8; IN],
) -> (Vec<f64>, [i8; OUT]) {
    let Scales {
        input: s_in,
        output: s_out,
    } = int8.scales();
    let (s_in, s_out) = (f64::from(s_in), f64::from(s_out));
    let sums = int8.sums(input);
    let output = int8.forward(input);
    let bounds = (0..OUT)
        .map(|o| {
            let s_w = f64::from(int8.weight_scales()[o]);
            let mut e = (f64::from(dense.bias[o]) - f64::from(int8.bias()[o]) * s_in * s_w).abs();
            for k in 0..IN {
                let w = f64::from(dense.weights[(o, k)]);
                let w_hat = f64::from(int8.weights()[o][k]) * s_w;
                let x_hat = f64::from(input[k]) * s_in;
                e += w.abs() * error[k] + (w - w_hat).abs() * x_hat.abs();
            }
            let real = f64::from(sums[o]) * s_in * s_w;
            let clipped = (real.abs() - 127.0 * s_out).max(0.0);
            e + s_out / 2.0 + clipped + real.abs() * 2e-9
        })
        .collect();
    (bounds, output)
}

#[test]
fn int8_digits_stay_within_the_propagated_bound_and_the_f32_accuracy() {
    let (train, test) = digits();
    let mut net = Digits::new(&mut StdRng::seed_from_u64(0));
    let options = FitOptions::new().epochs(60).batch_size(32).shuffle(0);
    net.fit(&train, SoftmaxCrossEntropy, Adam::new(0.001), &options)
        .expect("training runs");
    let int8 = net.quantize(&train).expect("finite calibration data");

    let (mut worst, mut worst_ratio, mut widest, mut agree) = (0.0_f64, 0.0_f64, 0.0_f64, 0);
    let (mut right_f32, mut right_int8) = (0, 0);
    for (x, target) in test.inputs().iter().zip(test.targets()) {
        let exact = net.forward(x);
        let approximate = int8.forward(x);
        let bounds = bound(&net, &int8, x);
        for o in 0..10 {
            let error = f64::from((exact[o] - approximate[o]).abs());
            // f32 rounding in the f32 network itself: far below 1e-4 at these magnitudes.
            assert!(
                error <= bounds[o] + 1e-4,
                "output {o}: error {error} over the bound {}",
                bounds[o]
            );
            worst = worst.max(error);
            worst_ratio = worst_ratio.max(error / bounds[o]);
            widest = widest.max(bounds[o]);
        }
        agree += usize::from(exact.imax() == approximate.imax());
        right_f32 += usize::from(exact.imax() == target.imax());
        right_int8 += usize::from(approximate.imax() == target.imax());
    }
    let n = test.len() as f64;
    let range = f64::from(int8.output_scale()) * 127.0;
    let (f32_accuracy, int8_accuracy) = (right_f32 as f64 / n, right_int8 as f64 / n);
    println!(
        "{} test rows: worst logit error {worst:.4} ({:.0}% of its bound), argmax agrees on \
         {agree}, accuracy f32 {f32_accuracy:.4}, int8 {int8_accuracy:.4}; widest bound \
         {widest:.4} of a logit range of {range:.2}",
        test.len(),
        100.0 * worst_ratio
    );
    assert!(f32_accuracy > 0.9, "{f32_accuracy}");
    assert!((f32_accuracy - int8_accuracy).abs() <= 0.01);
    // The bound is not vacuous: every output's is a small fraction of the logits' range.
    assert!(widest < 0.1 * range, "{widest} of {range}");
}
