//! Data parallelism: a batch split into shares, one per thread, whose gradients are added in
//! share order, so that a given thread count gives the same numbers on every run and machine.
//!
//! Plain SGD needs no gradients ([`sgd`]): each share's forward and backward pass runs on its
//! own thread and keeps its deltas, and then each big layer's update is split by its parameters
//! (a Dense layer's blocks of input columns), each thread adding every share's products for its
//! own parameters in share order. Nothing is reduced, and no gradient is written and read back.
//! Other optimizers take the shares' gradients, added in order, as below.
//!
//! # Why rayon
//!
//! A step of W3 (784-128-10, batch 64) takes about 200 us on one core, so the cost of handing
//! half of it to another thread decides the speed-up. Measured on this project's 2-core machine
//! (both cores busy with other work, so figures are rough), per hand-off of an empty job:
//! `std::thread::scope` spawning one thread per step, 40 to 130 us and 4 allocations;
//! `rayon::join` on rayon's pool, whose threads wait for work, 16 to 30 us and one allocation
//! every 63 hand-offs (the block of its job queue); `rayon::in_place_scope`, 14 us but one
//! allocation per hand-off. Scoped threads would cost a fifth to a half of W3's step, so the
//! pool is rayon's. A pool of our own would need `unsafe` to lend borrowed batches to threads
//! that outlive the step, which rayon already does, audited and widely used.
//!
//! Plain SGD in f32 on AVX-512 (or AVX2 and FMA) over a network with a wide Dense layer does not
//! come here: its products are shared out by rows among the trainer's own spinning threads
//! (`kernels/team.rs`), which measured 1.45x to 1.52x on two cores where this split gives about
//! 1.0x: here both threads read all of the first layer's weights, which both have just written.

use core::num::NonZeroUsize;
use core::ops::Range;

use rayon::prelude::*;

use crate::layer::{Phase, Stack, StackMut};
use crate::network::{Fused, declined};
use crate::{
    Columns, ColumnsMut, Loss, Network, Parameters, Scalar, StepLimits, Workspace, columns,
    columns_mut, flatten, with_fma,
};

use super::EVALUATION_BATCH;
use super::metrics::{Metered, Totals};

/// The least work, in parameters times samples, that a share of a training step must have for
/// the batch to be split. One core trains W3 at about 3e10 parameters times samples a second,
/// so a share of 2^20 is about 33 us: as much as the hand-off (15 to 30 us measured) and the
/// weighted sum of the shares' gradients cost. Below it the step runs on one thread: W1's
/// batches (341 parameters) never split; W3's (101,770) split from 21 samples.
pub(crate) const MIN_SHARE_WORK: usize = 1 << 20;

/// The same for a share of `predict` and `evaluate`, whose forward pass is a third of a
/// training step's work.
pub(crate) const MIN_INFERENCE_WORK: usize = 3 << 20;

/// Every core, as PyTorch's intra-op threads and Keras (TensorFlow) use by default: the count
/// `std::thread::available_parallelism` gives, or 1 when it cannot tell. Asked once: on Linux
/// the question reads the affinity mask and the cgroup's quota files, which `predict` on a few
/// samples would otherwise pay at every call.
#[must_use]
pub(crate) fn default_threads() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get))
}

/// Into how many shares up to `threads` a training step of `batch` samples is split: one for a
/// network whose layers are not all [`SAMPLEWISE`](crate::Layer::SAMPLEWISE) (batch
/// statistics, dropout), and never so many that a share has less than [`MIN_SHARE_WORK`].
#[inline]
pub(crate) fn training_shares<T, N, const IN: usize, const OUT: usize>(
    network: &N,
    threads: usize,
    batch: usize,
) -> usize
where
    T: Scalar,
    N: Network<T, IN, OUT>,
{
    if threads < 2 || !samplewise(&network.layers()) || N::BUFFERS > 0 {
        return 1;
    }
    shares(threads, batch, N::PARAMETERS, MIN_SHARE_WORK)
}

/// Whether every layer of the chain treats samples on their own.
#[inline(always)]
fn samplewise<T: Scalar, S: Stack<T, IN, OUT>, const IN: usize, const OUT: usize>(
    _layers: &S,
) -> bool {
    S::SAMPLEWISE
}

/// Up to `threads` shares of `items` items of `work` each, each share with at least `least`.
#[inline]
fn shares(threads: usize, items: usize, work: usize, least: usize) -> usize {
    let total = items.saturating_mul(work.max(1));
    threads.min(items).min(total / least).max(1)
}

/// The samples of share `index` of `count`: contiguous, in order, the first `batch % count`
/// shares one sample longer.
pub(crate) fn share_range(batch: usize, count: usize, index: usize) -> Range<usize> {
    let (size, longer) = (batch / count, batch % count);
    let start = index * size + index.min(longer);
    start..start + size + usize::from(index < longer)
}

/// What one thread of a data-parallel step keeps from step to step: its share's gradients
/// and scratch memory, and what the share computed.
#[derive(Debug)]
pub(crate) struct Share<T: Scalar, G> {
    gradients: Box<G>,
    workspace: Workspace<T>,
    loss: T,
    largest: T::Magnitude,
    totals: Totals,
    /// The share's fraction of the batch.
    weight: T,
}

impl<T: Scalar, G: Parameters<T>> Share<T, G> {
    pub(crate) fn new() -> Self {
        Self {
            gradients: G::zeros_boxed(),
            workspace: Workspace::new(),
            loss: T::zero(),
            largest: T::Magnitude::default(),
            totals: Totals::default(),
            weight: T::zero(),
        }
    }
}

/// What the shares of a step add up to.
pub(crate) struct Reduced<T: Scalar> {
    /// The loss of the whole batch: the shares' losses weighted by their sizes.
    pub(crate) loss: T,
    /// The largest magnitude of any share's gradients, which bounds the batch's (a weighted
    /// mean of them); NaN's magnitude is above every other.
    pub(crate) largest: T::Magnitude,
}

/// Computes every share's loss and gradients on `network` in parallel, one thread per share,
/// and what they add up to: the loss of the whole batch (the shares' weighted by their sizes,
/// added in share order) and a bound on its gradients. The training metrics are metered share
/// by share and merged into `loss` in order.
pub(crate) fn compute<T, N, L, const IN: usize, const OUT: usize>(
    network: &N,
    inputs: &[nalgebra::SVector<T, IN>],
    targets: &[nalgebra::SVector<T, OUT>],
    loss: &Metered<L>,
    phase: &Phase,
    shares: &mut [Share<T, N::Gradients>],
) -> Reduced<T>
where
    T: Scalar,
    N: Network<T, IN, OUT>,
    L: Loss<T>,
{
    let batch = inputs.len();
    let count = shares.len();
    shares
        .par_iter_mut()
        .enumerate()
        .for_each(|(index, share)| {
            let range = share_range(batch, count, index);
            let meter = loss.share();
            // Samplewise layers draw nothing, so each share's copy of the phase stays unused.
            let mut phase = phase.clone();
            with_fma(
                #[inline(always)]
                || {
                    share.loss = network.loss_and_gradients(
                        columns(flatten(&inputs[range.clone()])),
                        columns(flatten(&targets[range])),
                        &meter,
                        &mut share.gradients,
                        &mut share.workspace,
                        &mut phase,
                    );
                    share.largest = largest(&*share.gradients);
                },
            );
            share.totals = meter.into_totals();
        });
    let mut reduced = Reduced {
        loss: T::zero(),
        largest: T::Magnitude::default(),
    };
    for (index, share) in shares.iter_mut().enumerate() {
        share.weight = T::cast_from(share_range(batch, count, index).len() as f64 / batch as f64);
        reduced.loss += share.weight * share.loss;
        reduced.largest = reduced.largest.max(share.largest);
        loss.merge(share.totals);
    }
    reduced
}

/// What the pass of one share of a plain-SGD step left: its tape, its part of the batch's loss,
/// whether the step's bound admits it, and its metrics.
/// Shares whose passes a split plain-SGD step keeps on the stack.
const STACK_SHARES: usize = 8;

struct Pass<T, P> {
    tape: P,
    loss: T,
    admitted: bool,
    totals: Totals,
}

/// A step of plain SGD with the batch split into `shares`, without gradient buffers: first each
/// share's forward and backward pass runs on a thread of its own, the loss's gradient scaled by
/// the share's fraction of the batch so that the shares' deltas are the whole batch's; then,
/// if the step's loss is finite and the bound of [`StepLimits`] admits every share's deltas and
/// inputs, each layer takes its update from all the shares' tapes in share order
/// ([`Layer::update_shares`](crate::Layer::update_shares)), big layers spread over the threads
/// by their parameters. Nothing is changed when the step is declined, and the training metrics
/// are metered only when it is applied (a declined step is done again by the gradient path).
pub(crate) fn sgd<T, N, L, const IN: usize, const OUT: usize>(
    network: &mut N,
    inputs: &[nalgebra::SVector<T, IN>],
    targets: &[nalgebra::SVector<T, OUT>],
    loss: &Metered<L>,
    phase: &Phase,
    shares: &mut [Share<T, N::Gradients>],
    learning_rate: T,
) -> Fused<T>
where
    T: Scalar,
    N: Network<T, IN, OUT>,
    L: Loss<T>,
{
    let batch = inputs.len();
    let count = shares.len();
    let limits = StepLimits::new(learning_rate, batch);
    let mut layers = network.layers_mut();
    let shared = &layers;
    // The passes of up to `STACK_SHARES` shares sit on the stack, so that a step allocates
    // nothing of its own; more go to a vector.
    let mut stack: [Option<Pass<T, _>>; STACK_SHARES] = core::array::from_fn(|_| None);
    let mut heap = Vec::new();
    let slots = if count <= STACK_SHARES {
        &mut stack[..count]
    } else {
        heap.resize_with(count, || None);
        &mut heap[..]
    };
    slots
        .par_iter_mut()
        .zip(shares.par_iter_mut())
        .enumerate()
        .for_each(|(index, (slot, share))| {
            let range = share_range(batch, count, index);
            let weight = T::cast_from(range.len() as f64 / batch as f64);
            let input = columns(flatten(&inputs[range.clone()]));
            let targets = columns::<T, OUT>(flatten(&targets[range.clone()]));
            let meter = loss.share();
            // Samplewise layers draw nothing, so each share's copy of the phase stays unused.
            let mut phase = phase.clone();
            let mut value = T::zero();
            let mut finish = |output: Columns<'_, T, OUT>, mut gradient: ColumnsMut<'_, T, OUT>| {
                let gradient = gradient.as_mut_slice();
                value = meter.loss_and_gradient(output, targets, columns_mut::<T, OUT>(gradient));
                for g in gradient {
                    *g *= weight;
                }
            };
            let mut scratch = share
                .workspace
                .take(N::LayersMut::scratch_len(range.len(), true));
            let (tape, admitted) = with_fma(
                #[inline(always)]
                || {
                    let tape = shared.train_batch(
                        input,
                        &mut scratch,
                        &mut phase,
                        None,
                        None,
                        &mut finish,
                    );
                    let mut largest = limits.start();
                    N::LayersMut::bound_batch(input.as_slice(), &tape, &mut largest);
                    (tape, limits.admit(&largest))
                },
            );
            *slot = Some(Pass {
                tape,
                loss: weight * value,
                admitted,
                totals: meter.into_totals(),
            });
        });
    let passes: &[Option<Pass<T, _>>] = slots;
    let mut total = T::zero();
    let mut admitted = true;
    for pass in passes.iter().flatten() {
        total += pass.loss;
        admitted &= pass.admitted;
    }
    if !total.as_f64().is_finite() || !admitted {
        return declined(total);
    }
    for pass in passes.iter().flatten() {
        loss.merge(pass.totals);
    }
    let share = |index: usize| {
        let range = share_range(batch, count, index);
        let pass = passes[index]
            .as_ref()
            .expect("every share's pass ran before the update");
        (flatten(&inputs[range]), &pass.tape)
    };
    layers.update_shares(count, &share, learning_rate);
    Fused::Applied(total)
}

/// The least elements of a tensor for its sum (and update) to be spread over the threads.
const SPREAD_LEN: usize = 1 << 14;

/// Writes `f(element, sum)` to every element of every tensor of `target`, where `sum` is the
/// shares' gradients for it weighted by their fractions of the batch and added in share order.
/// Big tensors are split across the threads, which changes no number.
fn combine<T, P, G>(target: &mut P, shares: &[Share<T, G>], f: impl Fn(T, T) -> T + Sync)
where
    T: Scalar,
    P: Parameters<T>,
    G: Parameters<T> + Sync,
{
    let count = shares.len();
    let (w0, w1) = (shares[0].weight, shares[1].weight);
    let run = |values: &mut [T], tensor: usize, offset: usize| {
        with_fma(
            #[inline(always)]
            || {
                let end = offset + values.len();
                let a = &shares[0].gradients.tensor(tensor)[offset..end];
                let b = &shares[1].gradients.tensor(tensor)[offset..end];
                if count == 2 {
                    for ((value, &a), &b) in values.iter_mut().zip(a).zip(b) {
                        *value = f(*value, w0 * a + w1 * b);
                    }
                    return;
                }
                for (position, value) in values.iter_mut().enumerate() {
                    let mut sum = w0 * a[position] + w1 * b[position];
                    for share in &shares[2..] {
                        sum += share.weight * share.gradients.tensor(tensor)[offset + position];
                    }
                    *value = f(*value, sum);
                }
            },
        );
    };
    for tensor in 0..P::TENSORS {
        let values = target.tensor_mut(tensor);
        if values.len() < SPREAD_LEN {
            run(values, tensor, 0);
            continue;
        }
        let part = values.len().div_ceil(count);
        values
            .par_chunks_mut(part)
            .enumerate()
            .for_each(|(index, values)| run(values, tensor, index * part));
    }
}

/// Writes the gradients of the whole batch to `gradients`.
pub(crate) fn reduce<T, N, const IN: usize, const OUT: usize>(
    gradients: &mut N::Gradients,
    shares: &[Share<T, N::Gradients>],
) where
    T: Scalar,
    N: Network<T, IN, OUT>,
{
    combine(gradients, shares, |_, sum| sum);
}

/// Plain SGD's update of `network` from the shares' gradients, summed as [`reduce`] sums
/// them: `w <- w - learning_rate * sum`.
pub(crate) fn sgd_update<T, N, const IN: usize, const OUT: usize>(
    network: &mut N,
    shares: &[Share<T, N::Gradients>],
    learning_rate: T,
) where
    T: Scalar,
    N: Network<T, IN, OUT>,
{
    combine(network, shares, |w, sum| w - learning_rate * sum);
}

/// The largest magnitude in every tensor of `parameters`.
fn largest<T: Scalar, P: Parameters<T>>(parameters: &P) -> T::Magnitude {
    (0..P::TENSORS)
        .map(|tensor| T::largest_magnitude(parameters.tensor(tensor)))
        .max()
        .unwrap_or_default()
}

/// The outputs of `network` for `inputs` into `outputs` (`OUT` numbers per sample), in batches
/// of [`EVALUATION_BATCH`] spread over up to `threads` threads, one workspace each. Each batch
/// is computed as on one thread, so the outputs do not depend on the thread count.
pub(crate) fn infer<T, N, const IN: usize, const OUT: usize>(
    network: &N,
    inputs: &[nalgebra::SVector<T, IN>],
    outputs: &mut [T],
    threads: usize,
    workspaces: &mut Vec<Workspace<T>>,
) where
    T: Scalar,
    N: Network<T, IN, OUT>,
{
    let batches = inputs.len().div_ceil(EVALUATION_BATCH);
    let count = shares(
        threads,
        batches,
        EVALUATION_BATCH * N::PARAMETERS,
        MIN_INFERENCE_WORK,
    );
    if workspaces.len() < count {
        workspaces.resize_with(count, Workspace::new);
    }
    let run = |range: Range<usize>, outputs: &mut [T], workspace: &mut Workspace<T>| {
        let inputs =
            &inputs[range.start * EVALUATION_BATCH..inputs.len().min(range.end * EVALUATION_BATCH)];
        for (input, output) in inputs
            .chunks(EVALUATION_BATCH)
            .zip(outputs.chunks_mut(OUT * EVALUATION_BATCH))
        {
            network.forward_columns(columns(flatten(input)), columns_mut(output), workspace);
        }
    };
    if count == 1 {
        run(0..batches, outputs, &mut workspaces[0]);
        return;
    }
    let mut parts = Vec::with_capacity(count);
    let mut rest = &mut *outputs;
    for index in 0..count {
        let range = share_range(batches, count, index);
        let len = (OUT * EVALUATION_BATCH * range.len()).min(rest.len());
        let (part, tail) = rest.split_at_mut(len);
        parts.push((range, part));
        rest = tail;
    }
    parts
        .into_par_iter()
        .zip(workspaces[..count].par_iter_mut())
        .for_each(|((range, part), workspace)| run(range, part, workspace));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_batch_in_order_and_differ_by_at_most_one() {
        for (batch, count) in [(64, 2), (7, 3), (5, 5), (33, 4)] {
            let ranges: Vec<_> = (0..count).map(|i| share_range(batch, count, i)).collect();
            assert_eq!(ranges[0].start, 0);
            assert_eq!(ranges[count - 1].end, batch);
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            let sizes: Vec<_> = ranges.iter().map(Range::len).collect();
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(
                max.zip(min).is_some_and(|(max, min)| max - min <= 1),
                "{sizes:?}"
            );
        }
        assert_eq!(share_range(7, 3, 0), 0..3);
        assert_eq!(share_range(7, 3, 1), 3..5);
        assert_eq!(share_range(7, 3, 2), 5..7);
    }

    #[test]
    fn a_batch_is_split_only_when_each_share_has_the_least_work() {
        // 100,000 parameters: a batch of 64 has 6.4 M of work, enough for 6 shares of 1 M.
        assert_eq!(shares(2, 64, 100_000, 1 << 20), 2);
        assert_eq!(shares(8, 64, 100_000, 1 << 20), 6);
        // The W1 network (341 parameters) never splits a batch of 32.
        assert_eq!(shares(2, 32, 341, 1 << 20), 1);
        // Never more shares than items, nor fewer than one.
        assert_eq!(shares(4, 2, 1 << 30, 1), 2);
        assert_eq!(shares(4, 0, 10, 1 << 20), 1);
    }
}
