//! The layers beyond Dense, through whole networks: shapes flowing through `network!`,
//! back-propagation against finite differences in f64, the fused SGD step against the
//! gradients, and dropout's training and inference.

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
    /// Two channels of 9 through two convolutions (strided and padded, then dilated with
    /// `Same` padding), an activation layer, dropout, and a Dense head.
    #[input_shape(2, 9)]
    struct Sequence(
        Conv1d<2, 3, 3, 2, 1, 1, Tanh>,
        Conv1d<3, 2, 3, 1, Same, 2>,
        Tanh,
        Dropout<30>,
        Flatten,
        Dense<10, 2>,
    );
}

network! {
    /// The same without dropout, for comparing training paths.
    #[input_shape(2, 9)]
    struct Plain(Conv1d<2, 3, 3, 2, 1, 1, Tanh>, Conv1d<3, 2, 3, 1, Same, 2>, Tanh, Flatten, Dense<10, 2>);
}

network! {
    /// Pooling after a convolution: max over pairs, then a padded average of three with
    /// stride 2: 12 -> 10 -> 5 -> 3 positions.
    #[input_shape(2, 12)]
    struct Pooled(Conv1d<2, 3, 3, Tanh>, MaxPool1d<2>, AvgPool1d<3, 2, 1>, Flatten, Dense<9, 1>);
}

#[test]
fn shapes_flow_through_the_declaration() {
    // (9 + 2 - 3) / 2 + 1 = 5 positions, kept at 5 by `Same`; 2 x 5 = 10 into the Dense.
    let summary = Sequence::zeros().summary().to_string();
    for shape in ["3 x 5", "2 x 5", "10", "2"] {
        assert!(summary.contains(shape), "{summary}");
    }
    assert_eq!(
        Sequence::PARAMETERS,
        (3 * 2 * 3 + 3) + (2 * 3 * 3 + 2) + (10 * 2 + 2)
    );
}

#[test]
fn convolutions_dropout_and_activation_layers_match_finite_differences() {
    let mut model = Sequence::<f64>::new(&mut StdRng::seed_from_u64(3));
    let mut numbers = Numbers(29);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 18>> = numbers.batch(4);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(4);
    // `gradients` runs in training with its dropout seeded the same way every call, so the
    // loss it reports is the function the finite differences see.
    let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert!(loss.is_finite() && loss > 1e-3, "loss {loss}");
    let errors = check_all("Sequence", &mut model, &*analytic, |m| {
        batch_loss(m, &xs, &ys)
    });
    assert_mostly_significant(&errors);
}

#[test]
fn pooling_matches_finite_differences_and_pytorch_floor_lengths() {
    let summary = Pooled::zeros().summary().to_string();
    for shape in ["3 x 10", "3 x 5", "3 x 3", "9"] {
        assert!(summary.contains(shape), "{summary}");
    }
    let mut model = Pooled::<f64>::new(&mut StdRng::seed_from_u64(4));
    let mut numbers = Numbers(31);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 24>> = numbers.batch(3);
    let ys: Vec<SVector<f64, 1>> = numbers.batch(3);
    let (loss, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert!(loss.is_finite() && loss > 1e-3, "loss {loss}");
    let errors = check_all("Pooled", &mut model, &*analytic, |m| {
        batch_loss(m, &xs, &ys)
    });
    assert_mostly_significant(&errors);
}

#[test]
fn the_fused_sgd_step_is_the_gradient_step() {
    let mut numbers = Numbers(41);
    let xs: Vec<SVector<f64, 18>> = numbers.batch(3);
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

#[test]
fn dropout_trains_reproducibly_and_is_the_identity_in_inference() {
    let mut numbers = Numbers(5);
    let xs: Vec<SVector<f32, 18>> = (0..32).map(|_| numbers.vector::<18>().cast()).collect();
    let ys: Vec<SVector<f32, 2>> = (0..32).map(|_| numbers.vector::<2>().cast()).collect();
    let data = Dataset::new(xs.clone(), ys).expect("finite data");
    let fit = |seed: u64| {
        let mut model = Sequence::new(&mut StdRng::seed_from_u64(1));
        let options = FitOptions::new().epochs(3).batch_size(8).shuffle(seed);
        let history = model
            .fit(&data, Mse, Sgd::new(0.05), &options)
            .expect("training runs");
        (model, history)
    };
    let (first, history) = fit(7);
    let (again, _) = fit(7);
    let (other, _) = fit(8);
    assert_eq!(first, again, "the same seed gives the same network");
    assert_ne!(first, other, "another seed drops other units");
    assert_eq!(history.epochs(), 3);
    assert!(history.loss.iter().all(|loss| loss.is_finite()));
    // In inference dropout does nothing: the output is the network without it.
    let mut without = Plain::zeros();
    for tensor in 0..Plain::<f32>::TENSORS {
        without
            .tensor_mut(tensor)
            .copy_from_slice(first.tensor(tensor));
    }
    for x in &xs {
        assert_eq!(first.forward(x), without.forward(x));
    }
}

#[cfg(feature = "serde")]
#[test]
fn convolutional_networks_round_trip_through_serde() -> Result<(), serde_json::Error> {
    let model = Sequence::<f64>::new(&mut StdRng::seed_from_u64(12));
    let json = serde_json::to_string(&model)?;
    let back: Sequence<f64> = serde_json::from_str(&json)?;
    assert_eq!(back, model);
    // A kernel of the wrong length is refused, saying how many numbers it needs.
    let short = json.replacen("\"weight\":[", "\"weight\":[0.5,", 1);
    let error = serde_json::from_str::<Sequence<f64>>(&short)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(error.contains("18"), "{error}");
    Ok(())
}

#[test]
fn convolution_kernels_are_saved_under_pytorch_names_and_shapes()
-> Result<(), Box<dyn std::error::Error>> {
    use typenn::Persist;
    let model = Sequence::<f32>::new(&mut StdRng::seed_from_u64(13));
    let info = <Sequence<f32> as Parameters<f32>>::tensor_info(0).ok_or("no tensor 0")?;
    assert_eq!(
        (info.full_name(), info.shape),
        ("0.weight".to_owned(), &[3, 2, 3][..])
    );
    // Dense's tensors keep their field's index among all layers, as nn.Sequential names them.
    let last = <Sequence<f32> as Parameters<f32>>::tensor_info(4).ok_or("no tensor 4")?;
    assert_eq!(
        (last.full_name(), last.shape),
        ("5.weight".to_owned(), &[2, 10][..])
    );
    let bytes = model.to_safetensors_bytes()?;
    let back = Sequence::<f32>::from_safetensors_bytes(&bytes)?;
    assert_eq!(back, model);
    // PyTorch's order: weight[o][i][k] is element (o * 2 + i) * 3 + k of the flat kernel.
    assert_eq!(
        model.tensor(0)[(2 * 2 + 1) * 3 + 2],
        model.0.weight[2][1][2]
    );
    Ok(())
}
