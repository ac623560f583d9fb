//! Back-propagation through time: the backward steps of the layers with state ([`ThroughTime`]:
//! the recurrent cells and the causal convolution) and the pass over a network's chain of layers
//! for batches of whole sequences ([`SequenceStack`]).
//!
//! A batch is `sequences * steps` columns, each sequence's steps one after the other. The chain
//! is walked layer by layer, as PyTorch does: a layer with state runs each sequence step by step
//! and keeps every step's trace, a layer without memory runs all the batch's columns at once
//! through its own batched passes, and the loss sees every step's output. Going back, a layer
//! with state walks each sequence backwards, carrying the gradient with respect to its state.
//!
//! A sequence starts from the state in `carry` (zero for a fresh start) and leaves its last
//! state there, which truncated back-propagation through time carries to the next window;
//! gradients stop at that boundary.

mod causal_conv1d;
mod gru;
mod lstm;
mod rnn;

use nalgebra::SVector;

use super::stack::{End, Link};
use super::{Layer, Memoryless, Phase, Streaming};
use crate::kernels::dispatch::fused;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use crate::kernels::portable::Fused;
use crate::kernels::portable::{MulAdd, Separate};
use crate::{Columns, ColumnsMut, Parameters, Scalar, Scratch, columns, columns_mut};

/// A layer with state that can be trained by back-propagation through time, one step at a time.
///
/// State and trace are plain scalars (kept in a training pass's scratch memory); the state's
/// scalars are those of [`Streaming::State`], in its fields' order (a causal convolution's: the
/// past input frames its taps read, the newest first).
pub trait ThroughTime<T: Scalar, const IN: usize, const OUT: usize>: Streaming<T, IN, OUT> {
    /// Scalars of the state carried from step to step (an LSTM's `h` and `c`: `2 HIDDEN`).
    const STATE_LEN: usize;

    /// Scalars one training step keeps for its backward step.
    const TRACE_LEN: usize;

    /// Scalars of the transposed weights [`transpose`](Self::transpose) writes.
    const TRANSPOSED_LEN: usize;

    /// The weights transposed, written into `out` once per training pass: the backward steps'
    /// products `W^T dz` then run as the forward's `W x` do, down contiguous columns.
    fn transpose(&self, out: &mut [T]);

    /// The state's scalars, written into `out` (`STATE_LEN` of them).
    fn write_state(state: &Self::State, out: &mut [T]);

    /// The state whose scalars are `values`.
    #[must_use]
    fn read_state(values: &[T]) -> Self::State;

    /// One time step in training, as [`Streaming::step`]: `state` is updated in place, and
    /// `trace` receives what [`backward_step`](Self::backward_step) needs.
    #[must_use]
    fn traced_step(
        &self,
        state: &mut [T],
        input: &SVector<T, IN>,
        trace: &mut [T],
    ) -> SVector<T, OUT>;

    /// One step back: `before` is the state the step started from, `d_output` the loss's
    /// gradient with respect to the step's output, and `d_state` on entry the gradient with
    /// respect to the state the step left (from the steps after it), on return the gradient
    /// with respect to `before`. `transposed` is what [`transpose`](Self::transpose) wrote.
    /// The parameter gradients are added to `gradients`; the result is the gradient with
    /// respect to `input`.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    fn backward_step(
        &self,
        transposed: &[T],
        input: &SVector<T, IN>,
        before: &[T],
        trace: &[T],
        d_output: &SVector<T, OUT>,
        d_state: &mut [T],
        gradients: &mut Self::Gradients,
    ) -> SVector<T, IN>;

    /// Scalars per step that [`deferred_backward_step`](Self::deferred_backward_step) leaves
    /// for [`deferred_gradients`](Self::deferred_gradients); zero for a layer that adds its
    /// weight gradients step by step.
    const DEFERRED_LEN: usize = 0;

    /// [`backward_step`](Self::backward_step), leaving in `deferred` (`DEFERRED_LEN` scalars)
    /// what the parameter gradients need instead of adding them, where the layer defers them.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn deferred_backward_step(
        &self,
        transposed: &[T],
        input: &SVector<T, IN>,
        before: &[T],
        trace: &[T],
        d_output: &SVector<T, OUT>,
        d_state: &mut [T],
        deferred: &mut [T],
        gradients: &mut Self::Gradients,
    ) -> SVector<T, IN> {
        let _ = deferred;
        self.backward_step(
            transposed, input, before, trace, d_output, d_state, gradients,
        )
    }

    /// The parameter gradients every step's `deferred` scalars stand for, added to
    /// `gradients` at once: `inputs`, `befores` and `deferred` hold all the steps, `IN`,
    /// `STATE_LEN` and `DEFERRED_LEN` scalars each, in the same order.
    #[inline(always)]
    fn deferred_gradients(
        inputs: &[T],
        befores: &[T],
        deferred: &[T],
        gradients: &mut Self::Gradients,
    ) {
        let _ = (inputs, befores, deferred, gradients);
    }
}

/// A chain of layers from `IN` to `OUT` numbers per step, run over batches of whole sequences.
pub trait SequenceStack<T: Scalar, const IN: usize, const OUT: usize> {
    /// Where the backward pass writes every layer's parameter gradients.
    type Gradients<'g>;

    /// Scalars of state one sequence carries, over every layer with state.
    const CARRY: usize;

    /// Scratch memory for `sequences` sequences of `steps` steps.
    #[must_use]
    fn scratch_len(sequences: usize, steps: usize, training: bool) -> usize;

    /// The sequences of `input` (`steps` columns each) through every layer in inference, from
    /// the states in `carry` (`sequences * CARRY` scalars), which are left as the last steps
    /// left them; the last layer's outputs into `output`.
    fn infer_sequences(
        &self,
        input: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        scratch: &mut Scratch<'_, T>,
        output: ColumnsMut<'_, T, OUT>,
    );

    /// The sequences forward and back in training: at the end of the chain `finish` gets every
    /// step's output and writes the loss's gradient with respect to it. The parameter gradients
    /// are written (not added) to `gradients`, and the gradient with respect to the input to
    /// `input_gradient` when given. `carry` is as for [`infer_sequences`](Self::infer_sequences).
    #[allow(clippy::too_many_arguments)]
    fn train_sequences<F>(
        &self,
        input: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        scratch: &mut Scratch<'_, T>,
        phase: &mut Phase,
        gradients: Self::Gradients<'_>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
        finish: &mut F,
    ) where
        F: FnMut(Columns<'_, T, OUT>, ColumnsMut<'_, T, OUT>);
}

/// A value at a link's boundary seen at the other side's width, which is the same: links exist
/// only where `A == B` (`Link::new`).
#[inline(always)]
fn across<T: Scalar, const A: usize, const B: usize>(values: &[T]) -> Columns<'_, T, B> {
    const { assert!(A == B) };
    columns::<T, B>(values)
}

/// Every tensor of `parameters` set to zero.
#[inline(always)]
fn zero<T: Scalar, P: Parameters<T>>(parameters: &mut P) {
    for index in 0..P::TENSORS {
        parameters.tensor_mut(index).fill(T::zero());
    }
}

impl<T, L, R, const IN: usize, const A: usize, const B: usize, const OUT: usize>
    SequenceStack<T, IN, OUT> for Link<&L, R, A, B>
where
    T: Scalar,
    L: ThroughTime<T, IN, A>,
    R: SequenceStack<T, B, OUT>,
{
    type Gradients<'g> = (&'g mut L::Gradients, R::Gradients<'g>);

    const CARRY: usize = L::STATE_LEN + R::CARRY;

    #[inline(always)]
    fn scratch_len(sequences: usize, steps: usize, training: bool) -> usize {
        let count = sequences * steps;
        let own = if training {
            count * (L::TRACE_LEN + L::STATE_LEN + L::DEFERRED_LEN + 2 * A)
                + L::STATE_LEN
                + L::TRANSPOSED_LEN
        } else {
            count * A
        };
        own + R::scratch_len(sequences, steps, training)
    }

    #[inline(always)]
    fn infer_sequences(
        &self,
        input: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        scratch: &mut Scratch<'_, T>,
        output: ColumnsMut<'_, T, OUT>,
    ) {
        let count = input.ncols();
        let sequences = count.checked_div(steps).unwrap_or(0);
        let (own_carry, rest_carry) = carry.split_at_mut(sequences * L::STATE_LEN);
        let own = scratch.slice(count * A);
        let x = input.as_slice();
        for s in 0..sequences {
            let saved = &mut own_carry[s * L::STATE_LEN..][..L::STATE_LEN];
            let mut state = L::read_state(saved);
            for t in s * steps..(s + 1) * steps {
                let step = SVector::<T, IN>::from_column_slice(&x[t * IN..][..IN]);
                let y = self.0.step(&mut state, &step);
                own[t * A..][..A].copy_from_slice(y.as_slice());
            }
            L::write_state(&state, saved);
        }
        self.1
            .infer_sequences(across::<T, A, B>(own), steps, rest_carry, scratch, output);
    }

    #[inline(always)]
    fn train_sequences<F>(
        &self,
        input: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        scratch: &mut Scratch<'_, T>,
        phase: &mut Phase,
        gradients: Self::Gradients<'_>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
        finish: &mut F,
    ) where
        F: FnMut(Columns<'_, T, OUT>, ColumnsMut<'_, T, OUT>),
    {
        let count = input.ncols();
        let sequences = count.checked_div(steps).unwrap_or(0);
        let (state_len, trace_len) = (L::STATE_LEN, L::TRACE_LEN);
        let (own_carry, rest_carry) = carry.split_at_mut(sequences * state_len);
        let traces = scratch.slice(count * trace_len);
        let befores = scratch.slice(count * state_len);
        let output = scratch.slice(count * A);
        let delta = scratch.slice(count * A);
        let d_state = scratch.slice(state_len);
        let deferred_len = L::DEFERRED_LEN;
        let deferred = scratch.slice(count * deferred_len);
        let transposed = scratch.slice(L::TRANSPOSED_LEN);
        let x = input.as_slice();
        for s in 0..sequences {
            let saved = &mut own_carry[s * state_len..][..state_len];
            for t in s * steps..(s + 1) * steps {
                befores[t * state_len..][..state_len].copy_from_slice(saved);
                let step = SVector::<T, IN>::from_column_slice(&x[t * IN..][..IN]);
                let y = self
                    .0
                    .traced_step(saved, &step, &mut traces[t * trace_len..][..trace_len]);
                output[t * A..][..A].copy_from_slice(y.as_slice());
            }
        }
        let (own, others) = gradients;
        self.1.train_sequences(
            across::<T, A, B>(output),
            steps,
            rest_carry,
            scratch,
            phase,
            others,
            Some(columns_mut::<T, B>(delta)),
            finish,
        );
        zero(own);
        self.0.transpose(transposed);
        let mut input_gradient = input_gradient;
        for s in 0..sequences {
            d_state.fill(T::zero());
            for t in (s * steps..(s + 1) * steps).rev() {
                let step = SVector::<T, IN>::from_column_slice(&x[t * IN..][..IN]);
                let d_output = SVector::<T, A>::from_column_slice(&delta[t * A..][..A]);
                let d_input = self.0.deferred_backward_step(
                    transposed,
                    &step,
                    &befores[t * state_len..][..state_len],
                    &traces[t * trace_len..][..trace_len],
                    &d_output,
                    d_state,
                    &mut deferred[t * deferred_len..][..deferred_len],
                    own,
                );
                if let Some(gradient) = input_gradient.as_mut() {
                    gradient.column_mut(t).copy_from(&d_input);
                }
            }
        }
        L::deferred_gradients(x, befores, deferred, own);
    }
}

impl<T, L, R, const IN: usize, const A: usize, const B: usize, const OUT: usize>
    SequenceStack<T, IN, OUT> for Link<Memoryless<&L>, R, A, B>
where
    T: Scalar,
    L: Layer<T, IN, A>,
    R: SequenceStack<T, B, OUT>,
{
    type Gradients<'g> = (&'g mut L::Gradients, R::Gradients<'g>);

    const CARRY: usize = R::CARRY;

    #[inline(always)]
    fn scratch_len(sequences: usize, steps: usize, training: bool) -> usize {
        let count = sequences * steps;
        L::cache_len(count)
            + A * count * (1 + usize::from(training))
            + R::scratch_len(sequences, steps, training)
    }

    #[inline(always)]
    fn infer_sequences(
        &self,
        input: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        scratch: &mut Scratch<'_, T>,
        output: ColumnsMut<'_, T, OUT>,
    ) {
        let count = input.ncols();
        let cache = scratch.slice(L::cache_len(count));
        let own = scratch.slice(A * count);
        self.0.0.forward_batch(
            input,
            cache,
            columns_mut::<T, A>(own),
            &mut Phase::Inference,
        );
        self.1
            .infer_sequences(across::<T, A, B>(own), steps, carry, scratch, output);
    }

    #[inline(always)]
    fn train_sequences<F>(
        &self,
        input: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        scratch: &mut Scratch<'_, T>,
        phase: &mut Phase,
        gradients: Self::Gradients<'_>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
        finish: &mut F,
    ) where
        F: FnMut(Columns<'_, T, OUT>, ColumnsMut<'_, T, OUT>),
    {
        let count = input.ncols();
        let cache = scratch.slice(L::cache_len(count));
        let output = scratch.slice(A * count);
        let delta = scratch.slice(A * count);
        self.0
            .0
            .forward_batch(input, cache, columns_mut::<T, A>(output), phase);
        let (own, others) = gradients;
        self.1.train_sequences(
            across::<T, A, B>(output),
            steps,
            carry,
            scratch,
            phase,
            others,
            Some(columns_mut::<T, B>(delta)),
            finish,
        );
        self.0.0.backward_batch(
            input,
            cache,
            columns::<T, A>(output),
            columns_mut::<T, A>(delta),
            Some(own),
            input_gradient,
        );
    }
}

impl<T: Scalar, const N: usize> SequenceStack<T, N, N> for End {
    type Gradients<'g> = ();

    const CARRY: usize = 0;

    #[inline(always)]
    fn scratch_len(_sequences: usize, _steps: usize, _training: bool) -> usize {
        0
    }

    #[inline(always)]
    fn infer_sequences(
        &self,
        input: Columns<'_, T, N>,
        _steps: usize,
        _carry: &mut [T],
        _scratch: &mut Scratch<'_, T>,
        mut output: ColumnsMut<'_, T, N>,
    ) {
        output.as_mut_slice().copy_from_slice(input.as_slice());
    }

    #[inline(always)]
    fn train_sequences<F>(
        &self,
        input: Columns<'_, T, N>,
        _steps: usize,
        _carry: &mut [T],
        _scratch: &mut Scratch<'_, T>,
        _phase: &mut Phase,
        _gradients: (),
        input_gradient: Option<ColumnsMut<'_, T, N>>,
        finish: &mut F,
    ) where
        F: FnMut(Columns<'_, T, N>, ColumnsMut<'_, T, N>),
    {
        if let Some(gradient) = input_gradient {
            finish(input, gradient);
        }
    }
}

/// One gate product `z = W x` back, for the weights: adds `dz x^T` to `gradient`
/// (column-major, `dz.len()` rows).
#[inline(always)]
fn add_outer<T: Scalar>(gradient: &mut [T], x: &[T], dz: &[T]) {
    let rows = dz.len();
    for (grad, &scale) in gradient.chunks_exact_mut(rows).zip(x) {
        for (g, &d) in grad.iter_mut().zip(dz) {
            *g += d * scale;
        }
    }
}

/// `out = start + W^T dz` for a product's weights `W`, given transposed (`W^T` column-major,
/// `OUT` rows): whole columns scaled by one `dz` each, into two running sums so that
/// consecutive multiply-adds do not wait for each other. With fused multiply-add where the CPU
/// has it.
#[inline(always)]
fn back_product<T: Scalar, const OUT: usize>(
    transposed: &[T],
    dz: &[T],
    start: &[T],
    out: &mut [T],
) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if fused() {
        back_columns::<Fused, T, OUT>(transposed, dz, start, out);
        return;
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = fused;
    back_columns::<Separate, T, OUT>(transposed, dz, start, out);
}

#[inline(always)]
fn back_columns<F: MulAdd, T: Scalar, const OUT: usize>(
    transposed: &[T],
    dz: &[T],
    start: &[T],
    out: &mut [T],
) {
    let mut sums = [[T::zero(); OUT]; 2];
    sums[0].copy_from_slice(&start[..OUT]);
    let pairs = transposed.chunks_exact(2 * OUT).zip(dz.chunks_exact(2));
    for (columns, scales) in pairs {
        for (lane, sum) in sums.iter_mut().enumerate() {
            let column = &columns[lane * OUT..][..OUT];
            for (s, &w) in sum.iter_mut().zip(column) {
                *s = F::mul_add(w, scales[lane], *s);
            }
        }
    }
    if dz.len() % 2 == 1 {
        let last = dz.len() - 1;
        let column = &transposed[last * OUT..][..OUT];
        for (s, &w) in sums[0].iter_mut().zip(column) {
            *s = F::mul_add(w, dz[last], *s);
        }
    }
    for ((o, a), b) in out[..OUT].iter_mut().zip(sums[0]).zip(sums[1]) {
        *o = a + b;
    }
}

/// `weights` (column-major, `rows` rows) transposed into `out` (column-major, as many rows as
/// `weights` has columns).
#[inline(always)]
fn transpose_into<T: Scalar>(weights: &[T], rows: usize, out: &mut [T]) {
    let columns = weights.len() / rows;
    for (j, column) in weights.chunks_exact(rows).enumerate() {
        for (r, &w) in column.iter().enumerate() {
            out[r * columns + j] = w;
        }
    }
}

/// `gradient += dz`, for a bias.
#[inline(always)]
fn add<T: Scalar>(gradient: &mut [T], dz: &[T]) {
    for (g, &d) in gradient.iter_mut().zip(dz) {
        *g += d;
    }
}

/// `gradient += sum_n dz_n x_n^T` over steps `n` (column-major, `rows` rows): `dz_n` is
/// `deltas[n * delta_stride..][..rows]` and `x_n` is `inputs[n * input_stride..][..columns]`.
/// One product over all the steps instead of an outer product added at each: a block of the
/// gradient's rows stays in registers while the steps go by. With fused multiply-add where the
/// CPU has it.
#[inline(always)]
fn add_outers<T: Scalar>(
    gradient: &mut [T],
    rows: usize,
    (deltas, delta_stride): (&[T], usize),
    (inputs, input_stride): (&[T], usize),
) {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if fused() {
        outers::<Fused, T>(
            gradient,
            rows,
            (deltas, delta_stride),
            (inputs, input_stride),
        );
        return;
    }
    outers::<Separate, T>(
        gradient,
        rows,
        (deltas, delta_stride),
        (inputs, input_stride),
    );
}

/// Rows of [`add_outers`]'s register block.
const OUTER_ROWS: usize = 32;

/// Steps [`add_outers`] takes at a time, so that their deltas stay in the nearest cache while
/// every column of the gradient goes over them.
const OUTER_STEPS: usize = 32;

#[inline(always)]
fn outers<F: MulAdd, T: Scalar>(
    gradient: &mut [T],
    rows: usize,
    (deltas, delta_stride): (&[T], usize),
    (inputs, input_stride): (&[T], usize),
) {
    if rows == 0 || delta_stride < rows || input_stride == 0 {
        return;
    }
    let steps = (deltas.len() / delta_stride).min(inputs.len() / input_stride);
    let mut first = 0;
    while first < steps {
        let count = OUTER_STEPS.min(steps - first);
        let dz = &deltas[first * delta_stride..][..(count - 1) * delta_stride + rows];
        let x = &inputs[first * input_stride..][..count * input_stride];
        for (j, column) in gradient.chunks_exact_mut(rows).enumerate() {
            let mut start = 0;
            for block in column.chunks_mut(OUTER_ROWS) {
                if let Ok(block) = <&mut [T; OUTER_ROWS]>::try_from(&mut *block) {
                    let mut sum = *block;
                    for n in 0..count {
                        let scale = x[n * input_stride + j];
                        let d = &dz[n * delta_stride + start..][..OUTER_ROWS];
                        for (s, &d) in sum.iter_mut().zip(d) {
                            *s = F::mul_add(d, scale, *s);
                        }
                    }
                    *block = sum;
                } else {
                    for n in 0..count {
                        let scale = x[n * input_stride + j];
                        let d = &dz[n * delta_stride + start..][..block.len()];
                        for (g, &d) in block.iter_mut().zip(d) {
                            *g = F::mul_add(d, scale, *g);
                        }
                    }
                }
                start += block.len();
            }
        }
        first += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_product_over_the_steps_adds_what_each_steps_outer_product_adds() {
        // 37 rows (a register block and rows over), 3 columns read at a stride of 5, and 70
        // steps (two whole chunks of steps and a part) with deltas at a stride of 40.
        let (rows, columns, steps) = (37, 3, 70_u32);
        let deltas: Vec<f64> = (0..steps * 40)
            .map(|i| (f64::from(i) * 0.37).sin())
            .collect();
        let inputs: Vec<f64> = (0..steps * 5)
            .map(|i| (f64::from(i) * 0.91).cos())
            .collect();
        let start: Vec<f64> = (0..37_u32 * 3).map(|i| f64::from(i) * 0.5).collect();
        let mut expected = start.clone();
        for n in 0..steps as usize {
            add_outer(
                &mut expected,
                &inputs[n * 5..][..columns],
                &deltas[n * 40..][..rows],
            );
        }
        let mut got = start;
        add_outers(&mut got, rows, (&deltas, 40), (&inputs, 5));
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-12, "{g} vs {e}");
        }
    }
}
