//! BatchNorm through whole networks: gradients against finite differences in f64 (batch
//! statistics in training), running statistics updated by every training path as PyTorch
//! updates them, inference from the running statistics, and the buffers saved and loaded
//! under PyTorch's names.

#[path = "support/finite_difference.rs"]
mod finite_difference;

use finite_difference::{
    Numbers, assert_mostly_significant, batch_loss, check_all, randomize_biases,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use typenn::prelude::*;
use typenn::{Layer, Network, Parameters, Persist};

network! {
    /// Features normalized between two Dense layers.
    struct Tabular(Dense<3, 4>, BatchNorm, Tanh, Dense<4, 2>);
}

network! {
    /// Channels normalized after a convolution: 3 channels of 6 positions.
    #[input_shape(2, 8)]
    struct Channels(Conv1d<2, 3, 3>, BatchNorm, Tanh, Flatten, Dense<18, 1>);
}

/// Gives every gamma a value away from 1, so that its gradient differs from beta's role.
fn randomize_gammas<N: Parameters<f64>>(model: &mut N, numbers: &mut Numbers) {
    for tensor in 0..N::TENSORS {
        let info = N::tensor_info(tensor).expect("info");
        if info.name == "weight" && info.shape.len() == 1 {
            for value in model.tensor_mut(tensor) {
                *value = 1.0 + 0.5 * numbers.next();
            }
        }
    }
}

#[test]
fn batch_statistics_back_propagate_as_finite_differences_say() {
    let mut numbers = Numbers(61);
    let mut model = Tabular::<f64>::new(&mut StdRng::seed_from_u64(2));
    randomize_biases(&mut model, &mut numbers);
    randomize_gammas(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 3>> = numbers.batch(5);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(5);
    let (_, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    let errors = check_all("Tabular", &mut model, &*analytic, |m| {
        batch_loss(m, &xs, &ys)
    });
    assert_mostly_significant(&errors);

    let mut model = Channels::<f64>::new(&mut StdRng::seed_from_u64(3));
    randomize_biases(&mut model, &mut numbers);
    randomize_gammas(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 16>> = numbers.batch(3);
    let ys: Vec<SVector<f64, 1>> = numbers.batch(3);
    let (_, analytic) = model.gradients(&xs, &ys, &Mse).expect("a valid batch");
    let errors = check_all("Channels", &mut model, &*analytic, |m| {
        batch_loss(m, &xs, &ys)
    });
    assert_mostly_significant(&errors);
}

/// The running statistics PyTorch keeps after one training batch whose BatchNorm inputs are
/// `z` (one row per sample): momentum 0.1 towards the mean and the unbiased variance.
fn expected_running(z: &[SVector<f64, 4>]) -> ([f64; 4], [f64; 4]) {
    let n = z.len() as f64;
    let mut mean = [0.0; 4];
    let mut var = [0.0; 4];
    for c in 0..4 {
        let m = z.iter().map(|s| s[c]).sum::<f64>() / n;
        let v = z.iter().map(|s| (s[c] - m).powi(2)).sum::<f64>() / (n - 1.0);
        mean[c] = 0.1 * m;
        var[c] = 0.9 + 0.1 * v;
    }
    (mean, var)
}

#[test]
fn every_training_path_updates_the_running_statistics_as_pytorch_does() {
    let mut numbers = Numbers(7);
    let xs: Vec<SVector<f64, 3>> = numbers.batch(4);
    let ys: Vec<SVector<f64, 2>> = numbers.batch(4);
    let start = Tabular::<f64>::new(&mut StdRng::seed_from_u64(9));
    let z: Vec<SVector<f64, 4>> = xs.iter().map(|x| start.0.forward(x)).collect();
    let (mean, var) = expected_running(&z);
    let close = |a: &[f64; 4], b: &[f64; 4]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);

    // Plain SGD on a batch (the fused step) and Adam (the checked step).
    let mut fused = start.clone();
    fused
        .trainer(Mse, Sgd::new(0.1))
        .expect("valid options")
        .step(&mut fused, &xs, &ys)
        .expect("a finite step");
    assert!(
        close(&fused.1.running_mean, &mean),
        "{:?} vs {mean:?}",
        fused.1.running_mean
    );
    assert!(
        close(&fused.1.running_var, &var),
        "{:?} vs {var:?}",
        fused.1.running_var
    );
    let mut checked = start.clone();
    checked
        .trainer(Mse, Adam::new(0.01))
        .expect("valid options")
        .step(&mut checked, &xs, &ys)
        .expect("a finite step");
    assert!(close(&checked.1.running_mean, &mean));
    assert!(close(&checked.1.running_var, &var));

    // One sample at a time: a batch of one, its variance over one number per feature is 0
    // (biased and, for lack of another, the running update's too).
    let mut single = start.clone();
    single
        .trainer(Mse, Sgd::new(0.1))
        .expect("valid options")
        .step(&mut single, &xs[..1], &ys[..1])
        .expect("a finite step");
    for ((mean, var), z) in single
        .1
        .running_mean
        .iter()
        .zip(&single.1.running_var)
        .zip(z[0].iter())
    {
        assert!((mean - 0.1 * z).abs() < 1e-12);
        assert!((var - 0.9).abs() < 1e-12);
    }

    // `gradients` changes nothing.
    let before = start.clone();
    let _ = start.gradients(&xs, &ys, &Mse).expect("a valid batch");
    assert_eq!(start, before);
}

#[test]
fn inference_uses_the_running_statistics() {
    let mut model = Tabular::<f64>::new(&mut StdRng::seed_from_u64(4));
    model.1.running_mean = [0.5, -1.0, 2.0, 0.0];
    model.1.running_var = [4.0, 1.0, 0.25, 9.0];
    model.1.weight = [2.0, 1.0, 0.5, 1.0];
    model.1.bias = [0.0, 1.0, 0.0, -1.0];
    let x = SVector::<f64, 3>::from([0.3, -0.7, 1.1]);
    let z = model.0.forward(&x);
    let normalized = model.1.forward(&z);
    for c in 0..4 {
        let expected = (z[c] - model.1.running_mean[c]) / (model.1.running_var[c] + 1e-5).sqrt()
            * model.1.weight[c]
            + model.1.bias[c];
        assert!((normalized[c] - expected).abs() < 1e-12);
    }
    // And in a whole network's forward pass.
    let y = model.forward(&x);
    let expected = model.3.forward(&model.2.forward(&normalized));
    assert!((y - expected).norm() < 1e-12);
}

#[test]
fn running_statistics_are_saved_and_loaded_under_pytorch_names()
-> Result<(), Box<dyn std::error::Error>> {
    let mut model = Channels::<f32>::new(&mut StdRng::seed_from_u64(5));
    model.1.running_mean = [0.25, -0.5, 1.0];
    model.1.running_var = [2.0, 0.5, 1.5];
    assert_eq!(<Channels<f32> as Parameters<f32>>::BUFFERS, 2);
    let names: Vec<String> = (0..2)
        .filter_map(<Channels<f32> as Parameters<f32>>::buffer_info)
        .map(|info| info.full_name())
        .collect();
    assert_eq!(names, ["1.running_mean", "1.running_var"]);
    let bytes = model.to_safetensors_bytes()?;
    let back = Channels::<f32>::from_safetensors_bytes(&bytes)?;
    assert_eq!(back, model);
    Ok(())
}

#[test]
fn fit_trains_a_network_with_batch_norm() {
    let mut numbers = Numbers(3);
    let xs: Vec<SVector<f32, 3>> = (0..64).map(|_| numbers.vector::<3>().cast()).collect();
    let ys: Vec<SVector<f32, 2>> = xs
        .iter()
        .map(|x| SVector::from([x[0] * x[1], x[2] - x[0]]))
        .collect();
    let data = Dataset::new(xs, ys).expect("finite data");
    let mut model = Tabular::new(&mut StdRng::seed_from_u64(6));
    let options = FitOptions::new().epochs(30).batch_size(16).shuffle(1);
    let history = model
        .fit(&data, Mse, Adam::new(0.01), &options)
        .expect("training runs");
    let (first, last) = (history.loss[0], history.loss[history.loss.len() - 1]);
    assert!(last < 0.7 * first, "loss {first} -> {last}");
    assert!(
        model
            .1
            .running_var
            .iter()
            .all(|v| v.is_finite() && *v > 0.0)
    );
}

/// `restore_best_weights` brings back the best epoch's running statistics with its parameters:
/// the network `fit` returns scores the best epoch's validation loss to the bit. With the last
/// epoch's statistics and the best epoch's weights it would not.
#[test]
fn restoring_the_best_epoch_restores_its_running_statistics() {
    let mut rng = typenn::SplitMix64::new(5);
    let mut draw = || 2.0 * rng.next_f32() - 1.0;
    let inputs: Vec<SVector<f32, 3>> = (0..64).map(|_| SVector::from_fn(|_, _| draw())).collect();
    // Targets without a pattern: training overfits, so the validation loss turns up and the
    // best epoch is not the last one.
    let targets: Vec<SVector<f32, 2>> = (0..64).map(|_| SVector::from_fn(|_, _| draw())).collect();
    let data = Dataset::new(inputs, targets).unwrap();
    let validation = data.subset(&(48..64).collect::<Vec<_>>()).unwrap();

    let mut model = Tabular::new(&mut StdRng::seed_from_u64(1));
    let options = FitOptions::new()
        .epochs(200)
        .batch_size(8)
        .validation_split(0.25)
        .early_stopping(
            EarlyStopping::new(Monitor::ValLoss)
                .patience(5)
                .restore_best_weights(true),
        );
    let history = model.fit(&data, Mse, Sgd::new(0.1), &options).unwrap();
    let best = history.best_epoch.unwrap();
    assert!(best < history.epochs(), "best epoch {best} is the last one");
    let best_loss = history.val_loss.as_ref().unwrap()[best - 1];
    let loss = model.evaluate(&validation, &Mse);
    assert_eq!(
        loss, best_loss,
        "restored network scores {loss}, the best epoch {best_loss}"
    );
}
