//! The batched passes of the convolutions, written once over their geometry (im2col).
//!
//! A sample's *patch matrix* has one row per input channel and kernel tap and one column per
//! output position: row `(i, tap)` holds the input each output position's tap reads on channel
//! `i`, zero on padding. The forward pass writes it into the layer's cache, after the
//! pre-activation, so that every product of the three passes is one row-major
//! [`gemm_add`](crate::kernels::portable::gemm_add) on it, with no allocation:
//!
//! - forward: `z = bias + W P` (`W` is `out x rows`, PyTorch's kernel as it is stored);
//! - weight gradient: `dW^T = sum P delta^T`, the transpose of `delta` taken one sample at a
//!   time on the stack;
//! - input gradient: the rows of `W^T delta`, a few at a time, added back to the inputs they
//!   were read from.

use nalgebra::SVector;

use crate::kernels::dispatch;
use crate::kernels::portable::RowProduct;
use crate::{Activation, Scalar};

/// A convolution's geometry, as its batched passes see it.
pub(crate) trait Patches {
    /// Numbers in one input sample.
    fn input_size(&self) -> usize;
    /// Output channels.
    fn out_channels(&self) -> usize;
    /// Rows of the patch matrix: input channels times kernel taps.
    fn rows(&self) -> usize;
    /// Columns of the patch matrix: output positions per channel.
    fn positions(&self) -> usize;
    /// Writes row `row` of the patch matrix of the sample `input` to `out` (`positions` long).
    fn gather<T: Scalar>(&self, row: usize, input: &[T], out: &mut [T]);
    /// Adds `values`, row `row` of a patch matrix's gradient, to the gradient of the inputs that
    /// row was read from.
    fn scatter<T: Scalar>(&self, row: usize, values: &[T], input_gradient: &mut [T]);

    /// Writes the whole patch matrix of the sample `input` to `patch`, with `plane` as scratch
    /// (zero when a pass starts, and left for the next sample as this leaves it).
    #[inline]
    fn gather_sample<T: Scalar>(&self, input: &[T], patch: &mut [T], plane: &mut [T; PLANE]) {
        let _ = plane;
        for (row, out) in patch.chunks_exact_mut(self.positions()).enumerate() {
            self.gather(row, input, out);
        }
    }

    /// Adds `values`, rows `first..` of a patch matrix's gradient (`positions` numbers each),
    /// to the gradient of the inputs they were read from, with `plane` as scratch.
    #[inline]
    fn scatter_rows<T: Scalar>(
        &self,
        first: usize,
        values: &[T],
        input_gradient: &mut [T],
        plane: &mut [T; PLANE],
    ) {
        let _ = plane;
        for (q, row) in values.chunks_exact(self.positions()).enumerate() {
            self.scatter(first + q, row, input_gradient);
        }
    }
}

/// The scalars of the scratch plane a pass lends [`Patches::gather_sample`] and
/// [`Patches::scatter_rows`]: room for one input channel padded with zeros.
pub(crate) const PLANE: usize = 1024;

/// The scalars of the patch matrices a batch of `batch` samples keeps.
#[inline(always)]
pub(crate) fn patches_len<G: Patches>(g: &G, batch: usize) -> usize {
    g.rows() * g.positions() * batch
}

/// The most patch-matrix scalars [`forward_single`] builds on the stack (16 KiB in `f32`).
#[cfg(feature = "std")]
pub(crate) const SINGLE_PATCH: usize = 4096;

/// `z = bias + W P` for the one sample `input`, as [`forward`] computes it for a batch, with
/// the patch matrix on the stack: one product, not a loop per channel, tap and row. When the
/// patch matrix does not fit in [`SINGLE_PATCH`], and without `std` (whose targets keep the
/// stack a few scalars deep), `direct` writes `z` instead: the layer's own loop over the
/// geometry.
#[inline]
pub(crate) fn forward_single<T: Scalar, G: Patches>(
    g: &G,
    weight: &[T],
    bias: &[T],
    input: &[T],
    z: &mut [T],
    direct: impl FnOnce(&mut [T]),
) {
    #[cfg(feature = "std")]
    {
        let len = g.rows() * g.positions();
        if len <= SINGLE_PATCH {
            let mut patch = [T::zero(); SINGLE_PATCH];
            forward(g, weight, bias, input, &mut patch[..len], z);
            return;
        }
    }
    let _ = (g, weight, bias, input);
    direct(z);
}

/// `z = bias + W P` for every sample of `input`, each sample's patch matrix written to
/// `patches` on the way.
pub(crate) fn forward<T: Scalar, G: Patches>(
    g: &G,
    weight: &[T],
    bias: &[T],
    input: &[T],
    patches: &mut [T],
    z: &mut [T],
) {
    let (rows, positions) = (g.rows(), g.positions());
    let product = RowProduct {
        m: g.out_channels(),
        k: rows,
        n: positions,
        a_row: rows,
        a_col: 1,
        ldb: positions,
        ldc: positions,
    };
    let samples = input
        .chunks_exact(g.input_size())
        .zip(patches.chunks_exact_mut(rows * positions))
        .zip(z.chunks_exact_mut(g.out_channels() * positions));
    let mut plane = [T::zero(); PLANE];
    for ((x, patch), z) in samples {
        g.gather_sample(x, patch, &mut plane);
        for (z, &b) in z.chunks_exact_mut(positions).zip(bias) {
            z.fill(b);
        }
        dispatch::gemm_add(product, weight, patch, z);
    }
}

/// The weight gradient, transposed (`rows x out`, row-major), written to `transposed`, and the
/// bias gradient written to `bias_gradient`, both summed over the batch. `delta_t` holds one
/// sample's transposed delta (at least `out * positions` long).
pub(crate) fn transposed_weight_gradient<T: Scalar, G: Patches>(
    g: &G,
    patches: &[T],
    delta: &[T],
    transposed: &mut [T],
    bias_gradient: &mut [T],
    delta_t: &mut [T],
) {
    let (rows, positions, out) = (g.rows(), g.positions(), g.out_channels());
    let product = RowProduct {
        m: rows,
        k: positions,
        n: out,
        a_row: positions,
        a_col: 1,
        ldb: out,
        ldc: out,
    };
    transposed.fill(T::zero());
    bias_gradient.fill(T::zero());
    for (patch, d) in patches
        .chunks_exact(rows * positions)
        .zip(delta.chunks_exact(out * positions))
    {
        for ((o, d), gb) in d
            .chunks_exact(positions)
            .enumerate()
            .zip(&mut *bias_gradient)
        {
            *gb += sum(d);
            for (t, &v) in delta_t[o..].iter_mut().step_by(out).zip(d) {
                *t = v;
            }
        }
        dispatch::gemm_add(product, patch, delta_t, transposed);
    }
}

/// The input gradient of every sample, written over `input_gradient`: `W^T delta` computed into
/// `buffer` as many rows at a time as it holds (at least one: `positions` long), each row added
/// back where it was read from.
pub(crate) fn input_gradient<T: Scalar, G: Patches>(
    g: &G,
    weight: &[T],
    delta: &[T],
    input_gradient: &mut [T],
    buffer: &mut [T],
) {
    let (rows, positions, out) = (g.rows(), g.positions(), g.out_channels());
    let chunk = (buffer.len() / positions).clamp(1, rows);
    let mut plane = [T::zero(); PLANE];
    for (d, dx) in delta
        .chunks_exact(out * positions)
        .zip(input_gradient.chunks_exact_mut(g.input_size()))
    {
        dx.fill(T::zero());
        let mut first = 0;
        while first < rows {
            let count = chunk.min(rows - first);
            let values = &mut buffer[..count * positions];
            values.fill(T::zero());
            let product = RowProduct {
                m: count,
                k: out,
                n: positions,
                a_row: 1,
                a_col: rows,
                ldb: positions,
                ldc: positions,
            };
            dispatch::gemm_add(product, &weight[first..], d, values);
            g.scatter_rows(first, values, dx, &mut plane);
            first += count;
        }
    }
}

/// The sum of `values` in eight partial sums, so that the adds do not wait for each other.
#[inline(always)]
fn sum<T: Scalar>(values: &[T]) -> T {
    const LANES: usize = 8;
    let mut sums = [T::zero(); LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks
        .remainder()
        .iter()
        .fold(T::zero(), |total, &v| total + v);
    for chunk in chunks {
        for (s, &v) in sums.iter_mut().zip(chunk) {
            *s += v;
        }
    }
    sums.iter().fold(rest, |total, &s| total + s)
}

/// `transposed` (`rows x out`) written to `weight_gradient` (`out x rows`).
fn untranspose<T: Scalar>(transposed: &[T], out: usize, weight_gradient: &mut [T]) {
    let rows = transposed.len() / out.max(1);
    for (o, gw) in weight_gradient.chunks_exact_mut(rows).enumerate() {
        for (r, g) in gw.iter_mut().enumerate() {
            *g = transposed[r * out + o];
        }
    }
}

/// `w <- w - learning_rate * g` for a weight `out x rows` and its gradient transposed.
fn step_transposed<T: Scalar>(weight: &mut [T], transposed: &[T], out: usize, learning_rate: T) {
    let rows = transposed.len() / out.max(1);
    for (o, w) in weight.chunks_exact_mut(rows).enumerate() {
        for (r, w) in w.iter_mut().enumerate() {
            *w -= learning_rate * transposed[r * out + o];
        }
    }
}

/// A convolution's parameters, as slices: the kernel `out x rows` in PyTorch's order, the bias
/// `out` long.
pub(crate) struct Kernel<'a, T> {
    pub weight: &'a [T],
    pub bias: &'a [T],
}

/// [`Layer::forward_batch`](super::Layer::forward_batch) of a convolution with activation `A`:
/// `cache` holds the pre-activation, then the patch matrices.
#[inline(always)]
pub(crate) fn forward_batch<T: Scalar, A: Activation, G: Patches, const OUT: usize>(
    g: &G,
    kernel: Kernel<'_, T>,
    input: &[T],
    cache: &mut [T],
    a: &mut [T],
) {
    let (z, patches) = cache.split_at_mut(a.len());
    forward(g, kernel.weight, kernel.bias, input, patches, z);
    A::forward(OUT, z, a);
}

/// [`Layer::backward_batch`](super::Layer::backward_batch) of a convolution with activation
/// `A`, from what [`forward_batch`] kept. `gradients` are the weight's and the bias's, and
/// `transposed` a scratch of the weight's size.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn backward_batch<T: Scalar, A: Activation, G: Patches, const OUT: usize>(
    g: &G,
    weight: &[T],
    cache: &[T],
    a: &[T],
    delta: &mut [T],
    gradients: Option<(&mut [T], &mut [T])>,
    dx: Option<&mut [T]>,
    transposed: &mut [T],
) {
    let (z, patches) = cache.split_at(a.len());
    A::backward(OUT, z, a, delta);
    let mut buffer = SVector::<T, OUT>::zeros();
    if let Some((weight_gradient, bias_gradient)) = gradients {
        transposed_weight_gradient(
            g,
            patches,
            delta,
            transposed,
            bias_gradient,
            buffer.as_mut_slice(),
        );
        untranspose(transposed, g.out_channels(), weight_gradient);
    }
    if let Some(dx) = dx {
        input_gradient(g, weight, delta, dx, buffer.as_mut_slice());
    }
}

/// [`Layer::update_batch`](super::Layer::update_batch) of a convolution: plain SGD's step on
/// `weight` and `bias` from the batch's delta, with `transposed` and `bias_gradient` as scratch
/// of the weight's and the bias's sizes.
#[inline(always)]
pub(crate) fn update_batch<T: Scalar, G: Patches, const OUT: usize>(
    g: &G,
    (weight, bias): (&mut [T], &mut [T]),
    cache: &[T],
    delta: &[T],
    learning_rate: T,
    (transposed, bias_gradient): (&mut [T], &mut [T]),
) {
    let patches = &cache[delta.len()..];
    let mut buffer = SVector::<T, OUT>::zeros();
    transposed_weight_gradient(
        g,
        patches,
        delta,
        transposed,
        bias_gradient,
        buffer.as_mut_slice(),
    );
    step_transposed(weight, transposed, g.out_channels(), learning_rate);
    for (b, &gb) in bias.iter_mut().zip(&*bias_gradient) {
        *b -= learning_rate * gb;
    }
}
