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

/// The CNN as `examples/digits_cnn.rs` trains it, in two runs.
pub struct CnnTraining {
    /// The network of the second run, trained on every training image.
    pub model: DigitsCnn,
    /// The network of the first run, with its best epoch's weights.
    pub early_stopped: DigitsCnn,
    /// The first run, which trains as the MLP does ([`train`]) and finds the best epoch on the
    /// held-out part.
    pub search: History,
    /// The second run: a fresh network from the same seed on every training image, for
    /// [`refit_epochs`] of the first run's best epoch, without validation.
    pub last: History,
    /// How long the first run took, and the second.
    pub elapsed: (Duration, Duration),
}

/// The CNN trained on `train` from [`SEED`], as [`train_cnn_from`] says.
pub fn train_cnn(train: &Dataset<f32, 64, 10>) -> Result<CnnTraining, typenn::TrainError> {
    train_cnn_from(train, SEED)
}

/// The CNN trained on `train` with `seed` for the initial weights, the shuffling and dropout:
/// first as the MLP is ([`train`]), to find the best epoch on the held-out part, then again
/// from the same seed on all of `train` for [`refit_epochs`] of it.
pub fn train_cnn_from(
    train: &Dataset<f32, 64, 10>,
    seed: u64,
) -> Result<CnnTraining, typenn::TrainError> {
    let started = Instant::now();
    let mut early_stopped = DigitsCnn::new(&mut StdRng::seed_from_u64(seed));
    let search = early_stopped.fit(
        train,
        SoftmaxCrossEntropy,
        Adam::new(0.001),
        &options_from(seed),
    )?;
    let searched_in = started.elapsed();
    let best = search.best_epoch.unwrap_or(search.epochs());
    let started = Instant::now();
    let (model, last) = train_cnn_for(train, seed, refit_epochs(best))?;
    Ok(CnnTraining {
        model,
        early_stopped,
        search,
        last,
        elapsed: (searched_in, started.elapsed()),
    })
}

/// A fresh CNN from `seed` trained on all of `train` for `epochs` epochs, without validation.
pub fn train_cnn_for(
    train: &Dataset<f32, 64, 10>,
    seed: u64,
    epochs: usize,
) -> Result<(DigitsCnn, History), typenn::TrainError> {
    let mut model = DigitsCnn::new(&mut StdRng::seed_from_u64(seed));
    let every_image = FitOptions::new()
        .epochs(epochs)
        .batch_size(32)
        .shuffle(seed)
        .metric(Metric::Accuracy);
    let history = model.fit(train, SoftmaxCrossEntropy, Adam::new(0.001), &every_image)?;
    Ok((model, history))
}

/// The epochs of the second run for a best epoch `best` of the first: `best` times 1.25, the
/// number of training images over the number the first run trained on (`1 / (1 - VALIDATION)`),
/// to the nearest epoch.
pub fn refit_epochs(best: usize) -> usize {
    // 1.25 is 1 / (1 - VALIDATION), written out in integers: a split other than 0.2 must
    // change it too.
    const _: () = assert!(
        VALIDATION == 0.2,
        "refit_epochs assumes a validation split of 0.2"
    );
    (best * 5 + 2) / 4
}

/// How every digits example trains: batches of 32, seeded shuffling, accuracy, and early
/// stopping on the held-out part with the best epoch's weights kept.
pub fn options() -> FitOptions {
    options_from(SEED)
}

/// [`options`] with `seed` for the shuffling (and dropout).
pub fn options_from(seed: u64) -> FitOptions {
    FitOptions::new()
        .epochs(EPOCHS)
        .batch_size(32)
        .shuffle(seed)
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
