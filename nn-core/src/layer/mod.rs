//! Layers: the building blocks a `network!` chains together, and the one protocol they follow.
//!
//! A layer kind is one file here. It implements [`Layer`]; everything else (the forward,
//! backward and fused-SGD passes over a whole network, its gradients, saving and loading) is
//! written once over any layer, in [`Stack`] (whose chains of layers the `network!` macro builds)
//! and in the macro's walk over the fields.

mod activate;
mod bptt;
mod causal_conv1d;
mod dense;
mod dropout;
mod flatten;
mod gru;
mod kind;
mod layer_norm;
mod lstm;
mod no_parameters;
mod patches;
mod phase;
mod recurrent;
mod rnn;
pub(crate) mod stack;
mod streaming;
#[cfg(feature = "serde")]
mod tensors_serde;
// Numerical cores of layers to come: unused until their `Layer` impls land.
#[allow(dead_code)] // The geometry getters are for the layers still to come.
mod batch_norm;
#[allow(dead_code)] // The geometry getters are for the layers still to come.
mod conv1d;
#[allow(dead_code)]
mod conv2d;
#[allow(dead_code)] // The 2-d pools' cores are for the layers still to come.
mod pool;
#[allow(dead_code)]
mod window;

pub use activate::Activate;
pub use batch_norm::{BatchNorm, BatchNormGradients};
pub(crate) use batch_norm::{DEFAULT_EPS, inverse_std};
#[doc(hidden)]
pub use bptt::SequenceStack;
pub use bptt::ThroughTime;
pub use causal_conv1d::{CausalConv1d, CausalConv1dState};
pub(crate) use conv1d::Conv1dGeometry;
#[doc(hidden)]
pub use conv1d::window_len;
pub use conv1d::{Conv1d, Conv1dGradients};
pub(crate) use conv2d::Conv2dGeometry;
pub use conv2d::{Conv2d, Conv2dGradients};
pub use dense::{Dense, DenseGradients};
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use gru::Gru;
#[doc(hidden)]
pub use kind::{LayerKind, LayerOf, type_name_of};
pub use layer_norm::{LayerNorm, LayerNormGradients};
pub use lstm::{Lstm, LstmState};
pub use phase::Phase;
pub use pool::{AvgPool1d, MaxPool1d};
pub use pool::{AvgPool2d, GlobalAvgPool, MaxPool2d};
pub(crate) use pool::{Pool1dGeometry, Pool2dGeometry};
pub use rnn::Rnn;
#[doc(hidden)]
pub use stack::{End, Link, Stack, StackMut};
pub use streaming::Streaming;
#[doc(hidden)]
pub use streaming::{Memoryless, StreamStack};
#[cfg(feature = "serde")]
#[doc(hidden)]
pub use tensors_serde::{FieldName, TensorsInPlace, TensorsRef};
#[cfg(feature = "serde")]
pub use tensors_serde::{MAX_LAYER_TENSORS, deserialize_tensors_in_place, serialize_tensors};
pub(crate) use window::{Padding, Window};

use nalgebra::SVector;
use rand::Rng;

use crate::{Columns, ColumnsMut, Init, Largest, Parameters, Scalar, columns};

/// A layer that maps `IN` numbers per sample to `OUT` numbers per sample.
///
/// The widths are const parameters of the trait, so a network whose layers do not line up does
/// not type-check. A sample of a layer with channels, (C, L) or (C, H, W), is stored flat in
/// PyTorch's contiguous order, so `IN` and `OUT` are the flat widths and the layer's type holds
/// its shape. Batches are matrices with one sample per column.
///
/// # The protocol
///
/// - **Inference**: [`forward`](Self::forward) for one sample on its own,
///   [`forward_single`](Self::forward_single) and [`forward_batch`](Self::forward_batch) in
///   [`Phase::Inference`] inside a network's passes.
/// - **Training** keeps what back-propagation needs in a cache of the layer's own size: a value of
///   [`Cache`](Self::Cache) for one sample, [`cache_len`](Self::cache_len) scalars for a batch.
///   Layers with training-time randomness draw it from the [`Phase::Training`] source.
/// - **Backward** turns the gradient with respect to the output into the layer's own delta in
///   place, and writes the gradient with respect to the input; a batch's parameter gradients go
///   to [`HasGradients::Gradients`] when asked for.
/// - **Plain SGD** updates the parameters straight from the delta, with no gradient buffer.
/// - **Non-trainable state** (running statistics) is [`Parameters`]'s buffers: saved and loaded,
///   never optimized, and updated by [`update_buffers`](Self::update_buffers) after a training
///   step.
/// - A layer with no parameters has `TENSORS = 0` and [`NoGradients`] as its
///   [`HasGradients::Gradients`].
pub trait Layer<T: Scalar, const IN: usize, const OUT: usize>:
    Parameters<T> + HasGradients<T>
{
    /// What a single-sample training forward keeps for backward (Dense: the pre-activation).
    type Cache: Copy;

    /// Whether a training pass treats each sample of a batch on its own and draws no
    /// randomness, so that a batch split across threads gives the gradients of the whole batch
    /// (to rounding). Batch statistics and dropout's draws are not.
    const SAMPLEWISE: bool = true;

    /// Whether a batch's products can be shared out among a trainer's threads by this layer's
    /// output rows, each thread computing and updating its own rows exactly as one thread
    /// would ([`Trainer::set_threads`](crate::Trainer::set_threads)): Dense layers of more than
    /// 64 units (one register tile), in f32 on CPUs with AVX-512.
    const SHARES_ROWS: bool = false;

    /// The scalars a batch of `batch` samples keeps for backward.
    #[must_use]
    fn cache_len(batch: usize) -> usize;

    /// Sets the parameters to fresh random values drawn as `init` says.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);

    /// Output for one sample, in inference.
    #[must_use]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT>;

    /// Output for one sample in `phase`, with the cache that
    /// [`backward_single`](Self::backward_single) takes back. The network's passes call this
    /// (in [`Phase::Inference`] for inference) rather than [`forward`](Self::forward), which a
    /// layer may wrap in its own dispatch to vector instructions.
    #[must_use]
    fn forward_single(
        &self,
        input: &SVector<T, IN>,
        phase: &mut Phase,
    ) -> (Self::Cache, SVector<T, OUT>);

    /// Output for a batch into `output`, keeping [`cache_len`](Self::cache_len) scalars in
    /// `cache` for [`backward_batch`](Self::backward_batch).
    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        cache: &mut [T],
        output: ColumnsMut<'_, T, OUT>,
        phase: &mut Phase,
    );

    /// Back-propagation for one sample, on stack vectors: turns `delta`, the loss's gradient
    /// with respect to the output, into the layer's delta in place (what
    /// [`update_single`](Self::update_single) takes), and returns the gradient with respect to
    /// `input` (computed only when `input_gradient` is true, zero otherwise). The parameters are
    /// not changed.
    #[must_use]
    fn backward_single(
        &self,
        input: &SVector<T, IN>,
        cache: &Self::Cache,
        output: &SVector<T, OUT>,
        delta: &mut SVector<T, OUT>,
        input_gradient: bool,
    ) -> SVector<T, IN>;

    /// Plain SGD's update for one sample, from the delta that
    /// [`backward_single`](Self::backward_single) left.
    fn update_single(
        &mut self,
        input: &SVector<T, IN>,
        cache: &Self::Cache,
        delta: &SVector<T, OUT>,
        learning_rate: T,
    );

    /// Back-propagation through a batch: on entry `delta` holds the loss's gradient with respect
    /// to the output, on return the layer's delta (what [`update_batch`](Self::update_batch)
    /// takes). The parameter gradients, summed over the batch, are written (not added) to
    /// `gradients` when given, and the gradient with respect to `input` to `input_gradient`.
    #[allow(clippy::too_many_arguments)]
    fn backward_batch(
        &self,
        input: Columns<'_, T, IN>,
        cache: &[T],
        output: Columns<'_, T, OUT>,
        delta: ColumnsMut<'_, T, OUT>,
        gradients: Option<&mut Self::Gradients>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    );

    /// Plain SGD's update for a batch (`w <- w - learning_rate * dw`, with `dw` summed over the
    /// batch), straight into the parameters.
    fn update_batch(
        &mut self,
        input: Columns<'_, T, IN>,
        cache: &[T],
        delta: Columns<'_, T, OUT>,
        learning_rate: T,
    );

    /// Plain SGD's update for a batch whose passes ran in `count` shares, `share(s)` giving
    /// share `s`'s input, cache and delta (whose loss gradient was scaled to the whole batch):
    /// every share's contribution is applied, in share order. A big layer may spread the work
    /// over threads by its parameters, so that no two threads write the same one. The default
    /// applies [`update_batch`](Self::update_batch) share after share, which is right for any
    /// layer whose update reads only what the pass kept, not its own parameters.
    #[inline(always)]
    fn update_shares<'a>(
        &mut self,
        count: usize,
        share: &(dyn Fn(usize) -> ShareTape<'a, T> + Sync),
        learning_rate: T,
    ) {
        for index in 0..count {
            let (input, cache, delta) = share(index);
            self.update_batch(columns(input), cache, columns(delta), learning_rate);
        }
    }

    /// Adds to `largest` what bounds this layer's plain-SGD update: a fused step is applied only
    /// if every update is shown to keep the parameters finite (see [`StepLimits`](crate::StepLimits)).
    /// The default is right for layers whose weights move by sums of `delta * input` products,
    /// and adds nothing for a layer without parameters.
    #[inline(always)]
    fn bound_update(input: &[T], delta: &[T], largest: &mut Largest<T>) {
        if <Self as Parameters<T>>::TENSORS > 0 {
            largest.include(delta);
            largest.include(input);
        }
    }

    /// After a training step on a batch: updates the non-trainable state (running statistics)
    /// from what [`forward_batch`](Self::forward_batch) kept. Nothing by default.
    #[inline(always)]
    fn update_buffers(&mut self, cache: &[T], batch: usize) {
        let _ = (cache, batch);
    }

    /// As [`update_buffers`](Self::update_buffers), after a single-sample training step, from
    /// what [`forward_single`](Self::forward_single) kept. Nothing by default.
    #[inline(always)]
    fn update_buffers_single(&mut self, cache: &Self::Cache) {
        let _ = cache;
    }
}

/// What a batched training pass kept for one layer on one share of a batch, as flat slices of
/// its samples: the layer's input (`IN` numbers a sample), its cache and its delta (`OUT`
/// numbers a sample) ([`Layer::update_shares`]).
pub type ShareTape<'a, T> = (&'a [T], &'a [T], &'a [T]);

/// Proof, where a layer with channels is used, that its flat widths are its shapes':
/// `IN = C_IN * L_IN` and `OUT = C_OUT * L_OUT`. A layer implements [`Layer`] at any widths and
/// names this in its passes, so that the compiler checks the product when the network is built.
pub(crate) struct FlatWidths<
    const IN: usize,
    const OUT: usize,
    const C_IN: usize,
    const L_IN: usize,
    const C_OUT: usize,
    const L_OUT: usize,
>;

impl<
    const IN: usize,
    const OUT: usize,
    const C_IN: usize,
    const L_IN: usize,
    const C_OUT: usize,
    const L_OUT: usize,
> FlatWidths<IN, OUT, C_IN, L_IN, C_OUT, L_OUT>
{
    pub(crate) const MATCH: () = assert!(
        IN == C_IN * L_IN && OUT == C_OUT * L_OUT,
        "a layer is used at flat widths other than its shapes'"
    );
}

/// As [`FlatWidths`], for a layer over (C, H, W) samples: `IN = C_IN * H_IN * W_IN` and
/// `OUT = C_OUT * H_OUT * W_OUT`.
pub(crate) struct FlatWidths2d<
    const IN: usize,
    const OUT: usize,
    const C_IN: usize,
    const H_IN: usize,
    const W_IN: usize,
    const C_OUT: usize,
    const H_OUT: usize,
    const W_OUT: usize,
>;

impl<
    const IN: usize,
    const OUT: usize,
    const C_IN: usize,
    const H_IN: usize,
    const W_IN: usize,
    const C_OUT: usize,
    const H_OUT: usize,
    const W_OUT: usize,
> FlatWidths2d<IN, OUT, C_IN, H_IN, W_IN, C_OUT, H_OUT, W_OUT>
{
    pub(crate) const MATCH: () = assert!(
        IN == C_IN * H_IN * W_IN && OUT == C_OUT * H_OUT * W_OUT,
        "a layer is used at flat widths other than its shapes'"
    );
}

/// The type of a layer's parameter gradients.
///
/// Apart from [`Layer`] so that it is known for any activation: a network whose layer names
/// something that is not an activation gets one error about that, not one more for every item
/// of its gradients' struct.
pub trait HasGradients<T: Scalar> {
    /// The gradient of a loss with respect to this layer's parameters.
    type Gradients: Parameters<T> + Clone + core::fmt::Debug + PartialEq + 'static;
}

/// The gradients of a layer without parameters: nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NoGradients;

impl<T: Scalar> Parameters<T> for NoGradients {
    const TENSORS: usize = 0;
    const PARAMETERS: usize = 0;

    #[inline]
    fn zeros() -> Self {
        Self
    }

    #[inline]
    fn tensor(&self, _index: usize) -> &[T] {
        &[]
    }

    #[inline]
    fn tensor_mut(&mut self, _index: usize) -> &mut [T] {
        &mut []
    }

    #[inline]
    fn tensor_info(_index: usize) -> Option<crate::TensorInfo> {
        None
    }
}
