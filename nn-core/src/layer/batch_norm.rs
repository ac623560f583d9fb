//! Batch normalization over a batch (PyTorch's `BatchNorm1d` and `BatchNorm2d`).
//!
//! # Shapes
//!
//! A batch is `batch` samples one after another (columns), each `channels * spatial` numbers,
//! channel-major: `spatial` is 1 after a dense layer, `len` after a 1-d convolution and
//! `height * width` after a 2-d one. Each channel is normalized over its `n = batch * spatial`
//! numbers. `gamma`, `beta`, the statistics and the running statistics have one number per
//! channel.
//!
//! Training normalizes with the batch's mean and biased variance and updates the running
//! statistics with the unbiased one (`n / (n - 1)`), as PyTorch does; inference uses the
//! running statistics.

use nalgebra::SVector;
use rand::Rng;

use super::{FlatWidths, HasGradients, Layer, Phase};
use crate::{Columns, ColumnsMut, Init, Largest, Layout, Parameters, Scalar, TensorInfo};

/// PyTorch's default `eps`, added to the variance before its square root.
pub const DEFAULT_EPS: f64 = 1e-5;

/// PyTorch's default `momentum`: the weight of the new batch in the running statistics.
pub const DEFAULT_MOMENTUM: f64 = 0.1;

/// The shapes of batch normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchNormGeometry {
    channels: usize,
    spatial: usize,
}

impl BatchNormGeometry {
    /// The geometry, or `None` when there are no channels or no positions, or a sample's size
    /// overflows `usize`.
    #[must_use]
    pub const fn new(channels: usize, spatial: usize) -> Option<Self> {
        if channels == 0 || spatial == 0 || channels.checked_mul(spatial).is_none() {
            return None;
        }
        Some(Self { channels, spatial })
    }

    /// As [`new`](Self::new), for `const` items: impossible geometry panics, which in a
    /// constant is a compile error.
    #[must_use]
    pub const fn new_or_panic(channels: usize, spatial: usize) -> Self {
        match Self::new(channels, spatial) {
            Some(geometry) => geometry,
            None => panic!("impossible BatchNorm geometry: no channels or no positions"),
        }
    }

    /// Channels.
    #[inline]
    #[must_use]
    pub const fn channels(&self) -> usize {
        self.channels
    }

    /// Positions per channel in one sample.
    #[inline]
    #[must_use]
    pub const fn spatial(&self) -> usize {
        self.spatial
    }

    /// Numbers in one sample: `channels * spatial`.
    #[inline]
    #[must_use]
    pub const fn sample_size(&self) -> usize {
        self.channels * self.spatial
    }

    /// Whether a batch of `batch` samples can be trained on: PyTorch refuses a channel of one
    /// number, whose unbiased variance does not exist.
    #[inline]
    #[must_use]
    pub const fn can_train(&self, batch: usize) -> bool {
        match batch.checked_mul(self.spatial) {
            Some(n) => n > 1,
            None => false,
        }
    }

    /// The numbers per channel in a batch of `values` numbers, as a scalar.
    #[inline]
    fn count<T: Scalar>(&self, values: usize) -> T {
        T::cast_from((values / self.channels) as f64)
    }
}

/// `sum f(a[i], b[i])` over channel `c`'s numbers in every sample of `a` and `b`, in eight
/// partial sums (which the compiler keeps in one vector register) added up once for the
/// channel: a conv's channels hold a few dozen positions per sample, too few to pay for a
/// reduction each.
#[inline]
fn channel_sum<T: Scalar>(
    g: &BatchNormGeometry,
    (a, b): (&[T], &[T]),
    c: usize,
    f: impl Fn(T, T) -> T,
) -> T {
    const LANES: usize = 8;
    let mut sums = [T::zero(); LANES];
    let mut rest = T::zero();
    let samples = a
        .chunks_exact(g.sample_size())
        .zip(b.chunks_exact(g.sample_size()));
    for (a, b) in samples {
        let (a, b) = (
            &a[c * g.spatial..][..g.spatial],
            &b[c * g.spatial..][..g.spatial],
        );
        let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        for (&x, &y) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
            rest += f(x, y);
        }
        for (a, b) in a_chunks.zip(b_chunks) {
            for ((s, &x), &y) in sums.iter_mut().zip(a).zip(b) {
                *s += f(x, y);
            }
        }
    }
    sums.iter().fold(rest, |total, &s| total + s)
}

/// `(sum dy, sum dy xhat)` over channel `c`'s numbers in every sample, in one pass over `delta`
/// and `xhat`: each sum taken in the order [`channel_sum`] takes it, so the same bits.
#[inline]
fn channel_gradient_sums<T: Scalar>(
    g: &BatchNormGeometry,
    (delta, xhat): (&[T], &[T]),
    c: usize,
) -> (T, T) {
    const LANES: usize = 8;
    let (mut sums, mut products) = ([T::zero(); LANES], [T::zero(); LANES]);
    let (mut rest, mut products_rest) = (T::zero(), T::zero());
    let samples = delta
        .chunks_exact(g.sample_size())
        .zip(xhat.chunks_exact(g.sample_size()));
    for (d, x) in samples {
        let (d, x) = (
            &d[c * g.spatial..][..g.spatial],
            &x[c * g.spatial..][..g.spatial],
        );
        let (d_chunks, x_chunks) = (d.chunks_exact(LANES), x.chunks_exact(LANES));
        for (&d, &x) in d_chunks.remainder().iter().zip(x_chunks.remainder()) {
            rest += d;
            products_rest += d * x;
        }
        for (d, x) in d_chunks.zip(x_chunks) {
            for (((s, p), &d), &x) in sums.iter_mut().zip(&mut products).zip(d).zip(x) {
                *s += d;
                *p += d * x;
            }
        }
    }
    (
        sums.iter().fold(rest, |total, &s| total + s),
        products.iter().fold(products_rest, |total, &p| total + p),
    )
}

#[inline]
pub(crate) fn inverse_std<T: Scalar>(variance: T, eps: T) -> T {
    T::one() / (variance + eps).sqrt()
}

/// Training forward pass: writes each channel's batch `mean` and biased `variance`, the
/// normalized input `xhat` (which [`batch_norm_backward`] takes) and
/// `output = gamma * xhat + beta`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_train_forward<T: Scalar>(
    geometry: &BatchNormGeometry,
    eps: T,
    input: &[T],
    gamma: &[T],
    beta: &[T],
    mean: &mut [T],
    variance: &mut [T],
    xhat: &mut [T],
    output: &mut [T],
) {
    let g = geometry;
    debug_assert!(!input.is_empty() && input.len().is_multiple_of(g.sample_size()));
    debug_assert_eq!((xhat.len(), output.len()), (input.len(), input.len()));
    debug_assert!([gamma.len(), beta.len(), mean.len(), variance.len()] == [g.channels; 4]);
    let n = g.count::<T>(input.len());
    for (c, m) in mean.iter_mut().enumerate() {
        *m = channel_sum(g, (input, input), c, |v, _| v) / n;
    }
    // Two passes, so that a large mean does not cancel the variance away.
    for (c, (v, &m)) in variance.iter_mut().zip(&*mean).enumerate() {
        *v = channel_sum(g, (input, input), c, |v, _| (v - m) * (v - m)) / n;
    }
    let samples = xhat
        .chunks_exact_mut(g.sample_size())
        .zip(output.chunks_exact_mut(g.sample_size()));
    for ((xhat, y), x) in samples.zip(input.chunks_exact(g.sample_size())) {
        let channels = xhat
            .chunks_exact_mut(g.spatial)
            .zip(y.chunks_exact_mut(g.spatial))
            .zip(x.chunks_exact(g.spatial));
        for (c, ((xhat, y), x)) in channels.enumerate() {
            let (m, inv) = (mean[c], inverse_std(variance[c], eps));
            for ((xh, y), &x) in xhat.iter_mut().zip(y.iter_mut()).zip(x) {
                *xh = (x - m) * inv;
                *y = gamma[c] * *xh + beta[c];
            }
        }
    }
}

/// Training backward pass from `delta`, the loss's gradient with respect to the output:
/// writes `gamma_gradient` and `beta_gradient` and, when given, the gradient with respect to
/// the input, through the batch statistics. `variance` and `xhat` are what
/// [`batch_norm_train_forward`] wrote.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward<T: Scalar>(
    geometry: &BatchNormGeometry,
    eps: T,
    gamma: &[T],
    variance: &[T],
    xhat: &[T],
    delta: &[T],
    gamma_gradient: &mut [T],
    beta_gradient: &mut [T],
    input_gradient: Option<&mut [T]>,
) {
    let g = geometry;
    debug_assert!(!xhat.is_empty() && xhat.len().is_multiple_of(g.sample_size()));
    debug_assert_eq!(delta.len(), xhat.len());
    debug_assert!([gamma.len(), variance.len()] == [g.channels; 2]);
    debug_assert!([gamma_gradient.len(), beta_gradient.len()] == [g.channels; 2]);
    let channels = gamma_gradient.iter_mut().zip(beta_gradient.iter_mut());
    for (c, (gg, gb)) in channels.enumerate() {
        (*gb, *gg) = channel_gradient_sums(g, (delta, xhat), c);
    }
    let Some(input_gradient) = input_gradient else {
        return;
    };
    debug_assert_eq!(input_gradient.len(), xhat.len());
    // dx = gamma / (n sigma) * (n dy - sum(dy) - xhat sum(dy xhat)).
    let n = g.count::<T>(xhat.len());
    let samples = input_gradient
        .chunks_exact_mut(g.sample_size())
        .zip(xhat.chunks_exact(g.sample_size()))
        .zip(delta.chunks_exact(g.sample_size()));
    for ((dx, xhat), d) in samples {
        let channels = dx
            .chunks_exact_mut(g.spatial)
            .zip(xhat.chunks_exact(g.spatial))
            .zip(d.chunks_exact(g.spatial));
        for (c, ((dx, xhat), d)) in channels.enumerate() {
            let scale = gamma[c] * inverse_std(variance[c], eps) / n;
            let (db, dg) = (beta_gradient[c], gamma_gradient[c]);
            for ((dx, &xh), &d) in dx.iter_mut().zip(xhat).zip(d) {
                *dx = scale * (n * d - db - xh * dg);
            }
        }
    }
}

/// Moves the running statistics towards a training batch's: `running = (1 - momentum) *
/// running + momentum * batch`, with the variance made unbiased by `n / (n - 1)` for the
/// `n = batch * spatial` numbers per channel. `mean` and `variance` are what
/// [`batch_norm_train_forward`] wrote for a batch of `batch` samples.
///
/// A batch that [`can_train`](BatchNormGeometry::can_train) refuses has no unbiased variance;
/// its biased one (zero) is taken rather than dividing by zero.
pub fn batch_norm_update_running<T: Scalar>(
    geometry: &BatchNormGeometry,
    momentum: T,
    batch: usize,
    mean: &[T],
    variance: &[T],
    running_mean: &mut [T],
    running_variance: &mut [T],
) {
    let g = geometry;
    debug_assert!([mean.len(), variance.len()] == [g.channels; 2]);
    debug_assert!([running_mean.len(), running_variance.len()] == [g.channels; 2]);
    let n = batch.saturating_mul(g.spatial);
    let unbias = if n > 1 {
        T::cast_from(n as f64) / T::cast_from((n - 1) as f64)
    } else {
        T::one()
    };
    let keep = T::one() - momentum;
    for (running, &m) in running_mean.iter_mut().zip(mean) {
        *running = keep * *running + momentum * m;
    }
    for (running, &v) in running_variance.iter_mut().zip(variance) {
        *running = keep * *running + momentum * v * unbias;
    }
}

/// Inference forward pass with the running statistics, for any number of samples:
/// `output = gamma * (input - running_mean) / sqrt(running_variance + eps) + beta`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_inference_forward<T: Scalar>(
    geometry: &BatchNormGeometry,
    eps: T,
    input: &[T],
    gamma: &[T],
    beta: &[T],
    running_mean: &[T],
    running_variance: &[T],
    output: &mut [T],
) {
    let g = geometry;
    debug_assert!(input.len().is_multiple_of(g.sample_size()) && output.len() == input.len());
    debug_assert!([gamma.len(), beta.len()] == [g.channels; 2]);
    debug_assert!([running_mean.len(), running_variance.len()] == [g.channels; 2]);
    let samples = output
        .chunks_exact_mut(g.sample_size())
        .zip(input.chunks_exact(g.sample_size()));
    for (y, x) in samples {
        let channels = y.chunks_exact_mut(g.spatial).zip(x.chunks_exact(g.spatial));
        for (c, (y, x)) in channels.enumerate() {
            let scale = gamma[c] * inverse_std(running_variance[c], eps);
            let m = running_mean[c];
            for (y, &x) in y.iter_mut().zip(x) {
                *y = (x - m) * scale + beta[c];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::window::testing::*;
    use super::*;

    #[allow(dead_code)]
    mod reference {
        include!("../../../tests/fixtures/layers_reference.rs");
    }

    #[test]
    fn impossible_geometry_is_refused() {
        assert_eq!(BatchNormGeometry::new(0, 1), None);
        assert_eq!(BatchNormGeometry::new(3, 0), None);
        assert_eq!(BatchNormGeometry::new(usize::MAX, 2), None);
        let g = BatchNormGeometry::new_or_panic(3, 1);
        assert!(!g.can_train(1));
        assert!(g.can_train(2));
        assert!(BatchNormGeometry::new_or_panic(3, 2).can_train(1));
    }

    /// One channel, spatial 1, batch `[1, 3]`: mean 2, biased variance ((1-2)^2 + (3-2)^2)/2
    /// = 1, so with eps 0 xhat = `[-1, 1]`; gamma 2, beta 0.5 give `[-1.5, 2.5]`. The running
    /// mean from 0 with momentum 0.1 becomes 0.9 * 0 + 0.1 * 2 = 0.2 and the running variance
    /// from 1 becomes 0.9 * 1 + 0.1 * (1 * 2/1) = 1.1. With delta `[1, 0]`: dbeta = 1, dgamma
    /// = -1, and dx = gamma / (n sigma) (n dy - dbeta - xhat dgamma) = 2/2 * ([2, 0] - 1 -
    /// [-1, 1] * -1) = [2 - 1 - 1, 0 - 1 + 1] = [0, 0]: shifting both inputs together leaves
    /// the output alone, and moving x0 alone changes the mean and variance so that xhat0
    /// stays -1.
    #[test]
    fn hand_computed_training_step() {
        let g = BatchNormGeometry::new_or_panic(1, 1);
        let (mut mean, mut variance) = ([0.0], [0.0]);
        let (mut xhat, mut y) = ([0.0; 2], [0.0; 2]);
        let x = [1.0, 3.0];
        batch_norm_train_forward(
            &g,
            0.0,
            &x,
            &[2.0],
            &[0.5],
            &mut mean,
            &mut variance,
            &mut xhat,
            &mut y,
        );
        assert_eq!((mean, variance), ([2.0], [1.0]));
        assert_eq!(xhat, [-1.0, 1.0]);
        assert_eq!(y, [-1.5, 2.5]);
        let (mut running_mean, mut running_variance) = ([0.0_f64], [1.0_f64]);
        batch_norm_update_running(
            &g,
            0.1,
            2,
            &mean,
            &variance,
            &mut running_mean,
            &mut running_variance,
        );
        assert_eq!(running_mean, [0.2]);
        assert!((running_variance[0] - 1.1).abs() < 1e-15);
        let (mut dgamma, mut dbeta, mut dx) = ([9.0], [9.0], [9.0; 2]);
        batch_norm_backward(
            &g,
            0.0,
            &[2.0],
            &variance,
            &xhat,
            &[1.0, 0.0],
            &mut dgamma,
            &mut dbeta,
            Some(&mut dx),
        );
        assert_eq!((dgamma, dbeta, dx), ([-1.0], [1.0], [0.0, 0.0]));
    }

    /// Running mean 1, variance 3 and eps 1: (x - 1)/2 * gamma + beta; x = 5, gamma 3, beta
    /// -1 give 2 * 3 - 1 = 5.
    #[test]
    fn hand_computed_inference() {
        let g = BatchNormGeometry::new_or_panic(1, 1);
        let mut y = [0.0];
        batch_norm_inference_forward(&g, 1.0, &[5.0], &[3.0], &[-1.0], &[1.0], &[3.0], &mut y);
        assert_eq!(y, [5.0]);
    }

    fn train_forward(g: &BatchNormGeometry, x: &[f64], gamma: &[f64], beta: &[f64]) -> Vec<f64> {
        let c = g.channels();
        let (mut mean, mut variance) = (vec![0.0; c], vec![0.0; c]);
        let (mut xhat, mut y) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        batch_norm_train_forward(
            g,
            1e-5,
            x,
            gamma,
            beta,
            &mut mean,
            &mut variance,
            &mut xhat,
            &mut y,
        );
        y
    }

    fn check_gradients(channels: usize, spatial: usize, batch: usize, seed: u64) {
        let g = BatchNormGeometry::new_or_panic(channels, spatial);
        let size = batch * g.sample_size();
        let x: Vec<f64> = numbers(seed, size).iter().map(|v| 3.0 * v + 0.5).collect();
        let gamma: Vec<f64> = numbers(seed + 1, channels)
            .iter()
            .map(|v| v + 1.5)
            .collect();
        let beta = numbers(seed + 2, channels);
        let delta = numbers(seed + 3, size);
        let (mut mean, mut variance) = (vec![0.0; channels], vec![0.0; channels]);
        let (mut xhat, mut y) = (vec![0.0; size], vec![0.0; size]);
        batch_norm_train_forward(
            &g,
            1e-5,
            &x,
            &gamma,
            &beta,
            &mut mean,
            &mut variance,
            &mut xhat,
            &mut y,
        );
        let (mut dgamma, mut dbeta) = (vec![0.0; channels], vec![0.0; channels]);
        let mut dx = vec![0.0; size];
        batch_norm_backward(
            &g,
            1e-5,
            &gamma,
            &variance,
            &xhat,
            &delta,
            &mut dgamma,
            &mut dbeta,
            Some(&mut dx),
        );
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            dot(&train_forward(&g, x, gamma, beta), &delta)
        };
        assert_relative(
            &dx,
            &numeric_gradient(&x, |x| loss(x, &gamma, &beta)),
            1e-6,
            "dx",
        );
        assert_relative(
            &dgamma,
            &numeric_gradient(&gamma, |gm| loss(&x, gm, &beta)),
            1e-6,
            "dgamma",
        );
        assert_relative(
            &dbeta,
            &numeric_gradient(&beta, |b| loss(&x, &gamma, b)),
            1e-6,
            "dbeta",
        );
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_gradients(3, 1, 5, 1);
        check_gradients(2, 4, 3, 2);
        check_gradients(1, 6, 1, 3);
        check_gradients(4, 3, 2, 4);
    }

    /// Two training steps, then inference, as the fixture recorded them from PyTorch, in `T`.
    fn check_reference<T: Scalar>(cast: fn(&[f64]) -> Vec<T>, tolerance: f64) {
        let back = |v: &[T]| v.iter().map(|x| x.as_f64()).collect::<Vec<_>>();
        for case in reference::BATCH_NORM {
            let g = BatchNormGeometry::new_or_panic(case.channels, case.spatial);
            let c = case.channels;
            let eps = T::cast_from(case.eps);
            let (gamma, beta) = (cast(case.gamma), cast(case.beta));
            let mut running_mean = vec![T::zero(); c];
            let mut running_variance = vec![T::one(); c];
            for step in case.steps {
                let (x, d) = (cast(step.input), cast(step.delta));
                let (mut mean, mut variance) = (vec![T::zero(); c], vec![T::zero(); c]);
                let (mut xhat, mut y) = (vec![T::zero(); x.len()], vec![T::zero(); x.len()]);
                batch_norm_train_forward(
                    &g,
                    eps,
                    &x,
                    &gamma,
                    &beta,
                    &mut mean,
                    &mut variance,
                    &mut xhat,
                    &mut y,
                );
                assert_close(&back(&y), step.output, tolerance, case.name);
                let (mut dgamma, mut dbeta) = (vec![T::zero(); c], vec![T::zero(); c]);
                let mut dx = vec![T::zero(); x.len()];
                batch_norm_backward(
                    &g,
                    eps,
                    &gamma,
                    &variance,
                    &xhat,
                    &d,
                    &mut dgamma,
                    &mut dbeta,
                    Some(&mut dx),
                );
                assert_close(&back(&dgamma), step.gamma_gradient, tolerance, case.name);
                assert_close(&back(&dbeta), step.beta_gradient, tolerance, case.name);
                assert_close(&back(&dx), step.input_gradient, tolerance, case.name);
                let batch = x.len() / g.sample_size();
                let momentum = T::cast_from(case.momentum);
                batch_norm_update_running(
                    &g,
                    momentum,
                    batch,
                    &mean,
                    &variance,
                    &mut running_mean,
                    &mut running_variance,
                );
                assert_close(
                    &back(&running_mean),
                    step.running_mean,
                    tolerance,
                    case.name,
                );
                assert_close(
                    &back(&running_variance),
                    step.running_variance,
                    tolerance,
                    case.name,
                );
            }
            let x = cast(case.eval_input);
            let mut y = vec![T::zero(); x.len()];
            batch_norm_inference_forward(
                &g,
                eps,
                &x,
                &gamma,
                &beta,
                &running_mean,
                &running_variance,
                &mut y,
            );
            assert_close(&back(&y), case.eval_output, tolerance, case.name);
        }
    }

    #[test]
    fn matches_pytorch_in_f64() {
        check_reference::<f64>(|v| v.to_vec(), 1e-9);
    }

    /// The outputs and gradients are O(1) numbers from sums over at most 18 inputs and one
    /// square root, each rounding by `f32`'s relative 6e-8: a few dozen roundings bound the
    /// error by about 2e-6 (under 5e-7 was measured).
    #[test]
    fn matches_pytorch_in_f32() {
        check_reference::<f32>(to_f32, 2e-6);
    }
}

/// Batch normalization, as PyTorch's `nn.BatchNorm1d` and `nn.BatchNorm2d` compute it, over
/// `C` channels of `S` positions each: the features of a Dense output (`S = 1`) or the
/// channels of a (C, L) or (C, H, W) sample (`S = L` or `H * W`).
///
/// In training each channel is normalized with the batch's mean and (biased) variance, then
/// scaled by `weight` (gamma) and shifted by `bias` (beta); the running statistics move towards
/// the batch's with PyTorch's momentum 0.1, the variance unbiased (`n / (n - 1)`, with
/// `n = batch * S`). Inference uses the running statistics. `eps` is 1e-5. The running
/// statistics are non-trainable buffers, saved and loaded as `running_mean` and `running_var`
/// (a file's `num_batches_tracked` is accepted and ignored). A training batch of one number per
/// channel (`batch * S = 1`), which PyTorch refuses, normalizes to zero as Keras does.
///
/// In `network!` it is written `BatchNorm`; the macro fills in the channels and positions.
///
/// # Shapes
///
/// | value | shape |
/// | --- | --- |
/// | input and output | (C) for a vector, (C, L) or (C, H, W) |
/// | `weight`, `bias`, `running_mean`, `running_var` | (C) |
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     struct Net(Dense<2, 2>, BatchNorm);
/// }
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut net = Net::new(&mut rng);
/// // A fresh layer's running statistics are mean 0 and variance 1: inference divides by
/// // sqrt(1 + 1e-5) only.
/// net.0.weights = SMatrix::identity();
/// let y = net.forward(&SVector::from([1.0, -2.0]));
/// assert!((y[0] - 1.0).abs() < 1e-4 && (y[1] + 2.0).abs() < 1e-4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct BatchNorm<const C: usize, const S: usize, T = f32> {
    /// gamma: one scale per channel (PyTorch's `weight`).
    pub weight: [T; C],
    /// beta: one shift per channel (PyTorch's `bias`).
    pub bias: [T; C],
    /// The running mean per channel, for inference.
    pub running_mean: [T; C],
    /// The running (unbiased) variance per channel, for inference.
    pub running_var: [T; C],
}

/// The gradient of a loss with respect to a [`BatchNorm`] layer's `weight` and `bias`.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct BatchNormGradients<const C: usize, T = f32> {
    /// `d loss / d weight`.
    pub weight: [T; C],
    /// `d loss / d bias`.
    pub bias: [T; C],
}

/// The tensors of a channel vector pair: `weight`, then `bias`, each `(C)`.
fn channel_info<const C: usize>(names: [&'static str; 2], index: usize) -> Option<TensorInfo> {
    names.get(index).map(|&name| TensorInfo {
        layer: "",
        name,
        shape: const { &[C] },
        layout: Layout::RowMajor,
    })
}

impl<const C: usize, T: Scalar> Parameters<T> for BatchNormGradients<C, T> {
    const TENSORS: usize = 2;
    const PARAMETERS: usize = 2 * C;

    #[inline]
    fn zeros() -> Self {
        Self {
            weight: [T::zero(); C],
            bias: [T::zero(); C],
        }
    }

    #[inline]
    fn tensor(&self, index: usize) -> &[T] {
        match index {
            0 => &self.weight,
            1 => &self.bias,
            _ => &[],
        }
    }

    #[inline]
    fn tensor_mut(&mut self, index: usize) -> &mut [T] {
        match index {
            0 => &mut self.weight,
            1 => &mut self.bias,
            _ => &mut [],
        }
    }

    #[inline]
    fn tensor_info(index: usize) -> Option<TensorInfo> {
        channel_info::<C>(["weight", "bias"], index)
    }
}

impl<const C: usize, const S: usize, T: Scalar> Parameters<T> for BatchNorm<C, S, T> {
    const TENSORS: usize = 2;
    const PARAMETERS: usize = 2 * C;
    const BUFFERS: usize = 2;

    #[inline]
    fn zeros() -> Self {
        Self {
            weight: [T::zero(); C],
            bias: [T::zero(); C],
            running_mean: [T::zero(); C],
            running_var: [T::zero(); C],
        }
    }

    #[inline]
    fn tensor(&self, index: usize) -> &[T] {
        match index {
            0 => &self.weight,
            1 => &self.bias,
            _ => &[],
        }
    }

    #[inline]
    fn tensor_mut(&mut self, index: usize) -> &mut [T] {
        match index {
            0 => &mut self.weight,
            1 => &mut self.bias,
            _ => &mut [],
        }
    }

    #[inline]
    fn tensor_info(index: usize) -> Option<TensorInfo> {
        channel_info::<C>(["weight", "bias"], index)
    }

    #[inline]
    fn buffer(&self, index: usize) -> &[T] {
        match index {
            0 => &self.running_mean,
            1 => &self.running_var,
            _ => &[],
        }
    }

    #[inline]
    fn buffer_mut(&mut self, index: usize) -> &mut [T] {
        match index {
            0 => &mut self.running_mean,
            1 => &mut self.running_var,
            _ => &mut [],
        }
    }

    #[inline]
    fn buffer_info(index: usize) -> Option<TensorInfo> {
        channel_info::<C>(["running_mean", "running_var"], index)
    }
}

impl<const C: usize, const S: usize, T: Scalar> HasGradients<T> for BatchNorm<C, S, T> {
    type Gradients = BatchNormGradients<C, T>;
}

impl<const C: usize, const S: usize, T> BatchNorm<C, S, T> {
    /// A layer with the given scales (gamma), shifts (beta) and running statistics, each one
    /// per channel. A `const fn`, so a network can be a constant in read-only memory.
    #[must_use]
    pub const fn from_parts(
        weight: [T; C],
        bias: [T; C],
        running_mean: [T; C],
        running_var: [T; C],
    ) -> Self {
        Self {
            weight,
            bias,
            running_mean,
            running_var,
        }
    }
}

impl<const C: usize, const S: usize, T: Scalar> BatchNorm<C, S, T> {
    const GEOMETRY: BatchNormGeometry = BatchNormGeometry::new_or_panic(C, S);

    #[inline(always)]
    fn eps() -> T {
        T::cast_from(DEFAULT_EPS)
    }

    /// Training's forward over a batch in `input`: the batch statistics into `statistics`
    /// (means, then variances), `xhat` and `output`.
    #[inline(always)]
    fn train(&self, input: &[T], statistics: &mut [T], xhat: &mut [T], output: &mut [T]) {
        let (mean, variance) = statistics.split_at_mut(C);
        batch_norm_train_forward(
            &Self::GEOMETRY,
            Self::eps(),
            input,
            &self.weight,
            &self.bias,
            mean,
            variance,
            xhat,
            output,
        );
    }

    /// Inference's forward over a batch, from the running statistics.
    #[inline(always)]
    fn infer(&self, input: &[T], output: &mut [T]) {
        batch_norm_inference_forward(
            &Self::GEOMETRY,
            Self::eps(),
            input,
            &self.weight,
            &self.bias,
            &self.running_mean,
            &self.running_var,
            output,
        );
    }

    /// The parameter gradients (written) and, when asked, the input's (written), from the
    /// batch variances, `xhat` and `delta`.
    #[inline(always)]
    fn back(
        &self,
        variance: &[T],
        xhat: &[T],
        delta: &[T],
        gradients: &mut BatchNormGradients<C, T>,
        input_gradient: Option<&mut [T]>,
    ) {
        batch_norm_backward(
            &Self::GEOMETRY,
            Self::eps(),
            &self.weight,
            variance,
            xhat,
            delta,
            &mut gradients.weight,
            &mut gradients.bias,
            input_gradient,
        );
    }

    #[inline(always)]
    fn step(&mut self, gradients: &BatchNormGradients<C, T>, learning_rate: T) {
        for (w, &g) in self.weight.iter_mut().zip(&gradients.weight) {
            *w -= learning_rate * g;
        }
        for (b, &g) in self.bias.iter_mut().zip(&gradients.bias) {
            *b -= learning_rate * g;
        }
    }

    #[inline(always)]
    fn running(&mut self, batch: usize, statistics: &[T]) {
        let (mean, variance) = statistics.split_at(C);
        batch_norm_update_running(
            &Self::GEOMETRY,
            T::cast_from(DEFAULT_MOMENTUM),
            batch,
            mean,
            variance,
            &mut self.running_mean,
            &mut self.running_var,
        );
    }
}

impl<const C: usize, const S: usize, const IN: usize, const OUT: usize, T: Scalar> Layer<T, IN, OUT>
    for BatchNorm<C, S, T>
{
    /// `xhat`, then the means and variances of the sample's channels (training only).
    type Cache = (SVector<T, IN>, [T; C], [T; C]);

    /// Training normalizes by the statistics of the whole batch.
    const SAMPLEWISE: bool = false;

    #[inline(always)]
    fn cache_len(batch: usize) -> usize {
        IN * batch + 2 * C
    }

    fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {
        // PyTorch's and Keras's start: the identity, and statistics of a unit normal.
        self.weight = [T::one(); C];
        self.bias = [T::zero(); C];
        self.running_mean = [T::zero(); C];
        self.running_var = [T::one(); C];
    }

    #[inline]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
        self.forward_single(input, &mut Phase::Inference).1
    }

    #[inline(always)]
    fn forward_single(
        &self,
        input: &SVector<T, IN>,
        phase: &mut Phase,
    ) -> ((SVector<T, IN>, [T; C], [T; C]), SVector<T, OUT>) {
        let () = FlatWidths::<IN, OUT, C, S, C, S>::MATCH;
        let mut output = SVector::<T, OUT>::zeros();
        let mut xhat = SVector::<T, IN>::zeros();
        let mut statistics = [[T::zero(); C]; 2];
        if phase.is_training() {
            self.train(
                input.as_slice(),
                statistics.as_flattened_mut(),
                xhat.as_mut_slice(),
                output.as_mut_slice(),
            );
        } else {
            self.infer(input.as_slice(), output.as_mut_slice());
        }
        let [mean, variance] = statistics;
        ((xhat, mean, variance), output)
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        cache: &mut [T],
        mut output: ColumnsMut<'_, T, OUT>,
        phase: &mut Phase,
    ) {
        let () = FlatWidths::<IN, OUT, C, S, C, S>::MATCH;
        if phase.is_training() {
            let (xhat, statistics) = cache.split_at_mut(IN * input.ncols());
            self.train(input.as_slice(), statistics, xhat, output.as_mut_slice());
        } else {
            self.infer(input.as_slice(), output.as_mut_slice());
        }
    }

    #[inline(always)]
    fn backward_single(
        &self,
        _input: &SVector<T, IN>,
        (xhat, _, variance): &(SVector<T, IN>, [T; C], [T; C]),
        _output: &SVector<T, OUT>,
        delta: &mut SVector<T, OUT>,
        input_gradient: bool,
    ) -> SVector<T, IN> {
        let mut dx = SVector::<T, IN>::zeros();
        if input_gradient {
            let mut scratch = BatchNormGradients::zeros();
            self.back(
                variance,
                xhat.as_slice(),
                delta.as_slice(),
                &mut scratch,
                Some(dx.as_mut_slice()),
            );
        }
        dx
    }

    #[inline(always)]
    fn update_single(
        &mut self,
        _input: &SVector<T, IN>,
        (xhat, _, variance): &(SVector<T, IN>, [T; C], [T; C]),
        delta: &SVector<T, OUT>,
        learning_rate: T,
    ) {
        let mut gradients = BatchNormGradients::zeros();
        self.back(
            variance,
            xhat.as_slice(),
            delta.as_slice(),
            &mut gradients,
            None,
        );
        self.step(&gradients, learning_rate);
    }

    #[inline(always)]
    fn backward_batch(
        &self,
        input: Columns<'_, T, IN>,
        cache: &[T],
        _output: Columns<'_, T, OUT>,
        delta: ColumnsMut<'_, T, OUT>,
        gradients: Option<&mut Self::Gradients>,
        mut input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        let (xhat, statistics) = cache.split_at(IN * input.ncols());
        let mut scratch = BatchNormGradients::zeros();
        let gradients = gradients.unwrap_or(&mut scratch);
        self.back(
            &statistics[C..],
            xhat,
            delta.as_slice(),
            gradients,
            input_gradient.as_mut().map(|dx| dx.as_mut_slice()),
        );
    }

    #[inline(always)]
    fn update_batch(
        &mut self,
        input: Columns<'_, T, IN>,
        cache: &[T],
        delta: Columns<'_, T, OUT>,
        learning_rate: T,
    ) {
        let (xhat, statistics) = cache.split_at(IN * input.ncols());
        let mut gradients = BatchNormGradients::zeros();
        self.back(
            &statistics[C..],
            xhat,
            delta.as_slice(),
            &mut gradients,
            None,
        );
        self.step(&gradients, learning_rate);
    }

    #[inline(always)]
    fn bound_update(_input: &[T], delta: &[T], largest: &mut Largest<T>) {
        // gamma moves by a sum of delta * xhat over the batch's positions, with |xhat| at most
        // sqrt(n): bound the delta side by S sqrt(n) times its largest magnitude, and the other
        // side by 1 (so a bound below 1 declines, to the checked path).
        let n = (delta.len() / OUT.max(1)) * S;
        largest.include_scaled(
            delta,
            T::cast_from(S as f64) * T::cast_from(n as f64).sqrt(),
        );
        largest.include(&[T::one()]);
    }

    #[inline(always)]
    fn update_buffers(&mut self, cache: &[T], batch: usize) {
        let statistics = &cache[IN * batch..];
        self.running(batch, statistics);
    }

    #[inline(always)]
    fn update_buffers_single(&mut self, (_, mean, variance): &(SVector<T, IN>, [T; C], [T; C])) {
        let mut statistics = [[T::zero(); C]; 2];
        statistics[0] = *mean;
        statistics[1] = *variance;
        self.running(1, statistics.as_flattened());
    }
}
