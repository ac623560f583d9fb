//! Layer normalization of one sample over all its features (PyTorch's `LayerNorm` with
//! `normalized_shape` the whole sample), with an elementwise affine `gamma`, `beta`: the
//! numerical core and the [`LayerNorm`] layer.
//!
//! Input, output, `gamma`, `beta` and the cached `xhat`: `features` numbers each (`channels *
//! spatial` for a convolution's output). Normalization uses the biased variance, as PyTorch
//! does.

use nalgebra::SVector;
use rand::Rng;

use super::{HasGradients, Layer, Phase};
use crate::{Columns, ColumnsMut, Init, Largest, Layout, Parameters, Scalar, TensorInfo};

/// PyTorch's default `eps`, added to the variance before its square root.
pub const DEFAULT_EPS: f64 = 1e-5;

/// The shape of layer normalization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LayerNormGeometry {
    features: usize,
}

impl LayerNormGeometry {
    /// The geometry, or `None` for no features.
    #[must_use]
    pub const fn new(features: usize) -> Option<Self> {
        if features == 0 {
            return None;
        }
        Some(Self { features })
    }

    /// As [`new`](Self::new), for `const` items: no features panics, which in a constant is
    /// a compile error.
    #[must_use]
    pub const fn new_or_panic(features: usize) -> Self {
        match Self::new(features) {
            Some(geometry) => geometry,
            None => panic!("impossible LayerNorm geometry: no features"),
        }
    }

    /// Numbers in one sample.
    #[inline]
    #[must_use]
    pub const fn features(&self) -> usize {
        self.features
    }
}

#[inline]
fn sum<T: Scalar>(values: impl Iterator<Item = T>) -> T {
    values.fold(T::zero(), |total, v| total + v)
}

/// Forward pass for one sample: writes the normalized input `xhat` and `output = gamma *
/// xhat + beta`, and returns `1 / sqrt(variance + eps)`. [`layer_norm_backward`] takes `xhat`
/// and that number back.
#[must_use]
pub fn layer_norm_forward<T: Scalar>(
    geometry: &LayerNormGeometry,
    eps: T,
    input: &[T],
    gamma: &[T],
    beta: &[T],
    xhat: &mut [T],
    output: &mut [T],
) -> T {
    let n = geometry.features;
    debug_assert!(
        [
            input.len(),
            gamma.len(),
            beta.len(),
            xhat.len(),
            output.len()
        ] == [n; 5]
    );
    let count = T::cast_from(n as f64);
    let mean = sum(input.iter().copied()) / count;
    // Two passes, so that a large mean does not cancel the variance away.
    let variance = sum(input.iter().map(|&x| (x - mean) * (x - mean))) / count;
    let inverse_std = T::one() / (variance + eps).sqrt();
    let affine = gamma.iter().zip(beta);
    for (((xh, y), &x), (&g, &b)) in xhat
        .iter_mut()
        .zip(output.iter_mut())
        .zip(input)
        .zip(affine)
    {
        *xh = (x - mean) * inverse_std;
        *y = g * *xh + b;
    }
    inverse_std
}

/// Backward pass for one sample from `delta`, the loss's gradient with respect to the output:
/// adds the gradients of `gamma` and `beta` to `gamma_gradient` and `beta_gradient` (so that
/// a batch loop sums them) and, when given, writes the gradient with respect to the input.
pub fn layer_norm_backward<T: Scalar>(
    gamma: &[T],
    xhat: &[T],
    inverse_std: T,
    delta: &[T],
    gamma_gradient: &mut [T],
    beta_gradient: &mut [T],
    input_gradient: Option<&mut [T]>,
) {
    let n = xhat.len();
    debug_assert!(
        [
            gamma.len(),
            delta.len(),
            gamma_gradient.len(),
            beta_gradient.len()
        ] == [n; 4]
    );
    for (((gg, gb), &d), &xh) in gamma_gradient
        .iter_mut()
        .zip(beta_gradient.iter_mut())
        .zip(delta)
        .zip(xhat)
    {
        *gg += d * xh;
        *gb += d;
    }
    let Some(input_gradient) = input_gradient else {
        return;
    };
    debug_assert_eq!(input_gradient.len(), n);
    // With dxhat = delta * gamma: dx = (n dxhat - sum(dxhat) - xhat sum(dxhat xhat)) / (n sigma).
    let dxhat = || delta.iter().zip(gamma).map(|(&d, &g)| d * g);
    let total = sum(dxhat());
    let along = sum(dxhat().zip(xhat).map(|(dxh, &xh)| dxh * xh));
    let count = T::cast_from(n as f64);
    let scale = inverse_std / count;
    for ((dx, dxh), &xh) in input_gradient.iter_mut().zip(dxhat()).zip(xhat) {
        *dx = scale * (count * dxh - total - xh * along);
    }
}

/// Layer normalization over the whole sample, as PyTorch's `nn.LayerNorm(normalized_shape)`
/// with `normalized_shape` the sample's shape: each sample is shifted to mean 0 and scaled to
/// variance 1 (the biased variance, plus `eps` = 1e-5), then multiplied elementwise by `weight`
/// (gamma) and shifted by `bias` (beta). Training and inference compute the same thing: there
/// are no running statistics.
///
/// In `network!` it is written `LayerNorm`, with no arguments; the macro fills in the type
/// from the input's shape: `N` numbers per sample, and its leading dimensions `C` (channels)
/// and `H` (height), 0 where the sample has none. `initialize` sets `weight` to ones and `bias`
/// to zeros, as PyTorch does.
///
/// # Shapes
///
/// | value | shape | layout |
/// | --- | --- | --- |
/// | input, output | the sample's: (N), (C, L) or (C, H, W) | PyTorch's order |
/// | `weight`, `bias` | the sample's, as PyTorch's `LayerNorm([C, L])` has them | row-major |
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     struct Net(Dense<2, 4>, LayerNorm);
/// }
/// let mut net = Net::zeros();
/// net.0.weights = SMatrix::from([[1.0, 2.0, 3.0, 6.0], [0.0; 4]]);
/// net.1.weight = [1.0, 2.0, 3.0, 4.0];
/// net.1.bias = [1.0; 4];
/// // (1, 2, 3, 6) has mean 3 and variance 3.5: xhat = (-2, -1, 0, 3) / sqrt(3.5 + 1e-5).
/// let y = net.forward(&SVector::from([1.0, 0.0]));
/// let xhat = [-2.0, -1.0, 0.0, 3.0].map(|d: f32| d / (3.5_f32 + 1e-5).sqrt());
/// for i in 0..4 {
///     assert!((y[i] - (net.1.weight[i] * xhat[i] + 1.0)).abs() < 1e-6);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct LayerNorm<const N: usize, const C: usize = 0, const H: usize = 0, T = f32> {
    /// gamma: each normalized number's scale, in the sample's order.
    pub weight: [T; N],
    /// beta: each normalized number's shift.
    pub bias: [T; N],
}

/// The gradient of a loss with respect to a [`LayerNorm`] layer's parameters, in the same
/// shapes.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct LayerNormGradients<const N: usize, const C: usize = 0, const H: usize = 0, T = f32> {
    /// `d loss / d weight`.
    pub weight: [T; N],
    /// `d loss / d bias`.
    pub bias: [T; N],
}

/// `a / b`, or 0 for no `b`: a dimension the shape does not have.
const fn quotient(a: usize, b: usize) -> usize {
    match a.checked_div(b) {
        Some(quotient) => quotient,
        None => 0,
    }
}

/// The sample's shape: `[N]`, `[C, N / C]` or `[C, H, N / (C H)]`.
fn sample_shape<const N: usize, const C: usize, const H: usize>() -> &'static [usize] {
    match (C, H) {
        (0, _) => const { &[N] },
        (_, 0) => const { &[C, quotient(N, C)] },
        _ => const { &[C, H, quotient(N, C * H)] },
    }
}

fn layer_norm_tensor_info<const N: usize, const C: usize, const H: usize>(
    index: usize,
) -> Option<TensorInfo> {
    let name = match index {
        0 => "weight",
        1 => "bias",
        _ => return None,
    };
    Some(TensorInfo {
        layer: "",
        name,
        shape: sample_shape::<N, C, H>(),
        layout: Layout::RowMajor,
    })
}

macro_rules! layer_norm_parameters {
    ($type:ident) => {
        impl<const N: usize, const C: usize, const H: usize, T: Scalar> Parameters<T>
            for $type<N, C, H, T>
        {
            const TENSORS: usize = 2;
            const PARAMETERS: usize = 2 * N;

            #[inline]
            fn zeros() -> Self {
                Self {
                    weight: [T::zero(); N],
                    bias: [T::zero(); N],
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
                layer_norm_tensor_info::<N, C, H>(index)
            }
        }
    };
}

layer_norm_parameters!(LayerNorm);
layer_norm_parameters!(LayerNormGradients);

impl<const N: usize, const C: usize, const H: usize, T: Scalar> HasGradients<T>
    for LayerNorm<N, C, H, T>
{
    type Gradients = LayerNormGradients<N, C, H, T>;
}

impl<const N: usize, const C: usize, const H: usize, T: Scalar> LayerNorm<N, C, H, T> {
    /// The geometry, checked where the layer is used: no features, or leading dimensions that
    /// do not divide the sample, do not compile.
    const GEOMETRY: LayerNormGeometry = {
        assert!(
            if C == 0 {
                H == 0
            } else if H == 0 {
                N.is_multiple_of(C)
            } else {
                N.is_multiple_of(C * H)
            },
            "a LayerNorm's leading dimensions must divide its sample"
        );
        LayerNormGeometry::new_or_panic(N)
    };

    /// A layer with the given scales (gamma) and shifts (beta).
    #[must_use]
    pub const fn from_parts(weight: [T; N], bias: [T; N]) -> Self {
        Self { weight, bias }
    }

    /// One sample forward: `xhat` and `1 / sigma` into `cache` (`N + 1` numbers), the output
    /// into `output`.
    #[inline(always)]
    fn forward_into(&self, input: &[T], cache: &mut [T], output: &mut [T]) {
        let (xhat, inverse_std) = cache.split_at_mut(Self::GEOMETRY.features());
        inverse_std[0] = layer_norm_forward(
            &Self::GEOMETRY,
            T::cast_from(DEFAULT_EPS),
            input,
            &self.weight,
            &self.bias,
            xhat,
            output,
        );
    }
}

impl<const N: usize, const C: usize, const H: usize, T: Scalar> Layer<T, N, N>
    for LayerNorm<N, C, H, T>
{
    /// `xhat`, then `1 / sigma`.
    type Cache = (SVector<T, N>, T);

    #[inline(always)]
    fn cache_len(batch: usize) -> usize {
        (N + 1) * batch
    }

    fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {
        self.weight = [T::one(); N];
        self.bias = [T::zero(); N];
    }

    #[inline]
    fn forward(&self, input: &SVector<T, N>) -> SVector<T, N> {
        self.forward_single(input, &mut Phase::Inference).1
    }

    #[inline(always)]
    fn forward_single(
        &self,
        input: &SVector<T, N>,
        _phase: &mut Phase,
    ) -> ((SVector<T, N>, T), SVector<T, N>) {
        let mut xhat = SVector::<T, N>::zeros();
        let mut output = SVector::<T, N>::zeros();
        let inverse_std = layer_norm_forward(
            &Self::GEOMETRY,
            T::cast_from(DEFAULT_EPS),
            input.as_slice(),
            &self.weight,
            &self.bias,
            xhat.as_mut_slice(),
            output.as_mut_slice(),
        );
        ((xhat, inverse_std), output)
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, N>,
        cache: &mut [T],
        mut output: ColumnsMut<'_, T, N>,
        _phase: &mut Phase,
    ) {
        let samples = input.as_slice().chunks_exact(N);
        let outputs = output.as_mut_slice().chunks_exact_mut(N);
        for ((x, y), kept) in samples.zip(outputs).zip(cache.chunks_exact_mut(N + 1)) {
            self.forward_into(x, kept, y);
        }
    }

    #[inline(always)]
    fn backward_single(
        &self,
        _input: &SVector<T, N>,
        (xhat, inverse_std): &(SVector<T, N>, T),
        _output: &SVector<T, N>,
        delta: &mut SVector<T, N>,
        input_gradient: bool,
    ) -> SVector<T, N> {
        let mut dx = SVector::<T, N>::zeros();
        if input_gradient {
            let mut scratch = <Self as HasGradients<T>>::Gradients::zeros();
            layer_norm_backward(
                &self.weight,
                xhat.as_slice(),
                *inverse_std,
                delta.as_slice(),
                &mut scratch.weight,
                &mut scratch.bias,
                Some(dx.as_mut_slice()),
            );
        }
        dx
    }

    #[inline(always)]
    fn update_single(
        &mut self,
        _input: &SVector<T, N>,
        (xhat, _): &(SVector<T, N>, T),
        delta: &SVector<T, N>,
        learning_rate: T,
    ) {
        let parameters = self.weight.iter_mut().zip(self.bias.iter_mut());
        for ((g, b), (&d, &xh)) in parameters.zip(delta.iter().zip(xhat.iter())) {
            *g -= learning_rate * (d * xh);
            *b -= learning_rate * d;
        }
    }

    #[inline(always)]
    fn backward_batch(
        &self,
        _input: Columns<'_, T, N>,
        cache: &[T],
        _output: Columns<'_, T, N>,
        delta: ColumnsMut<'_, T, N>,
        gradients: Option<&mut Self::Gradients>,
        mut input_gradient: Option<ColumnsMut<'_, T, N>>,
    ) {
        let mut scratch = <Self as HasGradients<T>>::Gradients::zeros();
        let gradients = match gradients {
            Some(gradients) => {
                *gradients = <Self as HasGradients<T>>::Gradients::zeros();
                gradients
            }
            None => &mut scratch,
        };
        let mut dx = input_gradient
            .as_mut()
            .map(|dx| dx.as_mut_slice().chunks_exact_mut(N));
        for (d, kept) in delta
            .as_slice()
            .chunks_exact(N)
            .zip(cache.chunks_exact(N + 1))
        {
            let (xhat, inverse_std) = kept.split_at(N);
            layer_norm_backward(
                &self.weight,
                xhat,
                inverse_std[0],
                d,
                &mut gradients.weight,
                &mut gradients.bias,
                dx.as_mut().and_then(Iterator::next),
            );
        }
    }

    #[inline(always)]
    fn update_batch(
        &mut self,
        _input: Columns<'_, T, N>,
        cache: &[T],
        delta: Columns<'_, T, N>,
        learning_rate: T,
    ) {
        // Feature by feature, summed over the batch before the step, as the gradient step does,
        // and without a gradient buffer of the layer's size.
        let delta = delta.as_slice();
        let parameters = self.weight.iter_mut().zip(self.bias.iter_mut());
        for (i, (g, b)) in parameters.enumerate() {
            let (mut dgamma, mut dbeta) = (T::zero(), T::zero());
            for (d, kept) in delta.chunks_exact(N).zip(cache.chunks_exact(N + 1)) {
                dgamma += d[i] * kept[i];
                dbeta += d[i];
            }
            *g -= learning_rate * dgamma;
            *b -= learning_rate * dbeta;
        }
    }

    #[inline(always)]
    fn bound_update(input: &[T], delta: &[T], largest: &mut Largest<T>) {
        // gamma moves by sums of delta * xhat, beta by sums of delta. |xhat| is at most
        // sqrt(N) (a deviation's square is at most N times the variance), so the limits'
        // `lr n c^2` bounds gamma's change once sqrt(N) is below `c` too; rounding's excess
        // over sqrt(N) is within the safe step's margin. That bound holds only while xhat is
        // finite: the input must be, and N times its largest magnitude too, so that the
        // mean's sum cannot overflow.
        let features = T::cast_from(N as f64);
        largest.include(delta);
        largest.include_scaled(input, features);
        largest.include(&[features.sqrt()]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::window::testing::*;
    use super::*;
    use crate::Parameters;

    #[allow(dead_code)]
    mod reference {
        include!("../../../tests/fixtures/layers_reference.rs");
    }

    #[test]
    fn no_features_is_refused() {
        assert_eq!(LayerNormGeometry::new(0), None);
        assert_eq!(LayerNormGeometry::new_or_panic(4).features(), 4);
    }

    /// x = `[1, 2, 3, 6]`: mean 3, biased variance (4 + 1 + 0 + 9)/4 = 3.5; with eps 0.5 the
    /// deviation is sqrt(4) = 2, so xhat = `[-1, -0.5, 0, 1.5]`. gamma `[1, 2, 3, 4]`, beta 1:
    /// y = `[0, 0, 1, 7]`. With delta `[1, 0, 0, 1]`: dgamma = delta * xhat = `[-1, 0, 0,
    /// 1.5]` and dbeta = delta, both added to 1. dxhat = delta * gamma = `[1, 0, 0, 4]`,
    /// sum 5, sum(dxhat xhat) = -1 + 6 = 5, so dx = (4 dxhat - 5 - 5 xhat) / (4 * 2) =
    /// `[(4 - 5 + 5)/8, (-5 + 2.5)/8, -5/8, (16 - 5 - 7.5)/8]` = `[0.5, -0.3125, -0.625,
    /// 0.4375]`.
    #[test]
    fn hand_computed_forward_and_backward() {
        let g = LayerNormGeometry::new_or_panic(4);
        let gamma = [1.0, 2.0, 3.0, 4.0];
        let (mut xhat, mut y) = ([0.0; 4], [0.0; 4]);
        let inverse_std = layer_norm_forward(
            &g,
            0.5,
            &[1.0, 2.0, 3.0, 6.0],
            &gamma,
            &[1.0; 4],
            &mut xhat,
            &mut y,
        );
        assert_eq!(inverse_std, 0.5);
        assert_eq!(xhat, [-1.0, -0.5, 0.0, 1.5]);
        assert_eq!(y, [0.0, 0.0, 1.0, 7.0]);
        let (mut dgamma, mut dbeta, mut dx) = ([1.0; 4], [1.0; 4], [9.0; 4]);
        let delta = [1.0, 0.0, 0.0, 1.0];
        layer_norm_backward(
            &gamma,
            &xhat,
            inverse_std,
            &delta,
            &mut dgamma,
            &mut dbeta,
            Some(&mut dx),
        );
        assert_eq!(dgamma, [0.0, 1.0, 1.0, 2.5]);
        assert_eq!(dbeta, [2.0, 1.0, 1.0, 2.0]);
        assert_eq!(dx, [0.5, -0.3125, -0.625, 0.4375]);
    }

    fn check_gradients(features: usize, seed: u64) {
        let g = LayerNormGeometry::new_or_panic(features);
        let x: Vec<f64> = numbers(seed, features)
            .iter()
            .map(|v| 2.0 * v - 0.3)
            .collect();
        let gamma: Vec<f64> = numbers(seed + 1, features)
            .iter()
            .map(|v| v + 1.5)
            .collect();
        let beta = numbers(seed + 2, features);
        let delta = numbers(seed + 3, features);
        let forward = |x: &[f64], gamma: &[f64], beta: &[f64]| {
            let (mut xhat, mut y) = (vec![0.0; features], vec![0.0; features]);
            let inverse_std = layer_norm_forward(&g, 1e-5, x, gamma, beta, &mut xhat, &mut y);
            (xhat, y, inverse_std)
        };
        let (xhat, _, inverse_std) = forward(&x, &gamma, &beta);
        let (mut dgamma, mut dbeta) = (vec![0.0; features], vec![0.0; features]);
        let mut dx = vec![0.0; features];
        layer_norm_backward(
            &gamma,
            &xhat,
            inverse_std,
            &delta,
            &mut dgamma,
            &mut dbeta,
            Some(&mut dx),
        );
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| dot(&forward(x, gamma, beta).1, &delta);
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
        check_gradients(2, 1);
        check_gradients(7, 2);
        check_gradients(24, 3);
    }

    /// A batch loop over the samples of every case, in `T`: the parameter gradients are
    /// PyTorch's sums over the batch.
    fn check_reference<T: Scalar>(cast: fn(&[f64]) -> Vec<T>, tolerance: f64) {
        let back = |v: &[T]| v.iter().map(|x| x.as_f64()).collect::<Vec<_>>();
        for case in reference::LAYER_NORM {
            let n = case.features;
            let g = LayerNormGeometry::new_or_panic(n);
            let (x, d) = (cast(case.input), cast(case.delta));
            let (gamma, beta) = (cast(case.gamma), cast(case.beta));
            let eps = T::cast_from(case.eps);
            let (mut dgamma, mut dbeta) = (vec![T::zero(); n], vec![T::zero(); n]);
            let (mut xhat, mut y) = (vec![T::zero(); n], vec![T::zero(); x.len()]);
            let mut dx = vec![T::zero(); x.len()];
            let samples = x.chunks_exact(n).zip(d.chunks_exact(n));
            let outputs = y.chunks_exact_mut(n).zip(dx.chunks_exact_mut(n));
            for ((x, d), (y, dx)) in samples.zip(outputs) {
                let inverse_std = layer_norm_forward(&g, eps, x, &gamma, &beta, &mut xhat, y);
                layer_norm_backward(
                    &gamma,
                    &xhat,
                    inverse_std,
                    d,
                    &mut dgamma,
                    &mut dbeta,
                    Some(dx),
                );
            }
            assert_close(&back(&y), case.output, tolerance, case.name);
            assert_close(&back(&dx), case.input_gradient, tolerance, case.name);
            assert_close(&back(&dgamma), case.gamma_gradient, tolerance, case.name);
            assert_close(&back(&dbeta), case.beta_gradient, tolerance, case.name);
        }
    }

    #[test]
    fn matches_pytorch_in_f64() {
        check_reference::<f64>(|v| v.to_vec(), 1e-9);
    }

    /// O(1) values from sums over at most 12 features and one square root, each rounding by
    /// `f32`'s relative 6e-8: within 2e-6 (under 5e-7 was measured).
    #[test]
    fn matches_pytorch_in_f32() {
        check_reference::<f32>(to_f32, 2e-6);
    }

    /// The layer's passes with PyTorch's eps. x = `[1, 2, 3, 6]`: mean 3, variance 3.5, so
    /// xhat = `[-2, -1, 0, 3] / sqrt(3.5 + 1e-5)`; with gamma `[1, 2, 3, 4]` and beta
    /// `[1, 0, -1, 2]`, y = gamma xhat + beta.
    #[test]
    fn the_layer_normalizes_then_scales_and_shifts() {
        let layer =
            LayerNorm::<4, 0, 0, f64>::from_parts([1.0, 2.0, 3.0, 4.0], [1.0, 0.0, -1.0, 2.0]);
        let x = SVector::from([1.0, 2.0, 3.0, 6.0]);
        let sigma = (3.5_f64 + 1e-5).sqrt();
        let expected = [1.0 - 2.0 / sigma, -2.0 / sigma, -1.0, 2.0 + 12.0 / sigma];
        let y = <LayerNorm<4, 0, 0, f64> as Layer<f64, 4, 4>>::forward(&layer, &x);
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{y:?}");
        }
        // Training computes the same output, and keeps xhat and 1 / sigma.
        let ((xhat, inverse_std), trained) = layer.forward_single(&x, &mut Phase::training(3));
        assert_eq!(trained, y);
        assert_eq!(layer.forward_single(&x, &mut Phase::Inference).1, y);
        assert!((inverse_std - 1.0 / sigma).abs() < 1e-15);
        assert!((xhat[3] - 3.0 / sigma).abs() < 1e-15);
        // The batch pass is the single one, sample by sample.
        let inputs = [1.0, 2.0, 3.0, 6.0, -1.0, 0.5, 0.25, 4.0];
        let (mut cache, mut outputs) = ([0.0; 10], [0.0; 8]);
        layer.forward_batch(
            crate::columns::<f64, 4>(&inputs),
            &mut cache,
            crate::columns_mut::<f64, 4>(&mut outputs),
            &mut Phase::training(5),
        );
        assert_eq!(outputs[..4], *y.as_slice());
        assert_eq!(cache[..4], *xhat.as_slice());
        assert_eq!(cache[4], inverse_std);
        let second = layer.forward(&SVector::from([-1.0, 0.5, 0.25, 4.0]));
        assert_eq!(outputs[4..], *second.as_slice());
    }

    #[test]
    fn initialize_sets_pytorchs_ones_and_zeros() {
        let mut layer = LayerNorm::<3, 0, 0, f32>::from_parts([5.0; 3], [5.0; 3]);
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        <LayerNorm<3, 0, 0, f32> as Layer<f32, 3, 3>>::initialize(
            &mut layer,
            Init::default(),
            &mut rng,
        );
        assert_eq!((layer.weight, layer.bias), ([1.0; 3], [0.0; 3]));
    }

    #[test]
    fn tensors_have_the_samples_shape() {
        type Vector = LayerNorm<6, 0, 0, f32>;
        type Sequence = LayerNorm<12, 3, 0, f32>;
        type Image = LayerNorm<24, 2, 3, f32>;
        let shape = |info: Option<TensorInfo>| info.map(|info| (info.name, info.shape));
        assert_eq!(shape(Vector::tensor_info(0)), Some(("weight", &[6][..])));
        assert_eq!(shape(Sequence::tensor_info(1)), Some(("bias", &[3, 4][..])));
        assert_eq!(
            shape(Image::tensor_info(0)),
            Some(("weight", &[2, 3, 4][..]))
        );
        assert_eq!(Vector::tensor_info(2), None);
        assert_eq!(<Image as Parameters<f32>>::PARAMETERS, 48);
    }

    /// A bound that admits only steps whose change to gamma (at most lr n |delta| sqrt(N)) and
    /// beta stays finite, and refuses an input whose mean would overflow.
    #[test]
    fn the_step_bound_counts_xhat_and_the_mean() {
        type Norm = LayerNorm<4, 0, 0, f32>;
        let admits = |input: &[f32], delta: &[f32]| {
            // lr n = 1: the limit is 2^51.
            let limits = crate::StepLimits::<f32>::new(1.0, 1);
            let mut largest = limits.start();
            <Norm as Layer<f32, 4, 4>>::bound_update(input, delta, &mut largest);
            limits.admit(&largest)
        };
        assert!(admits(&[1.0, 2.0, 3.0, 4.0], &[1e15, 0.0, 0.0, 0.0]));
        assert!(!admits(&[1.0, 2.0, 3.0, 4.0], &[3e15, 0.0, 0.0, 0.0]));
        // 4 times 1e15 is past 2^51, about 2.25e15.
        assert!(!admits(&[1e15, 0.0, 0.0, 0.0], &[1.0; 4]));
        assert!(!admits(&[f32::NAN, 0.0, 0.0, 0.0], &[1.0; 4]));
        assert!(!admits(&[1.0; 4], &[f32::INFINITY, 0.0, 0.0, 0.0]));
    }
}
