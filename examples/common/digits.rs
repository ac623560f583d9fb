//! The digits MLP and CNN and their training, as `examples/digits.rs` and
//! `examples/digits_cnn.rs` describe them: shared with `examples/digits_int8.rs`, which
//! quantizes the same networks.

use std::time::{Duration, Instant};

use typenn::History;
use typenn::prelude::*;

use crate::common;

network! {
    /// 64 pixels in, one logit per digit out.
    pub struct DigitClassifier(Dense<64, 32, Relu>, Dense<32, 10>);
}

network! {
    /// One 8 x 8 channel in, one logit per digit out: `examples/digits_cnn.rs` says how it was
    /// chosen.
    #[input_shape(1, 8, 8)]
    pub struct DigitsCnn(
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

/// The most epochs training may take; early stopping ends it sooner.
const EPOCHS: usize = 300;
/// Epochs without a lower validation loss before training stops.
const PATIENCE: usize = 10;
/// The fraction of the training images held out for validation (the last ones; the rows are
/// already in shuffled order).
pub const VALIDATION: f64 = 0.2;
/// The seed of the initial weights, of the shuffling and of dropout.
pub const SEED: u64 = 0;

/// The training and test images of the baselines' split, pixels in 0..1.
pub fn load() -> Result<(Dataset<f32, 64, 10>, Dataset<f32, 64, 10>), Box<dyn std::error::Error>> {
    let data = Dataset::<f32, 64, 10>::from_csv_path(
        common::data_path("digits.csv"),
        Target::one_hot("label"),
    )?;
    let split = common::load_split("digits")?;
    let train = to_unit_range(&data.subset(&split.train)?)?;
    let test = to_unit_range(&data.subset(&split.test)?)?;
    Ok((train, test))
}

/// The network trained on `train` with Adam and early stopping on the held-out part: the
/// network, its history and how long training took.
pub fn train(
    train: &Dataset<f32, 64, 10>,
) -> Result<(DigitClassifier, History, Duration), typenn::TrainError> {
    let mut model = DigitClassifier::new(&mut StdRng::seed_from_u64(SEED));
    let started = Instant::now();
    let history = model.fit(train, SoftmaxCrossEntropy, Adam::new(0.001), &options())?;
    Ok((model, history, started.elapsed()))
}

/// The CNN trained on `train` as the MLP is ([`train`]).
pub fn train_cnn(
    train: &Dataset<f32, 64, 10>,
) -> Result<(DigitsCnn, History, Duration), typenn::TrainError> {
    let mut model = DigitsCnn::new(&mut StdRng::seed_from_u64(SEED));
    let started = Instant::now();
    let history = model.fit(train, SoftmaxCrossEntropy, Adam::new(0.001), &options())?;
    Ok((model, history, started.elapsed()))
}

/// How every digits example trains: batches of 32, seeded shuffling, accuracy, and early
/// stopping on the held-out part with the best epoch's weights kept.
pub fn options() -> FitOptions {
    FitOptions::new()
        .epochs(EPOCHS)
        .batch_size(32)
        .shuffle(SEED)
        .validation_split(VALIDATION)
        .metric(Metric::Accuracy)
        .early_stopping(
            EarlyStopping::new(Monitor::ValLoss)
                .patience(PATIENCE)
                .restore_best_weights(true),
        )
}

/// `data` with every pixel divided by 16, the largest value a pixel takes.
fn to_unit_range(data: &Dataset<f32, 64, 10>) -> Result<Dataset<f32, 64, 10>, typenn::DataError> {
    let inputs = data.inputs().iter().map(|pixels| pixels / 16.0).collect();
    Dataset::new(inputs, data.targets().to_vec())
}
