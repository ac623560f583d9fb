//! `fit` with everything Keras's has: validation, metrics, early stopping, callbacks.

use core::fmt;

use nalgebra::SVector;

use super::early_stopping::Stopper;
use super::epochs::{self, Epochs, Items};
use super::metrics::Evaluator;
use super::{Callback, EarlyStopping, EpochLog, FitOptions, History, MetricSet, Monitor, Trainer};
use crate::{Dataset, Loss, Network, Optimizer, Parameters, Scalar, TrainError};

/// One training run: the data, the [`FitOptions`], and what a run borrows, validation data and
/// callbacks.
///
/// # Why a builder beside `FitOptions`
///
/// Validation data and callbacks are borrowed, and validation data has the network's widths in
/// its type. Putting them in [`FitOptions`] would give the options a lifetime and three type
/// parameters, so `FitOptions::new().epochs(10)` would no longer stand alone, could not be
/// `Copy`, and could not be reused across datasets. `Fit` borrows them for exactly one run
/// instead: the borrow checker sees that the validation data outlives training, callbacks are
/// lent (`&mut`) so their state can be read afterwards, and [`Train::fit`](crate::Train::fit) stays the one-line
/// call for the common case (it is `Fit::new(data).options(*options).run(..)`).
///
/// # Example
///
/// ```
/// use typenn::{Control, Dataset, EpochLog, Fit, FitOptions, History, Metric, Mse, Network, Sgd, TrainError};
///
/// /// Trains `model` on `train`, validating on `val`, halving the learning rate every 10 epochs.
/// fn train<N: Network<f32, 2, 1>>(
///     model: &mut N,
///     train: &Dataset<f32, 2, 1>,
///     val: &Dataset<f32, 2, 1>,
/// ) -> Result<History, TrainError> {
///     let mut schedule = |log: &EpochLog, control: &mut Control| {
///         if log.epoch % 10 == 0 {
///             control.scale_learning_rate(0.5);
///         }
///     };
///     Fit::new(train)
///         .options(FitOptions::new().epochs(30).metric(Metric::Mae))
///         .validation_data(val)
///         .callback(&mut schedule)
///         .run(model, Mse, Sgd::new(0.1))
/// }
/// ```
pub struct Fit<'a, T, const IN: usize, const OUT: usize> {
    data: &'a Dataset<T, IN, OUT>,
    validation: Option<&'a Dataset<T, IN, OUT>>,
    options: FitOptions,
    callbacks: Vec<&'a mut dyn Callback>,
}

impl<T: Scalar, const IN: usize, const OUT: usize> fmt::Debug for Fit<'_, T, IN, OUT> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fit")
            .field("samples", &self.data.len())
            .field("validation", &self.validation.map(Dataset::len))
            .field("options", &self.options)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl<'a, T: Scalar, const IN: usize, const OUT: usize> Fit<'a, T, IN, OUT> {
    /// A run on `data` with the default [`FitOptions`].
    #[must_use]
    pub fn new(data: &'a Dataset<T, IN, OUT>) -> Self {
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

    /// Validates on `validation` at the end of every epoch (instead of a validation split, which
    /// must then not be set).
    #[must_use]
    pub fn validation_data(mut self, validation: &'a Dataset<T, IN, OUT>) -> Self {
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
    /// Before any step, leaving the network untouched: [`TrainError::InvalidOption`] for a bad
    /// optimizer setting, batch size, thread count, validation split or `min_delta`;
    /// [`TrainError::EmptySplit`] when the split leaves no training or no validation sample;
    /// [`TrainError::ConflictingOptions`] for a validation split with validation data;
    /// [`TrainError::UnavailableMonitor`] when early stopping watches a figure that is not
    /// computed. During training: [`TrainError::NonFiniteLoss`] if the loss stops being a
    /// number and [`TrainError::NonFiniteParameter`] if a step would make a parameter NaN or
    /// infinite (either way the network keeps the parameters it had before that step), and
    /// [`TrainError::InvalidLearningRate`] if a callback sets a bad learning rate (the network
    /// keeps the weights of the epoch that ended).
    pub fn run<N, L, O>(self, network: &mut N, loss: L, optimizer: O) -> Result<History, TrainError>
    where
        N: Network<T, IN, OUT>,
        L: Loss<T>,
        O: Optimizer<T>,
    {
        let mut trainer = Trainer::new(loss, optimizer)?;
        self.run_with(&mut trainer, network)
    }

    /// Trains `network` with `trainer`, keeping the optimizer's state (momentum) from earlier
    /// steps: to go on with a training.
    ///
    /// # Errors
    ///
    /// As [`Fit::run`], but the optimizer was checked when the trainer was made.
    pub fn run_with<N, L, O>(
        mut self,
        trainer: &mut Trainer<T, N::Gradients, L, O>,
        network: &mut N,
    ) -> Result<History, TrainError>
    where
        N: Network<T, IN, OUT>,
        L: Loss<T>,
        O: Optimizer<T>,
    {
        let (training, validation) = self.plan()?;
        let threads = trainer.threads;
        if let Some(chosen) = self.options.threads_value() {
            trainer.threads = chosen;
        }
        let result = self.train(trainer, network, training, validation);
        // Metering off and the trainer's own thread count again, for its own steps.
        trainer.loss.start(MetricSet::EMPTY);
        trainer.threads = threads;
        result
    }

    /// Checks every option and splits the data into training and validation samples.
    fn plan(
        &self,
    ) -> Result<(Samples<'a, T, IN, OUT>, Option<Samples<'a, T, IN, OUT>>), TrainError> {
        let options = &self.options;
        check_batch_size(options)?;
        if let Some(threads) = options.threads_value() {
            super::check_threads(threads)?;
        }
        let all = samples(self.data);
        let (training, validation) = match (options.validation_split_value(), self.validation) {
            (Some(_), Some(_)) => {
                return Err(TrainError::ConflictingOptions {
                    first: "a validation split",
                    second: "validation data",
                });
            }
            (Some(split), None) => {
                let (training, validation) = all.split_at(split_point(split, all.len())?);
                (training, Some(validation))
            }
            (None, validation) => (all, validation.map(samples)),
        };
        if let Some(stop) = options.early_stopping_value() {
            check_min_delta(stop)?;
            let monitor = stop.monitor;
            if monitor.is_validation() && validation.is_none() {
                return Err(TrainError::UnavailableMonitor {
                    monitor,
                    needs: "validation data (a validation split, or validation data given to Fit)",
                });
            }
            if let Monitor::Metric(metric) | Monitor::ValMetric(metric) = monitor
                && !options.has_metric(metric)
            {
                return Err(TrainError::UnavailableMonitor {
                    monitor,
                    needs: "the metric among the options' metrics (FitOptions::metric)",
                });
            }
        }
        Ok((training, validation))
    }

    /// The epochs, once the options are known to be good.
    fn train<N, L, O>(
        &mut self,
        trainer: &mut Trainer<T, N::Gradients, L, O>,
        network: &mut N,
        training: Samples<'a, T, IN, OUT>,
        validation: Option<Samples<'a, T, IN, OUT>>,
    ) -> Result<History, TrainError>
    where
        N: Network<T, IN, OUT>,
        L: Loss<T>,
        O: Optimizer<T>,
    {
        let options = self.options;
        let metrics = options.metric_set();
        trainer.phase = super::training_phase(options.shuffle_seed().unwrap_or(0));
        let stopper = options.early_stopping_value().map(Stopper::<T>::new);
        let mut epochs = SampleEpochs {
            trainer,
            validation,
            metrics,
            evaluator: Evaluator::new(),
        };
        epochs::run(
            &mut epochs,
            network,
            training,
            &options,
            &mut self.callbacks,
            History::with_columns(metrics, validation.is_some()),
            stopper,
        )
    }
}

/// `fit`'s part of the epoch loop: [`Trainer::step`], its metered metrics, and the validation
/// loss and metrics.
struct SampleEpochs<
    't,
    'a,
    T: Scalar,
    G: Parameters<T>,
    L,
    O: Optimizer<T>,
    const IN: usize,
    const OUT: usize,
> {
    trainer: &'t mut Trainer<T, G, L, O>,
    validation: Option<Samples<'a, T, IN, OUT>>,
    metrics: MetricSet,
    evaluator: Evaluator<T>,
}

impl<T, L, O, N, const IN: usize, const OUT: usize> Epochs<N, SVector<T, IN>, SVector<T, OUT>>
    for SampleEpochs<'_, '_, T, N::Gradients, L, O, IN, OUT>
where
    T: Scalar,
    L: Loss<T>,
    O: Optimizer<T>,
    N: Network<T, IN, OUT>,
{
    type Scalar = T;

    fn begin(&mut self, epoch: usize) -> f64 {
        self.trainer.epoch = epoch;
        self.trainer.step = 0;
        self.trainer.loss.start(self.metrics);
        Optimizer::<T>::learning_rate(&self.trainer.optimizer)
    }

    fn step(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
    ) -> Result<f64, TrainError> {
        self.trainer
            .step(network, inputs, targets)
            .map(|loss| loss.as_f64())
    }

    fn finish(&mut self, network: &N, log: &mut EpochLog) {
        log.metrics = self.trainer.loss.values(OUT);
        if let Some(validation) = self.validation {
            let (loss, values) = self.evaluator.run(
                network,
                validation.inputs,
                validation.targets,
                Some(&self.trainer.loss.loss),
                self.metrics,
                self.trainer.threads,
            );
            log.val_loss = Some(loss);
            log.val_metrics = values;
        }
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        // Through `optimizer_mut`, so that the trainer checks the new rate's bounds.
        Optimizer::<T>::set_learning_rate(self.trainer.optimizer_mut(), learning_rate);
    }
}

/// A dataset's inputs and their targets.
type Samples<'a, T, const IN: usize, const OUT: usize> = Items<'a, SVector<T, IN>, SVector<T, OUT>>;

/// All of `data`'s samples.
fn samples<T: Scalar, const IN: usize, const OUT: usize>(
    data: &Dataset<T, IN, OUT>,
) -> Samples<'_, T, IN, OUT> {
    Items {
        inputs: data.inputs(),
        targets: data.targets(),
    }
}

/// Refuses a batch size of 0, before any step (for [`Fit`] and the sequence fit alike).
pub(super) fn check_batch_size(options: &FitOptions) -> Result<(), TrainError> {
    if options.batch_size_value() == 0 {
        return Err(TrainError::InvalidOption {
            option: "batch size",
            expected: "at least 1",
            found: 0.0,
        });
    }
    Ok(())
}

/// How many of `samples` train under a validation `split`, by Keras's rule (to the rounding:
/// the first floor(n (1 - split))); an error for a split outside (0, 1) or one that leaves
/// either part empty.
pub(super) fn split_point(split: f64, samples: usize) -> Result<usize, TrainError> {
    if !(split > 0.0 && split < 1.0) {
        return Err(TrainError::InvalidOption {
            option: "validation split",
            expected: "a fraction strictly between 0 and 1",
            found: split,
        });
    }
    let training = ((samples as f64 * (1.0 - split)).floor() as usize).min(samples);
    if training == 0 || training == samples {
        return Err(TrainError::EmptySplit {
            split,
            samples,
            training,
            validation: samples - training,
        });
    }
    Ok(training)
}

/// Refuses an early-stopping `min_delta` that is negative or not a number.
pub(super) fn check_min_delta(stop: EarlyStopping) -> Result<(), TrainError> {
    if !(stop.min_delta.is_finite() && stop.min_delta >= 0.0) {
        return Err(TrainError::InvalidOption {
            option: "early stopping min_delta",
            expected: "a finite number at least 0",
            found: stop.min_delta,
        });
    }
    Ok(())
}
