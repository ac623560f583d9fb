//! Training: one step on a mini-batch, and Keras-style `fit` over epochs.

use core::marker::PhantomData;

use nalgebra::SVector;

use crate::network::check_batch;
use crate::rng::SplitMix64;
use crate::unsafe_code::dispatch::with_fma;
use crate::{
    Dataset, Loss, Network, Optimizer, Parameters, Scalar, TrainError, Workspace, columns, flatten,
};

/// Settings of [`Network::fit`], built like Keras's `fit` arguments.
///
/// # Example
///
/// ```
/// use nn_core::FitOptions;
///
/// let options = FitOptions::new().epochs(10).batch_size(32).shuffle(7);
/// assert_eq!(options.batch_size_value(), 32);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FitOptions {
    epochs: usize,
    batch_size: usize,
    shuffle: Option<u64>,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl FitOptions {
    /// Keras's defaults: 1 epoch, batches of 32, shuffled (here with seed 0, so runs repeat).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            epochs: 1,
            batch_size: 32,
            shuffle: Some(0),
        }
    }

    /// How many passes over the data.
    #[must_use]
    pub const fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per step; the last batch of an epoch may be smaller.
    #[must_use]
    pub const fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Shuffles the samples before every epoch, reproducibly from `seed`.
    #[must_use]
    pub const fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self
    }

    /// Keeps the samples in their order.
    #[must_use]
    pub const fn no_shuffle(mut self) -> Self {
        self.shuffle = None;
        self
    }

    /// The number of epochs.
    #[must_use]
    pub const fn epochs_value(&self) -> usize {
        self.epochs
    }

    /// The batch size.
    #[must_use]
    pub const fn batch_size_value(&self) -> usize {
        self.batch_size
    }

    /// The shuffle seed, if shuffling.
    #[must_use]
    pub const fn shuffle_seed(&self) -> Option<u64> {
        self.shuffle
    }
}

/// The figures of a `fit`, one entry per completed epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Mean training loss of each epoch: every step's loss (taken before its update) weighted by
    /// its batch size, as Keras reports it.
    pub loss: Vec<f64>,
}

/// Everything a training loop keeps between steps: the loss, the optimizer and its state, the
/// gradient buffers and scratch memory. A step allocates nothing once the scratch has grown to
/// the largest batch.
#[derive(Debug)]
pub struct Trainer<T: Scalar, G: Parameters<T>, L, O: Optimizer<T>> {
    loss: L,
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
            loss,
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
                history: History::default(),
            });
        }
        self.optimizer
            .update(network, &*self.gradients, &mut self.state);
        Ok(loss)
    }

    /// Trains for `options.epochs` passes over `data` and returns the per-epoch figures.
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
        let batch_size = options.batch_size_value();
        if batch_size == 0 {
            return Err(TrainError::InvalidOption {
                option: "batch size",
                expected: "at least 1",
                found: 0.0,
            });
        }
        let mut history = History::default();
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut shuffler = options.shuffle_seed().map(SplitMix64);
        let gathered = batch_size.min(data.len());
        let mut batch_inputs = Vec::with_capacity(if shuffler.is_some() { gathered } else { 0 });
        let mut batch_targets = Vec::with_capacity(batch_inputs.capacity());
        for epoch in 1..=options.epochs_value() {
            self.epoch = epoch;
            self.step = 0;
            if let Some(rng) = &mut shuffler {
                rng.shuffle(&mut order);
            }
            let mut total = 0.0;
            for (start, chunk) in (0..).step_by(batch_size).zip(order.chunks(batch_size)) {
                let loss = if shuffler.is_some() {
                    batch_inputs.clear();
                    batch_targets.clear();
                    batch_inputs.extend(chunk.iter().map(|&i| data.inputs()[i]));
                    batch_targets.extend(chunk.iter().map(|&i| data.targets()[i]));
                    self.step(network, &batch_inputs, &batch_targets)
                } else {
                    let end = start + chunk.len();
                    self.step(
                        network,
                        &data.inputs()[start..end],
                        &data.targets()[start..end],
                    )
                };
                match loss {
                    Ok(loss) => total += loss.as_f64() * chunk.len() as f64,
                    Err(TrainError::NonFiniteLoss {
                        epoch, step, loss, ..
                    }) => {
                        return Err(TrainError::NonFiniteLoss {
                            epoch,
                            step,
                            loss,
                            history,
                        });
                    }
                    Err(other) => return Err(other),
                }
            }
            history.loss.push(total / data.len() as f64);
        }
        Ok(history)
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
        &self.loss
    }
}
