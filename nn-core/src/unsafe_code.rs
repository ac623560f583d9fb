//! The crate's only unsafe code, each block with the reason it is sound:
//!
//! - matrix products through matrixmultiply on plain slices with explicit strides, after checking
//!   that every element the call can touch lies inside the slices it was given (a transposed
//!   operand is the same slice with its strides swapped, so nothing is copied);
//! - `bytemuck::Zeroable` for layers and their gradients, so that big networks are allocated
//!   zeroed on the heap without passing through the stack.

#[cfg(feature = "std")]
use core::any::TypeId;

use crate::{Dense, DenseGradients, Scalar};

// SAFETY: a `Dense` is two nalgebra arrays of `T` and a `PhantomData`; `Scalar` is sealed to f32
// and f64, for which all-zero bytes are the number 0.0, and the activation is a marker type.
unsafe impl<const IN: usize, const OUT: usize, A, T: Scalar> bytemuck::Zeroable
    for Dense<IN, OUT, A, T>
{
}

// SAFETY: as for `Dense`: two nalgebra arrays of f32 or f64.
unsafe impl<const IN: usize, const OUT: usize, T: Scalar> bytemuck::Zeroable
    for DenseGradients<IN, OUT, T>
{
}

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
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        let (a_data, b_data): (&[f32], &[f32]) =
            (bytemuck::cast_slice(a.data), bytemuck::cast_slice(b.data));
        let c_data: &mut [f32] = bytemuck::cast_slice_mut(c.data);
        // SAFETY: the asserts above put every element matrixmultiply reads from `a` and `b` and
        // writes to `c` inside those slices; `c` is a distinct `&mut` slice with column-major
        // strides, so its elements do not alias each other or the inputs.
        unsafe {
            matrixmultiply::sgemm(
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
    } else {
        let (a_data, b_data): (&[f64], &[f64]) =
            (bytemuck::cast_slice(a.data), bytemuck::cast_slice(b.data));
        let c_data: &mut [f64] = bytemuck::cast_slice_mut(c.data);
        // SAFETY: as for `sgemm` above. `Scalar` is sealed to f32 and f64, so `T` is f64 here
        // and the casts are exact.
        unsafe {
            matrixmultiply::dgemm(
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
    fn zeroed_layers_are_zero() {
        use crate::{Identity, Parameters};
        let boxed = Dense::<3, 2, Identity, f64>::zeros_boxed();
        assert_eq!(*boxed, Dense::<3, 2, Identity, f64>::zeros());
        let gradients = DenseGradients::<2, 5, f32>::zeros_boxed();
        assert!(
            gradients
                .weights
                .iter()
                .chain(gradients.bias.iter())
                .all(|&v| v == 0.0)
        );
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

/// The small kernels, each run with fused multiply-add where the CPU has it. The CPU is asked
/// once per call (a cached flag), so one build runs fast on every x86-64 CPU without
/// `-C target-cpu=native`.
pub mod dispatch {
    use crate::Scalar;
    use crate::kernels::{self, Separate};

    /// Whether this CPU has AVX2 and FMA.
    #[inline(always)]
    fn fused() -> bool {
        #[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
        {
            std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("avx2")
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
                kernels::$name::<Separate, T, $($const),*>($($arg),*)
            }
        };
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
        /// [`kernels::affine`].
        affine<IN, OUT>(weights: &[T], bias: &[T], inputs: &[T], outputs: &mut [T])
    );
    dispatched!(
        /// [`kernels::outer_sum`].
        outer_sum<IN, OUT>(delta: &[T], inputs: &[T], weights_gradient: &mut [T])
    );
    dispatched!(
        /// [`kernels::outer_update`].
        outer_update<IN, OUT>(alpha: T, delta: &[T], inputs: &[T], weights: &mut [T])
    );
    dispatched!(
        /// [`kernels::transposed_product`].
        transposed_product<IN, OUT>(weights: &[T], delta: &[T], input_gradient: &mut [T])
    );
    #[cfg(feature = "std")]
    dispatched!(
        /// [`kernels::axpy`].
        axpy<>(alpha: T, x: &[T], y: &mut [T])
    );

    /// The kernels compiled for AVX2 and FMA.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    mod x86 {
        use crate::Scalar;
        use crate::kernels::{self, Fused};

        macro_rules! fused {
            ($name:ident<$($const:ident),*>($($arg:ident: $ty:ty),*)) => {
                #[target_feature(enable = "avx2,fma")]
                #[inline]
                pub(super) fn $name<T: Scalar, $(const $const: usize),*>($($arg: $ty),*) {
                    kernels::$name::<Fused, T, $($const),*>($($arg),*)
                }
            };
        }

        /// `work()`, compiled for AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        pub(super) fn run<R>(work: impl FnOnce() -> R) -> R {
            work()
        }

        fused!(affine<IN, OUT>(weights: &[T], bias: &[T], inputs: &[T], outputs: &mut [T]));
        fused!(outer_sum<IN, OUT>(delta: &[T], inputs: &[T], weights_gradient: &mut [T]));
        fused!(outer_update<IN, OUT>(alpha: T, delta: &[T], inputs: &[T], weights: &mut [T]));
        fused!(transposed_product<IN, OUT>(weights: &[T], delta: &[T], input_gradient: &mut [T]));
        #[cfg(feature = "std")]
        fused!(axpy<>(alpha: T, x: &[T], y: &mut [T]));
    }
}
