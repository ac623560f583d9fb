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
#[derive(Debug)]
pub struct Trainer<T: Scalar, G: Parameters<T>, L, O: Optimizer<T>> {
    /// The loss, which also gathers `fit`'s training metrics from each step's outputs when asked.
    loss: Metered<L>,
    optimizer: O,
    state: O::State<G>,
    gradients: Box<G>,
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
            gradients: G::zeros_boxed(),
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
        with_fma(|| self.apply(network, inputs, targets))
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
        let loss = network.loss_and_gradients(
            columns(flatten(inputs)),
            columns(flatten(targets)),
            &self.loss,
            &mut self.gradients,
            &mut self.workspace,
        );
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteLoss {
                epoch: self.epoch,
                step: self.step,
                loss: loss.as_f64(),
                history: Box::default(),
            });
        }
        self.optimizer
            .update(network, &*self.gradients, &mut self.state);
        Ok(loss)
    }

    /// The gradients of the last step.
    #[must_use]
    pub fn gradients(&self) -> &G {
        &self.gradients
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
