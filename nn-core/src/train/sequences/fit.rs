//! `fit` for recurrent networks: epochs over a [`SequenceDataset`] with validation, early
//! stopping and callbacks, as [`Fit`](crate::Fit) does for samples.

use core::fmt;

use nalgebra::SMatrix;

use super::super::early_stopping::Stopper;
use super::super::fit::{check_batch_size, check_min_delta, split_point};
use super::super::progress::Progress;
use super::super::{Callback, Control, EpochLog, FitOptions, History, MetricSet, Monitor};
use super::{SequenceDataset, SequenceNetwork, SequenceTrainer};
use crate::optim::check_positive;
use crate::rng::SplitMix64;
use crate::{Loss, Optimizer, Scalar, TrainError, Workspace, columns, columns_mut};

/// One training run of a recurrent network: the sequences, the [`FitOptions`], and what a run
/// borrows, validation sequences and callbacks. Every sequence starts from a zero state.
///
/// The options' epochs, batch size (in sequences), shuffle, validation split, early stopping
/// (on `loss` or `val_loss`) and verbosity apply; metrics are not computed for sequences.
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
/// use typenn::{EarlyStopping, Monitor, SequenceDataset, SequenceFit, TrainError};
///
/// network! {
///     struct Smooth(Lstm<1, 4>, Dense<4, 1>);
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // The target is a running mean of the input: it needs the state.
/// let sequence = |k: usize| {
///     let x = SMatrix::<f32, 1, 16>::from_fn(|_, t| ((k * 7 + t) as f32 * 0.9).sin());
///     let y = SMatrix::<f32, 1, 16>::from_fn(|_, t| (x[t] + x[t.saturating_sub(1)]) / 2.0);
///     (x, y)
/// };
/// let (inputs, targets): (Vec<_>, Vec<_>) = (0..40).map(sequence).unzip();
/// let data = SequenceDataset::new(inputs, targets)?;
/// let mut net = Smooth::new(&mut StdRng::seed_from_u64(3));
/// let options = FitOptions::new()
///     .epochs(20)
///     .batch_size(8)
///     .validation_split(0.25)
///     .early_stopping(EarlyStopping::new(Monitor::ValLoss).patience(3));
/// let history = SequenceFit::new(&data).options(options).run(&mut net, Mse, Adam::new(0.01))?;
/// assert!(history.val_loss.is_some());
/// # Ok(())
/// # }
/// ```
pub struct SequenceFit<'a, T, const STEPS: usize, const IN: usize, const OUT: usize> {
    data: &'a SequenceDataset<T, STEPS, IN, OUT>,
    validation: Option<&'a SequenceDataset<T, STEPS, IN, OUT>>,
    options: FitOptions,
    callbacks: Vec<&'a mut dyn Callback>,
}

impl<T: Scalar, const STEPS: usize, const IN: usize, const OUT: usize> fmt::Debug
    for SequenceFit<'_, T, STEPS, IN, OUT>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SequenceFit")
            .field("sequences", &self.data.len())
            .field("validation", &self.validation.map(SequenceDataset::len))
            .field("options", &self.options)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

/// Input and target sequences, as two slices of one length.
struct Sequences<'a, T, const STEPS: usize, const IN: usize, const OUT: usize> {
    inputs: &'a [SMatrix<T, IN, STEPS>],
    targets: &'a [SMatrix<T, OUT, STEPS>],
}

impl<T, const STEPS: usize, const IN: usize, const OUT: usize> Clone
    for Sequences<'_, T, STEPS, IN, OUT>
{
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, const STEPS: usize, const IN: usize, const OUT: usize> Copy
    for Sequences<'_, T, STEPS, IN, OUT>
{
}

impl<'a, T: Scalar, const STEPS: usize, const IN: usize, const OUT: usize>
    Sequences<'a, T, STEPS, IN, OUT>
{
    fn of(data: &'a SequenceDataset<T, STEPS, IN, OUT>) -> Self {
        Self {
            inputs: data.inputs(),
            targets: data.targets(),
        }
    }
}

impl<'a, T: Scalar, const STEPS: usize, const IN: usize, const OUT: usize>
    SequenceFit<'a, T, STEPS, IN, OUT>
{
    /// A run on `data` with the default [`FitOptions`].
    #[must_use]
    pub fn new(data: &'a SequenceDataset<T, STEPS, IN, OUT>) -> Self {
        Self {
            data,
            validation: None,
            options: FitOptions::new(),
            callbacks: Vec::new(),
        }
    }

    /// Sets the options.
    #[must_use]
    pub fn options(mut self, options: FitOptions) -> Self {
        self.options = options;
        self
    }

    /// Validates on `validation` at the end of every epoch (instead of a validation split).
    #[must_use]
    pub fn validation_data(mut self, validation: &'a SequenceDataset<T, STEPS, IN, OUT>) -> Self {
        self.validation = Some(validation);
        self
    }

    /// Adds a callback, run at the end of every epoch after those added before it.
    #[must_use]
    pub fn callback(mut self, callback: &'a mut dyn Callback) -> Self {
        self.callbacks.push(callback);
        self
    }

    /// Trains `network` with a fresh optimizer state and returns the figures of every epoch.
    ///
    /// # Errors
    ///
    /// As [`Fit::run`](crate::Fit::run); [`TrainError::ConflictingOptions`] when the options ask
    /// for metrics, which sequence training does not compute.
    pub fn run<N, L, O>(self, network: &mut N, loss: L, optimizer: O) -> Result<History, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT>,
        L: Loss<T>,
        O: Optimizer<T>,
    {
        let mut trainer = SequenceTrainer::new(loss, optimizer)?;
        self.run_with(&mut trainer, network)
    }

    /// Trains `network` with `trainer`, keeping its optimizer state and gradient clipping.
    ///
    /// # Errors
    ///
    /// As [`SequenceFit::run`].
    pub fn run_with<N, L, O>(
        mut self,
        trainer: &mut SequenceTrainer<T, N::Gradients, L, O>,
        network: &mut N,
    ) -> Result<History, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT>,
        L: Loss<T>,
        O: Optimizer<T>,
    {
        let (training, validation) = self.plan()?;
        self.train(trainer, network, training, validation)
    }

    /// Checks every option and splits the data into training and validation sequences.
    #[allow(clippy::type_complexity)]
    fn plan(
        &self,
    ) -> Result<
        (
            Sequences<'a, T, STEPS, IN, OUT>,
            Option<Sequences<'a, T, STEPS, IN, OUT>>,
        ),
        TrainError,
    > {
        let options = &self.options;
        check_batch_size(options)?;
        if options.metrics_value().next().is_some() {
            return Err(TrainError::ConflictingOptions {
                first: "metrics",
                second: "sequence training, which reports the loss only",
            });
        }
        let all = Sequences::of(self.data);
        let (training, validation) = match (options.validation_split_value(), self.validation) {
            (Some(_), Some(_)) => {
                return Err(TrainError::ConflictingOptions {
                    first: "a validation split",
                    second: "validation data",
                });
            }
            (Some(split), None) => {
                let training = split_point(split, all.inputs.len())?;
                let (inputs, held_inputs) = all.inputs.split_at(training);
                let (targets, held_targets) = all.targets.split_at(training);
                (
                    Sequences { inputs, targets },
                    Some(Sequences {
                        inputs: held_inputs,
                        targets: held_targets,
                    }),
                )
            }
            (None, validation) => (all, validation.map(Sequences::of)),
        };
        if let Some(stop) = options.early_stopping_value() {
            check_min_delta(stop)?;
            match stop.monitor {
                Monitor::ValLoss if validation.is_none() => {
                    return Err(TrainError::UnavailableMonitor {
                        monitor: stop.monitor,
                        needs: "validation data (a validation split, or validation data given to SequenceFit)",
                    });
                }
                Monitor::Metric(_) | Monitor::ValMetric(_) => {
                    return Err(TrainError::UnavailableMonitor {
                        monitor: stop.monitor,
                        needs: "a metric, which sequence training does not compute",
                    });
                }
                _ => {}
            }
        }
        Ok((training, validation))
    }

    /// The epochs, once the options are known to be good.
    fn train<N, L, O>(
        &mut self,
        trainer: &mut SequenceTrainer<T, N::Gradients, L, O>,
        network: &mut N,
        training: Sequences<'a, T, STEPS, IN, OUT>,
        validation: Option<Sequences<'a, T, STEPS, IN, OUT>>,
    ) -> Result<History, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT>,
        L: Loss<T>,
        O: Optimizer<T>,
    {
        let options = self.options;
        let epochs = options.epochs_value();
        let batch_size = options.batch_size_value();
        let sequences = training.inputs.len();
        let mut history = History::with_columns(MetricSet::EMPTY, validation.is_some());
        let mut order: Vec<usize> = (0..sequences).collect();
        let mut shuffler = options.shuffle_seed().map(SplitMix64::new);
        trainer.phase = super::super::training_phase(options.shuffle_seed().unwrap_or(0));
        let mut batch_inputs = Vec::new();
        let mut batch_targets = Vec::new();
        let mut workspace = Workspace::new();
        let mut stopper = options
            .early_stopping_value()
            .map(Stopper::<N::Gradients>::new::<T>);
        let mut progress = Progress::new(options.verbose_value(), epochs, sequences);

        for epoch in 1..=epochs {
            trainer.epoch = epoch;
            trainer.step = 0;
            let learning_rate = Optimizer::<T>::learning_rate(&trainer.optimizer);
            if let Some(rng) = &mut shuffler {
                rng.shuffle(&mut order);
            }
            progress.start(epoch);
            let (mut total, mut seen) = (0.0, 0);
            for (start, chunk) in (0..).step_by(batch_size).zip(order.chunks(batch_size)) {
                let loss = if shuffler.is_some() {
                    batch_inputs.clear();
                    batch_targets.clear();
                    batch_inputs.extend(chunk.iter().map(|&i| training.inputs[i]));
                    batch_targets.extend(chunk.iter().map(|&i| training.targets[i]));
                    trainer.step(network, &batch_inputs, &batch_targets)
                } else {
                    let end = start + chunk.len();
                    trainer.step(
                        network,
                        &training.inputs[start..end],
                        &training.targets[start..end],
                    )
                };
                match loss {
                    Ok(loss) => total += loss.as_f64() * chunk.len() as f64,
                    Err(mut error) => {
                        if let TrainError::NonFiniteLoss { history: kept, .. }
                        | TrainError::NonFiniteParameter { history: kept, .. } = &mut error
                        {
                            history.best_epoch = stopper.as_ref().and_then(Stopper::best_epoch);
                            **kept = history;
                        }
                        return Err(error);
                    }
                }
                seen += chunk.len();
                progress.advance(seen, total / seen as f64);
            }

            let mut log = EpochLog::new(epoch, epochs, total / sequences as f64, learning_rate);
            if let Some(validation) = validation {
                log.val_loss = Some(evaluate(
                    network,
                    validation.inputs,
                    validation.targets,
                    &trainer.loss,
                    &mut workspace,
                ));
            }
            history.push(&log);
            progress.finish(&log);

            let mut control = Control::new(learning_rate);
            for callback in &mut self.callbacks {
                callback.on_epoch_end(&log, &mut control);
            }
            if let Some(stopper) = &mut stopper
                && let Some(value) = log.get(stopper.monitor())
                && stopper.observe(epoch, value, network)
            {
                control.stop_training();
            }
            let next = control.learning_rate();
            if next != learning_rate {
                if check_positive::<T>("learning rate", next).is_err() {
                    history.best_epoch = stopper.as_ref().and_then(Stopper::best_epoch);
                    return Err(TrainError::InvalidLearningRate {
                        epoch,
                        found: next,
                        history: Box::new(history),
                    });
                }
                Optimizer::<T>::set_learning_rate(trainer.optimizer_mut(), next);
            }
            if control.is_stopping() {
                break;
            }
        }
        if let Some(stopper) = &stopper {
            history.best_epoch = stopper.best_epoch();
            stopper.restore(network);
        }
        Ok(history)
    }
}

/// Sequences evaluated at once.
const EVALUATION_SEQUENCES: usize = 64;

/// The loss of `network` on `inputs` against `targets`, each sequence from a zero state: the
/// mean over every step of every sequence.
pub(crate) fn evaluate<T, N, L, const STEPS: usize, const IN: usize, const OUT: usize>(
    network: &N,
    inputs: &[SMatrix<T, IN, STEPS>],
    targets: &[SMatrix<T, OUT, STEPS>],
    loss: &L,
    workspace: &mut Workspace<T>,
) -> f64
where
    T: Scalar,
    N: SequenceNetwork<T, IN, OUT>,
    L: Loss<T>,
{
    let mut total = 0.0;
    let mut outputs = Vec::new();
    let mut carry = Vec::new();
    for (inputs, targets) in inputs
        .chunks(EVALUATION_SEQUENCES)
        .zip(targets.chunks(EVALUATION_SEQUENCES))
    {
        outputs.clear();
        outputs.resize(inputs.len() * STEPS * OUT, T::zero());
        carry.clear();
        carry.resize(inputs.len() * N::CARRY, T::zero());
        network.predict_sequences(
            columns::<T, IN>(bytemuck::cast_slice(inputs)),
            STEPS,
            &mut carry,
            columns_mut::<T, OUT>(&mut outputs),
            workspace,
        );
        let value = loss.loss(
            columns::<T, OUT>(&outputs),
            columns::<T, OUT>(bytemuck::cast_slice(targets)),
        );
        total += value.as_f64() * inputs.len() as f64;
    }
    total / inputs.len() as f64
}
