//! The crate's only unsafe code, each block with the reason it is sound:
//!
//! - matrix products through matrixmultiply on plain slices with explicit strides, after checking
//!   that every element the call can touch lies inside the slices it was given (a transposed
//!   operand is the same slice with its strides swapped, so nothing is copied);
//! - f32 kernels written with intrinsics, run only after the CPU has been checked for their
//!   features, every load and store on a slice of the length it touches (the masked loads read
//!   no lane outside their slice): AVX2/FMA kernels for single samples and for batches of layers
//!   whose width is not a multiple of 8, and AVX-512 register tiles for layers of a multiple of
//!   16 units.

#[cfg(feature = "std")]
use core::any::TypeId;

use crate::Scalar;

/// A read-only `rows x cols` matrix over `data`: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatrixRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

#[cfg(feature = "std")]
impl<'a, T> MatrixRef<'a, T> {
    /// A column-major `rows x cols` matrix: nalgebra's layout.
    pub fn column_major(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: 1,
            col_stride: rows,
        }
    }

    /// The transpose, as a view of the same memory.
    pub fn transpose(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// A writable column-major `rows x cols` matrix over `data`.
#[cfg(feature = "std")]
#[derive(Debug)]
pub(crate) struct MatrixMut<'a, T> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
}

/// Whether every element of a `rows x cols` matrix with these strides lies in `len` elements.
#[cfg(feature = "std")]
fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    rows == 0
        || cols == 0
        || (rows - 1)
            .checked_mul(row_stride)
            .zip((cols - 1).checked_mul(col_stride))
            .and_then(|(r, c)| r.checked_add(c))
            .is_some_and(|last| last < len)
}

#[cfg(feature = "std")]
/// `c = alpha * a * b + beta * c`, where `beta == 0` ignores what `c` held.
///
/// # Panics
///
/// When the shapes do not agree or a matrix does not fit in its slice: callers build both from
/// the same const widths, so this is a bug in typenn, not a user error.
pub(crate) fn gemm<T: Scalar>(
    alpha: T,
    a: MatrixRef<'_, T>,
    b: MatrixRef<'_, T>,
    beta: T,
    c: MatrixMut<'_, T>,
) {
    assert!(
        a.cols == b.rows && c.rows == a.rows && c.cols == b.cols,
        "gemm shapes: {}x{} times {}x{} into {}x{}",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
    assert!(
        fits(a.data.len(), a.rows, a.cols, a.row_stride, a.col_stride),
        "gemm: a does not fit its slice"
    );
    assert!(
        fits(b.data.len(), b.rows, b.cols, b.row_stride, b.col_stride),
        "gemm: b does not fit its slice"
    );
    assert!(
        fits(c.data.len(), c.rows, c.cols, 1, c.rows),
        "gemm: c does not fit its slice"
    );
    if c.rows == 0 || c.cols == 0 {
        return;
    }
    let stride = |s: usize| isize::try_from(s).unwrap_or(isize::MAX);
    let (rsa, csa, rsb, csb) = (
        stride(a.row_stride),
        stride(a.col_stride),
        stride(b.row_stride),
        stride(b.col_stride),
    );
    let (rsc, csc) = (1, stride(c.rows));
    // The same call for either scalar: `Scalar` is sealed to f32 and f64, so the casts to the
    // type `TypeId` names are exact.
    macro_rules! call {
        ($gemm:path, $float:ty) => {{
            let (a_data, b_data): (&[$float], &[$float]) =
                (bytemuck::cast_slice(a.data), bytemuck::cast_slice(b.data));
            let c_data: &mut [$float] = bytemuck::cast_slice_mut(c.data);
            // SAFETY: the asserts above put every element matrixmultiply reads from `a` and `b`
            // and writes to `c` inside those slices; `c` is a distinct `&mut` slice with
            // column-major strides, so its elements do not alias each other or the inputs.
            unsafe {
                $gemm(
                    c.rows,
                    a.cols,
                    c.cols,
                    bytemuck::cast(alpha),
                    a_data.as_ptr(),
                    rsa,
                    csa,
                    b_data.as_ptr(),
                    rsb,
                    csb,
                    bytemuck::cast(beta),
                    c_data.as_mut_ptr(),
                    rsc,
                    csc,
                );
            }
        }};
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        call!(matrixmultiply::sgemm, f32);
    } else {
        call!(matrixmultiply::dgemm, f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by the definition, for comparison.
    fn naive(a: MatrixRef<'_, f64>, b: MatrixRef<'_, f64>) -> Vec<f64> {
        let mut c = vec![0.0; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for k in 0..a.cols {
                    c[i + j * a.rows] += a.data[i * a.row_stride + k * a.col_stride]
                        * b.data[k * b.row_stride + j * b.col_stride];
                }
            }
        }
        c
    }

    #[test]
    fn transposed_operands_match_the_definition() {
        // Small shapes (nalgebra mishandles strided views below 6) and a larger one.
        for (m, k, n) in [(2, 3, 4), (5, 1, 3), (4, 2, 1), (7, 9, 8)] {
            let a_data: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
            let b_data: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.91).cos()).collect();
            // a stored as its transpose (k x m), b column-major.
            let a = MatrixRef::column_major(&a_data, k, m).transpose();
            let b = MatrixRef::column_major(&b_data, k, n);
            let mut c = vec![f64::NAN; m * n];
            gemm(
                1.0,
                a,
                b,
                0.0,
                MatrixMut {
                    data: &mut c,
                    rows: m,
                    cols: n,
                },
            );
            for (x, y) in c.iter().zip(naive(a, b)) {
                assert!((x - y).abs() < 1e-12, "{m}x{k}x{n}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn accumulates_with_beta_in_f32() {
        let a = [1.0_f32, 2.0, 3.0, 4.0]; // [[1, 3], [2, 4]]
        let b = [1.0_f32, 1.0];
        let mut c = [10.0_f32, 20.0];
        gemm(
            2.0,
            MatrixRef::column_major(&a, 2, 2),
            MatrixRef::column_major(&b, 2, 1),
            1.0,
            MatrixMut {
                data: &mut c,
                rows: 2,
                cols: 1,
            },
        );
        assert_eq!(c, [18.0, 32.0]);
    }

    #[test]
    fn dispatched_kernels_agree_with_the_definition() {
        // Two samples through a 3 -> 2 affine map, then the update y += 0.5 x.
        let w = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [[1, 3, 5], [2, 4, 6]]
        let b = [0.5_f32, -0.5];
        let x = [1.0_f32, 0.0, -1.0, 2.0, 1.0, 0.0];
        let mut z = [0.0_f32; 4];
        dispatch::affine::<f32, 3, 2>(&w, &b, &x, &mut z);
        assert_eq!(
            z,
            [
                0.5 + 1.0 - 5.0,
                -0.5 + 2.0 - 6.0,
                0.5 + 2.0 + 3.0,
                -0.5 + 4.0 + 4.0
            ]
        );
        let mut y = [1.0_f32; 4];
        dispatch::axpy(0.5, &z, &mut y);
        assert_eq!(y, [1.0 - 1.75, 1.0 - 2.25, 1.0 + 2.75, 1.0 + 3.75]);
    }

    /// The single-sample kernel (vector code on CPUs with AVX2 and FMA) against the portable
    /// one, for widths that exercise full, partial and several row blocks, and a dot product.
    #[test]
    fn single_sample_kernel_matches_the_portable_kernel() {
        use crate::kernels::portable::{Separate, affine};
        use crate::{Activation, Relu, Softmax, Tanh};

        fn check<A: Activation, const IN: usize, const OUT: usize>() {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN).map(|k| (k as f32 * 0.73).cos()).collect();
            let (mut z, mut a) = (vec![0.0_f32; OUT], vec![0.0_f32; OUT]);
            dispatch::affine_single::<f32, A, IN, OUT>(&w, &b, &x, &mut z, &mut a);
            let mut expected_z = vec![0.0_f32; OUT];
            affine::<Separate, f32, IN, OUT>(&w, &b, &x, &mut expected_z);
            let mut expected_a = vec![0.0_f32; OUT];
            A::forward(OUT, &expected_z, &mut expected_a);
            for (got, want) in z.iter().zip(&expected_z).chain(a.iter().zip(&expected_a)) {
                assert!(
                    (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "{} {IN} -> {OUT}: {got} against {want}",
                    A::NAME
                );
            }
        }
        check::<Relu, 32, 10>();
        check::<Tanh, 10, 1>();
        check::<Relu, 3, 1>();
        check::<Tanh, 17, 1>();
        check::<Relu, 1, 8>();
        check::<Tanh, 5, 16>();
        check::<Relu, 7, 17>();
        check::<Tanh, 4, 33>();
        check::<Softmax, 6, 12>();
    }

    /// The batch kernels (vector code, row by row, on CPUs with AVX2 and FMA for widths that are
    /// not a multiple of 8) against the portable ones, over shapes with tails in every
    /// direction. The sums run in another order, so the match is to rounding.
    #[test]
    fn batch_kernels_match_the_portable_kernels() {
        use crate::kernels::portable::{Separate, affine, outer_sum, outer_update};

        fn check<const IN: usize, const OUT: usize>(samples: usize) {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN * samples).map(|k| (k as f32 * 0.73).cos()).collect();
            let d: Vec<f32> = (0..OUT * samples)
                .map(|k| (k as f32 * 0.29).sin())
                .collect();
            let close = |got: &[f32], want: &[f32]| {
                got.iter()
                    .zip(want)
                    .all(|(g, w)| (g - w).abs() <= 1e-5 * w.abs().max(1.0))
            };
            let mut z = vec![0.0_f32; OUT * samples];
            dispatch::affine::<f32, IN, OUT>(&w, &b, &x, &mut z);
            let mut expected = vec![0.0_f32; OUT * samples];
            affine::<Separate, f32, IN, OUT>(&w, &b, &x, &mut expected);
            assert!(close(&z, &expected), "affine {IN} -> {OUT} x {samples}");

            let mut gradient = vec![9.0_f32; IN * OUT];
            dispatch::outer_sum::<f32, IN, OUT>(&d, &x, &mut gradient);
            let mut expected = vec![0.0_f32; IN * OUT];
            outer_sum::<Separate, f32, IN, OUT>(&d, &x, &mut expected);
            assert!(
                close(&gradient, &expected),
                "gradient {IN} -> {OUT} x {samples}"
            );

            let mut updated = w.clone();
            dispatch::outer_update::<f32, IN, OUT>(-0.5, &d, &x, &mut updated);
            let mut expected = w.clone();
            outer_update::<Separate, f32, IN, OUT>(-0.5, &d, &x, &mut expected);
            assert!(
                close(&updated, &expected),
                "update {IN} -> {OUT} x {samples}"
            );
            assert_ne!(updated, w);
        }
        check::<32, 10>(32);
        check::<5, 3>(9);
        check::<17, 13>(8);
        check::<8, 20>(11);
        check::<3, 1>(16);
        check::<9, 30>(7);
        check::<4, 16>(12);
    }

    /// The single-sample update (vector code on CPUs with AVX2 and FMA) against the portable
    /// batch kernel for one sample, with the multiply-add the dispatch picks for this CPU: the
    /// same roundings, so the same bits.
    #[test]
    fn single_sample_update_matches_the_portable_kernel() {
        use crate::kernels::portable::{Fused, Separate, outer_update};

        fn check<const IN: usize, const OUT: usize>() {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let d: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN).map(|k| (k as f32 * 0.73).cos()).collect();
            let mut got = w.clone();
            dispatch::rank_one_single::<f32, IN, OUT>(-0.25, &d, &x, &mut got);
            let mut expected = w.clone();
            if dispatch::fused() {
                outer_update::<Fused, f32, IN, OUT>(-0.25, &d, &x, &mut expected);
            } else {
                outer_update::<Separate, f32, IN, OUT>(-0.25, &d, &x, &mut expected);
            }
            assert_eq!(got, expected, "{IN} -> {OUT}");
            assert_ne!(got, w);
        }
        check::<32, 10>();
        check::<3, 8>();
        check::<5, 13>();
        check::<2, 15>();
        check::<4, 20>();
        check::<1, 1>();
    }

    /// The AVX-512 products against the definition (in f64), over shapes with full and edge
    /// tiles in both directions. On a CPU without AVX-512F (or under miri) they decline, and
    /// the test checks that they said so.
    #[test]
    fn wide_products_match_the_definition() {
        let available = cfg!(all(target_arch = "x86_64", not(miri)))
            && std::arch::is_x86_feature_detected!("avx512f");
        for (rows, depth, batch) in [
            (16, 1, 1),
            (32, 5, 7),
            (48, 13, 6),
            (80, 3, 13),
            (128, 9, 64),
        ] {
            let w: Vec<f32> = (0..rows * depth).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..rows).map(|k| (k as f32 * 0.11).cos()).collect();
            let x: Vec<f32> = (0..depth * batch)
                .map(|k| (k as f32 * 0.73).cos())
                .collect();
            let d: Vec<f32> = (0..rows * batch).map(|k| (k as f32 * 0.29).sin()).collect();
            let close =
                |got: f32, want: f64| (f64::from(got) - want).abs() <= 1e-5 * want.abs().max(1.0);

            let mut z = vec![0.0_f32; rows * batch];
            assert_eq!(
                wide_affine(&w, &b, &x, &mut z, (rows, depth, batch)),
                available
            );
            if available {
                for j in 0..batch {
                    for o in 0..rows {
                        let want = f64::from(b[o])
                            + (0..depth)
                                .map(|i| f64::from(w[i * rows + o]) * f64::from(x[j * depth + i]))
                                .sum::<f64>();
                        assert!(close(z[j * rows + o], want), "{rows}x{depth}x{batch} z");
                    }
                }
            }
            for accumulate in [false, true] {
                let mut updated = w.clone();
                let ran = wide_outer(-0.5, &d, &x, &mut updated, accumulate, (rows, depth, batch));
                assert_eq!(ran, available);
                if !available {
                    continue;
                }
                for i in 0..depth {
                    for o in 0..rows {
                        let sum: f64 = (0..batch)
                            .map(|j| f64::from(d[j * rows + o]) * f64::from(x[j * depth + i]))
                            .sum();
                        let start = if accumulate {
                            f64::from(w[i * rows + o])
                        } else {
                            0.0
                        };
                        let want = start - 0.5 * sum;
                        assert!(
                            close(updated[i * rows + o], want),
                            "{rows}x{depth}x{batch} w"
                        );
                    }
                }
            }
        }
        // Rows that are not a multiple of 16, and f64, are declined.
        let mut z = [0.0_f32; 10];
        assert!(!wide_affine(
            &[0.0; 10],
            &[0.0; 10],
            &[0.0],
            &mut z,
            (10, 1, 1)
        ));
        let mut z = [0.0_f64; 16];
        assert!(!wide_affine(
            &[0.0; 16],
            &[0.0; 16],
            &[0.0],
            &mut z,
            (16, 1, 1)
        ));
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn refuses_views_past_their_slices() {
        let a = [1.0_f32; 3];
        let b = [1.0_f32; 2];
        let mut c = [0.0_f32; 2];
        gemm(
            1.0,
            MatrixRef::column_major(&a, 2, 2),
            MatrixRef::column_major(&b, 2, 1),
            0.0,
            MatrixMut {
                data: &mut c,
                rows: 2,
                cols: 1,
            },
        );
    }
}

/// `values` as f32, when `T` is f32.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
fn f32s<T: Scalar>(values: &[T]) -> Option<&[f32]> {
    (core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>())
        .then(|| bytemuck::cast_slice(values))
}

/// `values` as f32, when `T` is f32.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
fn f32s_mut<T: Scalar>(values: &mut [T]) -> Option<&mut [f32]> {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        Some(bytemuck::cast_slice_mut(values))
    } else {
        None
    }
}

/// Single-sample f32 kernels written with AVX2 and FMA intrinsics, so that their code does not
/// depend on how the optimizer vectorizes the surrounding pass. They are `#[inline(always)]`
/// rather than `#[target_feature]` functions (which cannot be forced inline): inlined into a
/// function compiled for AVX2 and FMA they become plain vector instructions.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2 {
    use crate::Activation;
    use core::arch::x86_64::{
        __m256, __m256i, _mm_cvtss_f32, _mm_fmadd_ps, _mm_fmadd_ss, _mm_loadu_ps, _mm_set_ss,
        _mm_storeu_ps, _mm256_add_ps, _mm256_castps256_ps128, _mm256_cmpgt_epi32, _mm256_fmadd_ps,
        _mm256_hadd_ps, _mm256_loadu_ps, _mm256_maskload_ps, _mm256_permute2f128_ps,
        _mm256_set1_epi32, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps, _mm256_storeu_ps,
    };

    /// `a * b + c` in one rounding (`f32::mul_add` needs `std`).
    #[inline(always)]
    unsafe fn fused_multiply_add(a: f32, b: f32, c: f32) -> f32 {
        // SAFETY (for the caller's CPU): a scalar FMA on registers.
        unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) }
    }

    /// `W += (alpha d) x^T` for one sample: plain SGD's update of an `OUT x IN` column-major
    /// weight matrix, `OUT` at least 8. The scaled deltas stay in registers; each column is
    /// loaded, updated and stored once, its last `OUT % 8` rows in a piece of 4 and then one by
    /// one, so that no masked store is needed (slow on some CPUs). The same roundings as the
    /// portable kernel.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2 and FMA.
    #[inline(always)]
    pub(super) unsafe fn rank_one<const IN: usize, const OUT: usize>(
        alpha: f32,
        delta: &[f32],
        input: &[f32],
        weights: &mut [f32],
    ) {
        let (d, x, w) = (&delta[..OUT], &input[..IN], &mut weights[..OUT * IN]);
        let full = OUT / 8 * 8;
        let mut scaled = [0.0_f32; OUT];
        for (s, &d) in scaled.iter_mut().zip(d) {
            *s = alpha * d;
        }
        // SAFETY: the caller guarantees the CPU features; every access below is to a slice of
        // the length it reads or writes.
        unsafe {
            for (column, &scale) in w.chunks_exact_mut(OUT).zip(x) {
                let broadcast = _mm256_set1_ps(scale);
                for (target, s) in column[..full]
                    .chunks_exact_mut(8)
                    .zip(scaled[..full].chunks_exact(8))
                {
                    let updated = _mm256_fmadd_ps(load(s, 0, 8), broadcast, load(target, 0, 8));
                    _mm256_storeu_ps(target.as_mut_ptr(), updated);
                }
                let mut row = full;
                if OUT - row >= 4 {
                    let target = &mut column[row..row + 4];
                    let updated = _mm_fmadd_ps(
                        _mm_loadu_ps(scaled[row..row + 4].as_ptr()),
                        _mm256_castps256_ps128(broadcast),
                        _mm_loadu_ps(target.as_ptr()),
                    );
                    _mm_storeu_ps(target.as_mut_ptr(), updated);
                    row += 4;
                }
                for (target, &s) in column[row..].iter_mut().zip(&scaled[row..]) {
                    *target = fused_multiply_add(s, scale, *target);
                }
            }
        }
    }

    /// Whether the batch kernels below take a layer: widths that waste part of a vector in the
    /// column-by-column kernels (`OUT` not a multiple of 8), weights small enough to transpose
    /// on the stack, and enough samples to repay it.
    #[inline(always)]
    pub(super) const fn batch_kernels_take(inputs: usize, outputs: usize, samples: usize) -> bool {
        !outputs.is_multiple_of(8) && inputs * outputs <= 4096 && samples >= 8
    }

    /// `z[:, j] = W x[:, j] + b` for a batch, row by row: `W` is transposed once onto the stack,
    /// so each output is a dot product of two contiguous vectors, taken eight outputs at a time
    /// and reduced across lanes together. Every multiply-add then uses a whole vector, where the
    /// column-by-column kernel wastes part of one on each column when `OUT` is not a multiple
    /// of 8.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2 and FMA.
    #[inline(always)]
    pub(super) unsafe fn affine_batch<const IN: usize, const OUT: usize>(
        weights: &[f32],
        bias: &[f32],
        inputs: &[f32],
        outputs: &mut [f32],
    ) {
        let (w, b) = (&weights[..OUT * IN], &bias[..OUT]);
        let mut rows = [[0.0_f32; IN]; OUT];
        for (i, column) in w.chunks_exact(OUT).enumerate() {
            for (row, &value) in rows.iter_mut().zip(column) {
                row[i] = value;
            }
        }
        // SAFETY: the caller guarantees the CPU features; loads go through `load`, which checks
        // its bounds.
        unsafe {
            for (x, z) in inputs.chunks_exact(IN).zip(outputs.chunks_exact_mut(OUT)) {
                let mut first = 0;
                while first < OUT {
                    let count = (OUT - first).min(8);
                    let mut sums = [_mm256_setzero_ps(); 8];
                    let mut i = 0;
                    while i < IN {
                        let lanes = (IN - i).min(8);
                        let input = load(x, i, lanes);
                        for (k, sum) in sums.iter_mut().enumerate().take(count) {
                            *sum = _mm256_fmadd_ps(load(&rows[first + k], i, lanes), input, *sum);
                        }
                        i += 8;
                    }
                    let mut lanes = [0.0_f32; 8];
                    let total = _mm256_add_ps(across(sums), load(b, first, count));
                    _mm256_storeu_ps(lanes.as_mut_ptr(), total);
                    z[first..first + count].copy_from_slice(&lanes[..count]);
                    first += 8;
                }
            }
        }
    }

    /// `W += alpha * sum_j delta[:, j] x[:, j]^T` for a batch: the sums are gathered eight
    /// inputs at a time along each sample's contiguous inputs, for up to twelve rows at once in
    /// registers, then added to the weights. Every multiply-add uses a whole vector.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2 and FMA.
    #[inline(always)]
    pub(super) unsafe fn outer_update_batch<const IN: usize, const OUT: usize>(
        alpha: f32,
        delta: &[f32],
        inputs: &[f32],
        weights: &mut [f32],
    ) {
        const ROWS: usize = 12;
        let w = &mut weights[..OUT * IN];
        // SAFETY: the caller guarantees the CPU features; loads go through `load`, which checks
        // its bounds.
        unsafe {
            let mut i = 0;
            while i < IN {
                let lanes = (IN - i).min(8);
                let mut first = 0;
                while first < OUT {
                    let count = (OUT - first).min(ROWS);
                    let mut sums = [_mm256_setzero_ps(); ROWS];
                    for (d, x) in delta.chunks_exact(OUT).zip(inputs.chunks_exact(IN)) {
                        let input = load(x, i, lanes);
                        for (k, sum) in sums.iter_mut().enumerate().take(count) {
                            *sum = _mm256_fmadd_ps(_mm256_set1_ps(d[first + k]), input, *sum);
                        }
                    }
                    for (k, &sum) in sums.iter().enumerate().take(count) {
                        let mut step = [0.0_f32; 8];
                        _mm256_storeu_ps(step.as_mut_ptr(), sum);
                        for (l, &value) in step.iter().enumerate().take(lanes) {
                            let target = &mut w[(i + l) * OUT + first + k];
                            *target = fused_multiply_add(alpha, value, *target);
                        }
                    }
                    first += ROWS;
                }
                i += 8;
            }
        }
    }

    /// The lane sums of eight vectors, as one vector: lane `k` is the sum of `v[k]`'s lanes.
    #[inline(always)]
    unsafe fn across(v: [__m256; 8]) -> __m256 {
        // SAFETY (for the caller's CPU): register shuffles and adds.
        unsafe {
            let a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
            let b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
            _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(a, b),
                _mm256_permute2f128_ps::<0x31>(a, b),
            )
        }
    }

    /// Lanes below `count` set.
    #[inline(always)]
    unsafe fn mask(count: usize) -> __m256i {
        // SAFETY (for the caller's CPU): AVX2 integer compare of constants.
        unsafe {
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(i32::try_from(count).unwrap_or(8)),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        }
    }

    /// The first `count` (1 to 8) floats of `values` from `start`, zeros in the other lanes.
    #[inline(always)]
    unsafe fn load(values: &[f32], start: usize, count: usize) -> __m256 {
        assert!((1..=8).contains(&count) && start + count <= values.len());
        // SAFETY: the assert keeps the `count` floats read inside `values`; a masked load does
        // not touch the lanes left out of its mask.
        unsafe {
            let pointer = values.as_ptr().add(start);
            if count == 8 {
                _mm256_loadu_ps(pointer)
            } else {
                _mm256_maskload_ps(pointer, mask(count))
            }
        }
    }

    /// `z = W x + b` and `a = A(z)` for one sample: `W` is `OUT x IN` column-major, `OUT` is 1
    /// or at least 8 (narrower layers waste most of each vector, and go to the portable kernel),
    /// and `A` is element by element, so it is applied to whole vectors of sixteen lanes before
    /// `z` and `a` are written, each in one piece.
    ///
    /// # Safety
    ///
    /// The CPU must have AVX2 and FMA.
    #[inline(always)]
    pub(super) unsafe fn affine<A: Activation, const IN: usize, const OUT: usize>(
        weights: &[f32],
        bias: &[f32],
        input: &[f32],
        z: &mut [f32],
        a: &mut [f32],
    ) {
        let (w, b, x, z, a) = (
            &weights[..OUT * IN],
            &bias[..OUT],
            &input[..IN],
            &mut z[..OUT],
            &mut a[..OUT],
        );
        // SAFETY: every load goes through `load`, which checks its bounds; the caller
        // guarantees the CPU features.
        unsafe {
            if OUT == 1 {
                // One unit: its weights are contiguous, so the output is a dot product. The
                // input was usually written just before by the layer below, so it is read one
                // number at a time: a vector load of numbers stored separately would wait for
                // the stores to retire instead of taking their values on the fly. Four
                // interleaved sums keep the multiply-adds from waiting on each other.
                let mut sums = [0.0_f32; 4];
                let mut i = 0;
                while i < IN {
                    for sum in &mut sums {
                        if i < IN {
                            *sum = fused_multiply_add(w[i], x[i], *sum);
                        }
                        i += 1;
                    }
                }
                let total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
                z[0] = b[0] + total;
                A::forward(1, &z[..1], &mut a[..1]);
                return;
            }
            // Sixteen rows at a time, in two vectors (the second may be partial); each input
            // adds its column scaled by its value, in four interleaved partial sums.
            let mut row = 0;
            while row < OUT {
                let rows = (OUT - row).min(16);
                let (low, high) = (rows.min(8), rows.saturating_sub(8));
                let mut sums = [[_mm256_setzero_ps(); 2]; 4];
                sums[0][0] = load(b, row, low);
                if high > 0 {
                    sums[0][1] = load(b, row + 8, high);
                }
                let mut i = 0;
                while i < IN {
                    // Four inputs per round, one per partial sum (constant indices, so the sums
                    // stay in registers).
                    for partial in &mut sums {
                        if i < IN {
                            let scale = _mm256_set1_ps(x[i]);
                            let column = i * OUT + row;
                            partial[0] = _mm256_fmadd_ps(load(w, column, low), scale, partial[0]);
                            if high > 0 {
                                partial[1] =
                                    _mm256_fmadd_ps(load(w, column + 8, high), scale, partial[1]);
                            }
                        }
                        i += 1;
                    }
                }
                let mut lanes = [0.0_f32; 16];
                for (half, chunk) in lanes.chunks_exact_mut(8).enumerate() {
                    let total = _mm256_add_ps(
                        _mm256_add_ps(sums[0][half], sums[1][half]),
                        _mm256_add_ps(sums[2][half], sums[3][half]),
                    );
                    _mm256_storeu_ps(chunk.as_mut_ptr(), total);
                }
                let mut activated = [0.0_f32; 16];
                A::forward(16, &lanes, &mut activated);
                z[row..row + rows].copy_from_slice(&lanes[..rows]);
                a[row..row + rows].copy_from_slice(&activated[..rows]);
                row += 16;
            }
        }
    }
}

/// `z[:, j] = W x[:, j] + b` for a batch, with `W` a `rows x depth` column-major matrix: through
/// AVX-512 when `T` is f32, `rows` is a multiple of 16 and the CPU has AVX-512F. Returns whether
/// it ran; when it did not, the caller goes to matrixmultiply.
#[cfg(feature = "std")]
pub(crate) fn wide_affine<T: Scalar>(
    weights: &[T],
    bias: &[T],
    inputs: &[T],
    outputs: &mut [T],
    (rows, depth, batch): (usize, usize, usize),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if rows % 16 == 0
        && std::arch::is_x86_feature_detected!("avx512f")
        && let (Some(w), Some(b), Some(x), Some(z)) =
            (f32s(weights), f32s(bias), f32s(inputs), f32s_mut(outputs))
    {
        // SAFETY: the CPU has just been checked for AVX-512F.
        unsafe { avx512::affine(w, b, x, z, (rows, depth, batch)) };
        return true;
    }
    let _ = (weights, bias, inputs, outputs, rows, depth, batch);
    false
}

/// `W = alpha * sum_j delta[:, j] x[:, j]^T + (W if accumulate, else 0)`, with `W` a
/// `rows x depth` column-major matrix: the weight gradient (`alpha = 1`, not accumulating) or
/// plain SGD's update (`alpha = -learning_rate`, accumulating). Through AVX-512 under the same
/// conditions as [`wide_affine`]; returns whether it ran.
#[cfg(feature = "std")]
pub(crate) fn wide_outer<T: Scalar>(
    alpha: T,
    delta: &[T],
    inputs: &[T],
    weights: &mut [T],
    accumulate: bool,
    (rows, depth, batch): (usize, usize, usize),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if rows % 16 == 0
        && std::arch::is_x86_feature_detected!("avx512f")
        && let (Some(d), Some(x), Some(w)) = (f32s(delta), f32s(inputs), f32s_mut(weights))
    {
        let alpha: f32 = bytemuck::cast(alpha);
        // SAFETY: the CPU has just been checked for AVX-512F.
        unsafe { avx512::outer(alpha, d, x, w, accumulate, (rows, depth, batch)) };
        return true;
    }
    let _ = (
        alpha, delta, inputs, weights, accumulate, rows, depth, batch,
    );
    false
}

/// Products for layers of many units (a multiple of 16) in f32 with AVX-512, without packing
/// either operand: the weights are read in place, column by column, and each input number is
/// broadcast from where it lies. Register tiles of up to 64 rows by 6 columns keep 24 sums in
/// registers, so each weight vector loaded serves six multiply-adds.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx512 {
    use core::arch::x86_64::{
        __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps,
    };

    /// Rows per register tile, in vectors of 16.
    const TILE_ROWS: usize = 4;
    /// Columns per register tile.
    const TILE_COLUMNS: usize = 6;

    /// Calls `tile::<R, C>` for the tile at `(row, column)`, with `R` and `C` the tile's size
    /// (smaller at the edges), so that every tile's sums are fixed-size arrays in registers.
    macro_rules! for_each_tile {
        ($rows:expr, $columns:expr, |$r:ident, $c:ident| $tile:ident($($arg:expr),*)) => {{
            let mut row = 0;
            while row < $rows {
                let vectors = (($rows - row) / 16).min(TILE_ROWS);
                let mut column = 0;
                while column < $columns {
                    let width = ($columns - column).min(TILE_COLUMNS);
                    let ($r, $c) = (row, column);
                    macro_rules! call {
                        ($R:literal) => {
                            match width {
                                1 => $tile::<$R, 1>($($arg),*),
                                2 => $tile::<$R, 2>($($arg),*),
                                3 => $tile::<$R, 3>($($arg),*),
                                4 => $tile::<$R, 4>($($arg),*),
                                5 => $tile::<$R, 5>($($arg),*),
                                _ => $tile::<$R, 6>($($arg),*),
                            }
                        };
                    }
                    match vectors {
                        1 => call!(1),
                        2 => call!(2),
                        3 => call!(3),
                        _ => call!(4),
                    }
                    column += width;
                }
                row += vectors * 16;
            }
        }};
    }

    /// `z = W x + b` (see [`super::wide_affine`]).
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn affine(
        w: &[f32],
        b: &[f32],
        x: &[f32],
        z: &mut [f32],
        (rows, depth, batch): (usize, usize, usize),
    ) {
        assert!(rows % 16 == 0, "wide_affine: rows not a multiple of 16");
        let (w, b, x, z) = (
            &w[..rows * depth],
            &b[..rows],
            &x[..depth * batch],
            &mut z[..rows * batch],
        );
        for_each_tile!(rows, batch, |row, column| affine_tile(
            w, b, x, z, rows, depth, row, column
        ));
    }

    /// One tile of `z`: rows `row..row + 16 R`, samples `column..column + C`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    fn affine_tile<const R: usize, const C: usize>(
        w: &[f32],
        b: &[f32],
        x: &[f32],
        z: &mut [f32],
        rows: usize,
        depth: usize,
        row: usize,
        column: usize,
    ) {
        let mut sums = [[_mm512_setzero_ps(); C]; R];
        for (r, row_sums) in sums.iter_mut().enumerate() {
            let start = row + 16 * r;
            let bias = load(&b[start..start + 16]);
            *row_sums = [bias; C];
        }
        // Each sample's inputs, and each weight column's rows in this tile, as slices of known
        // length, so that the loop below needs no bounds checks.
        let samples: [&[f32]; C] =
            core::array::from_fn(|c| &x[(column + c) * depth..(column + c + 1) * depth]);
        for (k, column_weights) in w.chunks_exact(rows).enumerate() {
            let tile = &column_weights[row..row + 16 * R];
            let mut weights = [_mm512_setzero_ps(); R];
            for (vector, chunk) in weights.iter_mut().zip(tile.chunks_exact(16)) {
                *vector = load(chunk);
            }
            for c in 0..C {
                let scale = _mm512_set1_ps(samples[c][k]);
                for r in 0..R {
                    sums[r][c] = _mm512_fmadd_ps(weights[r], scale, sums[r][c]);
                }
            }
        }
        for (r, row_sums) in sums.iter().enumerate() {
            for (c, &sum) in row_sums.iter().enumerate() {
                let start = (column + c) * rows + row + 16 * r;
                store(&mut z[start..start + 16], sum);
            }
        }
    }

    /// `W = alpha * delta x^T (+ W)` (see [`super::wide_outer`]).
    ///
    /// # Safety
    ///
    /// The CPU must have AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn outer(
        alpha: f32,
        d: &[f32],
        x: &[f32],
        w: &mut [f32],
        accumulate: bool,
        (rows, depth, batch): (usize, usize, usize),
    ) {
        assert!(rows % 16 == 0, "wide_outer: rows not a multiple of 16");
        let (d, x, w) = (
            &d[..rows * batch],
            &x[..depth * batch],
            &mut w[..rows * depth],
        );
        for_each_tile!(rows, depth, |row, column| outer_tile(
            alpha, d, x, w, accumulate, rows, depth, batch, row, column
        ));
    }

    /// One tile of `W`: rows `row..row + 16 R`, columns (inputs) `column..column + C`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    fn outer_tile<const R: usize, const C: usize>(
        alpha: f32,
        d: &[f32],
        x: &[f32],
        w: &mut [f32],
        accumulate: bool,
        rows: usize,
        depth: usize,
        batch: usize,
        row: usize,
        column: usize,
    ) {
        let mut sums = [[_mm512_setzero_ps(); C]; R];
        // Each sample's deltas in this tile's rows and inputs in its columns, as slices of
        // known length, so that the loop below needs no bounds checks.
        for (sample_deltas, sample_inputs) in
            d.chunks_exact(rows).zip(x.chunks_exact(depth)).take(batch)
        {
            let tile = &sample_deltas[row..row + 16 * R];
            let inputs = &sample_inputs[column..column + C];
            let mut deltas = [_mm512_setzero_ps(); R];
            for (vector, chunk) in deltas.iter_mut().zip(tile.chunks_exact(16)) {
                *vector = load(chunk);
            }
            for c in 0..C {
                let scale = _mm512_set1_ps(inputs[c]);
                for r in 0..R {
                    sums[r][c] = _mm512_fmadd_ps(deltas[r], scale, sums[r][c]);
                }
            }
        }
        let alpha = _mm512_set1_ps(alpha);
        for (r, row_sums) in sums.iter().enumerate() {
            for (c, &sum) in row_sums.iter().enumerate() {
                let start = (column + c) * rows + row + 16 * r;
                let target = &mut w[start..start + 16];
                let value = if accumulate {
                    _mm512_fmadd_ps(sum, alpha, load(target))
                } else {
                    _mm512_mul_ps(sum, alpha)
                };
                store(target, value);
            }
        }
    }

    /// Sixteen floats from a slice of exactly sixteen.
    #[target_feature(enable = "avx512f")]
    fn load(values: &[f32]) -> __m512 {
        assert_eq!(values.len(), 16);
        // SAFETY: the slice holds the sixteen floats read.
        unsafe { _mm512_loadu_ps(values.as_ptr()) }
    }

    /// Sixteen floats into a slice of exactly sixteen.
    #[target_feature(enable = "avx512f")]
    fn store(values: &mut [f32], vector: __m512) {
        assert_eq!(values.len(), 16);
        // SAFETY: the slice holds the sixteen floats written.
        unsafe { _mm512_storeu_ps(values.as_mut_ptr(), vector) }
    }
}

/// The small kernels, each run with fused multiply-add where the CPU has it. The CPU is asked
/// once per call (a cached flag), so one build runs fast on every x86-64 CPU without
/// `-C target-cpu=native`.
pub mod dispatch {
    use crate::kernels::portable::{self, Separate};
    use crate::{Activation, Scalar};

    /// Whether this CPU has AVX2 and FMA: asked once, then one relaxed load of a cached answer
    /// (the standard library's detection costs a few loads and tests per feature, which a
    /// single-sample pass would pay at every kernel).
    #[inline(always)]
    pub(crate) fn fused() -> bool {
        #[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
        {
            use core::sync::atomic::{AtomicU8, Ordering};
            /// 0 until asked, then 1 without the features and 2 with them.
            static FUSED: AtomicU8 = AtomicU8::new(0);
            match FUSED.load(Ordering::Relaxed) {
                2 => true,
                1 => false,
                _ => {
                    let fused = std::arch::is_x86_feature_detected!("fma")
                        && std::arch::is_x86_feature_detected!("avx2");
                    FUSED.store(if fused { 2 } else { 1 }, Ordering::Relaxed);
                    fused
                }
            }
        }
        // Without `std` there is no run-time detection: the portable kernels.
        #[cfg(not(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64"))))]
        {
            false
        }
    }

    macro_rules! dispatched {
        ($(#[$doc:meta])* $name:ident<$($const:ident),*>($($arg:ident: $ty:ty),*)) => {
            $(#[$doc])*
            #[inline(always)]
            pub(crate) fn $name<T: Scalar, $(const $const: usize),*>($($arg: $ty),*) {
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                if fused() {
                    // SAFETY: `fused()` has just checked that this CPU has the features the
                    // function is compiled for.
                    return unsafe { x86::$name::<T, $($const),*>($($arg),*) };
                }
                portable::$name::<Separate, T, $($const),*>($($arg),*)
            }
        };
    }

    /// `z = W x + b` for one sample, for networks' single-sample passes: with f32 on a CPU with
    /// AVX2 and FMA, explicit vector code inlined into the caller (which runs inside
    /// [`with_fma`], so the whole pass is one function with no call between layers); otherwise
    /// [`affine`].
    ///
    /// Writes the pre-activation to `z` and the activation `A` of it to `a`.
    #[inline(always)]
    pub(crate) fn affine_single<T: Scalar, A: Activation, const IN: usize, const OUT: usize>(
        weights: &[T],
        bias: &[T],
        input: &[T],
        z: &mut [T],
        a: &mut [T],
    ) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if (OUT == 1 || OUT >= 8)
            && A::ELEMENTWISE
            && fused()
            && let (Some(weights), Some(bias), Some(input), Some(z), Some(a)) = (
                super::f32s(weights),
                super::f32s(bias),
                super::f32s(input),
                super::f32s_mut(z),
                super::f32s_mut(a),
            )
        {
            // SAFETY: `fused()` has just checked that this CPU has AVX2 and FMA.
            unsafe { super::avx2::affine::<A, IN, OUT>(weights, bias, input, z, a) };
            return;
        }
        affine::<T, IN, OUT>(weights, bias, input, z);
        A::forward(OUT, z, a);
    }

    /// `W += (alpha d) x^T` for one sample: [`outer_update`] for a batch of one, with f32 on a
    /// CPU with AVX2 and FMA through vector code inlined into the caller (which runs inside
    /// [`with_fma`]).
    #[inline(always)]
    pub(crate) fn rank_one_single<T: Scalar, const IN: usize, const OUT: usize>(
        alpha: T,
        delta: &[T],
        input: &[T],
        weights: &mut [T],
    ) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if OUT >= 8
            && fused()
            && let (Some(d), Some(x), Some(w)) = (
                super::f32s(delta),
                super::f32s(input),
                super::f32s_mut(weights),
            )
        {
            // SAFETY: `fused()` has just checked that this CPU has AVX2 and FMA.
            unsafe { super::avx2::rank_one::<IN, OUT>(bytemuck::cast(alpha), d, x, w) };
            return;
        }
        outer_update::<T, IN, OUT>(alpha, delta, input, weights);
    }

    /// Runs `work` compiled for AVX2 and FMA when this CPU has them, so that the kernels it calls
    /// are inlined into one function instead of each being called through its own check.
    #[inline(always)]
    pub fn with_fma<R>(work: impl FnOnce() -> R) -> R {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if fused() {
            // SAFETY: `fused()` has just checked that this CPU has the features `run` is
            // compiled for.
            return unsafe { x86::run(work) };
        }
        work()
    }

    dispatched!(
        /// [`portable::affine`].
        affine<IN, OUT>(weights: &[T], bias: &[T], inputs: &[T], outputs: &mut [T])
    );
    dispatched!(
        /// [`portable::outer_sum`].
        outer_sum<IN, OUT>(delta: &[T], inputs: &[T], weights_gradient: &mut [T])
    );
    dispatched!(
        /// [`portable::outer_update`].
        outer_update<IN, OUT>(alpha: T, delta: &[T], inputs: &[T], weights: &mut [T])
    );
    dispatched!(
        /// [`portable::transposed_product`].
        transposed_product<IN, OUT>(weights: &[T], delta: &[T], input_gradient: &mut [T])
    );
    #[cfg(feature = "std")]
    dispatched!(
        /// [`portable::axpy`].
        axpy<>(alpha: T, x: &[T], y: &mut [T])
    );

    /// The kernels compiled for AVX2 and FMA.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    mod x86 {
        use crate::Scalar;
        use crate::kernels::portable::{self, Fused};

        macro_rules! fused {
            ($name:ident<$($const:ident),*>($($arg:ident: $ty:ty),*)) => {
                #[target_feature(enable = "avx2,fma")]
                #[inline]
                pub(super) fn $name<T: Scalar, $(const $const: usize),*>($($arg: $ty),*) {
                    portable::$name::<Fused, T, $($const),*>($($arg),*)
                }
            };
        }

        /// `work()`, compiled for AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(super) fn run<R>(work: impl FnOnce() -> R) -> R {
            work()
        }

        /// [`portable::outer_sum`], or for f32 batches of awkward widths the vector batch kernel
        /// adding to zeros.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(super) fn outer_sum<T: Scalar, const IN: usize, const OUT: usize>(
            delta: &[T],
            inputs: &[T],
            weights_gradient: &mut [T],
        ) {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if crate::unsafe_code::avx2::batch_kernels_take(IN, OUT, inputs.len() / IN.max(1))
                && let (Some(d), Some(x), Some(g)) = (
                    crate::unsafe_code::f32s(delta),
                    crate::unsafe_code::f32s(inputs),
                    crate::unsafe_code::f32s_mut(weights_gradient),
                )
            {
                let g = &mut g[..OUT * IN];
                g.fill(0.0);
                // SAFETY: this function runs only on CPUs with AVX2 and FMA.
                unsafe { crate::unsafe_code::avx2::outer_update_batch::<IN, OUT>(1.0, d, x, g) };
                return;
            }
            portable::outer_sum::<Fused, T, IN, OUT>(delta, inputs, weights_gradient);
        }

        /// [`portable::affine`], or for f32 batches of awkward widths the vector batch kernel.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(super) fn affine<T: Scalar, const IN: usize, const OUT: usize>(
            weights: &[T],
            bias: &[T],
            inputs: &[T],
            outputs: &mut [T],
        ) {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if crate::unsafe_code::avx2::batch_kernels_take(IN, OUT, inputs.len() / IN.max(1))
                && let (Some(w), Some(b), Some(x), Some(z)) = (
                    crate::unsafe_code::f32s(weights),
                    crate::unsafe_code::f32s(bias),
                    crate::unsafe_code::f32s(inputs),
                    crate::unsafe_code::f32s_mut(outputs),
                )
            {
                // SAFETY: this function runs only on CPUs with AVX2 and FMA.
                unsafe { crate::unsafe_code::avx2::affine_batch::<IN, OUT>(w, b, x, z) };
                return;
            }
            portable::affine::<Fused, T, IN, OUT>(weights, bias, inputs, outputs);
        }

        /// [`portable::outer_update`], or for f32 batches of awkward widths the vector batch
        /// kernel.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(super) fn outer_update<T: Scalar, const IN: usize, const OUT: usize>(
            alpha: T,
            delta: &[T],
            inputs: &[T],
            weights: &mut [T],
        ) {
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            if crate::unsafe_code::avx2::batch_kernels_take(IN, OUT, inputs.len() / IN.max(1))
                && let (Some(d), Some(x), Some(w)) = (
                    crate::unsafe_code::f32s(delta),
                    crate::unsafe_code::f32s(inputs),
                    crate::unsafe_code::f32s_mut(weights),
                )
            {
                let alpha: f32 = bytemuck::cast(alpha);
                // SAFETY: this function runs only on CPUs with AVX2 and FMA.
                unsafe { crate::unsafe_code::avx2::outer_update_batch::<IN, OUT>(alpha, d, x, w) };
                return;
            }
            portable::outer_update::<Fused, T, IN, OUT>(alpha, delta, inputs, weights);
        }
        fused!(transposed_product<IN, OUT>(weights: &[T], delta: &[T], input_gradient: &mut [T]));
        #[cfg(feature = "std")]
        fused!(axpy<>(alpha: T, x: &[T], y: &mut [T]));
    }
}
