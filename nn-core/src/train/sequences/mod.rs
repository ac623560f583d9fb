//! Training recurrent networks by back-propagation through time: one step on a batch of whole
//! sequences, `fit` over a [`SequenceDataset`], and truncated back-propagation through time
//! over long recordings.

mod data;
mod fit;
mod network;
mod truncated;

pub use data::SequenceDataset;
pub use fit::SequenceFit;
pub use network::SequenceNetwork;

use nalgebra::SMatrix;

use super::{check_batch, checked};
use crate::guard;
use crate::kernels::dispatch::with_fma;
use crate::layer::Phase;
use crate::optim::check_positive;
use crate::{Loss, NonFiniteCause, Optimizer, Parameters, Scalar, TrainError, Workspace, columns};

/// Everything a loop training a recurrent network keeps between steps: the loss, the optimizer
/// and its state, the gradient buffers and scratch memory. A step allocates nothing once the
/// scratch has grown to the largest batch.
///
/// Every step goes through the gradient buffers and is applied only if every parameter stays
/// finite: the gradients are checked before the optimizer sees them, and the parameters are
/// copied before the update and put back if it overflows.
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
/// use typenn::{SequenceTrainer, TrainError};
///
/// network! {
///     struct Echo(Gru<1, 4>, Dense<4, 1>);
/// }
///
/// # fn main() -> Result<(), TrainError> {
/// let mut net = Echo::new(&mut StdRng::seed_from_u64(1));
/// // Two sequences of 8 steps, one step per column; the target is the input.
/// let inputs = [SMatrix::<f32, 1, 8>::from_fn(|_, t| (t as f32).sin()); 2];
/// let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.01))?.clip_norm(1.0)?;
/// let first = trainer.step(&mut net, &inputs, &inputs)?;
/// for _ in 0..50 {
///     trainer.step(&mut net, &inputs, &inputs)?;
/// }
/// assert!(trainer.step(&mut net, &inputs, &inputs)? < first);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SequenceTrainer<T: Scalar, G: Parameters<T>, L, O: Optimizer<T>> {
    loss: L,
    optimizer: O,
    state: O::State<G>,
    /// Allocated by the first step.
    gradients: Option<Box<G>>,
    /// The parameters as they were before a step, to put back if it is refused.
    saved: Vec<T>,
    /// Zero states for steps that start every sequence afresh.
    fresh: Vec<T>,
    /// The largest global norm of the gradients an update uses, when clipping.
    clip_norm: Option<f64>,
    /// Whether the optimizer's settings may have changed since they were last checked.
    unchecked: bool,
    workspace: Workspace<T>,
    phase: Phase,
    epoch: usize,
    step: usize,
}

impl<T: Scalar, G: Parameters<T>, L: Loss<T>, O: Optimizer<T>> SequenceTrainer<T, G, L, O> {
    /// A trainer minimizing `loss` with `optimizer`. The loss is the mean over every time step
    /// of every sequence (PyTorch's, over a `[batch, steps, outputs]` tensor).
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] when the optimizer's or the loss's settings are out of
    /// range in `T`'s precision.
    pub fn new(loss: L, optimizer: O) -> Result<Self, TrainError> {
        optimizer.validate()?;
        loss.validate()?;
        Ok(Self {
            state: optimizer.state(),
            loss,
            optimizer,
            gradients: None,
            saved: Vec::new(),
            fresh: Vec::new(),
            clip_norm: None,
            unchecked: false,
            workspace: Workspace::new(),
            phase: Phase::training(0),
            epoch: 1,
            step: 0,
        })
    }

    /// Clips the gradients by their global norm: when the norm over every parameter's gradient
    /// is above `max_norm`, they are all scaled down to it before the update (PyTorch's
    /// `clip_grad_norm_`), which keeps exploding gradients through time from wrecking a step.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] unless `max_norm` is a positive, normal number in `T`.
    pub fn clip_norm(mut self, max_norm: f64) -> Result<Self, TrainError> {
        check_positive::<T>("clip norm", max_norm)?;
        self.clip_norm = Some(max_norm);
        Ok(self)
    }

    /// One step on a batch of sequences, each from a zero state: forward, backward through
    /// time, update. Returns the batch's loss before the update.
    ///
    /// The sequences' length and widths are in their type, so sequences that do not fit the
    /// network, or targets of another length than the inputs, do not compile.
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyBatch`] or [`TrainError::BatchMismatch`] for a bad batch;
    /// [`TrainError::InvalidOption`] when the optimizer's settings were changed to values out
    /// of range; [`TrainError::NonFiniteLoss`] and [`TrainError::NonFiniteParameter`] as
    /// [`Trainer::step`](crate::Trainer::step). In every error case the network is unchanged.
    pub fn step<N, const IN: usize, const OUT: usize, const STEPS: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SMatrix<T, IN, STEPS>],
        targets: &[SMatrix<T, OUT, STEPS>],
    ) -> Result<T, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT, Gradients = G>,
    {
        check_batch(inputs.len(), targets.len())?;
        let mut fresh = core::mem::take(&mut self.fresh);
        fresh.clear();
        fresh.resize(inputs.len() * N::CARRY, T::zero());
        let result = self.step_from(
            network,
            bytemuck::cast_slice(inputs),
            bytemuck::cast_slice(targets),
            STEPS,
            &mut fresh,
        );
        self.fresh = fresh;
        result
    }

    /// One step on sequences of `steps` steps given flat (one step per column, each sequence's
    /// steps together), each starting from its state in `carry` and leaving its last state
    /// there. The batch is checked to be whole sequences.
    fn step_from<N, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[T],
        targets: &[T],
        steps: usize,
        carry: &mut [T],
    ) -> Result<T, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT, Gradients = G>,
    {
        if self.unchecked {
            self.optimizer.validate()?;
            self.unchecked = false;
        }
        self.step += 1;
        with_fma(
            #[inline(always)]
            || self.update(network, inputs, targets, steps, carry),
        )
    }

    /// The body of [`step_from`](Self::step_from): one function, compiled as a whole for CPUs
    /// with fused multiply-add.
    #[inline(always)]
    fn update<N, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[T],
        targets: &[T],
        steps: usize,
        carry: &mut [T],
    ) -> Result<T, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT, Gradients = G>,
    {
        let gradients = self.gradients.get_or_insert_with(G::zeros_boxed);
        let loss = network.sequence_loss_and_gradients(
            columns::<T, IN>(inputs),
            columns::<T, OUT>(targets),
            steps,
            carry,
            &self.loss,
            gradients,
            None,
            &mut self.workspace,
            &mut self.phase,
        );
        checked(loss, self.epoch, self.step)?;
        if let Some(found) = guard::first_non_finite(&**gradients) {
            return Err(found.error::<T, N>(self.epoch, self.step, NonFiniteCause::Gradient));
        }
        if let Some(max_norm) = self.clip_norm {
            clip(&mut **gradients, max_norm);
        }
        guard::save(network, &mut self.saved);
        self.optimizer
            .update(network, &**gradients, &mut self.state);
        if let Some(found) = guard::first_non_finite(network) {
            guard::restore(network, &self.saved);
            return Err(found.error::<T, N>(self.epoch, self.step, NonFiniteCause::Update));
        }
        Ok(loss)
    }

    /// The gradients of the last step (clipped, when clipping): `None` before the first.
    #[must_use]
    pub fn gradients(&self) -> Option<&G> {
        self.gradients.as_deref()
    }

    /// The optimizer, to read its settings.
    #[must_use]
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, to change its settings between steps. The next step checks them again.
    pub fn optimizer_mut(&mut self) -> &mut O {
        self.unchecked = true;
        &mut self.optimizer
    }

    /// The loss being minimized.
    #[must_use]
    pub fn loss(&self) -> &L {
        &self.loss
    }
}

/// Scales `gradients` down to a global norm of `max_norm` when their norm is above it, as
/// PyTorch's `clip_grad_norm_` does (by `max_norm / (norm + 1e-6)`). The norm is summed in f64,
/// so that an f32 network's many squares do not overflow.
fn clip<T: Scalar, G: Parameters<T>>(gradients: &mut G, max_norm: f64) {
    let mut squares = 0.0;
    for index in 0..G::TENSORS {
        for &g in gradients.tensor(index) {
            squares += g.as_f64() * g.as_f64();
        }
    }
    let coefficient = max_norm / (squares.sqrt() + 1e-6);
    if coefficient < 1.0 {
        let scale = T::cast_from(coefficient);
        for index in 0..G::TENSORS {
            for g in gradients.tensor_mut(index) {
                *g *= scale;
            }
        }
    }
}
