//! The passes over a whole network, written once over any chain of layers.
//!
//! A `network!` struct lends its layers out as a chain, `Link::new(&first, Link::new(&second,
//! End))`, and every pass (inference, training's forward and backward, plain SGD's fused update,
//! buffer updates) recurses along it. Each link carries its layer's output width `A` and the next
//! layer's input width `B`, and can only be made when [`Fits<A, B>`] holds: a mismatch is one
//! error, on the user's width, where the macro builds the link, rather than one per pass.
//! Everything is `#[inline(always)]`: a chain compiles to the straight-line code a hand-unrolled
//! network would be.

use core::ops::{Deref, DerefMut};

use nalgebra::SVector;

use super::{Layer, Phase};
use crate::{Boundary, Columns, ColumnsMut, Fits, Largest, Scalar, Scratch, columns, columns_mut};

/// A layer (`H` is `&L` or `&mut L`) followed by the rest of the chain `R`. `A` is the layer's
/// output width and `B` the rest's input width, equal in every link there is.
#[derive(Debug)]
pub struct Link<H, R, const A: usize, const B: usize>(pub(crate) H, pub(crate) R);

impl<H, R, const A: usize, const B: usize> Link<H, R, A, B> {
    /// The layer `head` followed by `rest`: only where the widths line up.
    #[inline(always)]
    pub fn new(head: H, rest: R) -> Self
    where
        Boundary: Fits<A, B>,
    {
        Self(head, rest)
    }
}

/// A value at a link's boundary seen at the other side's width, which is the same: links exist
/// only where `A == B` ([`Link::new`]).
#[inline(always)]
fn across<T: Scalar, const A: usize, const B: usize>(value: &SVector<T, A>) -> &SVector<T, B> {
    // The same bytes, borrowed: no copy for the next layer to read back.
    bytemuck::cast_ref::<SVector<T, A>, SVector<T, B>>(value)
}

/// The end of a chain: what reaches it is the network's output.
#[derive(Clone, Copy, Debug)]
pub struct End;

/// What a batched training pass kept for one layer, and for the rest of the chain.
#[derive(Debug)]
pub struct Tape<'s, T, R> {
    /// The layer's cache.
    pub cache: &'s mut [T],
    /// The layer's output.
    pub output: &'s mut [T],
    /// The layer's delta, once back-propagation is through.
    pub delta: &'s mut [T],
    /// The rest of the chain's tapes.
    pub rest: R,
}

/// A chain of layers from `IN` to `OUT` numbers per sample, read-only.
pub trait Stack<T: Scalar, const IN: usize, const OUT: usize> {
    /// What a single-sample training forward keeps: every layer's cache and output.
    type Trace;
    /// Every layer's delta after a single-sample backward pass.
    type Deltas;
    /// What a batched training pass keeps, in scratch memory that lives for `'s`: plain
    /// slices, which the threads of a split step hand back and read together.
    type Tape<'s>: Send + Sync
    where
        T: 's;
    /// Where a batched backward pass writes every layer's parameter gradients.
    type Gradients<'g>;

    /// Whether every layer is [`Layer::SAMPLEWISE`](super::Layer::SAMPLEWISE).
    const SAMPLEWISE: bool;

    /// Whether some layer [`Layer::SHARES_ROWS`](super::Layer::SHARES_ROWS).
    const SHARES_ROWS: bool;

    /// Scratch memory for a batch of `batch` samples: each layer's cache and output, and in
    /// training its delta too.
    #[must_use]
    fn scratch_len(batch: usize, training: bool) -> usize;

    /// One sample through every layer, in inference.
    #[must_use]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT>;

    /// One sample through every layer, in training: the trace and the output.
    #[must_use]
    fn trace(&self, input: &SVector<T, IN>, phase: &mut Phase) -> (Self::Trace, SVector<T, OUT>);

    /// Back-propagation of `delta`, the loss's gradient with respect to the output, through the
    /// trace: the gradient with respect to the input (zero unless `input_gradient`) and every
    /// layer's delta.
    #[must_use]
    fn backward(
        &self,
        input: &SVector<T, IN>,
        trace: &Self::Trace,
        delta: SVector<T, OUT>,
        input_gradient: bool,
    ) -> (SVector<T, IN>, Self::Deltas);

    /// Adds what bounds every layer's single-sample update to `largest`.
    fn bound_single(
        input: &SVector<T, IN>,
        trace: &Self::Trace,
        deltas: &Self::Deltas,
        largest: &mut Largest<T>,
    );

    /// A batch through every layer in inference, the last layer's output into `output`.
    fn infer_batch(
        &self,
        input: Columns<'_, T, IN>,
        scratch: &mut Scratch<'_, T>,
        output: ColumnsMut<'_, T, OUT>,
    );

    /// A batch forward and back in training. At the end of the chain `finish` gets the output
    /// and writes the loss's gradient with respect to it; going back, every layer's delta is
    /// kept, its parameter gradients are written to `gradients` when given, and the gradient with
    /// respect to the input to `input_gradient`.
    fn train_batch<'s, F>(
        &self,
        input: Columns<'_, T, IN>,
        scratch: &mut Scratch<'s, T>,
        phase: &mut Phase,
        gradients: Option<Self::Gradients<'_>>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
        finish: &mut F,
    ) -> Self::Tape<'s>
    where
        F: FnMut(Columns<'_, T, OUT>, ColumnsMut<'_, T, OUT>);

    /// Adds what bounds every layer's batched update to `largest`.
    fn bound_batch(input: &[T], tape: &Self::Tape<'_>, largest: &mut Largest<T>);
}

/// A chain whose layers can be changed: the updates.
pub trait StackMut<T: Scalar, const IN: usize, const OUT: usize>: Stack<T, IN, OUT> {
    /// Plain SGD's update of every layer from a single-sample pass.
    fn update_single(
        &mut self,
        input: &SVector<T, IN>,
        trace: &Self::Trace,
        deltas: &Self::Deltas,
        learning_rate: T,
    );

    /// Plain SGD's update of every layer from a batched pass.
    fn update_batch(&mut self, input: Columns<'_, T, IN>, tape: &Self::Tape<'_>, learning_rate: T);

    /// Plain SGD's update of every layer from a batch whose passes ran in `count` shares,
    /// `share(s)` giving share `s`'s input and tape ([`Layer::update_shares`]).
    fn update_shares<'a, 's: 'a>(
        &mut self,
        count: usize,
        share: &(dyn Fn(usize) -> (&'a [T], &'a Self::Tape<'s>) + Sync),
        learning_rate: T,
    ) where
        T: 's;

    /// Every layer's non-trainable state, from a batched training pass.
    fn update_buffers(&mut self, batch: usize, tape: &Self::Tape<'_>);

    /// Every layer's non-trainable state, from a single-sample training pass.
    fn update_buffers_single(&mut self, trace: &Self::Trace);
}

impl<T, H, L, R, const IN: usize, const A: usize, const B: usize, const OUT: usize>
    Stack<T, IN, OUT> for Link<H, R, A, B>
where
    T: Scalar,
    H: Deref<Target = L>,
    L: Layer<T, IN, A>,
    R: Stack<T, B, OUT>,
{
    type Trace = (L::Cache, SVector<T, A>, R::Trace);
    type Deltas = (SVector<T, A>, R::Deltas);
    type Tape<'s>
        = Tape<'s, T, R::Tape<'s>>
    where
        T: 's;
    type Gradients<'g> = (&'g mut L::Gradients, R::Gradients<'g>);

    const SAMPLEWISE: bool = L::SAMPLEWISE && R::SAMPLEWISE;
    const SHARES_ROWS: bool = L::SHARES_ROWS || R::SHARES_ROWS;

    #[inline(always)]
    fn scratch_len(batch: usize, training: bool) -> usize {
        L::cache_len(batch)
            + A * batch * (1 + usize::from(training))
            + R::scratch_len(batch, training)
    }

    #[inline(always)]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
        let (_, output) = self.0.forward_single(input, &mut Phase::Inference);
        self.1.forward(across::<T, A, B>(&output))
    }

    #[inline(always)]
    fn trace(&self, input: &SVector<T, IN>, phase: &mut Phase) -> (Self::Trace, SVector<T, OUT>) {
        let (cache, output) = self.0.forward_single(input, phase);
        let (rest, last) = self.1.trace(across::<T, A, B>(&output), phase);
        ((cache, output, rest), last)
    }

    #[inline(always)]
    fn backward(
        &self,
        input: &SVector<T, IN>,
        trace: &Self::Trace,
        delta: SVector<T, OUT>,
        input_gradient: bool,
    ) -> (SVector<T, IN>, Self::Deltas) {
        let (cache, output, rest) = trace;
        let next = across::<T, A, B>(output);
        let (back, deltas) = self.1.backward(next, rest, delta, true);
        let mut delta = *across::<T, B, A>(&back);
        let input_delta = self
            .0
            .backward_single(input, cache, output, &mut delta, input_gradient);
        (input_delta, (delta, deltas))
    }

    #[inline(always)]
    fn bound_single(
        input: &SVector<T, IN>,
        trace: &Self::Trace,
        deltas: &Self::Deltas,
        largest: &mut Largest<T>,
    ) {
        L::bound_update(input.as_slice(), deltas.0.as_slice(), largest);
        R::bound_single(across::<T, A, B>(&trace.1), &trace.2, &deltas.1, largest);
    }

    #[inline(always)]
    fn infer_batch(
        &self,
        input: Columns<'_, T, IN>,
        scratch: &mut Scratch<'_, T>,
        output: ColumnsMut<'_, T, OUT>,
    ) {
        let batch = input.ncols();
        let cache = scratch.slice(L::cache_len(batch));
        let own = scratch.slice(A * batch);
        self.0.forward_batch(
            input,
            cache,
            columns_mut::<T, A>(own),
            &mut Phase::Inference,
        );
        self.1.infer_batch(columns::<T, B>(own), scratch, output);
    }

    #[inline(always)]
    fn train_batch<'s, F>(
        &self,
        input: Columns<'_, T, IN>,
        scratch: &mut Scratch<'s, T>,
        phase: &mut Phase,
        gradients: Option<Self::Gradients<'_>>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
        finish: &mut F,
    ) -> Self::Tape<'s>
    where
        F: FnMut(Columns<'_, T, OUT>, ColumnsMut<'_, T, OUT>),
    {
        let batch = input.ncols();
        let cache = scratch.slice(L::cache_len(batch));
        let output = scratch.slice(A * batch);
        let delta = scratch.slice(A * batch);
        self.0
            .forward_batch(input, cache, columns_mut::<T, A>(output), phase);
        let (own, others) = match gradients {
            Some((own, others)) => (Some(own), Some(others)),
            None => (None, None),
        };
        let rest = self.1.train_batch(
            columns::<T, B>(output),
            scratch,
            phase,
            others,
            Some(columns_mut::<T, B>(delta)),
            finish,
        );
        self.0.backward_batch(
            input,
            cache,
            columns::<T, A>(output),
            columns_mut::<T, A>(delta),
            own,
            input_gradient,
        );
        Tape {
            cache,
            output,
            delta,
            rest,
        }
    }

    #[inline(always)]
    fn bound_batch(input: &[T], tape: &Self::Tape<'_>, largest: &mut Largest<T>) {
        L::bound_update(input, tape.delta, largest);
        R::bound_batch(tape.output, &tape.rest, largest);
    }
}

impl<T, H, L, R, const IN: usize, const A: usize, const B: usize, const OUT: usize>
    StackMut<T, IN, OUT> for Link<H, R, A, B>
where
    T: Scalar,
    H: DerefMut<Target = L>,
    L: Layer<T, IN, A>,
    R: StackMut<T, B, OUT>,
{
    #[inline(always)]
    fn update_single(
        &mut self,
        input: &SVector<T, IN>,
        trace: &Self::Trace,
        deltas: &Self::Deltas,
        learning_rate: T,
    ) {
        self.0
            .update_single(input, &trace.0, &deltas.0, learning_rate);
        self.1.update_single(
            across::<T, A, B>(&trace.1),
            &trace.2,
            &deltas.1,
            learning_rate,
        );
    }

    #[inline(always)]
    fn update_batch(&mut self, input: Columns<'_, T, IN>, tape: &Self::Tape<'_>, learning_rate: T) {
        self.0.update_batch(
            input,
            tape.cache,
            columns::<T, A>(tape.delta),
            learning_rate,
        );
        self.1
            .update_batch(columns::<T, B>(tape.output), &tape.rest, learning_rate);
    }

    #[inline(always)]
    fn update_shares<'a, 's: 'a>(
        &mut self,
        count: usize,
        share: &(dyn Fn(usize) -> (&'a [T], &'a Self::Tape<'s>) + Sync),
        learning_rate: T,
    ) where
        T: 's,
    {
        let own = |index: usize| {
            let (input, tape) = share(index);
            (input, &*tape.cache, &*tape.delta)
        };
        self.0.update_shares(count, &own, learning_rate);
        let rest = |index: usize| {
            let (_, tape) = share(index);
            (&*tape.output, &tape.rest)
        };
        self.1.update_shares(count, &rest, learning_rate);
    }

    #[inline(always)]
    fn update_buffers(&mut self, batch: usize, tape: &Self::Tape<'_>) {
        self.0.update_buffers(tape.cache, batch);
        self.1.update_buffers(batch, &tape.rest);
    }

    #[inline(always)]
    fn update_buffers_single(&mut self, trace: &Self::Trace) {
        self.0.update_buffers_single(&trace.0);
        self.1.update_buffers_single(&trace.2);
    }
}

impl<T: Scalar, const N: usize> Stack<T, N, N> for End {
    type Trace = ();
    type Deltas = ();
    type Tape<'s>
        = ()
    where
        T: 's;
    type Gradients<'g> = ();

    const SAMPLEWISE: bool = true;
    const SHARES_ROWS: bool = false;

    #[inline(always)]
    fn scratch_len(_batch: usize, _training: bool) -> usize {
        0
    }

    #[inline(always)]
    fn forward(&self, input: &SVector<T, N>) -> SVector<T, N> {
        *input
    }

    #[inline(always)]
    fn trace(&self, input: &SVector<T, N>, _phase: &mut Phase) -> ((), SVector<T, N>) {
        ((), *input)
    }

    #[inline(always)]
    fn backward(
        &self,
        _input: &SVector<T, N>,
        _trace: &(),
        delta: SVector<T, N>,
        _input_gradient: bool,
    ) -> (SVector<T, N>, ()) {
        (delta, ())
    }

    #[inline(always)]
    fn bound_single(_input: &SVector<T, N>, _trace: &(), _deltas: &(), _largest: &mut Largest<T>) {}

    #[inline(always)]
    fn infer_batch(
        &self,
        input: Columns<'_, T, N>,
        _scratch: &mut Scratch<'_, T>,
        mut output: ColumnsMut<'_, T, N>,
    ) {
        output.as_mut_slice().copy_from_slice(input.as_slice());
    }

    #[inline(always)]
    fn train_batch<'s, F>(
        &self,
        input: Columns<'_, T, N>,
        _scratch: &mut Scratch<'s, T>,
        _phase: &mut Phase,
        _gradients: Option<()>,
        input_gradient: Option<ColumnsMut<'_, T, N>>,
        finish: &mut F,
    ) where
        F: FnMut(Columns<'_, T, N>, ColumnsMut<'_, T, N>),
    {
        if let Some(gradient) = input_gradient {
            finish(input, gradient);
        }
    }

    #[inline(always)]
    fn bound_batch(_input: &[T], _tape: &(), _largest: &mut Largest<T>) {}
}

impl<T: Scalar, const N: usize> StackMut<T, N, N> for End {
    #[inline(always)]
    fn update_single(&mut self, _input: &SVector<T, N>, _trace: &(), _deltas: &(), _rate: T) {}

    #[inline(always)]
    fn update_batch(&mut self, _input: Columns<'_, T, N>, _tape: &(), _rate: T) {}

    #[inline(always)]
    fn update_shares<'a, 's: 'a>(
        &mut self,
        _count: usize,
        _share: &(dyn Fn(usize) -> (&'a [T], &'a ()) + Sync),
        _rate: T,
    ) where
        T: 's,
    {
    }

    #[inline(always)]
    fn update_buffers(&mut self, _batch: usize, _tape: &()) {}

    #[inline(always)]
    fn update_buffers_single(&mut self, _trace: &()) {}
}
