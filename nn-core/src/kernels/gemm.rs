//! Big products through matrixmultiply, which pays for packing its operands (into buffers it
//! allocates on every call) once a product is big enough. The operands are plain slices with
//! explicit strides, checked to hold every element the call can touch; a transposed operand is
//! the same slice with its strides swapped, so nothing is copied.

use core::any::TypeId;

use crate::Scalar;

/// A read-only `rows x cols` matrix over `data`: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatrixRef<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

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
#[derive(Debug)]
pub(crate) struct MatrixMut<'a, T> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
}

/// Whether every element of a `rows x cols` matrix with these strides lies in `len` elements.
fn fits(len: usize, rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> bool {
    rows == 0
        || cols == 0
        || (rows - 1)
            .checked_mul(row_stride)
            .zip((cols - 1).checked_mul(col_stride))
            .and_then(|(r, c)| r.checked_add(c))
            .is_some_and(|last| last < len)
}

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
