//! The settings of `fit`.

use super::{EarlyStopping, Metric, MetricSet};

/// Settings of [`Train::fit`](crate::Train::fit), built like Keras's `fit` arguments.
///
/// Options are plain `Copy` values with no lifetime and no type parameter, so one set of options
/// can be kept and reused for any network and data. What borrows (validation data, callbacks)
/// is given to a [`Fit`](crate::Fit) instead.
///
/// Every option is checked when `fit` starts, before any step: a bad one is a
/// [`TrainError`](crate::TrainError) and leaves the network untouched.
///
/// # Example
///
/// ```
/// use typenn::{EarlyStopping, FitOptions, Metric, Monitor};
///
/// let options = FitOptions::new()
///     .epochs(50)
///     .batch_size(32)
///     .shuffle(7)
///     .validation_split(0.2)
///     .metric(Metric::Mae)
///     .early_stopping(EarlyStopping::new(Monitor::ValLoss).patience(5));
/// assert_eq!(options.batch_size_value(), 32);
/// assert_eq!(options.validation_split_value(), Some(0.2));
/// assert!(options.has_metric(Metric::Mae) && !options.has_metric(Metric::Accuracy));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    epochs: usize,
    batch_size: usize,
    shuffle: Option<u64>,
    validation_split: Option<f64>,
    metrics: MetricSet,
    early_stopping: Option<EarlyStopping>,
    verbose: bool,
    threads: Option<usize>,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl FitOptions {
    /// Keras's defaults: 1 epoch, batches of 32, shuffled (here with seed 0, so runs repeat),
    /// no validation, no metrics, no early stopping, one thread; and silent (Keras prints by
    /// default).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            shuffle: Some(0),
            validation_split: None,
            metrics: MetricSet::EMPTY,
            early_stopping: None,
            verbose: false,
            threads: None,
        }
    }

    /// How many passes over the data.
    #[must_use]
    pub const fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per step; the last batch of an epoch may be smaller.
    #[must_use]
    pub const fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Shuffles the training samples before every epoch, reproducibly from `seed`.
    #[must_use]
    pub const fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self
    }

    /// Keeps the samples in their order.
    #[must_use]
    pub const fn no_shuffle(mut self) -> Self {
        self.shuffle = None;
        self
    }

    /// Holds out the last `fraction` of the samples, taken before any shuffling, as validation
    /// data, as Keras's `validation_split` does: the first `floor(len * (1 - fraction))` samples
    /// train, the rest validate. `fraction` must be strictly between 0 and 1 and leave at least
    /// one sample on each side.
    #[must_use]
    pub const fn validation_split(mut self, fraction: f64) -> Self {
        self.validation_split = Some(fraction);
        self
    }

    /// Adds a metric to report for each epoch, on the training data and on the validation data.
    #[must_use]
    pub const fn metric(mut self, metric: Metric) -> Self {
        self.metrics = self.metrics.with(metric);
        self
    }

    /// Adds several metrics; they are reported in a fixed order, whatever the order given.
    #[must_use]
    pub const fn metrics(mut self, metrics: &[Metric]) -> Self {
        let mut index = 0;
        while index < metrics.len() {
            self.metrics = self.metrics.with(metrics[index]);
            index += 1;
        }
        self
    }

    /// Stops training when a figure stops improving.
    #[must_use]
    pub const fn early_stopping(mut self, early_stopping: EarlyStopping) -> Self {
        self.early_stopping = Some(early_stopping);
        self
    }

    /// Reports each epoch on standard error, Keras-style:
    /// `Epoch 3/10 [==============================] 128/128 - loss: 0.0123 - val_loss: 0.0145`.
    ///
    /// With the crate feature `progress` and a terminal, the line is a live progress bar during
    /// the epoch; otherwise it is printed once when the epoch ends. Off by default: `fit` prints
    /// nothing unless asked.
    #[must_use]
    pub const fn verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// Trains on up to `threads` threads; 1 trains on one thread, exactly as without threads.
    /// 0 is refused when `fit` starts. How a step uses them is described under
    /// [`Trainer`](crate::Trainer)'s "Threads".
    ///
    /// Unset, `fit` uses the trainer's count: for [`Train::fit`](crate::Train::fit), one thread.
    /// PyTorch and Keras use every core by default; typenn does not yet. With plain SGD in `f32` on
    /// AVX-512 (or AVX2 and FMA), a network with a Dense layer of more than 64 units shares its
    /// products out by rows, which gives one thread's numbers: `W3_train_b64` (784 -> 128 -> 10,
    /// batch 64) then runs 1.45x to 1.52x as fast on two threads as on one (`BENCHMARKS.md`). Every
    /// other step splits its batch, which on the 2-core machines measured was as often slower as
    /// faster than one thread (0.63x to 1.2x, `BENCHMARKS.md`), and changes the numbers by
    /// rounding. A split batch is described here. Each thread takes a contiguous share of the
    /// batch: with plain SGD each big layer's update is then split by its parameters, each adding
    /// every share's part in share order; with other optimizers the shares' gradients are added in
    /// a fixed order. So a given count gives the same numbers on every run and every machine, and
    /// two counts differ by rounding (under `1e-12` relative in `f64` after 8 steps, in
    /// `tests/threads.rs`).
    ///
    /// Small steps run on one thread whatever the count: a share must have at least 2^20
    /// parameters times samples (about 30 us of work on one core, as much as handing it to
    /// another thread and adding its gradients costs), so the W1 network of 341 parameters
    /// never splits a batch under 6,150. So do networks with batch statistics or dropout, whose
    /// result depends on the whole batch or on the order of the random draws. Validation after
    /// each epoch uses the same count.
    #[must_use]
    pub const fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The number of epochs.
    #[must_use]
    pub const fn epochs_value(&self) -> usize {
        self.epochs
    }

    /// The batch size.
    #[must_use]
    pub const fn batch_size_value(&self) -> usize {
        self.batch_size
    }

    /// The shuffle seed, if shuffling.
    #[must_use]
    pub const fn shuffle_seed(&self) -> Option<u64> {
        self.shuffle
    }

    /// The fraction of samples held out for validation, if any.
    #[must_use]
    pub const fn validation_split_value(&self) -> Option<f64> {
        self.validation_split
    }

    /// Whether `metric` is reported.
    #[must_use]
    pub const fn has_metric(&self, metric: Metric) -> bool {
        self.metrics.contains(metric)
    }

    /// The metrics reported, in reporting order.
    pub fn metrics_value(&self) -> impl Iterator<Item = Metric> + use<> {
        self.metrics.iter()
    }

    /// The early-stopping settings, if any.
    #[must_use]
    pub const fn early_stopping_value(&self) -> Option<EarlyStopping> {
        self.early_stopping
    }

    /// Whether each epoch is reported.
    #[must_use]
    pub const fn verbose_value(&self) -> bool {
        self.verbose
    }

    /// The thread count, if set; unset, `fit` uses the trainer's.
    #[must_use]
    pub const fn threads_value(&self) -> Option<usize> {
        self.threads
    }

    pub(crate) const fn metric_set(&self) -> MetricSet {
        self.metrics
    }
}
