//! The figures of training: one [`EpochLog`] per epoch as it ends, and the [`History`] of them
//! all.

use super::{Metric, MetricSet, MetricValues, Monitor};

/// The figures of one epoch, as callbacks see them.
///
/// # Example
///
/// ```
/// use typenn::{EpochLog, Metric, Monitor};
///
/// let mut log = EpochLog::new(3, 10, 0.25, 0.01);
/// log.val_loss = Some(0.5);
/// log.val_metrics.set(Metric::Mae, 0.125);
/// assert_eq!(log.get(Monitor::ValMetric(Metric::Mae)), Some(0.125));
/// assert_eq!(log.get(Monitor::Metric(Metric::Mae)), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochLog {
    /// The epoch, counting from 1.
    pub epoch: usize,
    /// The number of epochs asked for.
    pub epochs: usize,
    /// The mean training loss: every step's loss, taken before its update, weighted by its batch
    /// size.
    pub loss: f64,
    /// The loss on the validation data at the end of the epoch, when there is validation data.
    pub val_loss: Option<f64>,
    /// The metrics on the training data, each taken as the loss is.
    pub metrics: MetricValues,
    /// The metrics on the validation data at the end of the epoch.
    pub val_metrics: MetricValues,
    /// The learning rate the epoch's steps used.
    pub learning_rate: f64,
}

impl EpochLog {
    /// The figures of an epoch with no validation and no metrics.
    #[must_use]
    pub fn new(epoch: usize, epochs: usize, loss: f64, learning_rate: f64) -> Self {
        Self {
            epoch,
            epochs,
            loss,
            val_loss: None,
            metrics: MetricValues::default(),
            val_metrics: MetricValues::default(),
            learning_rate,
        }
    }

    /// The value of a monitored figure, if it was computed.
    #[must_use]
    pub const fn get(&self, monitor: Monitor) -> Option<f64> {
        match monitor {
            Monitor::Loss => Some(self.loss),
            Monitor::ValLoss => self.val_loss,
            Monitor::Metric(metric) => self.metrics.get(metric),
            Monitor::ValMetric(metric) => self.val_metrics.get(metric),
        }
    }
}

/// One metric's value for every epoch.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MetricHistory {
    /// The metric.
    pub metric: Metric,
    /// Its value at each epoch.
    pub values: Vec<f64>,
}

/// The figures of a `fit`, one entry per completed epoch in every list, as Keras's
/// `History.history`.
///
/// # Example
///
/// ```
/// use typenn::{Dataset, FitOptions, Metric, Mse, Network, Sgd, Train, TrainError};
///
/// /// Trains `model` and prints the figures of its last epoch.
/// fn train<N: Network<f32, 2, 1>>(model: &mut N, data: &Dataset<f32, 2, 1>) -> Result<(), TrainError> {
///     let options = FitOptions::new().epochs(20).validation_split(0.2).metric(Metric::Mae);
///     let history = model.fit(data, Mse, Sgd::new(0.01), &options)?;
///     // One value per epoch in every list.
///     assert_eq!(history.val_metric(Metric::Mae).map(<[f64]>::len), Some(history.epochs()));
///     if let Some(last) = history.epoch(history.epochs()) {
///         println!("loss {}, val_loss {:?}, val_mae {:?}", last.loss, last.val_loss, last.val_metrics.get(Metric::Mae));
///     }
///     Ok(())
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct History {
    /// Mean training loss of each epoch: every step's loss (taken before its update) weighted by
    /// its batch size, as Keras reports it.
    pub loss: Vec<f64>,
    /// Loss on the validation data at the end of each epoch, when there is validation data.
    pub val_loss: Option<Vec<f64>>,
    /// Each metric asked for, on the training data, in reporting order.
    pub metrics: Vec<MetricHistory>,
    /// Each metric asked for, on the validation data (empty without validation data).
    pub val_metrics: Vec<MetricHistory>,
    /// The learning rate each epoch used.
    pub learning_rate: Vec<f64>,
    /// With early stopping, the epoch (counting from 1) whose monitored value was best: the
    /// epoch whose parameters the network ends with when restoring the best weights.
    pub best_epoch: Option<usize>,
}

impl History {
    /// An empty history with a list for each figure that will be recorded.
    pub(crate) fn with_columns(metrics: MetricSet, validation: bool) -> Self {
        let columns = |on: bool| {
            metrics
                .iter()
                .filter(|_| on)
                .map(|metric| MetricHistory {
                    metric,
                    values: Vec::new(),
                })
                .collect()
        };
        Self {
            val_loss: validation.then(Vec::new),
            metrics: columns(true),
            val_metrics: columns(validation),
            ..Self::default()
        }
    }

    /// Appends an epoch's figures to the lists set up by `with_columns`.
    pub(crate) fn push(&mut self, log: &EpochLog) {
        self.loss.push(log.loss);
        if let (Some(list), Some(value)) = (&mut self.val_loss, log.val_loss) {
            list.push(value);
        }
        for (columns, values) in [
            (&mut self.metrics, &log.metrics),
            (&mut self.val_metrics, &log.val_metrics),
        ] {
            for column in columns {
                column.values.extend(values.get(column.metric));
            }
        }
        self.learning_rate.push(log.learning_rate);
    }

    /// The number of completed epochs.
    #[must_use]
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// The values of `metric` on the training data, if it was asked for.
    #[must_use]
    pub fn metric(&self, metric: Metric) -> Option<&[f64]> {
        find(&self.metrics, metric)
    }

    /// The values of `metric` on the validation data, if it was computed.
    #[must_use]
    pub fn val_metric(&self, metric: Metric) -> Option<&[f64]> {
        find(&self.val_metrics, metric)
    }

    /// The values of a monitored figure, if it was recorded.
    #[must_use]
    pub fn get(&self, monitor: Monitor) -> Option<&[f64]> {
        match monitor {
            Monitor::Loss => Some(&self.loss),
            Monitor::ValLoss => self.val_loss.as_deref(),
            Monitor::Metric(metric) => self.metric(metric),
            Monitor::ValMetric(metric) => self.val_metric(metric),
        }
    }

    /// The figures of epoch `epoch` (counting from 1), if it was completed. Its `epochs` is the
    /// number of epochs completed, which is less than those asked for when training stopped
    /// early.
    #[must_use]
    pub fn epoch(&self, epoch: usize) -> Option<EpochLog> {
        let index = epoch.checked_sub(1)?;
        let mut log = EpochLog::new(
            epoch,
            self.epochs(),
            *self.loss.get(index)?,
            self.learning_rate.get(index).copied().unwrap_or(f64::NAN),
        );
        log.val_loss = self
            .val_loss
            .as_ref()
            .and_then(|list| list.get(index).copied());
        for (columns, values) in [
            (&self.metrics, &mut log.metrics),
            (&self.val_metrics, &mut log.val_metrics),
        ] {
            for column in columns {
                if let Some(&value) = column.values.get(index) {
                    values.set(column.metric, value);
                }
            }
        }
        Some(log)
    }
}

fn find(columns: &[MetricHistory], metric: Metric) -> Option<&[f64]> {
    columns
        .iter()
        .find(|column| column.metric == metric)
        .map(|column| column.values.as_slice())
}
