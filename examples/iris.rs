//! Iris: 4 measurements -> 8 hidden units (tanh) -> 3 classes, trained on the same train/test
//! split as the PyTorch baselines (`examples/data/splits_seed0.json`: 120 training flowers, 30
//! test flowers).
//!
//! ```sh
//! cargo run --release --example iris                      # train, print every epoch, test
//! cargo run --release --example iris -- --plot loss.svg   # the same, and the loss curves
//! ```
//!
//! The network outputs logits and trains with `SoftmaxCrossEntropy` and Adam; `predict_proba`
//! turns logits into probabilities. The last fifth of the training flowers is held out as
//! validation data: training stops when the validation loss has not improved for `PATIENCE`
//! epochs, and the network keeps its best epoch's weights.
//!
//! # How the settings were chosen
//!
//! Not tuned: Adam with learning rate 0.01 (ten times PyTorch's default, as there are only six
//! steps per epoch), batches of 16. An earlier version trained MSE on one-hot targets with SGD
//! (learning rate 0.05, momentum 0.9) for 100 epochs; with the same validation split and early
//! stopping it classifies the 30 test flowers as well as this one does, and cross-entropy is the
//! loss for classes, so this is the one kept.

#[path = "common/classification.rs"]
mod classification;
mod common;
#[path = "common/plot.rs"]
mod plot;

use std::time::Instant;

use typenn::prelude::*;

network! {
    /// Sepal and petal length and width in, one logit per species out.
    pub struct IrisClassifier(Dense<4, 8, Tanh>, Dense<8, 3>);
}

/// The most epochs training may take; early stopping ends it sooner.
const EPOCHS: usize = 500;
/// Epochs without a lower validation loss before training stops.
const PATIENCE: usize = 20;
/// The fraction of the training flowers held out for validation (the last ones; the rows are
/// already in shuffled order).
const VALIDATION: f64 = 0.2;
/// The seed of the initial weights and of the shuffling.
const SEED: u64 = 0;
const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// The loss and the optimizer.
fn loss_and_optimizer() -> (SoftmaxCrossEntropy, Adam) {
    (SoftmaxCrossEntropy, Adam::new(0.01))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plot_path = plot::plot_argument()?;

    let data = Dataset::<f32, 4, 3>::from_csv_path(
        common::data_path("iris.csv"),
        Target::one_hot("label"),
    )?;
    let split = common::load_split("iris")?;
    let mut train = data.subset(&split.train)?;
    let mut test = data.subset(&split.test)?;

    // Standardise with the figures of the training part only.
    let scaler = Standardizer::fit(&train);
    scaler.transform(&mut train)?;
    scaler.transform(&mut test)?;
    println!(
        "{} training flowers ({:.0}% held out for validation), {} test flowers\n",
        train.len(),
        100.0 * VALIDATION,
        test.len()
    );

    let mut model = IrisClassifier::new(&mut StdRng::seed_from_u64(SEED));
    let (loss, optimizer) = loss_and_optimizer();
    let options = FitOptions::new()
        .epochs(EPOCHS)
        .batch_size(16)
        .shuffle(SEED)
        .validation_split(VALIDATION)
        .metric(Metric::Accuracy)
        .early_stopping(
            EarlyStopping::new(Monitor::ValLoss)
                .patience(PATIENCE)
                .restore_best_weights(true),
        );
    let started = Instant::now();
    let history = model.fit(&train, loss, optimizer, &options)?;
    let elapsed = started.elapsed();

    classification::print_history(&history, elapsed);
    classification::print_test_accuracy(&model, &test);

    // New measurements go through the same standardisation before the network.
    let flower = SVector::from([6.1, 2.8, 4.7, 1.2]);
    let probabilities = model.predict_proba(&[scaler.transform_input(&flower)]);
    if let Some(probabilities) = probabilities.first() {
        println!(
            "a flower of {:?} cm: {} (probability {:.3})",
            flower.as_slice(),
            SPECIES[probabilities.imax()],
            probabilities.max()
        );
    }

    if let Some(path) = plot_path {
        plot::loss_curves(
            &path,
            "Iris: 4 -> 8 (tanh) -> 3, Adam, softmax cross-entropy",
            &history,
        )?;
        println!("loss curves written to {}", path.display());
    }
    Ok(())
}
