//! The 2-d layers through whole networks: (C, H, W) shapes flowing through `network!`,
//! back-propagation against finite differences in f64, the fused SGD step against the
//! gradients, f32 against f64, and Conv2d's kernel under PyTorch's name and shape.

#[path = "support/finite_difference.rs"]
mod finite_difference;

use finite_difference::{
    Numbers, assert_mostly_significant, batch_loss, check_all, randomize_biases, sgd_by_hand,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use typenn::prelude::*;
use typenn::{Network, Parameters};

network! {
    /// Two channels of 9 x 9 through a strided, padded convolution (to 3 x 5 x 5), a dilated
    /// one with `Same` padding (4 x 5 x 5), an activation layer and dropout over (C, H, W), a
    /// padded average of 3 with stride 1 (kept at 5 x 5), max over 2 x 2 (floor: 2 x 2), and a
    /// Dense head.
    #[input_shape(2, 9, 9)]
    struct Image(
        Conv2d<2, 3, 3, 2, 1, 1, Tanh>,
        Conv2d<3, 4, 3, 1, Same, 2>,
        Tanh,
        Dropout<30>,
        AvgPool2d<3, 1, 1>,
        MaxPool2d<2>,
        Flatten,
        Dense<16, 2>,
    );
}

network! {
    /// The same without dropout, for comparing training paths.
    #[input_shape(2, 9, 9)]
    struct Plain(
        Conv2d<2, 3, 3, 2, 1, 1, Tanh>,
        Conv2d<3, 4, 3, 1, Same, 2>,
        Tanh,
        AvgPool2d<3, 1, 1>,
        MaxPool2d<2>,
        Flatten,
        Dense<16, 2>,
    );
}

network! {
    /// Global average pooling after a convolution: 4 x 4 x 4 to 4 numbers.
    #[input_shape(2, 6, 6)]
    struct Global(Conv2d<2, 4, 3, Tanh>, GlobalAvgPool, Dense<4, 2>);
}

network! {
    /// Global average pooling over (C, L).
    #[input_shape(2, 9)]
    struct Global1d(Conv1d<2, 3, 3, Tanh>, GlobalAvgPool, Dense<3, 1>);
}

network! {
    /// Convolutions only (strided, padded, dilated), whose patch matrices (18 x 25 and 27 x 25
    /// numbers) a single-sample pass builds on the stack.
    #[input_shape(2, 9, 9)]
    struct Convolutions(
        Conv2d<2, 3, 3, 2, 1, 1, Tanh>,
        Conv2d<3, 4, 3, 1, Same, 2>,
        Relu,
        Flatten,
    );
}

network! {
    /// A convolution whose patch matrix (4 x 9 rows, 20 x 20 positions: 14,400 numbers) is too
    /// big for the stack: one sample takes the direct loop.
    #[input_shape(4, 20, 20)]
    struct WideConvolution(Conv2d<4, 2, 3, 1, 1>, Flatten);
}

network! {
    /// The same in 1-d.
    #[input_shape(2, 9)]
    struct Convolutions1d(Conv1d<2, 3, 3, 2, 1, 1, Tanh>, Conv1d<3, 2, 3, 1, Same, 2>, Flatten);
}

/// `model.forward` on one sample against `predict` (the batched passes) for a few samples:
/// equal to the bit when `exact`, otherwise within rounding.
fn single_matches_batch<N, const IN: usize, const OUT: usize>(
    label: &str,
    mut model: N,
    seed: u64,
    exact: bool,
) where
    N: Network<f64, IN, OUT>,
{
    let mut numbers = Numbers(seed);
    randomize_biases(&mut model, &mut numbers);
    let inputs: Vec<SVector<f64, IN>> = (0..3).map(|_| numbers.vector()).collect();
    for (sample, (x, batched)) in inputs.iter().zip(model.predict(&inputs)).enumerate() {
        let single = model.forward(x);
        for (k, (&a, &b)) in single.iter().zip(batched.iter()).enumerate() {
            if exact {
                assert_eq!(
                    a.to_bits(),
                    b.to_bits(),
                    "{label}, sample {sample}, output {k}: {a} against {b}"
                );
            } else {
                assert!(
                    (a - b).abs() <= 1e-13 * (1.0 + b.abs()),
                    "{label}, sample {sample}, output {k}: {a} against {b}"
                );
            }
        }
    }
}

#[test]
fn one_sample_goes_through_the_batch_product() {
    let mut rng = StdRng::seed_from_u64(11);
    single_matches_batch("2-d", Convolutions::<f64>::new(&mut rng), 1, true);
    single_matches_batch("1-d", Convolutions1d::<f64>::new(&mut rng), 2, true);
    single_matches_batch(
        "too big for the stack",
        *WideConvolution::<f64>::new_boxed(&mut rng),
        3,
        false,
    );
}

/// Checks every parameter of `model`'s gradients on a batch of three against finite
/// differences.
fn check_network<N, const IN: usize, const OUT: usize>(label: &str, mut model: N, seed: u64)
where
    N: Network<f64, IN, OUT>,
{
    let mut numbers = Numbers(seed);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, IN>> = numbers.batch(3);
    let ys: Vec<SVector<f64, OUT>> = numbers.batch(3);
    let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert!(loss.is_finite() && loss > 1e-3, "{label}: loss {loss}");
    let errors = check_all(label, &mut model, &*analytic, |m| batch_loss(m, &xs, &ys));
    assert_mostly_significant(&errors);
}

#[test]
fn shapes_flow_through_the_declaration() {
    // (9 + 2 - 3) / 2 + 1 = 5 on each side; `Same` keeps 5; the padded average of 3 keeps 5;
    // max over 2 x 2 floors (5 - 2) / 2 + 1 = 2; 4 x 2 x 2 = 16 into the Dense.
    let summary = Image::zeros().summary().to_string();
    for shape in ["3 x 5 x 5", "4 x 5 x 5", "4 x 2 x 2", "16", "2"] {
        assert!(summary.contains(shape), "{summary}");
    }
    assert_eq!(
        Image::PARAMETERS,
        (3 * 2 * 3 * 3 + 3) + (4 * 3 * 3 * 3 + 4) + (16 * 2 + 2)
    );
    let summary = Global::zeros().summary().to_string();
    assert!(summary.contains("4 x 4 x 4"), "{summary}");
    assert_eq!(Global::PARAMETERS, (4 * 2 * 9 + 4) + (4 * 2 + 2));
}

#[test]
fn convolutions_pools_dropout_and_activations_match_finite_differences() {
    // `gradients` runs in training with its dropout seeded the same way every call, so the
    // loss it reports is the function the finite differences see.
    check_network(
        "Image",
        Image::<f64>::new(&mut StdRng::seed_from_u64(3)),
        29,
    );
    check_network(
        "Global",
        Global::<f64>::new(&mut StdRng::seed_from_u64(4)),
        31,
    );
    check_network(
        "Global1d",
        Global1d::<f64>::new(&mut StdRng::seed_from_u64(5)),
        37,
    );
}

#[test]
fn global_average_pooling_is_each_channels_mean() {
    let mut model = Global::<f64>::zeros();
    // The identity on the middle tap of one input channel per output channel: the pooled
    // value is the mean of that channel's inner 4 x 4.
    for o in 0..4 {
        model.0.weight[o][o % 2][1][1] = 1.0;
    }
    model.2.weights = SMatrix::<f64, 2, 4>::from_row_slice(&[
        1.0, 0.0, 0.0, 0.0, //
        0.0, 0.0, 0.0, 1.0,
    ]);
    let x = SVector::<f64, 72>::from_fn(|i, _| 0.01 * i as f64);
    // Output channel 0 is tanh of input channel 0 at rows and columns 1..5 (the valid 4 x 4 of
    // the middle tap), channel 3 the same on input channel 1, 36 numbers further on.
    let mean = |first: usize| {
        let inner = (1..5).flat_map(|r| (1..5).map(move |c| first + r * 6 + c));
        inner.map(|i| (0.01 * i as f64).tanh()).sum::<f64>() / 16.0
    };
    let y = model.forward(&x);
    assert!((y[0] - mean(0)).abs() < 1e-12, "{y}");
    assert!((y[1] - mean(36)).abs() < 1e-12, "{y}");
}

#[test]
fn the_fused_sgd_step_is_the_gradient_step() {
    let mut numbers = Numbers(41);
    let xs: Vec<SVector<f64, 162>> = numbers.batch(3);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(3);
    for batch in [1, 3] {
        let mut fused = Plain::<f64>::new(&mut StdRng::seed_from_u64(8));
        randomize_biases(&mut fused, &mut numbers);
        let mut manual = fused.clone();
        let mut trainer = fused.trainer(Mse, Sgd::new(0.1)).expect("valid options");
        for _ in 0..3 {
            trainer
                .step(&mut fused, &xs[..batch], &ys[..batch])
                .expect("a finite step");
            sgd_by_hand(&mut manual, &xs[..batch], &ys[..batch], 0.1);
        }
        for tensor in 0..Plain::<f64>::TENSORS {
            for (a, b) in fused.tensor(tensor).iter().zip(manual.tensor(tensor)) {
                assert!(
                    (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                    "batch {batch}: {a} vs {b}"
                );
            }
        }
    }
}

/// The same network in f32 computes what f64 does, to f32's precision: each output is a few
/// hundred products of numbers below 1 through tanh, well within 1e-5.
#[test]
fn f32_matches_f64() {
    let wide = Plain::<f64>::new(&mut StdRng::seed_from_u64(21));
    let mut narrow = Plain::<f32>::zeros();
    for tensor in 0..Plain::<f64>::TENSORS {
        for (n, &w) in narrow
            .tensor_mut(tensor)
            .iter_mut()
            .zip(wide.tensor(tensor))
        {
            *n = w as f32;
        }
    }
    let mut numbers = Numbers(43);
    for _ in 0..4 {
        let x: SVector<f64, 162> = numbers.vector();
        let (a, b) = (wide.forward(&x), narrow.forward(&x.cast::<f32>()));
        for (a, b) in a.iter().zip(b.iter()) {
            assert!((a - f64::from(*b)).abs() < 1e-5, "{a} vs {b}");
        }
    }
}

#[test]
fn conv2d_kernels_are_saved_under_pytorch_names_and_shapes()
-> Result<(), Box<dyn std::error::Error>> {
    use typenn::Persist;
    let model = Image::<f32>::new(&mut StdRng::seed_from_u64(13));
    let info = <Image<f32> as Parameters<f32>>::tensor_info(0).ok_or("no tensor 0")?;
    assert_eq!(
        (info.full_name(), info.shape),
        ("0.weight".to_owned(), &[3, 2, 3, 3][..])
    );
    let bias = <Image<f32> as Parameters<f32>>::tensor_info(3).ok_or("no tensor 3")?;
    assert_eq!(
        (bias.full_name(), bias.shape),
        ("1.bias".to_owned(), &[4][..])
    );
    // Dense's tensors keep their field's index among all layers, as nn.Sequential names them.
    let last = <Image<f32> as Parameters<f32>>::tensor_info(4).ok_or("no tensor 4")?;
    assert_eq!(
        (last.full_name(), last.shape),
        ("7.weight".to_owned(), &[2, 16][..])
    );
    let bytes = model.to_safetensors_bytes()?;
    let back = Image::<f32>::from_safetensors_bytes(&bytes)?;
    assert_eq!(back, model);
    // PyTorch's order: weight[o][i][r][c] is element ((o * 2 + i) * 3 + r) * 3 + c.
    assert_eq!(
        model.tensor(0)[((2 * 2 + 1) * 3 + 2) * 3 + 1],
        model.0.weight[2][1][2][1]
    );
    let wide = Image::<f64>::new(&mut StdRng::seed_from_u64(14));
    let back = Image::<f64>::from_safetensors_bytes(&wide.to_safetensors_bytes()?)?;
    assert_eq!(back, wide);
    Ok(())
}

#[cfg(feature = "serde")]
#[test]
fn image_networks_round_trip_through_serde() -> Result<(), serde_json::Error> {
    let model = Image::<f64>::new(&mut StdRng::seed_from_u64(12));
    let json = serde_json::to_string(&model)?;
    let back: Image<f64> = serde_json::from_str(&json)?;
    assert_eq!(back, model);
    // A kernel of the wrong length is refused, saying how many numbers it needs: 3 * 2 * 3 * 3.
    let short = json.replacen("\"weight\":[", "\"weight\":[0.5,", 1);
    let error = serde_json::from_str::<Image<f64>>(&short)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("54"), "{error}");
    Ok(())
}
