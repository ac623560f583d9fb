//! Dense kernels for products too small for matrixmultiply to pay off: it packs its operands
//! into buffers it allocates on every call. Widths are const parameters, so each loop is
//! compiled for its exact shape.
//!
//! Every kernel is generic over [`MulAdd`] so that the same code is compiled twice: with a
//! separate multiply and add for any CPU, and with fused multiply-add inside functions built for
//! CPUs that have it (see `dispatch.rs`). Rust never fuses on its own, and `mul_add` without
//! the hardware instruction is a slow library call, hence the two versions.

use crate::Scalar;

/// How `a * b + c` is computed.
pub(crate) trait MulAdd {
    /// `a * b + c`.
    fn mul_add<T: Scalar>(a: T, b: T, c: T) -> T;
}

/// A multiply, then an add: right on every CPU.
pub(crate) struct Separate;

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add<T: Scalar>(a: T, b: T, c: T) -> T {
        a * b + c
    }
}

/// One fused multiply-add instruction: only inside functions compiled with the `fma` feature.
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64")),
    allow(dead_code)
)]
pub(crate) struct Fused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add<T: Scalar>(a: T, b: T, c: T) -> T {
        a.mul_add(b, c)
    }
}

/// How many partial sums an affine map keeps, so that consecutive multiply-adds do not wait for
/// each other.
const LANES: usize = 4;

/// `z[:, j] = b + W x[:, j]` for every column `j`, with `W` an `OUT x IN` column-major matrix.
#[inline(always)]
pub(crate) fn affine<F: MulAdd, T: Scalar, const IN: usize, const OUT: usize>(
    weights: &[T],
    bias: &[T],
    inputs: &[T],
    outputs: &mut [T],
) {
    let (weights, bias) = (&weights[..OUT * IN], &bias[..OUT]);
    if OUT == 1 {
        // One unit: its weights are contiguous, so each output is a dot product.
        for (x, z) in inputs.chunks_exact(IN).zip(outputs.iter_mut()) {
            *z = bias[0] + dot::<F, T>(weights, x);
        }
        return;
    }
    for (x, z) in inputs.chunks_exact(IN).zip(outputs.chunks_exact_mut(OUT)) {
        let mut sums = [[T::zero(); OUT]; LANES];
        sums[0].copy_from_slice(bias);
        let mut i = 0;
        while i + LANES <= IN {
            for (k, sum) in sums.iter_mut().enumerate() {
                let column = &weights[(i + k) * OUT..(i + k + 1) * OUT];
                let scale = x[i + k];
                for (s, &w) in sum.iter_mut().zip(column) {
                    *s = F::mul_add(w, scale, *s);
                }
            }
            i += LANES;
        }
        while i < IN {
            let column = &weights[i * OUT..(i + 1) * OUT];
            for (s, &w) in sums[0].iter_mut().zip(column) {
                *s = F::mul_add(w, x[i], *s);
            }
            i += 1;
        }
        for (o, out) in z.iter_mut().enumerate() {
            *out = (sums[0][o] + sums[1][o]) + (sums[2][o] + sums[3][o]);
        }
    }
}

/// `dW = sum_j delta[:, j] x[:, j]^T`: the weight gradient of a batch, written over `dW`.
#[inline(always)]
pub(crate) fn outer_sum<F: MulAdd, T: Scalar, const IN: usize, const OUT: usize>(
    delta: &[T],
    inputs: &[T],
    weights_gradient: &mut [T],
) {
    let weights_gradient = &mut weights_gradient[..OUT * IN];
    let mut samples = delta.chunks_exact(OUT).zip(inputs.chunks_exact(IN));
    let Some((d, x)) = samples.next() else {
        weights_gradient.fill(T::zero());
        return;
    };
    // The first sample writes, the others add.
    for (column, &scale) in weights_gradient.chunks_exact_mut(OUT).zip(x) {
        for (g, &dv) in column.iter_mut().zip(d) {
            *g = dv * scale;
        }
    }
    for (d, x) in samples {
        for (column, &scale) in weights_gradient.chunks_exact_mut(OUT).zip(x) {
            for (g, &dv) in column.iter_mut().zip(d) {
                *g = F::mul_add(dv, scale, *g);
            }
        }
    }
}

/// `W += alpha * sum_j delta[:, j] x[:, j]^T`: plain SGD's weight update for a batch (with
/// `alpha = -learning_rate`), added straight to the weights without a gradient buffer.
///
/// Column by column, each column held in registers while the samples add to it in order (up to
/// [`UPDATE_CHUNK`] samples at a time, their scaled deltas on the stack), so a weight is loaded
/// and stored once per chunk rather than once per sample; each weight still receives the
/// samples' terms one after another, as a per-sample loop would add them.
#[inline(always)]
pub(crate) fn outer_update<F: MulAdd, T: Scalar, const IN: usize, const OUT: usize>(
    alpha: T,
    delta: &[T],
    inputs: &[T],
    weights: &mut [T],
) {
    let weights = &mut weights[..OUT * IN];
    for (deltas, inputs) in delta
        .chunks(OUT * UPDATE_CHUNK)
        .zip(inputs.chunks(IN * UPDATE_CHUNK))
    {
        let samples = (deltas.len() / OUT).min(inputs.len() / IN);
        let mut scaled = [[T::zero(); OUT]; UPDATE_CHUNK];
        for (s, d) in scaled.iter_mut().zip(deltas.chunks_exact(OUT)) {
            for (s, &d) in s.iter_mut().zip(d) {
                *s = alpha * d;
            }
        }
        let scaled = &scaled[..samples];
        for (i, column) in weights.chunks_exact_mut(OUT).enumerate() {
            let mut sums = [T::zero(); OUT];
            sums.copy_from_slice(column);
            for (s, x) in scaled.iter().zip(inputs.chunks_exact(IN)) {
                let scale = x[i];
                for (sum, &s) in sums.iter_mut().zip(s) {
                    *sum = F::mul_add(s, scale, *sum);
                }
            }
            column.copy_from_slice(&sums);
        }
    }
}

/// Samples per pass of [`outer_update`].
const UPDATE_CHUNK: usize = 8;

/// `dx[:, j] = W^T delta[:, j]`: the input gradient of a batch, written over `dx`.
#[inline(always)]
pub(crate) fn transposed_product<F: MulAdd, T: Scalar, const IN: usize, const OUT: usize>(
    weights: &[T],
    delta: &[T],
    input_gradient: &mut [T],
) {
    let weights = &weights[..OUT * IN];
    for (d, dx) in delta
        .chunks_exact(OUT)
        .zip(input_gradient.chunks_exact_mut(IN))
    {
        for (g, column) in dx.iter_mut().zip(weights.chunks_exact(OUT)) {
            *g = dot::<F, T>(column, d);
        }
    }
}

/// `y += alpha * x`.
#[cfg(feature = "std")]
#[inline(always)]
pub(crate) fn axpy<F: MulAdd, T: Scalar>(alpha: T, x: &[T], y: &mut [T]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = F::mul_add(alpha, x, *y);
    }
}

/// The shapes of [`gemm_add`]'s `c += a b`: `a` is `m x k` with element `(i, l)` at
/// `a[i * a_row + l * a_col]` (any strides: its elements are read one at a time), `b` is `k x n`
/// with row `l` at `b[l * ldb..][..n]` and `c` is `m x n` with row `i` at `c[i * ldc..][..n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowProduct {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_row: usize,
    pub a_col: usize,
    pub ldb: usize,
    pub ldc: usize,
}

/// Rows of `c` a tile of [`gemm_add`] keeps in registers.
const TILE_ROWS: usize = 4;
/// Columns of `c` a tile keeps in registers: two 8-wide f32 vectors per row.
const TILE_COLS: usize = 16;

/// `c += a b` on row-major rows, without packing either operand (so it allocates nothing): tiles
/// of `c` held in registers while `l` runs over `k`, each step one row of `b` loaded and
/// [`TILE_ROWS`] elements of `a` broadcast. The convolutions' products (a few dozen rows and
/// columns) are too small for matrixmultiply's packing to pay, and it allocates on every call.
///
/// # Panics
///
/// When an operand is shorter than its shape says: the callers derive both from one geometry,
/// so that is a bug in typenn.
#[inline(always)]
pub(crate) fn gemm_add<F: MulAdd, T: Scalar>(p: RowProduct, a: &[T], b: &[T], c: &mut [T]) {
    let mut i = 0;
    while i + TILE_ROWS <= p.m {
        tile_row::<F, T, TILE_ROWS>(p, i, a, b, c);
        i += TILE_ROWS;
    }
    while i < p.m {
        tile_row::<F, T, 1>(p, i, a, b, c);
        i += 1;
    }
}

/// Rows `i..i + R` of [`gemm_add`], in tiles of [`TILE_COLS`], then 8, 4 and 1 columns.
#[inline(always)]
fn tile_row<F: MulAdd, T: Scalar, const R: usize>(
    p: RowProduct,
    i: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
) {
    let mut j = 0;
    while j + TILE_COLS <= p.n {
        tile::<F, T, R, TILE_COLS>(p, (i, j), a, b, c);
        j += TILE_COLS;
    }
    if j + 8 <= p.n {
        tile::<F, T, R, 8>(p, (i, j), a, b, c);
        j += 8;
    }
    if j + 4 <= p.n {
        tile::<F, T, R, 4>(p, (i, j), a, b, c);
        j += 4;
    }
    while j < p.n {
        tile::<F, T, R, 1>(p, (i, j), a, b, c);
        j += 1;
    }
}

/// The `R x C` tile of `c` at `(i, j)`: summed over `k` in registers, then added to `c`.
#[inline(always)]
fn tile<F: MulAdd, T: Scalar, const R: usize, const C: usize>(
    p: RowProduct,
    (i, j): (usize, usize),
    a: &[T],
    b: &[T],
    c: &mut [T],
) {
    let mut sums = [[T::zero(); C]; R];
    // Row `l` of `b`'s columns `j..`: one bounds check a step, not one per element.
    let b_rows = (0..p.k).zip(b[j..].chunks(p.ldb.max(1)));
    let add = |sums: &mut [[T; C]; R], row: &[T], scales: [T; R]| {
        for (sum, scale) in sums.iter_mut().zip(scales) {
            for (s, &x) in sum.iter_mut().zip(&row[..C]) {
                *s = F::mul_add(scale, x, *s);
            }
        }
    };
    // The two layouts the convolutions use get loops whose reads of `a` need no bounds checks
    // inside: rows of `a` sliced once, or the `R` numbers of a column of `a` taken as one slice.
    if p.a_col == 1 {
        let rows: [&[T]; R] = core::array::from_fn(|r| &a[(i + r) * p.a_row..][..p.k]);
        for (l, row) in b_rows {
            add(&mut sums, row, core::array::from_fn(|r| rows[r][l]));
        }
    } else if p.a_row == 1 {
        for (l, row) in b_rows {
            let column = &a[l * p.a_col + i..][..R];
            add(&mut sums, row, core::array::from_fn(|r| column[r]));
        }
    } else {
        for (l, row) in b_rows {
            add(
                &mut sums,
                row,
                core::array::from_fn(|r| a[(i + r) * p.a_row + l * p.a_col]),
            );
        }
    }
    for (r, sum) in sums.iter().enumerate() {
        for (out, &s) in c[(i + r) * p.ldc + j..][..C].iter_mut().zip(sum) {
            *out += s;
        }
    }
}

/// A dot product with eight partial sums, which the compiler can keep in one vector register.
#[inline(always)]
fn dot<F: MulAdd, T: Scalar>(a: &[T], b: &[T]) -> T {
    const WIDTH: usize = 8;
    let mut sums = [T::zero(); WIDTH];
    let (a_chunks, b_chunks) = (a.chunks_exact(WIDTH), b.chunks_exact(WIDTH));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (a, b) in a_chunks.zip(b_chunks) {
        for ((s, &x), &y) in sums.iter_mut().zip(a).zip(b) {
            *s = F::mul_add(x, y, *s);
        }
    }
    let mut total =
        ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
    for (&x, &y) in a_rest.iter().zip(b_rest) {
        total = F::mul_add(x, y, total);
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_affine(w: &[f64], b: &[f64], x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        (0..rows)
            .map(|o| b[o] + (0..cols).map(|i| w[i * rows + o] * x[i]).sum::<f64>())
            .collect()
    }

    #[test]
    fn affine_matches_the_definition_for_every_remainder() {
        fn check<const IN: usize>() {
            let w: Vec<f64> = (0..3 * IN).map(|k| (k as f64 * 0.7).sin()).collect();
            let b = [0.1, -0.2, 0.3];
            let x: Vec<f64> = (0..2 * IN).map(|k| (k as f64 * 1.3).cos()).collect();
            let mut z = [0.0; 6];
            affine::<Separate, f64, IN, 3>(&w, &b, &x, &mut z);
            for j in 0..2 {
                let expected = naive_affine(&w, &b, &x[j * IN..(j + 1) * IN], 3, IN);
                for o in 0..3 {
                    assert!((z[j * 3 + o] - expected[o]).abs() < 1e-12, "IN={IN}");
                }
            }
        }
        check::<1>();
        check::<4>();
        check::<7>();
        check::<9>();
    }

    #[test]
    fn gradients_match_the_definition() {
        // delta: 2 x 3, x: 4 x 3 (column-major), W: 2 x 4.
        let delta = [1.0, 2.0, -1.0, 0.5, 3.0, -2.0];
        let x = [0.5, 1.0, -1.0, 2.0, 0.0, 1.0, 1.0, -0.5, 2.0, 0.0, 1.0, 1.0];
        let mut dw = [9.0; 8];
        outer_sum::<Separate, f64, 4, 2>(&delta, &x, &mut dw);
        for o in 0..2 {
            for i in 0..4 {
                let expected: f64 = (0..3).map(|j| delta[j * 2 + o] * x[j * 4 + i]).sum();
                assert_eq!(dw[i * 2 + o], expected);
            }
        }
        let w: Vec<f64> = (0..8).map(|k| k as f64 - 3.0).collect();
        let mut dx = [9.0; 12];
        transposed_product::<Separate, f64, 4, 2>(&w, &delta, &mut dx);
        for j in 0..3 {
            for i in 0..4 {
                let expected: f64 = (0..2).map(|o| w[i * 2 + o] * delta[j * 2 + o]).sum();
                assert_eq!(dx[j * 4 + i], expected);
            }
        }
    }

    #[test]
    fn outer_update_adds_the_scaled_outer_products() {
        // delta: 2 x 2, x: 3 x 2 (column-major), W: 2 x 3.
        let delta = [1.0, -2.0, 0.5, 4.0];
        let x = [1.0, 2.0, -1.0, 3.0, 0.0, 2.0];
        let start: Vec<f64> = (0..6).map(|k| f64::from(k) * 0.25).collect();
        let mut w = start.clone();
        outer_update::<Fused, f64, 3, 2>(-0.5, &delta, &x, &mut w);
        for o in 0..2 {
            for i in 0..3 {
                let sum: f64 = (0..2).map(|j| delta[j * 2 + o] * x[j * 3 + i]).sum();
                assert_eq!(w[i * 2 + o], start[i * 2 + o] - 0.5 * sum);
            }
        }
    }

    #[test]
    fn gemm_add_matches_the_definition_for_every_remainder() {
        // Shapes that take every tile: full 4 x 16 tiles, 8-, 4- and 1-wide columns, single rows;
        // `a` read transposed (strides swapped), `b` and `c` with rows longer than `n`.
        // `a` is read with rows contiguous, transposed (columns contiguous) and with both
        // strides above 1.
        let shapes = [(1, 1, 1), (4, 3, 16), (5, 7, 29), (9, 2, 3), (8, 16, 45)];
        let layouts = |m: usize, k: usize| [(k, 1), (1, m), (2 * k + 1, 2)];
        for ((m, k, n), (a_row, a_col)) in shapes
            .into_iter()
            .flat_map(|(m, k, n)| layouts(m, k).map(|layout| ((m, k, n), layout)))
        {
            let a: Vec<f64> = (0..m * k * 3).map(|x| (x as f64 * 0.37).sin()).collect();
            let (ldb, ldc) = (n + 2, n + 3);
            // `b` ends where its last row does, so that a read past a row is caught.
            let b: Vec<f64> = (0..(k - 1) * ldb + n)
                .map(|x| (x as f64 * 0.91).cos())
                .collect();
            let start: Vec<f64> = (0..m * ldc).map(|x| x as f64 * 0.01).collect();
            let mut c = start.clone();
            let p = RowProduct {
                m,
                k,
                n,
                a_row,
                a_col,
                ldb,
                ldc,
            };
            gemm_add::<Separate, f64>(p, &a, &b, &mut c);
            for i in 0..m {
                for j in 0..ldc {
                    let expected = if j < n {
                        start[i * ldc + j]
                            + (0..k)
                                .map(|l| a[i * a_row + l * a_col] * b[l * ldb + j])
                                .sum::<f64>()
                    } else {
                        start[i * ldc + j]
                    };
                    let found = c[i * ldc + j];
                    assert!(
                        (found - expected).abs() < 1e-12,
                        "{m}x{k}x{n} ({a_row}, {a_col}) at ({i}, {j}): {found} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn dot_handles_remainders() {
        let a: Vec<f64> = (0..19).map(f64::from).collect();
        let b = vec![2.0; 19];
        assert_eq!(dot::<Separate, f64>(&a, &b), 2.0 * 171.0);
        assert_eq!(dot::<Fused, f64>(&a[..3], &b[..3]), 6.0);
    }
}
