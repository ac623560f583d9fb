//! The arithmetic the recurrent cells share: the gates' fused matrix-vector products and the
//! gates' activations, written once for [`Lstm`](super::Lstm), [`Gru`](super::Gru) and
//! [`Rnn`](super::Rnn).
//!
//! A cell's weights are stored column by column over all its gates (PyTorch's `[gates * H, IN]`
//! tensor, column-major), so one time step's products are sums of whole columns scaled by one
//! input each: contiguous multiply-adds that the compiler turns into vector code inside
//! [`with_fma`](crate::with_fma), which a network's `step` runs in.

use core::any::TypeId;

use nalgebra::SVector;
use rand::Rng;

use crate::init::uniform;
use crate::kernels::dispatch::fused;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use crate::kernels::portable::Fused;
use crate::kernels::portable::{MulAdd, Separate};
use crate::{Init, Scalar};

/// Rows a block of partial sums covers: two AVX2 vectors of f32.
const BLOCK: usize = 16;

/// Independent partial sums per row, so that consecutive multiply-adds do not wait for each
/// other.
const LANES: usize = 4;

/// `out = bias + sum over parts of W x`, each `W` a column-major matrix of `out.len()` rows and
/// `x.len()` columns: the gates' pre-activations for one time step. With fused multiply-add
/// where the CPU has it.
#[inline(always)]
pub(super) fn gate_products<T: Scalar, const K: usize, const H: usize, const PARTS: usize>(
    bias: &[T],
    parts: [(&[T], &[T]); PARTS],
    out: &mut [T],
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        let f32_parts = parts.map(|(w, x)| (bytemuck::cast_slice(w), bytemuck::cast_slice(x)));
        if crate::kernels::avx512_gates::wide_gate_products::<K, H, PARTS>(
            bytemuck::cast_slice(bias),
            f32_parts,
            bytemuck::cast_slice_mut(out),
        ) {
            return;
        }
    }
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if fused() {
        products::<Fused, T, PARTS, BLOCK>(bias, parts, out);
        return;
    }
    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    let _ = fused;
    products::<Separate, T, PARTS, BLOCK>(bias, parts, out);
}

#[inline(always)]
fn products<F: MulAdd, T: Scalar, const PARTS: usize, const BLOCK: usize>(
    bias: &[T],
    parts: [(&[T], &[T]); PARTS],
    out: &mut [T],
) {
    // Whole blocks of `BLOCK` rows, then of 8, then the rows left one at a time.
    let at = blocks::<F, T, PARTS, BLOCK>(bias, &parts, out, 0);
    let at = blocks::<F, T, PARTS, 8>(bias, &parts, out, at);
    let rows = out.len();
    for row in at..rows {
        let mut sum = bias[row];
        for &(weights, x) in &parts {
            for (j, &scale) in x.iter().enumerate() {
                sum = F::mul_add(weights[j * rows + row], scale, sum);
            }
        }
        out[row] = sum;
    }
}

/// [`products`]' rows from `at` in whole blocks of `BLOCK`, each held in [`LANES`] partial
/// sums; returns the first row not done.
#[inline(always)]
fn blocks<F: MulAdd, T: Scalar, const PARTS: usize, const BLOCK: usize>(
    bias: &[T],
    parts: &[(&[T], &[T]); PARTS],
    out: &mut [T],
    mut at: usize,
) -> usize {
    let rows = out.len();
    while at + BLOCK <= rows {
        let mut sums = [[T::zero(); BLOCK]; LANES];
        sums[0].copy_from_slice(&bias[at..at + BLOCK]);
        for &(weights, x) in parts {
            let mut j = 0;
            while j + LANES <= x.len() {
                for (lane, sum) in sums.iter_mut().enumerate() {
                    let column = &weights[(j + lane) * rows + at..][..BLOCK];
                    let scale = x[j + lane];
                    for (s, &w) in sum.iter_mut().zip(column) {
                        *s = F::mul_add(w, scale, *s);
                    }
                }
                j += LANES;
            }
            while j < x.len() {
                let column = &weights[j * rows + at..][..BLOCK];
                for (s, &w) in sums[0].iter_mut().zip(column) {
                    *s = F::mul_add(w, x[j], *s);
                }
                j += 1;
            }
        }
        for (k, o) in out[at..at + BLOCK].iter_mut().enumerate() {
            *o = (sums[0][k] + sums[1][k]) + (sums[2][k] + sums[3][k]);
        }
        at += BLOCK;
    }
    at
}

/// A cell's weight columns (`[[gate; K]; COLUMNS]`) as one column-major slice of `K * H` rows.
#[inline(always)]
pub(super) fn flat<T: Scalar, const H: usize, const K: usize>(
    columns: &[[SVector<T, H>; K]],
) -> &[T] {
    bytemuck::cast_slice(columns.as_flattened())
}

/// As [`flat`], to write.
#[inline(always)]
pub(super) fn flat_mut<T: Scalar, const H: usize, const K: usize>(
    columns: &mut [[SVector<T, H>; K]],
) -> &mut [T] {
    bytemuck::cast_slice_mut(columns.as_flattened_mut())
}

/// `Parameters` and `HasGradients` for a cell with `$gates` gates, of kind `$kind`: the tensors `weight_ih_l0`
/// (`[gates * H, IN]`), `weight_hh_l0` (`[gates * H, H]`), `bias_ih_l0` and `bias_hh_l0`
/// (`[gates * H]`), named and laid out as PyTorch's state dict has them. The gradients have the
/// layer's own shapes, so they are a value of the layer's type.
macro_rules! cell_parameters {
    ($name:ident $(< $($generic:ident),* >)?, $gates:expr, $kind:expr) => {
        impl<const IN: usize, const HIDDEN: usize, $($($generic: 'static,)*)? T: $crate::Scalar>
            $crate::Parameters<T> for $name<IN, HIDDEN, $($($generic,)*)? T>
        {
            const TENSORS: usize = 4;
            const PARAMETERS: usize = $gates * HIDDEN * (IN + HIDDEN + 2);

            #[inline]
            fn zeros() -> Self {
                let () = Self::NONZERO_WIDTHS;
                bytemuck::Zeroable::zeroed()
            }

            #[inline]
            fn tensor(&self, index: usize) -> &[T] {
                match index {
                    0 => super::recurrent::flat(&self.weight_ih),
                    1 => super::recurrent::flat(&self.weight_hh),
                    2 => bytemuck::cast_slice(&self.bias_ih[..]),
                    3 => bytemuck::cast_slice(&self.bias_hh[..]),
                    _ => &[],
                }
            }

            #[inline]
            fn tensor_mut(&mut self, index: usize) -> &mut [T] {
                match index {
                    0 => super::recurrent::flat_mut(&mut self.weight_ih),
                    1 => super::recurrent::flat_mut(&mut self.weight_hh),
                    2 => bytemuck::cast_slice_mut(&mut self.bias_ih[..]),
                    3 => bytemuck::cast_slice_mut(&mut self.bias_hh[..]),
                    _ => &mut [],
                }
            }

            fn kind() -> $crate::layer::LayerKind {
                $kind
            }

            #[inline]
            fn tensor_info(index: usize) -> Option<$crate::TensorInfo> {
                let (name, shape, layout): (_, &'static [usize], _) = match index {
                    0 => ("weight_ih_l0", const { &[$gates * HIDDEN, IN] }, $crate::Layout::ColumnMajor),
                    1 => ("weight_hh_l0", const { &[$gates * HIDDEN, HIDDEN] }, $crate::Layout::ColumnMajor),
                    2 => ("bias_ih_l0", const { &[$gates * HIDDEN] }, $crate::Layout::RowMajor),
                    3 => ("bias_hh_l0", const { &[$gates * HIDDEN] }, $crate::Layout::RowMajor),
                    _ => return None,
                };
                Some($crate::TensorInfo { layer: "", name, shape, layout })
            }
        }

        impl<const IN: usize, const HIDDEN: usize, $($($generic: 'static,)*)? T: $crate::Scalar>
            $crate::layer::HasGradients<T> for $name<IN, HIDDEN, $($($generic,)*)? T>
        {
            type Gradients = Self;
        }
    };
}

pub(super) use cell_parameters;

/// Fresh weights for a cell: each column drawn from `init`'s range for the gate's fan-in and
/// fan-out (`IN` or `HIDDEN` columns into `HIDDEN` units), biases zero.
pub(super) fn initialize_cell<T: Scalar, R: Rng + ?Sized, const H: usize, const K: usize>(
    weight_ih: &mut [[SVector<T, H>; K]],
    weight_hh: &mut [[SVector<T, H>; K]],
    biases: [&mut [SVector<T, H>; K]; 2],
    init: Init,
    rng: &mut R,
) {
    for weights in [weight_ih, weight_hh] {
        let limit = init.limit(weights.len(), H);
        for w in flat_mut(weights) {
            *w = T::cast_from(uniform(rng, limit));
        }
    }
    for bias in biases {
        bias.fill(SVector::zeros());
    }
}

/// `values` as f32, when `T` is f32: the type that takes the fast activations.
#[inline(always)]
fn as_f32<T: Scalar>(values: &mut [T]) -> Option<&mut [f32]> {
    (TypeId::of::<T>() == TypeId::of::<f32>()).then(|| bytemuck::cast_slice_mut(values))
}

/// The logistic sigmoid `1 / (1 + e^-z)` of each value, in place; in f32 as
/// `(1 + tanh(z / 2)) / 2`, through [`fast_tanh`].
#[inline(always)]
pub(super) fn sigmoid<T: Scalar>(values: &mut [T]) {
    if let Some(values) = as_f32(values) {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if fused() {
            for v in values {
                *v = Fused::mul_add(0.5, fast_tanh::<Fused>(0.5 * *v), 0.5);
            }
            return;
        }
        for v in values {
            *v = 0.5 * fast_tanh::<Separate>(0.5 * *v) + 0.5;
        }
        return;
    }
    for v in values {
        *v = T::one() / (T::one() + (-*v).exp());
    }
}

/// `tanh` of each value, in place.
#[inline(always)]
pub(super) fn tanh<T: Scalar>(values: &mut [T]) {
    if let Some(values) = as_f32(values) {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if fused() {
            for v in values {
                *v = fast_tanh::<Fused>(*v);
            }
            return;
        }
        for v in values {
            *v = fast_tanh::<Separate>(*v);
        }
        return;
    }
    for v in values {
        *v = v.tanh();
    }
}

/// `tanh(z)` in f32 as Eigen computes it: a [13/6] rational function of `z` clamped to
/// `[-9, 9]` (beyond which tanh is 1 in f32), within about 1e-7 of the exact value. Branch-free
/// and without an exponential, so a gate's worth is a short run of vector multiply-adds and one
/// division, which matters because each step waits for the one before.
#[inline(always)]
fn fast_tanh<F: MulAdd>(z: f32) -> f32 {
    let x = z.clamp(-9.0, 9.0);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = F::mul_add(p, x2, 2.000_188e-13);
    p = F::mul_add(p, x2, -8.604_672e-11);
    p = F::mul_add(p, x2, 5.122_297e-8);
    p = F::mul_add(p, x2, 1.485_722_4e-5);
    p = F::mul_add(p, x2, 6.372_619_3e-4);
    p = F::mul_add(p, x2, 4.893_524_6e-3);
    let mut q = 1.198_258_4e-6_f32;
    q = F::mul_add(q, x2, 1.185_347_1e-4);
    q = F::mul_add(q, x2, 2.268_434_6e-3);
    q = F::mul_add(q, x2, 4.893_525e-3);
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_activations_are_close_to_the_exact_ones() {
        let inputs: [f32; 9] = [-30.0, -8.5, -3.0, -0.5, 0.0, 1e-3, 0.7, 4.2, 12.0];
        let mut s = inputs;
        let mut t = inputs;
        sigmoid(&mut s);
        tanh(&mut t);
        for ((&x, s), t) in inputs.iter().zip(s).zip(t) {
            let x = f64::from(x);
            assert!(
                (f64::from(s) - 1.0 / (1.0 + (-x).exp())).abs() < 2e-7,
                "sigmoid({x})"
            );
            assert!((f64::from(t) - x.tanh()).abs() < 5e-7, "tanh({x})");
        }
    }

    #[test]
    fn the_fast_tanh_is_close_everywhere() {
        let mut z = -12.0_f32;
        while z <= 12.0 {
            for got in [fast_tanh::<Separate>(z), fast_tanh::<Fused>(z)] {
                let error = (f64::from(got) - f64::from(z).tanh()).abs();
                // Under 8 units in the last place of f32 numbers near 1.
                assert!(error < 5e-7, "tanh({z}): error {error}");
            }
            z += 0.001_9;
        }
    }

    #[test]
    fn gate_products_sum_bias_and_both_products() {
        // 59 rows (a block of 32 or 16, one of 8, and rows over), 5 and 2 columns: every path
        // of the kernel.
        let rows = 59;
        let w1: Vec<f64> = (0..rows * 5)
            .map(|i| f64::from(i as u32 % 7) - 3.0)
            .collect();
        let w2: Vec<f64> = (0..rows * 2)
            .map(|i| f64::from(i as u32 % 5) * 0.5)
            .collect();
        let x1 = [1.0, -2.0, 0.5, 3.0, -1.0];
        let x2 = [2.0, -0.25];
        let bias: Vec<f64> = (0..rows).map(|i| f64::from(i as u32)).collect();
        let mut out = vec![0.0; rows];
        gate_products::<f64, 1, 59, 2>(&bias, [(&w1, &x1[..]), (&w2, &x2[..])], &mut out);
        for row in 0..rows {
            let mut expected = bias[row];
            for (j, x) in x1.iter().enumerate() {
                expected += w1[j * rows + row] * x;
            }
            for (j, x) in x2.iter().enumerate() {
                expected += w2[j * rows + row] * x;
            }
            assert_eq!(out[row], expected, "row {row}");
        }
    }
}
