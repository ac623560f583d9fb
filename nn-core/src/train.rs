//! Training: one step on a mini-batch, and Keras-style `fit` over epochs with validation,
//! metrics, early stopping and callbacks.

mod callbacks;
mod early_stopping;
mod epochs;
mod extension;
mod fit;
mod history;
mod metrics;
mod options;
mod parallel;
mod progress;
mod sequences;

pub use callbacks::{Callback, Control};
pub use early_stopping::{EarlyStopping, Mode, Monitor};
pub use extension::Train;
pub use fit::Fit;
pub use history::{EpochLog, History, MetricHistory};
pub use metrics::{Metric, MetricValues};
pub use options::FitOptions;
pub use sequences::{SequenceDataset, SequenceFit, SequenceNetwork, SequenceTrainer};

pub(crate) use metrics::{Evaluator, MetricSet};

use core::marker::PhantomData;

use nalgebra::SVector;

use metrics::Metered;
use parallel::Share;

use crate::guard;
use crate::kernels::dispatch::{Vectors, rows_shared, with_fma, with_fma_told};
use crate::kernels::team::Team;
use crate::layer::Phase;
use crate::layer::Stack;
use crate::network::Fused;
use crate::rng::SplitMix64;
use crate::{
    Dataset, Loss, Network, NonFiniteCause, Optimizer, Parameters, Scalar, StepLimits, TrainError,
    Workspace, columns, flatten,
};

/// Everything a training loop keeps between steps: the loss, the optimizer and its state, the
/// gradient buffers and scratch memory. A step allocates nothing once the scratch has grown to
/// the largest batch.
///
/// With plain SGD ([`Optimizer::plain_sgd`]) a step updates each layer from its
/// back-propagated delta, so no gradient buffers are allocated, and a step on a single sample
/// runs on the stack; only a step whose update cannot be shown to stay finite takes the checked
/// path, which allocates the gradient buffers and a copy of the parameters the first time.
///
/// # Threads
///
/// A step may use up to [`threads`](Self::set_threads) threads (by default one; see
/// [`FitOptions::threads`] for why), in one of two ways.
///
/// **Shared by rows.** With plain SGD in `f32` on a CPU with AVX-512, or AVX2 and FMA, a network
/// with a Dense layer of more than 64 units ([`Layer::SHARES_ROWS`](crate::Layer)) runs its step as
/// on one thread, except that the big products (that layer's forward pass, weight update and
/// gradient, from about 2^18 multiply-adds) are shared out by tiles of 64 output rows, each thread
/// computing its own tiles exactly as one thread would. Every thread count gives one thread's
/// numbers to the bit, and each thread keeps writing the same rows of the weights, which therefore
/// never move between cores. The threads are the trainer's own: the first such step starts
/// `threads - 1` helpers, which live as long as the trainer, wait for the next product by spinning
/// for up to 0.3 ms (offering the core to the scheduler every 64 turns), and then sleep until
/// woken. Later steps allocate nothing.
///
/// **Batch split.** Otherwise a batch big enough to be worth it is split across the threads of
/// rayon's pool, each taking a contiguous share. With plain SGD each thread runs its share's
/// forward and backward pass, and then the update of each big layer is split across the
/// threads by parameters (blocks of a Dense layer's input columns), each adding every share's
/// part for its parameters in share order: no gradient buffers. With other optimizers each thread computes its share's gradients into
/// buffers of its own, and the shares are added in order, weighted by their sizes, before one
/// update. A given thread count gives the same numbers on every run and every machine; two
/// counts differ by rounding. One thread, a batch whose shares would each have under about a
/// million parameters times samples, and a network with batch statistics or dropout, run the
/// step on one thread exactly as before. The first split step allocates the shares'
/// buffers; later ones allocate on the calling thread only a block of the pool's job queue for
/// every 63 jobs handed to it (a step hands it one, and one per big layer or tensor of over
/// 16,384 numbers), and with more than 8 threads the list of the shares' passes of plain SGD.
#[derive(Debug)]
pub struct Trainer<T: Scalar, G: Parameters<T>, L, O: Optimizer<T>> {
    /// The loss, which also gathers `fit`'s training metrics from each step's outputs when asked.
    loss: Metered<L>,
    optimizer: O,
    state: O::State<G>,
    /// Allocated by the first step that needs them: plain SGD does not.
    gradients: Option<Box<G>>,
    /// The parameters as they were before a checked step, to put back if it is refused.
    saved: Vec<T>,
    /// How many threads a step may split its batch across.
    threads: usize,
    /// Each thread's buffers, allocated by the first step that splits its batch.
    shares: Vec<Share<T, G>>,
    /// The threads that share out plain SGD's products by rows, started by the first step
    /// that uses them.
    team: Option<Team>,
    /// Whether the optimizer's settings may have changed since they were last checked.
    unchecked: bool,
    /// The bound plain SGD's fused single-sample steps are checked against, for the learning
    /// rate the settings had when they were last checked.
    limits: StepLimits<T>,
    workspace: Workspace<T>,
    phase: Phase,
    epoch: usize,
    step: usize,
    scalar: PhantomData<T>,
}

impl<T: Scalar, G: Parameters<T>, L: Loss<T>, O: Optimizer<T>> Trainer<T, G, L, O> {
    /// A trainer minimizing `loss` with `optimizer`.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] when the optimizer's or the loss's settings are out of
    /// range in `T`'s precision (a learning rate of `1e39` or `1e-300` for `f32`).
    pub fn new(loss: L, optimizer: O) -> Result<Self, TrainError> {
        optimizer.validate()?;
        loss.validate()?;
        Ok(Self {
            state: optimizer.state(),
            loss: Metered::new(loss),
            limits: single_sample_limits(&optimizer),
            optimizer,
            gradients: None,
            saved: Vec::new(),
            threads: 1,
            shares: Vec::new(),
            team: None,
            unchecked: false,
            workspace: Workspace::new(),
            phase: Phase::training(TRAINING_SEED),
            epoch: 1,
            step: 0,
            scalar: PhantomData,
        })
    }

    /// One step on one mini-batch: forward, backward, update. Returns the batch's loss before
    /// the update.
    ///
    /// A step never leaves a parameter NaN or infinite: one that would is not applied, and the
    /// network keeps the parameters it had before it (given that they were finite).
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyBatch`] or [`TrainError::BatchMismatch`] for a bad batch;
    /// [`TrainError::InvalidOption`] when the optimizer's settings were changed through
    /// [`Trainer::optimizer_mut`] to values out of range (in `T`'s precision);
    /// [`TrainError::NonFiniteLoss`] when the loss is not finite and
    /// [`TrainError::NonFiniteParameter`] when the loss is finite but the update would make a
    /// parameter NaN or infinite. In every error case the network is unchanged.
    pub fn step<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
    ) -> Result<T, TrainError> {
        check_batch(inputs.len(), targets.len())?;
        if self.unchecked {
            self.optimizer.validate()?;
            self.limits = single_sample_limits(&self.optimizer);
            self.unchecked = false;
        }
        self.step += 1;
        // Before the passes compiled for fused multiply-add, and never for one sample, so that
        // the single-thread steps are as they were.
        // Plain SGD's products shared out by rows on the trainer's team, started by the first
        // step that needs it; otherwise (or if the system refuses a thread) a batch worth
        // splitting is split.
        let mut team = None;
        if inputs.len() > 1 && self.threads > 1 {
            if self.shares_rows(network) {
                team = self
                    .team
                    .take()
                    .filter(|team| team.members() == self.threads)
                    .or_else(|| Team::new(self.threads));
            }
            if team.is_none() {
                let shares = parallel::training_shares(network, self.threads, inputs.len());
                if shares > 1 {
                    return self.parallel_step(network, inputs, targets, shares);
                }
            }
        }
        // One call of the passes for both, so that each network's are compiled once.
        let result = Team::install_in(team.as_mut(), || {
            with_fma_told(
                #[inline(always)]
                |vectors| self.apply(network, inputs, targets, vectors),
            )
        });
        if team.is_some() {
            self.team = team;
        }
        result
    }

    /// Whether a step on `network` shares its products out by rows ([`Team`]) rather than
    /// splitting its batch: plain SGD, on a network with a layer that
    /// [shares its rows](crate::Layer::SHARES_ROWS), where the CPU runs those products.
    fn shares_rows<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &self,
        _network: &N,
    ) -> bool {
        <N::LayersMut<'_> as Stack<T, IN, OUT>>::SHARES_ROWS
            && rows_shared::<T>()
            && self.optimizer.plain_sgd().is_some()
    }

    /// The body of [`Trainer::step`] once the batch is checked: one function, so that it is
    /// compiled as a whole for CPUs with fused multiply-add.
    #[inline(always)]
    fn apply<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
        vectors: Vectors,
    ) -> Result<T, TrainError> {
        if let Some(learning_rate) = self.optimizer.plain_sgd() {
            let learning_rate = T::cast_from(learning_rate);
            let fused = match (inputs, targets) {
                ([input], [target]) => {
                    let limits = self.limits.with_vectors(vectors);
                    network.sgd_single(
                        input,
                        target,
                        &self.loss,
                        learning_rate,
                        &limits,
                        &mut self.phase,
                    )
                }
                _ => network.sgd_batch(
                    columns(flatten(inputs)),
                    columns(flatten(targets)),
                    &self.loss,
                    learning_rate,
                    &StepLimits::new(learning_rate, inputs.len()).with_vectors(vectors),
                    &mut self.workspace,
                    &mut self.phase,
                ),
            };
            match fused {
                Fused::Applied(loss) => return Ok(loss),
                Fused::Declined(loss) => {
                    checked(loss, self.epoch, self.step)?;
                }
            }
        }
        self.checked_step(network, inputs, targets)
    }

    /// A step through the gradient buffers, applied only if every parameter stays finite: the
    /// gradients are checked before the optimizer sees them, and the parameters are copied
    /// before the update and put back if it overflows.
    ///
    /// Out of line, so that plain SGD's fused pass stays small, and compiled through its own
    /// [`with_fma`], since it is every step of the optimizers with state.
    #[inline(never)]
    fn checked_step<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
    ) -> Result<T, TrainError> {
        with_fma(
            #[inline(always)]
            || self.checked_update(network, inputs, targets),
        )
    }

    /// The body of [`checked_step`](Self::checked_step).
    #[inline(always)]
    fn checked_update<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
    ) -> Result<T, TrainError> {
        // Saved before the pass, which updates the running statistics: a refused step puts
        // them back too.
        guard::save(network, &mut self.saved);
        let gradients = self.gradients.get_or_insert_with(G::zeros_boxed);
        let loss = network.train_gradients(
            columns(flatten(inputs)),
            columns(flatten(targets)),
            &self.loss,
            gradients,
            &mut self.workspace,
            &mut self.phase,
        );
        if let Err(error) = checked(loss, self.epoch, self.step) {
            guard::restore(network, &self.saved);
            return Err(error);
        }
        if let Some(found) = guard::first_non_finite(&**gradients) {
            guard::restore(network, &self.saved);
            return Err(found.error::<T, N>(self.epoch, self.step, NonFiniteCause::Gradient));
        }
        self.optimizer
            .update(network, &**gradients, &mut self.state);
        if let Some(found) = guard::first_non_finite(network) {
            guard::restore(network, &self.saved);
            return Err(found.error::<T, N>(self.epoch, self.step, NonFiniteCause::Update));
        }
        Ok(loss)
    }

    /// A step split into `shares` shares of the batch, one per thread; out of line, so that
    /// the single-thread passes stay as they were.
    ///
    /// The network is changed only by the update, after every share is done. Plain SGD's update
    /// `lr * g` is applied straight away when the shares' largest gradient shows that it stays
    /// below [`Scalar::SAFE_STEP`]; otherwise, and for every other optimizer, the update is
    /// checked as in [`checked_update`](Self::checked_update), against a copy of the
    /// parameters.
    #[inline(never)]
    fn parallel_step<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
        shares: usize,
    ) -> Result<T, TrainError> {
        with_fma(
            #[inline(always)]
            || self.parallel_update(network, inputs, targets, shares),
        )
    }

    /// The body of [`parallel_step`](Self::parallel_step), compiled for fused multiply-add for
    /// the optimizer's update.
    #[inline(always)]
    fn parallel_update<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
        shares: usize,
    ) -> Result<T, TrainError> {
        if self.shares.len() < shares {
            self.shares.resize_with(shares, Share::new);
        }
        let shares = &mut self.shares[..shares];
        if let Some(learning_rate) = self.optimizer.plain_sgd() {
            let learning_rate = T::cast_from(learning_rate);
            let phase = &self.phase;
            match parallel::sgd(
                network,
                inputs,
                targets,
                &self.loss,
                phase,
                shares,
                learning_rate,
            ) {
                Fused::Applied(loss) => return Ok(loss),
                Fused::Declined(loss) => {
                    checked(loss, self.epoch, self.step)?;
                }
            }
        }
        let reduced =
            parallel::compute(&*network, inputs, targets, &self.loss, &self.phase, shares);
        let loss = checked(reduced.loss, self.epoch, self.step)?;
        if let Some(learning_rate) = self.optimizer.plain_sgd() {
            let learning_rate = T::cast_from(learning_rate);
            // Twice the rate, for the rounding of the weighted sum.
            let limit = T::SAFE_STEP / (learning_rate + learning_rate);
            if reduced.largest < limit.magnitude() {
                parallel::sgd_update(network, shares, learning_rate);
                return Ok(loss);
            }
        }
        let gradients = self.gradients.get_or_insert_with(G::zeros_boxed);
        parallel::reduce::<T, N, IN, OUT>(&mut **gradients, shares);
        if let Some(found) = guard::first_non_finite(&**gradients) {
            return Err(found.error::<T, N>(self.epoch, self.step, NonFiniteCause::Gradient));
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

    /// How many threads a step may split its batch across (the default is one).
    #[must_use]
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Lets a step split its batch across up to `threads` threads: 1 trains on one thread
    /// exactly as without threads. The numbers depend on the count, not on the machine, so a
    /// count set here gives the same training everywhere.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] for 0 threads; the count is then unchanged.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     struct Line(Dense<2, 1>);
    /// }
    ///
    /// fn main() -> Result<(), typenn::TrainError> {
    ///     let mut trainer = Line::<f32>::zeros().trainer(Mse, Sgd::new(0.1))?;
    ///     trainer.set_threads(2)?;
    ///     assert_eq!(trainer.threads(), 2);
    ///     assert!(trainer.set_threads(0).is_err());
    ///     Ok(())
    /// }
    /// ```
    pub fn set_threads(&mut self, threads: usize) -> Result<(), TrainError> {
        self.threads = check_threads(threads)?;
        Ok(())
    }

    /// The gradients of the last step that went through the gradient buffers: `None` before
    /// the first such step. Plain SGD updates the layers from back-propagation without them,
    /// except for a step it could not show to stay finite (use [`Train::gradients`] to compute
    /// them).
    #[must_use]
    pub fn gradients(&self) -> Option<&G> {
        self.gradients.as_deref()
    }

    /// The optimizer, to read its settings.
    #[must_use]
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// The optimizer, to change its settings between steps (a learning-rate schedule). The
    /// next step checks the settings again.
    pub fn optimizer_mut(&mut self) -> &mut O {
        self.unchecked = true;
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
    /// As [`Train::fit`].
    pub fn fit<N: Network<T, IN, OUT, Gradients = G>, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        data: &Dataset<T, IN, OUT>,
        options: &FitOptions,
    ) -> Result<History, TrainError> {
        Fit::new(data).options(*options).run_with(self, network)
    }
}

/// How many samples `predict` and `evaluate` push through at once.
pub(crate) const EVALUATION_BATCH: usize = 256;

/// The seed of training's randomness (dropout) for a trainer that `fit` has not reseeded.
const TRAINING_SEED: u64 = 0;

/// Training's randomness for a run of `fit` shuffled with `seed`: its own stream, so that
/// dropout's draws and the shuffle's are not the same numbers.
pub(crate) fn training_phase(seed: u64) -> Phase {
    Phase::training(seed ^ 0x6A09_E667_F3BC_C908)
}

/// `threads`, or the error for 0.
pub(crate) fn check_threads(threads: usize) -> Result<usize, TrainError> {
    if threads == 0 {
        return Err(TrainError::InvalidOption {
            option: "threads",
            expected: "at least 1",
            found: 0.0,
        });
    }
    Ok(threads)
}

/// `Ok` for a batch of as many targets as inputs, and at least one.
pub(crate) fn check_batch(inputs: usize, targets: usize) -> Result<(), TrainError> {
    if inputs != targets {
        return Err(TrainError::BatchMismatch { inputs, targets });
    }
    if inputs == 0 {
        return Err(TrainError::EmptyBatch);
    }
    Ok(())
}

/// The bound for plain SGD's single-sample steps at `optimizer`'s learning rate (none is
/// admitted without plain SGD, which does not take the fused path).
fn single_sample_limits<T: Scalar, O: Optimizer<T>>(optimizer: &O) -> StepLimits<T> {
    StepLimits::new(T::cast_from(optimizer.plain_sgd().unwrap_or(f64::MAX)), 1)
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
