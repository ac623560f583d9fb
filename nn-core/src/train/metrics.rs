//! Metrics: figures reported beside the loss, which training watches but does not minimize.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use nalgebra::SVector;

use super::{EVALUATION_BATCH, Mode, parallel};
use crate::{Columns, ColumnsMut, Dataset, Loss, Network, Scalar, Workspace, columns, flatten};

/// A figure reported beside the loss, per epoch, on the training data and on the validation data.
///
/// On the training data a metric is computed as Keras does: over the epoch's batches, each on the
/// outputs of its step before that step's update, weighted by batch size. On validation data it is
/// computed at the end of the epoch. [`Metric::evaluate`] computes one for a network as it is.
///
/// # Example
///
/// ```
/// use typenn::{Dataset, FitOptions, Metric, Network};
///
/// /// The accuracy and mean absolute error of a classifier of 4 inputs into 3 classes.
/// fn report<N: Network<f32, 4, 3>>(model: &N, test: &Dataset<f32, 4, 3>) -> (f64, f64) {
///     (Metric::Accuracy.evaluate(model, test), Metric::Mae.evaluate(model, test))
/// }
///
/// // The same figures per epoch during training:
/// let options = FitOptions::new().metrics(&[Metric::Accuracy, Metric::Mae]);
/// assert_eq!(options.metrics_value().map(Metric::name).collect::<Vec<_>>(), ["accuracy", "mae"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Metric {
    /// The fraction of samples whose predicted class is the target's class. With several outputs
    /// the class is the index of the largest value (the first one on a tie), for the outputs as
    /// for the one-hot targets (Keras's categorical accuracy). With one output the class is
    /// whether the value is above 0.5, for the output as for the target (for 0/1 targets, Keras's
    /// binary accuracy).
    Accuracy,
    /// Mean absolute error over all samples and outputs.
    Mae,
    /// Root mean squared error: the square root of the mean squared error over all samples and
    /// outputs of the epoch (not a mean of per-batch roots), as Keras's `RootMeanSquaredError`.
    /// With the [`Mse`](crate::Mse) loss it is the square root of the epoch's loss.
    Rmse,
}

impl Metric {
    /// Every metric, in the order figures are reported.
    pub(crate) const ALL: [Self; 3] = [Self::Accuracy, Self::Mae, Self::Rmse];

    const fn index(self) -> usize {
        match self {
            Self::Accuracy => 0,
            Self::Mae => 1,
            Self::Rmse => 2,
        }
    }

    /// The metric's name in logs, as Keras prints it: `"accuracy"`, `"mae"`, `"rmse"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::Mae => "mae",
            Self::Rmse => "rmse",
        }
    }

    /// Whether a better value is larger ([`Mode::Max`], accuracy) or smaller ([`Mode::Min`]).
    #[must_use]
    pub const fn mode(self) -> Mode {
        match self {
            Self::Accuracy => Mode::Max,
            Self::Mae | Self::Rmse => Mode::Min,
        }
    }

    /// The metric of `network` as it is, over all of `data`.
    #[must_use]
    pub fn evaluate<N, T, const IN: usize, const OUT: usize>(
        self,
        network: &N,
        data: &Dataset<T, IN, OUT>,
    ) -> f64
    where
        N: Network<T, IN, OUT>,
        T: Scalar,
    {
        let metrics = MetricSet::EMPTY.with(self);
        let (_, values) = Evaluator::new().run(
            network,
            data.inputs(),
            data.targets(),
            None::<&crate::Mse>,
            metrics,
            parallel::default_threads(),
        );
        values.get(self).unwrap_or(f64::NAN)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of metrics, as a bit per metric, so that options stay `Copy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MetricSet(u8);

impl MetricSet {
    pub(crate) const EMPTY: Self = Self(0);

    #[must_use]
    pub(crate) const fn with(self, metric: Metric) -> Self {
        Self(self.0 | 1 << metric.index())
    }

    #[must_use]
    pub(crate) const fn contains(self, metric: Metric) -> bool {
        self.0 & 1 << metric.index() != 0
    }

    #[must_use]
    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The metrics in the set, in reporting order.
    pub(crate) fn iter(self) -> impl Iterator<Item = Metric> {
        Metric::ALL.into_iter().filter(move |&m| self.contains(m))
    }
}

/// The value of each metric computed for an epoch.
///
/// # Example
///
/// ```
/// use typenn::{Metric, MetricValues};
///
/// let mut values = MetricValues::default();
/// values.set(Metric::Mae, 0.25);
/// assert_eq!(values.get(Metric::Mae), Some(0.25));
/// assert_eq!(values.get(Metric::Accuracy), None);
/// assert_eq!(values.iter().collect::<Vec<_>>(), [(Metric::Mae, 0.25)]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MetricValues {
    values: [Option<f64>; Metric::ALL.len()],
}

impl MetricValues {
    /// The value of `metric`, if it was computed.
    #[inline]
    #[must_use]
    pub const fn get(&self, metric: Metric) -> Option<f64> {
        self.values[metric.index()]
    }

    /// Records the value of `metric`.
    #[inline]
    pub const fn set(&mut self, metric: Metric, value: f64) {
        self.values[metric.index()] = Some(value);
    }

    /// The computed metrics and their values, in reporting order.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, f64)> + '_ {
        Metric::ALL
            .into_iter()
            .filter_map(|metric| Some((metric, self.get(metric)?)))
    }

    /// Whether no metric was computed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }
}

/// Running sums from which every metric is a ratio, so batches of any size combine exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Totals {
    correct: f64,
    absolute: f64,
    squared: f64,
    samples: usize,
}

impl Totals {
    const ZERO: Self = Self {
        correct: 0.0,
        absolute: 0.0,
        squared: 0.0,
        samples: 0,
    };

    /// Adds one batch of `W` outputs per sample.
    pub(crate) fn add<T: Scalar, const W: usize>(
        &mut self,
        metrics: MetricSet,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
    ) {
        let (predictions, targets) = (predictions.as_slice(), targets.as_slice());
        let accuracy = metrics.contains(Metric::Accuracy);
        let errors = metrics.contains(Metric::Mae) || metrics.contains(Metric::Rmse);
        for (p, t) in predictions.chunks_exact(W).zip(targets.chunks_exact(W)) {
            if accuracy && class(p) == class(t) {
                self.correct += 1.0;
            }
            if errors {
                for (&p, &t) in p.iter().zip(t) {
                    let error = (p - t).as_f64();
                    self.absolute += error.abs();
                    self.squared += error * error;
                }
            }
            self.samples += 1;
        }
    }

    /// The metrics of everything added so far, `W` outputs per sample.
    pub(crate) fn values(&self, metrics: MetricSet, width: usize) -> MetricValues {
        let samples = self.samples as f64;
        let values = (self.samples * width) as f64;
        let mut out = MetricValues::default();
        for metric in metrics.iter() {
            out.set(
                metric,
                match metric {
                    Metric::Accuracy => self.correct / samples,
                    Metric::Mae => self.absolute / values,
                    Metric::Rmse => (self.squared / values).sqrt(),
                },
            );
        }
        out
    }
}

/// The class of one sample's outputs or targets: the first index of the largest value, or for a
/// single value, 1 when it is above 0.5. A NaN never wins.
fn class<T: Scalar>(values: &[T]) -> usize {
    if let [value] = values {
        return usize::from(*value > T::cast_from(0.5));
    }
    let mut best = 0;
    for (index, value) in values.iter().enumerate().skip(1) {
        if *value > values[best] || values[best].as_f64().is_nan() {
            best = index;
        }
    }
    best
}

/// The training loss, wrapped so that the training metrics are taken from each step's own
/// outputs: no second forward pass, and nothing done when no metric is asked for.
///
/// Atomics and a lock rather than cells, since a loss is `Sync`: each thread of a data-parallel
/// step meters its share into a `Metered` of its own ([`Metered::share`]), merged in share order.
#[derive(Debug)]
pub(crate) struct Metered<L> {
    pub(crate) loss: L,
    metrics: AtomicU8,
    totals: Mutex<Totals>,
}

impl<L> Metered<L> {
    pub(crate) const fn new(loss: L) -> Self {
        Self {
            loss,
            metrics: AtomicU8::new(MetricSet::EMPTY.0),
            totals: Mutex::new(Totals::ZERO),
        }
    }

    /// Starts metering `metrics` from zero (none: metering off).
    pub(crate) fn start(&self, metrics: MetricSet) {
        self.metrics.store(metrics.0, Ordering::Relaxed);
        *self.totals() = Totals::ZERO;
    }

    /// The metrics of the steps since `start`, `width` outputs per sample.
    pub(crate) fn values(&self, width: usize) -> MetricValues {
        self.totals().values(self.metrics(), width)
    }

    /// A meter of the same metrics over the same loss, from zero: for one share of a batch.
    pub(crate) fn share(&self) -> Metered<Shared<'_, L>> {
        let share = Metered::new(Shared(&self.loss));
        share.metrics.store(self.metrics().0, Ordering::Relaxed);
        share
    }

    /// What this meter has taken in.
    pub(crate) fn into_totals(self) -> Totals {
        self.totals
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds what a share's meter took in.
    pub(crate) fn merge(&self, add: Totals) {
        if !self.metrics().is_empty() {
            let mut totals = self.totals();
            totals.correct += add.correct;
            totals.absolute += add.absolute;
            totals.squared += add.squared;
            totals.samples += add.samples;
        }
    }

    #[inline(always)]
    fn metrics(&self) -> MetricSet {
        MetricSet(self.metrics.load(Ordering::Relaxed))
    }

    /// The totals; a panic elsewhere cannot leave them half written, so a poisoned lock is
    /// taken as it is.
    fn totals(&self) -> MutexGuard<'_, Totals> {
        self.totals.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Scalar, L: Loss<T>> Loss<T> for Metered<L> {
    const NAME: &'static str = L::NAME;

    #[inline]
    fn loss<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
    ) -> T {
        self.loss.loss(predictions, targets)
    }

    /// Inlined, with the metering out of line, so that a step without metrics pays one load.
    #[inline(always)]
    fn loss_and_gradient<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
        gradient: ColumnsMut<'_, T, W>,
    ) -> T {
        let value = self.loss.loss_and_gradient(predictions, targets, gradient);
        let metrics = self.metrics();
        if !metrics.is_empty() {
            self.meter(metrics, predictions, targets);
        }
        value
    }
}

impl<L> Metered<L> {
    #[inline(never)]
    fn meter<T: Scalar, const W: usize>(
        &self,
        metrics: MetricSet,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
    ) {
        self.totals().add(metrics, predictions, targets);
    }
}

/// A loss lent to the meter of one share of a batch.
#[derive(Debug)]
pub(crate) struct Shared<'a, L>(&'a L);

impl<T: Scalar, L: Loss<T>> Loss<T> for Shared<'_, L> {
    const NAME: &'static str = L::NAME;

    #[inline]
    fn loss<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
    ) -> T {
        self.0.loss(predictions, targets)
    }

    #[inline]
    fn loss_and_gradient<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
        gradient: ColumnsMut<'_, T, W>,
    ) -> T {
        self.0.loss_and_gradient(predictions, targets, gradient)
    }
}

/// Buffers for passes over a dataset without gradients, kept across epochs so that validation
/// allocates nothing after the first epoch.
#[derive(Debug)]
pub(crate) struct Evaluator<T> {
    outputs: Vec<T>,
    /// One per thread.
    workspaces: Vec<Workspace<T>>,
}

impl<T: Scalar> Evaluator<T> {
    pub(crate) const fn new() -> Self {
        Self {
            outputs: Vec::new(),
            workspaces: Vec::new(),
        }
    }

    /// The mean `loss` (NaN when there is none) and `metrics` of `network` over the samples, in
    /// batches of [`EVALUATION_BATCH`]: the outputs on up to `threads` threads, then the loss
    /// and metrics batch by batch in order, so that the figures do not depend on the threads.
    pub(crate) fn run<N, L, const IN: usize, const OUT: usize>(
        &mut self,
        network: &N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
        loss: Option<&L>,
        metrics: MetricSet,
        threads: usize,
    ) -> (f64, MetricValues)
    where
        N: Network<T, IN, OUT>,
        L: Loss<T>,
    {
        let needed = OUT * inputs.len();
        if self.outputs.len() < needed {
            self.outputs.resize(needed, T::zero());
        }
        let outputs = &mut self.outputs[..needed];
        parallel::infer(network, inputs, outputs, threads, &mut self.workspaces);
        let mut total = 0.0;
        let mut totals = Totals::default();
        for (output, targets) in outputs
            .chunks(OUT * EVALUATION_BATCH)
            .zip(targets.chunks(EVALUATION_BATCH))
        {
            let output = columns::<T, OUT>(output);
            let targets = columns(flatten(targets));
            if let Some(loss) = loss {
                total += loss.loss(output, targets).as_f64() * targets.ncols() as f64;
            }
            totals.add(metrics, output, targets);
        }
        let mean = if loss.is_some() {
            total / inputs.len() as f64
        } else {
            f64::NAN
        };
        (mean, totals.values(metrics, OUT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals<const W: usize>(metrics: MetricSet, p: &[f64], t: &[f64]) -> MetricValues {
        let mut totals = Totals::default();
        totals.add(metrics, columns::<f64, W>(p), columns::<f64, W>(t));
        totals.values(metrics, W)
    }

    #[test]
    fn categorical_accuracy_compares_first_argmaxes() {
        let all = MetricSet::EMPTY.with(Metric::Accuracy);
        // Samples: argmax 1 vs 1 (right), 0 vs 2 (wrong), tie 0.5/0.5 -> 0 vs 0 (right),
        // 2 vs 2 (right).
        let p = [
            0.1, 0.7, 0.2, 0.9, 0.0, 0.1, 0.5, 0.5, 0.0, -3.0, -2.0, -1.0,
        ];
        let t = [0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(totals::<3>(all, &p, &t).get(Metric::Accuracy), Some(0.75));
    }

    #[test]
    fn binary_accuracy_thresholds_at_one_half() {
        let all = MetricSet::EMPTY.with(Metric::Accuracy);
        // 0.6 > 0.5 vs 1 right; 0.5 is not above 0.5 vs 1 wrong; 0.2 vs 0 right; 0.51 vs 0 wrong.
        let p = [0.6, 0.5, 0.2, 0.51];
        let t = [1.0, 1.0, 0.0, 0.0];
        assert_eq!(totals::<1>(all, &p, &t).get(Metric::Accuracy), Some(0.5));
    }

    #[test]
    fn errors_average_over_samples_and_outputs() {
        let all = MetricSet::EMPTY.with(Metric::Mae).with(Metric::Rmse);
        // Errors 1, -2, 0, 3 over 2 samples of 2: mae = 6 / 4, rmse = sqrt(14 / 4).
        let values = totals::<2>(all, &[1.0, 0.0, 5.0, 3.0], &[0.0, 2.0, 5.0, 0.0]);
        assert_eq!(values.get(Metric::Mae), Some(1.5));
        assert_eq!(values.get(Metric::Rmse), Some(3.5_f64.sqrt()));
        assert_eq!(values.get(Metric::Accuracy), None);
    }

    #[test]
    fn batches_combine_as_one() {
        let all = MetricSet::EMPTY.with(Metric::Rmse).with(Metric::Accuracy);
        let p = [0.9, 0.1, 0.7, 0.4, 0.2];
        let t = [1.0, 0.0, 0.0, 0.0, 1.0];
        let whole = totals::<1>(all, &p, &t);
        let mut split = Totals::default();
        split.add(all, columns::<f64, 1>(&p[..2]), columns::<f64, 1>(&t[..2]));
        split.add(all, columns::<f64, 1>(&p[2..]), columns::<f64, 1>(&t[2..]));
        assert_eq!(split.values(all, 1), whole);
        assert_eq!(whole.get(Metric::Accuracy), Some(0.6));
    }

    #[test]
    fn a_nan_output_never_wins_the_argmax() {
        assert_eq!(class(&[f64::NAN, 0.5, 0.2]), 1);
        assert_eq!(class(&[0.1, f64::NAN, 0.2]), 2);
        assert_eq!(class(&[f64::NAN]), 0);
    }

    #[test]
    fn metric_sets_keep_reporting_order() {
        let set = MetricSet::EMPTY
            .with(Metric::Rmse)
            .with(Metric::Accuracy)
            .with(Metric::Rmse);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Metric::Accuracy, Metric::Rmse]
        );
        assert!(!set.contains(Metric::Mae));
        assert!(MetricSet::EMPTY.is_empty());
    }
}
