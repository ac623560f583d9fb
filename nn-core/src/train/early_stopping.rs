//! Early stopping: end training when a monitored figure stops improving.

use core::fmt;

use super::Metric;
use crate::{Parameters, Scalar, guard};

/// Whether a smaller or a larger value of a figure is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Smaller is better (losses, errors).
    Min,
    /// Larger is better (accuracy).
    Max,
}

/// A figure of an epoch that [`EarlyStopping`] can watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Monitor {
    /// The training loss (`"loss"`).
    Loss,
    /// The loss on the validation data (`"val_loss"`).
    ValLoss,
    /// A metric on the training data (`"mae"`).
    Metric(Metric),
    /// A metric on the validation data (`"val_mae"`).
    ValMetric(Metric),
}

impl Monitor {
    /// Whether a better value is smaller or larger: larger for accuracy, smaller for the rest, as
    /// Keras's `mode="auto"` infers it.
    #[must_use]
    pub const fn mode(self) -> Mode {
        match self {
            Self::Loss | Self::ValLoss => Mode::Min,
            Self::Metric(metric) | Self::ValMetric(metric) => metric.mode(),
        }
    }

    /// Whether the figure is computed on validation data.
    #[must_use]
    pub const fn is_validation(self) -> bool {
        matches!(self, Self::ValLoss | Self::ValMetric(_))
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loss => f.write_str("loss"),
            Self::ValLoss => f.write_str("val_loss"),
            Self::Metric(metric) => f.write_str(metric.name()),
            Self::ValMetric(metric) => write!(f, "val_{}", metric.name()),
        }
    }
}

/// Stops training when `monitor` has not improved for `patience` epochs, as Keras's
/// `EarlyStopping` callback does.
///
/// An epoch improves on the best value so far when it beats it by more than `min_delta`
/// (smaller for losses and errors, larger for accuracy; see [`Monitor::mode`]). After `patience`
/// epochs in a row without improvement, training stops; as in Keras, a patience of 0 acts as 1,
/// and training never stops after its first epoch. A NaN never improves.
///
/// With `restore_best_weights`, the network ends with the parameters it had at the end of the
/// best epoch, and with that epoch's non-trainable state (BatchNorm's running statistics), as
/// Keras restores its non-trainable weights: the best epoch's network as it was validated. It
/// restores whether training stopped early or ran all its epochs (Keras restores only when it
/// stops early). If training fails with an error, the network is left as the error says.
///
/// The defaults are Keras's: patience 0, `min_delta` 0, no restoring.
///
/// # Example
///
/// ```
/// use typenn::{EarlyStopping, FitOptions, Monitor};
///
/// let stop = EarlyStopping::new(Monitor::ValLoss).patience(3).restore_best_weights(true);
/// let options = FitOptions::new().epochs(100).validation_split(0.2).early_stopping(stop);
/// assert_eq!(options.early_stopping_value(), Some(stop));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The figure watched.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The least change that counts as an improvement: finite, at least 0.
    pub min_delta: f64,
    /// Whether to end with the parameters of the best epoch.
    pub restore_best_weights: bool,
}

impl EarlyStopping {
    /// Watches `monitor` with Keras's defaults: patience 0, `min_delta` 0, no restoring.
    #[must_use]
    pub const fn new(monitor: Monitor) -> Self {
        Self {
            monitor,
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
        }
    }

    /// Sets how many epochs without improvement to wait before stopping.
    #[must_use]
    pub const fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the least change that counts as an improvement.
    #[must_use]
    pub const fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Sets whether to end with the parameters of the best epoch.
    #[must_use]
    pub const fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// Whether `value` beats `best` by more than `min_delta` in the monitor's direction.
    fn improves(&self, value: f64, best: f64) -> bool {
        match self.monitor.mode() {
            Mode::Min => value + self.min_delta < best,
            Mode::Max => value - self.min_delta > best,
        }
    }
}

/// The running state of early stopping within one `fit`: the best value and epoch, the epochs
/// waited, and (when restoring) a copy of the best epoch's parameters and buffers.
#[derive(Debug)]
pub(crate) struct Stopper<T> {
    config: EarlyStopping,
    best: f64,
    best_epoch: Option<usize>,
    wait: usize,
    /// The best epoch's parameters and buffers (running statistics), as [`guard::save`] copies
    /// them, when restoring.
    best_network: Option<Vec<T>>,
}

impl<T: Scalar> Stopper<T> {
    /// A stopper that has seen nothing.
    pub(crate) fn new(config: EarlyStopping) -> Self {
        Self {
            config,
            best: match config.monitor.mode() {
                Mode::Min => f64::INFINITY,
                Mode::Max => f64::NEG_INFINITY,
            },
            best_epoch: None,
            wait: 0,
            best_network: config.restore_best_weights.then(Vec::new),
        }
    }

    /// Records the monitored `value` of `epoch` (counting from 1), whose parameters are
    /// `network`'s, and tells whether training should stop.
    pub(crate) fn observe<P: Parameters<T>>(
        &mut self,
        epoch: usize,
        value: f64,
        network: &P,
    ) -> bool {
        // As Keras: the first epoch's parameters are kept even when its value is NaN, so there is
        // always something to restore.
        if self.best_epoch.is_none() {
            self.keep(epoch, network);
        }
        self.wait += 1;
        if self.config.improves(value, self.best) {
            self.best = value;
            self.wait = 0;
            self.keep(epoch, network);
            return false;
        }
        self.wait >= self.config.patience && epoch > 1
    }

    fn keep<P: Parameters<T>>(&mut self, epoch: usize, network: &P) {
        self.best_epoch = Some(epoch);
        if let Some(best) = &mut self.best_network {
            guard::save(network, best);
        }
    }

    /// The figure watched.
    pub(crate) const fn monitor(&self) -> Monitor {
        self.config.monitor
    }

    /// The epoch with the best value, if any epoch was seen.
    pub(crate) const fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// Writes the best epoch's parameters and buffers back into `network`, when restoring.
    pub(crate) fn restore<P: Parameters<T>>(&self, network: &mut P) {
        if let (Some(best), Some(_)) = (&self.best_network, self.best_epoch) {
            guard::restore(network, best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchNorm, Dense, Identity};

    type Layer = Dense<1, 1, Identity, f64>;

    /// Feeds `values` epoch by epoch, the layer's weight set to the epoch number, until the
    /// stopper says stop; returns the epoch it stopped at (if any), the best epoch and the
    /// restored weight.
    fn run(config: EarlyStopping, values: &[f64]) -> (Option<usize>, Option<usize>, f64) {
        let mut stopper = Stopper::<f64>::new(config);
        let mut layer = Layer::zeros();
        let mut stopped = None;
        for (index, &value) in values.iter().enumerate() {
            let epoch = index + 1;
            layer.weights[(0, 0)] = epoch as f64;
            if stopper.observe(epoch, value, &layer) {
                stopped = Some(epoch);
                break;
            }
        }
        stopper.restore(&mut layer);
        (stopped, stopper.best_epoch(), layer.weights[(0, 0)])
    }

    /// The best epoch's running statistics come back with its parameters: a BatchNorm whose
    /// weight and running mean both hold the epoch number ends with the best epoch's in both.
    #[test]
    fn restoring_brings_back_the_best_epochs_running_statistics() {
        let config = EarlyStopping::new(Monitor::ValLoss)
            .patience(2)
            .restore_best_weights(true);
        let mut stopper = Stopper::<f32>::new(config);
        let mut layer = BatchNorm::<2, 1, f32>::from_parts([1.0; 2], [0.0; 2], [0.0; 2], [1.0; 2]);
        let mut stopped = None;
        for (index, value) in [3.0, 1.0, 2.0, 2.5, 0.5].into_iter().enumerate() {
            let epoch = index + 1;
            layer.weight = [epoch as f32; 2];
            layer.running_mean = [epoch as f32, -(epoch as f32)];
            layer.running_var = [0.1 * epoch as f32; 2];
            if stopper.observe(epoch, value, &layer) {
                stopped = Some(epoch);
                break;
            }
        }
        stopper.restore(&mut layer);
        assert_eq!((stopped, stopper.best_epoch()), (Some(4), Some(2)));
        assert_eq!(layer.weight, [2.0; 2]);
        assert_eq!(layer.running_mean, [2.0, -2.0]);
        assert_eq!(layer.running_var, [0.1 * 2.0_f32; 2]);
    }

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let values = [5.0, 4.0, 4.5, 3.0, 3.5, 3.2, 3.1, 2.0];
        // Best 3.0 at epoch 4; epochs 5, 6, 7 do not improve: the third of them stops.
        let config = EarlyStopping::new(Monitor::Loss).patience(3);
        assert_eq!(run(config, &values), (Some(7), Some(4), 7.0));
        // Restoring puts back epoch 4's weight.
        assert_eq!(
            run(config.restore_best_weights(true), &values),
            (Some(7), Some(4), 4.0)
        );
        // Patience 1 stops at the first epoch that does not improve, and so does 0.
        let quick = EarlyStopping::new(Monitor::Loss).patience(1);
        assert_eq!(run(quick, &values).0, Some(3));
        assert_eq!(run(quick.patience(0), &values).0, Some(3));
        // Never stopping: every epoch improves.
        assert_eq!(run(quick, &[3.0, 2.0, 1.0]), (None, Some(3), 3.0));
    }

    #[test]
    fn min_delta_must_be_beaten() {
        // With min_delta 0.5: 4.6 is not below 5 - 0.5, 4.4 is; then 4.0 and 3.95 are not below
        // 4.4 - 0.5, so the second of them stops.
        let config = EarlyStopping::new(Monitor::ValLoss)
            .patience(2)
            .min_delta(0.5)
            .restore_best_weights(true);
        assert_eq!(
            run(config, &[5.0, 4.6, 4.4, 4.0, 3.95, 1.0]),
            (Some(5), Some(3), 3.0)
        );
    }

    #[test]
    fn accuracy_improves_upwards() {
        let config = EarlyStopping::new(Monitor::ValMetric(Metric::Accuracy))
            .patience(2)
            .restore_best_weights(true);
        assert_eq!(
            run(config, &[0.5, 0.75, 0.7, 0.75, 0.9]),
            (Some(4), Some(2), 2.0)
        );
    }

    #[test]
    fn nan_never_improves_but_the_first_epoch_is_kept() {
        let config = EarlyStopping::new(Monitor::Loss)
            .patience(2)
            .restore_best_weights(true);
        assert_eq!(
            run(config.patience(3), &[f64::NAN, f64::NAN, 1.0]),
            (None, Some(3), 3.0)
        );
        assert_eq!(
            run(config, &[f64::NAN, f64::NAN, f64::NAN]),
            (Some(2), Some(1), 1.0)
        );
    }

    #[test]
    fn monitors_name_themselves_as_keras_does() {
        assert_eq!(Monitor::ValMetric(Metric::Mae).to_string(), "val_mae");
        assert_eq!(Monitor::Metric(Metric::Accuracy).to_string(), "accuracy");
        assert_eq!(Monitor::ValLoss.to_string(), "val_loss");
        assert_eq!(Monitor::Metric(Metric::Accuracy).mode(), Mode::Max);
        assert_eq!(Monitor::ValMetric(Metric::Rmse).mode(), Mode::Min);
    }
}
