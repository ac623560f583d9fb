//! LayerNorm through whole networks: finite differences in f64 after a Dense and after a
//! convolution (normalizing over (C, L)), the fused SGD step against the gradient step,
//! PyTorch's tensor names, and parity with PyTorch's forward, gradients and SGD trajectory.

#[path = "support/finite_difference.rs"]
mod finite_difference;
#[path = "support/reference.rs"]
mod reference;

#[allow(dead_code)]
mod fixture {
    include!("fixtures/layer_norm_reference.rs");
}

use finite_difference::{
    Numbers, assert_mostly_significant, batch_loss, check_all, randomize_biases, sgd_by_hand,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use reference::{Check, matrix, samples, vector};
use typenn::prelude::*;
use typenn::{Network, Phase, Workspace, columns, flatten};

network! {
    /// LayerNorm over a hidden vector of 6.
    struct Normed(Dense<4, 6>, LayerNorm, Tanh, Dense<6, 2>);
}

network! {
    /// LayerNorm over a convolution's (3, 5) output, as PyTorch's `LayerNorm([3, 5])`.
    #[input_shape(2, 7)]
    struct Sequence(Conv1d<2, 3, 3>, LayerNorm, Tanh, Flatten, Dense<15, 2>);
}

/// gamma away from ones, so that its part of the input's gradient is tested.
fn randomize_gammas<N: Parameters<f64>>(model: &mut N, numbers: &mut Numbers) {
    for tensor in 0..N::TENSORS {
        let info = N::tensor_info(tensor).expect("every tensor has info");
        if info.name == "weight" && info.layer == "1" {
            for value in model.tensor_mut(tensor) {
                *value = 1.0 + 0.5 * numbers.next();
            }
        }
    }
}

fn check_network<N: Network<f64, IN, OUT>, const IN: usize, const OUT: usize>(
    label: &str,
    mut model: N,
    seed: u64,
) {
    let mut numbers = Numbers(seed);
    randomize_biases(&mut model, &mut numbers);
    randomize_gammas(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, IN>> = numbers.batch(4);
    let ys: Vec<SVector<f64, OUT>> = numbers.batch(4);
    let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert!(loss.is_finite() && loss > 1e-3, "loss {loss}");
    let errors = check_all(label, &mut model, &*analytic, |m| batch_loss(m, &xs, &ys));
    assert_mostly_significant(&errors);
}

#[test]
fn gradients_match_finite_differences_after_dense_and_after_a_convolution() {
    check_network(
        "Normed",
        Normed::<f64>::new(&mut StdRng::seed_from_u64(1)),
        17,
    );
    check_network(
        "Sequence",
        Sequence::<f64>::new(&mut StdRng::seed_from_u64(2)),
        19,
    );
}

#[test]
fn new_starts_gamma_at_ones_and_beta_at_zeros() {
    let model = Sequence::<f32>::new(&mut StdRng::seed_from_u64(3));
    assert_eq!(model.1.weight, [1.0; 15]);
    assert_eq!(model.1.bias, [0.0; 15]);
    let summary = model.summary().to_string();
    assert!(summary.contains("3 x 5"), "{summary}");
    assert_eq!(
        Sequence::<f32>::PARAMETERS,
        (3 * 2 * 3 + 3) + 2 * 15 + (15 * 2 + 2)
    );
}

/// The fused pass of one sample or of a batch, which must be applied, not declined.
fn fused_step(model: &mut Normed<f64>, xs: &[SVector<f64, 4>], ys: &[SVector<f64, 2>]) {
    let limits = nn_core::StepLimits::new(0.1, xs.len());
    let mut phase = Phase::training(1);
    let fused = match (xs, ys) {
        ([x], [y]) => model.sgd_single(x, y, &Mse, 0.1, &limits, &mut phase),
        _ => model.sgd_batch(
            columns(flatten(xs)),
            columns(flatten(ys)),
            &Mse,
            0.1,
            &limits,
            &mut Workspace::new(),
            &mut phase,
        ),
    };
    assert!(matches!(fused, nn_core::Fused::Applied(_)), "{fused:?}");
}

#[test]
fn the_fused_sgd_step_is_the_gradient_step() {
    let mut numbers = Numbers(23);
    let xs: Vec<SVector<f64, 4>> = numbers.batch(3);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(3);
    for batch in [1, 3] {
        let mut fused = Normed::<f64>::new(&mut StdRng::seed_from_u64(5));
        randomize_biases(&mut fused, &mut numbers);
        randomize_gammas(&mut fused, &mut numbers);
        let mut manual = fused.clone();
        let start = fused.clone();
        for _ in 0..3 {
            fused_step(&mut fused, &xs[..batch], &ys[..batch]);
            sgd_by_hand(&mut manual, &xs[..batch], &ys[..batch], 0.1);
        }
        // gamma and beta moved, and the same way.
        assert_ne!(fused.1, start.1);
        for tensor in 0..Normed::<f64>::TENSORS {
            for (a, b) in fused.tensor(tensor).iter().zip(manual.tensor(tensor)) {
                assert!(
                    (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                    "batch {batch}, tensor {tensor}: {a} vs {b}"
                );
            }
        }
    }
}

#[test]
fn tensors_are_saved_under_pytorch_names_and_shapes() -> Result<(), Box<dyn std::error::Error>> {
    use typenn::Persist;
    let info = |tensor| <Normed<f32> as Parameters<f32>>::tensor_info(tensor).ok_or("no tensor");
    let (weight, bias) = (info(2)?, info(3)?);
    assert_eq!(
        (weight.full_name(), weight.shape),
        ("1.weight".to_owned(), &[6][..])
    );
    assert_eq!(
        (bias.full_name(), bias.shape),
        ("1.bias".to_owned(), &[6][..])
    );
    let over_channels = <Sequence<f32> as Parameters<f32>>::tensor_info(2).ok_or("no tensor")?;
    assert_eq!(
        (over_channels.full_name(), over_channels.shape),
        ("1.weight".to_owned(), &[3, 5][..])
    );
    let mut model = Normed::<f32>::new(&mut StdRng::seed_from_u64(6));
    model.1.weight = [0.5, 1.5, 2.0, -1.0, 0.25, 3.0];
    model.1.bias = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6];
    let back = Normed::<f32>::from_safetensors_bytes(&model.to_safetensors_bytes()?)?;
    assert_eq!(back, model);
    let channels = Sequence::<f32>::new(&mut StdRng::seed_from_u64(7));
    let back = Sequence::<f32>::from_safetensors_bytes(&channels.to_safetensors_bytes()?)?;
    assert_eq!(back, channels);
    Ok(())
}

/// The fixture's parameters in typenn's network.
fn from_fixture(
    w1: &[[f64; 4]; 6],
    b1: &[f64; 6],
    gamma: &[f64; 6],
    beta: &[f64; 6],
    w2: &[[f64; 6]; 2],
    b2: &[f64; 2],
) -> Normed<f64> {
    let mut model = Normed::<f64>::zeros();
    model.0.weights = matrix(w1);
    model.0.bias = vector(b1);
    model.1.weight = *gamma;
    model.1.bias = *beta;
    model.3.weights = matrix(w2);
    model.3.bias = vector(b2);
    model
}

fn compare(check: &mut Check, what: &str, got: &Normed<f64>, want: &Normed<f64>) {
    for tensor in 0..Normed::<f64>::TENSORS {
        for (i, (&a, &b)) in got
            .tensor(tensor)
            .iter()
            .zip(want.tensor(tensor))
            .enumerate()
        {
            check.value(format_args!("{what} tensor {tensor}[{i}]"), a, b);
        }
    }
}

#[test]
fn forward_gradients_and_sgd_match_pytorch_in_f64() -> Result<(), Box<dyn std::error::Error>> {
    use fixture::*;
    let mut model = from_fixture(&W1, &B1, &GAMMA, &BETA, &W2, &B2);
    let xs = samples::<f64, 4>(&INPUTS);
    let ys = samples::<f64, 2>(&TARGETS);
    let mut check = Check::new(1e-9);
    for (x, want) in xs.iter().zip(&OUTPUTS) {
        for (i, (&a, &b)) in model.forward(x).iter().zip(want).enumerate() {
            check.value(format_args!("output {i}"), a, b);
        }
    }
    let (loss, gradients) = model.gradients(&xs, &ys, &Mse)?;
    check.value("loss", loss, LOSS);
    let expected = from_fixture(
        &GRADIENT_W1,
        &GRADIENT_B1,
        &GRADIENT_GAMMA,
        &GRADIENT_BETA,
        &GRADIENT_W2,
        &GRADIENT_B2,
    );
    for tensor in 0..Normed::<f64>::TENSORS {
        let pairs = gradients.tensor(tensor).iter().zip(expected.tensor(tensor));
        for (i, (&a, &b)) in pairs.enumerate() {
            check.value(format_args!("gradient tensor {tensor}[{i}]"), a, b);
        }
    }
    let mut trainer = model.trainer(Mse, Sgd::new(LEARNING_RATE))?;
    for (step, want) in LOSSES.iter().enumerate() {
        let loss = trainer.step(&mut model, &xs, &ys)?;
        check.value(format_args!("loss before step {step}"), loss, *want);
    }
    let trained = from_fixture(
        &TRAINED_W1,
        &TRAINED_B1,
        &TRAINED_GAMMA,
        &TRAINED_BETA,
        &TRAINED_W2,
        &TRAINED_B2,
    );
    compare(&mut check, "after 4 steps", &model, &trained);
    check.finish("Normed against PyTorch");
    Ok(())
}
