//! `fit` for recurrent networks: epochs over a [`SequenceDataset`] with validation, early
//! stopping and callbacks, as [`Fit`](crate::Fit) does for samples.

use core::fmt;

use nalgebra::SMatrix;

use super::super::early_stopping::Stopper;
use super::super::epochs::{self, Epochs, Items};
use super::super::fit::{check_batch_size, check_min_delta, split_point};
use super::super::{Callback, EpochLog, FitOptions, History, MetricSet, Monitor};
use super::{SequenceDataset, SequenceNetwork, SequenceTrainer};
use crate::{Loss, Optimizer, Parameters, Scalar, TrainError, Workspace, columns, columns_mut};

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

/// A dataset's sequences and their targets.
type Sequences<'a, T, const STEPS: usize, const IN: usize, const OUT: usize> =
    Items<'a, SMatrix<T, IN, STEPS>, SMatrix<T, OUT, STEPS>>;

/// All of `data`'s sequences.
fn sequences<T: Scalar, const STEPS: usize, const IN: usize, const OUT: usize>(
    data: &SequenceDataset<T, STEPS, IN, OUT>,
) -> Sequences<'_, T, STEPS, IN, OUT> {
    Items {
        inputs: data.inputs(),
        targets: data.targets(),
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
        let all = sequences(self.data);
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
            (None, validation) => (all, validation.map(sequences)),
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
        trainer.phase = super::super::training_phase(options.shuffle_seed().unwrap_or(0));
        let stopper = options.early_stopping_value().map(Stopper::<T>::new);
        let mut epochs = SequenceEpochs {
            trainer,
            validation,
            workspace: Workspace::new(),
        };
        epochs::run(
            &mut epochs,
            network,
            training,
            &options,
            &mut self.callbacks,
            History::with_columns(MetricSet::EMPTY, validation.is_some()),
            stopper,
        )
    }
}

/// Sequence `fit`'s part of the epoch loop: [`SequenceTrainer::step`] and the validation loss.
struct SequenceEpochs<
    't,
    'a,
    T: Scalar,
    G: Parameters<T>,
    L,
    O: Optimizer<T>,
    const STEPS: usize,
    const IN: usize,
    const OUT: usize,
> {
    trainer: &'t mut SequenceTrainer<T, G, L, O>,
    validation: Option<Sequences<'a, T, STEPS, IN, OUT>>,
    workspace: Workspace<T>,
}

impl<T, L, O, N, const STEPS: usize, const IN: usize, const OUT: usize>
    Epochs<N, SMatrix<T, IN, STEPS>, SMatrix<T, OUT, STEPS>>
    for SequenceEpochs<'_, '_, T, N::Gradients, L, O, STEPS, IN, OUT>
where
    T: Scalar,
    L: Loss<T>,
    O: Optimizer<T>,
    N: SequenceNetwork<T, IN, OUT>,
{
    type Scalar = T;

    fn begin(&mut self, epoch: usize) -> f64 {
        self.trainer.epoch = epoch;
        self.trainer.step = 0;
        Optimizer::<T>::learning_rate(&self.trainer.optimizer)
    }

    fn step(
        &mut self,
        network: &mut N,
        inputs: &[SMatrix<T, IN, STEPS>],
        targets: &[SMatrix<T, OUT, STEPS>],
    ) -> Result<f64, TrainError> {
        self.trainer
            .step(network, inputs, targets)
            .map(|loss| loss.as_f64())
    }

    fn finish(&mut self, network: &N, log: &mut EpochLog) {
        if let Some(validation) = self.validation {
            log.val_loss = Some(evaluate(
                network,
                validation.inputs,
                validation.targets,
                &self.trainer.loss,
                &mut self.workspace,
            ));
        }
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        Optimizer::<T>::set_learning_rate(self.trainer.optimizer_mut(), learning_rate);
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
