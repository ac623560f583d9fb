//! Training: one step on a mini-batch, and Keras-style `fit` over epochs with validation,
//! metrics, early stopping and callbacks.

mod callbacks;
mod early_stopping;
mod fit;
mod history;
mod metrics;
mod options;
mod progress;

pub use callbacks::{Callback, Control};
pub use early_stopping::{EarlyStopping, Mode, Monitor};
pub use fit::Fit;
pub use history::{EpochLog, History, MetricHistory};
pub use metrics::{Metric, MetricValues};
pub use options::FitOptions;

pub(crate) use metrics::{Evaluator, MetricSet};

use core::marker::PhantomData;

use nalgebra::SVector;

use metrics::Metered;

use crate::network::check_batch;
use crate::rng::SplitMix64;
use crate::unsafe_code::dispatch::with_fma;
use crate::{
    Dataset, Loss, Network, Optimizer, Parameters, Scalar, TrainError, Workspace, columns, flatten,
};

/// Everything a training loop keeps between steps: the loss, the optimizer and its state, the
/// gradient buffers and scratch memory. A step allocates nothing once the scratch has grown to
/// the largest batch.
///
/// With plain SGD ([`Optimizer::plain_sgd`]) a step updates each layer as back-propagation
/// reaches it, so no gradient buffers are allocated at all, and a step on a single sample runs
/// on the stack.
#[derive(Debug)]
pub struct Trainer<T: Scalar, G: Parameters<T>, L, O: Optimizer<T>> {
    /// The loss, which also gathers `fit`'s training metrics from each step's outputs when asked.
    loss: Metered<L>,
    optimizer: O,
    state: O::State<G>,
    /// Allocated by the first step that needs them: plain SGD does not.
    gradients: Option<Box<G>>,
    workspace: Workspace<T>,
    epoch: usize,
    step: usize,
    scalar: PhantomData<T>,
}

impl<T: Scalar, G: Parameters<T>, L: Loss<T>, O: Optimizer<T>> Trainer<T, G, L, O> {
    /// A trainer minimizing `loss` with `optimizer`.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] when the optimizer's settings are out of range.
    pub fn new(loss: L, optimizer: O) -> Result<Self, TrainError> {
        optimizer.validate()?;
        Ok(Self {
            state: optimizer.state(),
            loss: Metered::new(loss),
            optimizer,
            gradients: None,
            workspace: Workspace::new(),
            epoch: 1,
            step: 0,
            scalar: PhantomData,
        })
    }

    /// One step on one mini-batch: forward, backward, update. Returns the batch's loss before
    /// the update.
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyBatch`] or [`TrainError::BatchMismatch`] for a bad batch, and
    /// [`TrainError::NonFiniteLoss`] when the loss is not finite, in which case the update is
    /// not applied.
    pub fn step<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
    ) -> Result<T, TrainError> {
        check_batch(inputs.len(), targets.len())?;
        self.step += 1;
        with_fma(
            #[inline(always)]
            || self.apply(network, inputs, targets),
        )
    }

    /// The body of [`Trainer::step`] once the batch is checked: one function, so that it is
    /// compiled as a whole for CPUs with fused multiply-add.
    #[inline(always)]
    fn apply<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
    ) -> Result<T, TrainError> {
        if let Some(learning_rate) = self.optimizer.plain_sgd() {
            let learning_rate = T::cast_from(learning_rate);
            let fused = match (inputs, targets) {
                ([input], [target]) => network.sgd_single(input, target, &self.loss, learning_rate),
                _ => network.sgd_batch(
                    columns(flatten(inputs)),
                    columns(flatten(targets)),
                    &self.loss,
                    learning_rate,
                    &mut self.workspace,
                ),
            };
            if let Some(loss) = fused {
                return checked(loss, self.epoch, self.step);
            }
        }
        let gradients = self.gradients.get_or_insert_with(G::zeros_boxed);
        let loss = network.loss_and_gradients(
            columns(flatten(inputs)),
            columns(flatten(targets)),
            &self.loss,
            gradients,
            &mut self.workspace,
        );
        checked(loss, self.epoch, self.step)?;
        self.optimizer
            .update(network, &**gradients, &mut self.state);
        Ok(loss)
    }

    /// The gradients of the last step, when the optimizer needed them: `None` before the first
    /// step and with plain SGD, which updates the layers during back-propagation instead (use
    /// [`Network::gradients`] to compute them).
    #[must_use]
    pub fn gradients(&self) -> Option<&G> {
        self.gradients.as_deref()
    }

    /// The optimizer, to read its settings.
    #[must_use]
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, to change its settings between steps (a learning-rate schedule).
    pub fn optimizer_mut(&mut self) -> &mut O {
        &mut self.optimizer
    }

    /// The loss being minimized.
    #[must_use]
    pub fn loss(&self) -> &L {
        &self.loss.loss
    }
}

impl<T: Scalar, G: Parameters<T>, L: Loss<T>, O: Optimizer<T>> Trainer<T, G, L, O> {
    /// Trains for `options.epochs` passes over `data` and returns the per-epoch figures, keeping
    /// this trainer's optimizer state: [`Fit::run_with`] with no validation data and no callbacks.
    ///
    /// # Errors
    ///
    /// As [`Network::fit`].
    pub fn fit<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        data: &Dataset<T, IN, OUT>,
        options: &FitOptions,
    ) -> Result<History, TrainError> {
        Fit::new(data).options(*options).run_with(self, network)
    }
}

/// `loss`, or the error that stops training when it is not finite.
#[inline(always)]
fn checked<T: Scalar>(loss: T, epoch: usize, step: usize) -> Result<T, TrainError> {
    if loss.is_finite() {
        Ok(loss)
    } else {
        Err(TrainError::NonFiniteLoss {
            epoch,
            step,
            loss: loss.as_f64(),
            history: Box::default(),
        })
    }
}
