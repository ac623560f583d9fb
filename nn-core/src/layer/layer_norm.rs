//! Layer normalization of one sample over all its features (PyTorch's `LayerNorm` with
//! `normalized_shape` the whole sample), with an elementwise affine `gamma`, `beta`.
//!
//! # Shapes
//!
//! Input, output, `gamma`, `beta` and the cached `xhat`: `features` numbers each (`channels *
//! spatial` for a convolution's output). Normalization uses the biased variance, as PyTorch
//! does.

use crate::Scalar;

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

#[cfg(test)]
mod tests {
    use super::super::window::testing::*;
    use super::*;

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
}
