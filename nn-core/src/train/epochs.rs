//! The epoch loop that [`Fit`](crate::Fit) and [`SequenceFit`](crate::SequenceFit) share:
//! the order of the items (shuffled or not), batches, progress, the loss kept in the history of
//! an error, callbacks, early stopping and a callback's learning rate. What differs between
//! them (the trainer's step, metrics, validation) is the [`Epochs`] they hand it.

use super::early_stopping::Stopper;
use super::progress::Progress;
use super::{Callback, Control, EpochLog, FitOptions, History, SplitMix64};
use crate::optim::check_positive;
use crate::{Parameters, Scalar, TrainError};

/// The inputs and targets of a run's training (or validation) items: samples for `fit`,
/// sequences for sequence `fit`.
#[derive(Debug)]
pub(super) struct Items<'a, X, Y> {
    pub inputs: &'a [X],
    pub targets: &'a [Y],
}

impl<X, Y> Clone for Items<'_, X, Y> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<X, Y> Copy for Items<'_, X, Y> {}

impl<'a, X, Y> Items<'a, X, Y> {
    pub const fn len(&self) -> usize {
        self.inputs.len()
    }

    /// The first `at` items, and the rest (a validation split's held-out items).
    pub fn split_at(self, at: usize) -> (Self, Self) {
        let (inputs, held_inputs) = self.inputs.split_at(at);
        let (targets, held_targets) = self.targets.split_at(at);
        (
            Self { inputs, targets },
            Self {
                inputs: held_inputs,
                targets: held_targets,
            },
        )
    }
}

/// One kind of training, as the epoch loop drives it.
pub(super) trait Epochs<N, X, Y> {
    /// The network's number type.
    type Scalar: Scalar;

    /// Starts epoch `epoch` (the trainer's count, which errors name, and its metering) and
    /// returns the learning rate it starts with.
    fn begin(&mut self, epoch: usize) -> f64;

    /// One training step on a batch; the batch's mean loss.
    fn step(&mut self, network: &mut N, inputs: &[X], targets: &[Y]) -> Result<f64, TrainError>;

    /// Writes the epoch's figures besides its training loss (metrics, validation) into `log`.
    fn finish(&mut self, network: &N, log: &mut EpochLog);

    /// Sets a learning rate a callback chose, once it is known to be valid.
    fn set_learning_rate(&mut self, learning_rate: f64);
}

/// Trains `network` on `training` for the options' epochs, `history` holding the columns the
/// run reports, and `stopper` early stopping when asked for. The options are checked already.
pub(super) fn run<N, X, Y, E>(
    epochs_of: &mut E,
    network: &mut N,
    training: Items<'_, X, Y>,
    options: &FitOptions,
    callbacks: &mut [&mut dyn Callback],
    mut history: History,
    mut stopper: Option<Stopper<E::Scalar>>,
) -> Result<History, TrainError>
where
    X: Copy,
    Y: Copy,
    E: Epochs<N, X, Y>,
    N: Parameters<E::Scalar>,
{
    let epochs = options.epochs_value();
    let batch_size = options.batch_size_value();
    let items = training.len();
    let mut order: Vec<usize> = (0..items).collect();
    let mut shuffler = options.shuffle_seed().map(SplitMix64::new);
    let gathered = if shuffler.is_some() {
        batch_size.min(items)
    } else {
        0
    };
    let mut batch_inputs = Vec::with_capacity(gathered);
    let mut batch_targets = Vec::with_capacity(gathered);
    let mut progress = Progress::new(options.verbose_value(), epochs, items);

    for epoch in 1..=epochs {
        let learning_rate = epochs_of.begin(epoch);
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
                epochs_of.step(network, &batch_inputs, &batch_targets)
            } else {
                let end = start + chunk.len();
                epochs_of.step(
                    network,
                    &training.inputs[start..end],
                    &training.targets[start..end],
                )
            };
            match loss {
                Ok(loss) => total += loss * chunk.len() as f64,
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

        let mut log = EpochLog::new(epoch, epochs, total / items as f64, learning_rate);
        epochs_of.finish(network, &mut log);
        history.push(&log);
        progress.finish(&log);

        let mut control = Control::new(learning_rate);
        for callback in callbacks.iter_mut() {
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
            if check_positive::<E::Scalar>("learning rate", next).is_err() {
                history.best_epoch = stopper.as_ref().and_then(Stopper::best_epoch);
                return Err(TrainError::InvalidLearningRate {
                    epoch,
                    found: next,
                    history: Box::new(history),
                });
            }
            epochs_of.set_learning_rate(next);
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
