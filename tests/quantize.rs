//! int8 post-training quantization of whole networks: the calibration rule and the integers of
//! a hand-computed network, typed errors for bad calibration data, and on the digits data an
//! error bound that every output of the int8 network is checked against, for the MLP and for
//! the CNN (convolutions with folded batch normalization, ReLU, max pooling, Dense).

#[path = "../examples/common/mod.rs"]
#[allow(dead_code, reason = "the tests use the data path only")]
mod common;

use typenn::prelude::*;
use typenn::quant::{QuantizedConv2d, QuantizedLayer, Scales, quantize_input};
use typenn::{BatchNorm, Conv2d, QuantizeError, Train};

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

network! {
    /// The digits CNN of `examples/digits_cnn.rs`.
    #[input_shape(1, 8, 8)]
    struct Cnn(
        Conv2d<1, 16, 3, 1, 1>,
        BatchNorm,
        Relu,
        MaxPool2d<2>,
        Conv2d<16, 32, 3, 1, 1>,
        BatchNorm,
        Relu,
        MaxPool2d<2>,
        Flatten,
        Dropout<25>,
        Dense<128, 10>,
    );
}

network! {
    /// A normalization that cannot be folded (its convolution has an activation of its own),
    /// and average pooling.
    #[input_shape(2, 4)]
    struct Unfolded(Conv1d<2, 3, 3, 1, 1, 1, Relu>, BatchNorm, AvgPool1d<2>, GlobalAvgPool, Dense<3, 2>);
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

/// Images of the digits data as the CNN's inputs, and its training on them: `epochs` of Adam.
fn trained_cnn(train: &Dataset<f32, 64, 10>, epochs: usize) -> Cnn {
    let mut net = Cnn::new(&mut StdRng::seed_from_u64(0));
    let options = FitOptions::new().epochs(epochs).batch_size(32).shuffle(0);
    net.fit(train, SoftmaxCrossEntropy, Adam::new(0.001), &options)
        .expect("training runs");
    net
}

#[test]
fn a_batch_norm_after_a_convolution_is_folded_and_elsewhere_runs_on_its_own()
-> Result<(), QuantizeError> {
    let (train, _) = digits();
    let inputs = &train.inputs()[..50];
    let net = Cnn::new(&mut StdRng::seed_from_u64(1));
    let int8 = net.quantize_inputs(inputs)?;
    // The folded normalization passes the convolution's outputs through on their scale, the
    // normalization's calibrated range; ReLU and max pooling keep it.
    let conv = int8.0.scales().output;
    for scales in [int8.1.scales(), int8.2.scales(), int8.3.scales()] {
        assert_eq!(
            scales,
            Scales {
                input: conv,
                output: conv
            }
        );
    }
    assert_eq!(int8.4.scales().input, conv);

    let net = Unfolded::new(&mut StdRng::seed_from_u64(2));
    let calibration: Vec<SVector<f32, 8>> = (0..20)
        .map(|i| SVector::from_fn(|k, _| ((i * 8 + k) as f32 * 0.37).sin()))
        .collect();
    let int8 = net.quantize_inputs(&calibration)?;
    // On its own, each channel's factor is one weight of +-127.
    assert!(int8.1.weight().iter().all(|w| w.abs() == 127));
    assert_ne!(int8.1.scales().input, int8.1.scales().output);
    let range = f64::from(int8.output_scale()) * 127.0;
    for x in &calibration {
        let (exact, approximate) = (net.forward(x), int8.forward(x));
        for o in 0..2 {
            // Six requantizations of half a step each, on scales no wider than the output's
            // range / 127, and the weights' rounding: within 5% of the range.
            let error = f64::from((exact[o] - approximate[o]).abs());
            assert!(error < 0.05 * range, "{exact} {approximate}");
        }
    }
    Ok(())
}

#[test]
fn bad_calibration_data_for_a_cnn_is_a_typed_error() {
    let net = Cnn::new(&mut StdRng::seed_from_u64(0));
    assert_eq!(
        net.quantize_inputs(&[]).unwrap_err(),
        QuantizeError::EmptyCalibration
    );
    let mut image = SVector::<f32, 64>::from_element(0.5);
    image[9] = f32::NAN;
    let error = net
        .quantize_inputs(&[SVector::from_element(0.25), image])
        .unwrap_err();
    assert!(
        matches!(error, QuantizeError::NonFiniteInput { sample: 1, feature: 9, value } if value.is_nan()),
        "{error:?}"
    );
    // Finite pixels whose convolution overflows f32: the first layer's outputs.
    let mut ones = net.clone();
    ones.0.weight = [[[[1.0; 3]; 3]]; 16];
    let image = SVector::<f32, 64>::from_element(3e38);
    assert!(
        matches!(
            ones.quantize_inputs(&[SVector::from_element(0.5), image]).unwrap_err(),
            QuantizeError::NonFiniteOutput { sample: 1, layer: "0", unit: 0, value } if value == f32::INFINITY
        ),
        "the convolution's outputs are infinite"
    );
    // A running mean that is NaN makes the normalization's outputs NaN.
    let mut broken = net.clone();
    broken.5.running_mean[7] = f32::NAN;
    assert!(matches!(
        broken.quantize_inputs(&[SVector::from_element(0.5)]).unwrap_err(),
        QuantizeError::NonFiniteOutput { sample: 0, layer: "5", value, .. } if value.is_nan()
    ));
    let mut broken = net.clone();
    broken.4.weight[3][2][1][0] = f32::INFINITY;
    assert_eq!(
        broken
            .quantize_inputs(&[SVector::from_element(0.5)])
            .unwrap_err(),
        QuantizeError::NonFiniteParameter {
            layer: "4",
            tensor: "weight",
            index: ((3 * 16 + 2) * 3 + 1) * 3,
            value: f32::INFINITY
        }
    );
    let mut broken = net;
    broken.1.bias[2] = f32::NEG_INFINITY;
    assert!(matches!(
        broken
            .quantize_inputs(&[SVector::from_element(0.5)])
            .unwrap_err(),
        QuantizeError::NonFiniteParameter {
            layer: "1",
            tensor: "bias",
            index: 2,
            ..
        }
    ));
}

/// The bound of [`bound`] for a 3x3 convolution with one zero around (stride 1) followed by a
/// folded batch normalization: the exact map is `W' x + b'` with `W' = factor W` and
/// `b' = factor (b - mean) + beta` per channel, in f64, and each output's patch is summed as
/// in `layer_bound`.
fn conv_bound<
    const CIN: usize,
    const COUT: usize,
    const H: usize,
    const S: usize,
    const IN: usize,
    const OUT: usize,
>(
    conv: &Conv2d<CIN, COUT, 3, 1, 1, 1, 1, H, H, H, H>,
    norm: &BatchNorm<COUT, S>,
    int8: &QuantizedConv2d<CIN, COUT, 3, 1, 1, 1, 1, H, H, H, H>,
    error: &[f64],
    input: &[i8; IN],
) -> (Vec<f64>, [i8; OUT]) {
    let Scales {
        input: s_in,
        output: s_out,
    } = QuantizedLayer::<IN, OUT>::scales(int8);
    let (s_in, s_out) = (f64::from(s_in), f64::from(s_out));
    let sums: [i32; OUT] = int8.sums(input);
    let output = QuantizedLayer::<IN, OUT>::forward(int8, input);
    let mut bounds = vec![0.0; OUT];
    for o in 0..COUT {
        let factor = f64::from(norm.weight[o]) / (f64::from(norm.running_var[o]) + 1e-5).sqrt();
        let real_bias = (f64::from(conv.bias[o]) - f64::from(norm.running_mean[o])) * factor
            + f64::from(norm.bias[o]);
        let s_w = f64::from(int8.weight_scales()[o]);
        let bias_error = (real_bias - f64::from(int8.bias()[o]) * s_in * s_w).abs();
        for (r, c) in (0..H).flat_map(|r| (0..H).map(move |c| (r, c))) {
            let mut e = bias_error;
            for (i, kr, kc) in (0..CIN).flat_map(|i| (0..9).map(move |t| (i, t / 3, t % 3))) {
                // Tap (kr, kc) of output (r, c) reads input (r + kr - 1, c + kc - 1).
                let (Some(y), Some(x)) = ((r + kr).checked_sub(1), (c + kc).checked_sub(1)) else {
                    continue;
                };
                if y >= H || x >= H {
                    continue;
                }
                let k = (i * H + y) * H + x;
                let w = f64::from(conv.weight[o][i][kr][kc]) * factor;
                let w_hat = f64::from(int8.weight()[o][i][kr][kc]) * s_w;
                let x_hat = f64::from(input[k]) * s_in;
                e += w.abs() * error[k] + (w - w_hat).abs() * x_hat.abs();
            }
            let p = (o * H + r) * H + c;
            let real = f64::from(sums[p]) * s_in * s_w;
            let clipped = (real.abs() - 127.0 * s_out).max(0.0);
            bounds[p] = e + s_out / 2.0 + clipped + real.abs() * 2e-9;
        }
    }
    (bounds, output)
}

/// ReLU then 2x2 max pooling with stride 2 over `C` planes of `H x H`: both are exact on the
/// integers and neither increases an error (`|max a - max b| <= max |a - b|`), so each output's
/// bound is the largest of its window's.
fn relu_pool_bound<const C: usize, const H: usize>(error: &[f64]) -> Vec<f64> {
    let half = H / 2;
    (0..C * half * half)
        .map(|p| {
            let (o, r, c) = (p / (half * half), p / half % half, p % half);
            let at = |y: usize, x: usize| error[(o * H + 2 * r + y) * H + 2 * c + x];
            at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1))
        })
        .collect()
}

/// [`bound`] for the CNN: the convolutions with their normalizations folded, ReLU and max
/// pooling, then the Dense layer as in the MLP.
fn cnn_bound(net: &Cnn, int8: &CnnInt8, x: &SVector<f32, 64>) -> [f64; 10] {
    let s0 = f64::from(int8.input_scale());
    let q0 = quantize_input(x, int8.input_scale());
    let e0: Vec<f64> = (0..64)
        .map(|k| (f64::from(x[k]) - f64::from(q0[k]) * s0).abs())
        .collect();
    let (e1, q1) = conv_bound::<1, 16, 8, 64, 64, 1024>(&net.0, &net.1, &int8.0, &e0, &q0);
    let q1 = QuantizedLayer::<1024, 1024>::forward(&int8.2, &q1);
    let q1 = QuantizedLayer::<1024, 256>::forward(&int8.3, &q1);
    let e1 = relu_pool_bound::<16, 8>(&e1);
    let (e2, q2) = conv_bound::<16, 32, 4, 16, 256, 512>(&net.4, &net.5, &int8.4, &e1, &q1);
    let q2 = QuantizedLayer::<512, 512>::forward(&int8.6, &q2);
    let q2 = QuantizedLayer::<512, 128>::forward(&int8.7, &q2);
    let e2 = relu_pool_bound::<32, 4>(&e2);
    let (e3, _) = layer_bound::<128, 10, typenn::Identity>(&net.10, &int8.10, &e2, &q2);
    e3.try_into().expect("ten outputs")
}

#[test]
fn int8_cnn_stays_within_the_propagated_bound_and_the_f32_accuracy() {
    let (train, test) = digits();
    let net = trained_cnn(&train, 12);
    let int8 = net.quantize(&train).expect("finite calibration data");

    let (mut worst, mut worst_ratio, mut widest, mut agree) = (0.0_f64, 0.0_f64, 0.0_f64, 0);
    let (mut right_f32, mut right_int8, mut total_bound) = (0, 0, 0.0);
    for (x, target) in test.inputs().iter().zip(test.targets()) {
        let exact = net.forward(x);
        let approximate = int8.forward(x);
        let bounds = cnn_bound(&net, &int8, x);
        total_bound += bounds.iter().sum::<f64>();
        for o in 0..10 {
            let error = f64::from((exact[o] - approximate[o]).abs());
            // The f32 network's own rounding (sums of up to 144 products, the normalization
            // apart from the convolution): well below 1e-3 at these magnitudes.
            assert!(
                error <= bounds[o] + 1e-3,
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
    let mean_bound = total_bound / (10.0 * n);
    println!(
        "{} test rows: worst logit error {worst:.4} ({:.0}% of its bound), argmax agrees on \
         {agree}, accuracy f32 {f32_accuracy:.4}, int8 {int8_accuracy:.4}; bounds {mean_bound:.4} \
         on average, {widest:.4} at most, of a logit range of {range:.2}",
        test.len(),
        100.0 * worst_ratio
    );
    assert!(f32_accuracy > 0.9, "{f32_accuracy}");
    assert!((f32_accuracy - int8_accuracy).abs() <= 0.01);
    assert!(agree as f64 >= 0.99 * n, "{agree}");
    // Through three layers the worst case adds every weight's error with the same sign, which
    // the data do not do: the bound holds but is about the logits' range (13.6 on average was
    // measured, against a range of 12). What is seen is far tighter, and this is the bound
    // stated for the whole network: every logit within 3% of the logits' range (1.6% was
    // measured). One layer at a time the propagated bound is tight: see
    // `the_first_cnn_block_stays_within_a_few_steps_of_its_bound`.
    assert!(worst < 0.03 * range, "{worst} of {range}");
}

#[test]
fn the_first_cnn_block_stays_within_a_few_steps_of_its_bound() {
    let (train, test) = digits();
    let net = trained_cnn(&train, 3);
    let int8 = net.quantize(&train).expect("finite calibration data");
    let step = f64::from(int8.0.scales().output);
    let (mut widest, mut worst) = (0.0_f64, 0.0_f64);
    for x in test.inputs() {
        let s0 = f64::from(int8.input_scale());
        let q0 = quantize_input(x, int8.input_scale());
        let e0: Vec<f64> = (0..64)
            .map(|k| (f64::from(x[k]) - f64::from(q0[k]) * s0).abs())
            .collect();
        let (bounds, q1) = conv_bound::<1, 16, 8, 64, 64, 1024>(&net.0, &net.1, &int8.0, &e0, &q0);
        // The convolution and then the normalization, in f32 and in inference.
        let conv = typenn::Layer::<f32, 64, 1024>::forward(&net.0, x);
        let exact = typenn::Layer::<f32, 1024, 1024>::forward(&net.1, &conv);
        for p in 0..1024 {
            let error = (f64::from(exact[p]) - f64::from(q1[p]) * step).abs();
            assert!(error <= bounds[p] + 1e-5, "{p}: {error} over {}", bounds[p]);
            widest = widest.max(bounds[p] / step);
            worst = worst.max(error / step);
        }
    }
    println!("first block: worst error {worst:.3} steps, widest bound {widest:.3} steps");
    // Half a step of rounding, the input's and the weights' rounding through nine taps.
    assert!(widest < 3.0, "{widest}");
}
