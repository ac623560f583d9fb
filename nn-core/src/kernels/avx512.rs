//! Products for layers of many units (8 or more; the last vector of rows masked where they are
//! not a multiple of 16) in f32 with AVX-512, without packing
//! either operand: the weights are read in place, column by column, and each input number is
//! broadcast from where it lies. Register tiles of up to 64 rows by 6 columns keep 24 sums in
//! registers, so each weight vector loaded serves six multiply-adds.

use core::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

use super::team::{self, Disjoint, RowParts};
use crate::Activation;

/// Rows per register tile, in vectors of 16.
const TILE_ROWS: usize = 4;
// A team shares out whole tiles, so a layer splits above one tile (`Layer::SHARES_ROWS`).
const _: () = assert!(16 * TILE_ROWS == super::dispatch::ROW_TILE);
/// Columns per register tile.
const TILE_COLUMNS: usize = 6;

/// `z = W x + b` (see [`wide_affine`](super::dispatch::wide_affine)), its tiles of rows shared
/// out over the installed [`team`]: each member computes whole tiles, as one thread would, so
/// the numbers do not depend on the number of members.
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
    assert!(rows > 0, "wide_affine: no rows");
    let (w, b, x) = (&w[..rows * depth], &b[..rows], &x[..depth * batch]);
    let z = Disjoint::new(&mut z[..rows * batch]);
    let parts = RowParts::new(rows, rows * depth * batch);
    team::split(parts.count(), &|part| {
        let rows = parts.rows(part);
        // SAFETY: this CPU has AVX-512F (the caller's contract, on the thread that checked it
        // and the team's others alike); each part writes only the rows of its own tiles.
        unsafe { affine_rows(w, b, x, z, rows, (depth, batch)) };
    });
}

/// The rows `rows` of [`affine`]'s `z`, whose other rows other threads may be writing.
///
/// # Safety
///
/// The CPU must have AVX-512F, and no other thread may touch these rows of `z` meanwhile.
#[target_feature(enable = "avx512f")]
unsafe fn affine_rows(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    z: Disjoint,
    rows: core::ops::Range<usize>,
    (depth, batch): (usize, usize),
) {
    let height = b.len();
    // SAFETY: the caller's contract, passed on tile by tile.
    unsafe {
        for_each_tile!(16, [1, 2, 3] 4, TILE_COLUMNS, rows, batch, |row, column| affine_tile(
            w, b, x, z, height, depth, row, column
        ));
    }
}

/// One tile of `z`: rows `row..row + 16 R` (the last vector cut at `rows`), samples
/// `column..column + C`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn affine_tile<const R: usize, const C: usize>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    z: Disjoint,
    rows: usize,
    depth: usize,
    row: usize,
    column: usize,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if row + 16 * R <= rows {
            affine_tile_of::<R, C, false>(w, b, x, z, rows, depth, row, column);
        } else {
            affine_tile_of::<R, C, true>(w, b, x, z, rows, depth, row, column);
        }
    }
}

/// [`affine_tile`], with the last vector of rows partial when `EDGE`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn affine_tile_of<const R: usize, const C: usize, const EDGE: bool>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    z: Disjoint,
    rows: usize,
    depth: usize,
    row: usize,
    column: usize,
) {
    let height = tile_height::<R, EDGE>(rows, row);
    let mut sums = [[_mm512_setzero_ps(); C]; R];
    let bias = load_tile::<R, EDGE>(&b[row..row + height]);
    for (row_sums, bias) in sums.iter_mut().zip(bias) {
        *row_sums = [bias; C];
    }
    // Each sample's inputs, and each weight column's rows in this tile, as slices of known
    // length, so that the loop below needs no bounds checks.
    let samples: [&[f32]; C] =
        core::array::from_fn(|c| &x[(column + c) * depth..(column + c + 1) * depth]);
    for (k, column_weights) in w.chunks_exact(rows).enumerate() {
        let weights = load_tile::<R, EDGE>(&column_weights[row..row + height]);
        for c in 0..C {
            let scale = _mm512_set1_ps(samples[c][k]);
            for r in 0..R {
                sums[r][c] = _mm512_fmadd_ps(weights[r], scale, sums[r][c]);
            }
        }
    }
    for (r, row_sums) in sums.iter().enumerate() {
        let lanes = lanes_of::<R, EDGE>(r, height);
        for (c, &sum) in row_sums.iter().enumerate() {
            let start = (column + c) * rows + row + 16 * r;
            // SAFETY: these rows are this tile's, which no other thread writes.
            unsafe { store_at(z, start, lanes, sum) };
        }
    }
}

/// The rows of a tile of `R` vectors from `row` of `rows`: `16 R`, or fewer at the edge.
#[inline(always)]
fn tile_height<const R: usize, const EDGE: bool>(rows: usize, row: usize) -> usize {
    if EDGE {
        let height = rows - row;
        assert!(height > 16 * (R - 1) && height < 16 * R, "a tile's edge");
        height
    } else {
        16 * R
    }
}

/// The lanes of vector `r` of a tile of `height` rows.
#[inline(always)]
fn lanes_of<const R: usize, const EDGE: bool>(r: usize, height: usize) -> usize {
    if EDGE && r == R - 1 {
        height - 16 * r
    } else {
        16
    }
}

/// The `R` vectors of a tile's rows, `values` holding exactly them: the last one partial, its
/// missing lanes zero, when `EDGE`.
#[target_feature(enable = "avx512f")]
#[inline]
fn load_tile<const R: usize, const EDGE: bool>(values: &[f32]) -> [__m512; R] {
    let mut vectors = [_mm512_setzero_ps(); R];
    if EDGE {
        for (r, vector) in vectors.iter_mut().enumerate() {
            let start = 16 * r;
            *vector = load_first(values, start, (values.len() - start).min(16));
        }
    } else {
        for (vector, chunk) in vectors.iter_mut().zip(values.chunks_exact(16)) {
            *vector = load(chunk);
        }
    }
    vectors
}

/// `W = alpha * delta x^T (+ W)` (see [`wide_outer`](super::dispatch::wide_outer)), its tiles
/// of rows shared out over the installed [`team`] as [`affine`]'s are.
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
    assert!(rows > 0, "wide_outer: no rows");
    let (d, x) = (&d[..rows * batch], &x[..depth * batch]);
    let w = Disjoint::new(&mut w[..rows * depth]);
    let whole = |_: usize| (d, x);
    let parts = RowParts::new(rows, rows * depth * batch);
    team::split(parts.count(), &|part| {
        let tiles = parts.rows(part);
        // SAFETY: as in `affine`: AVX-512F, and each part writes only its own tiles' rows.
        unsafe {
            outer_rows(alpha, &whole, w, accumulate, (rows, depth), tiles);
        }
    });
}

/// The rows `tiles` of [`outer`]'s `w`, whose other rows other threads may be writing.
///
/// # Safety
///
/// The CPU must have AVX-512F, and no other thread may touch these rows of `w` meanwhile.
#[target_feature(enable = "avx512f")]
unsafe fn outer_rows<'a>(
    alpha: f32,
    whole: &dyn Fn(usize) -> (&'a [f32], &'a [f32]),
    w: Disjoint,
    accumulate: bool,
    (rows, depth): (usize, usize),
    tiles: core::ops::Range<usize>,
) {
    // SAFETY: the caller's contract, passed on tile by tile.
    unsafe {
        for_each_tile!(16, [1, 2, 3] 4, TILE_COLUMNS, tiles, depth, |row, column| outer_tile(
            alpha, 1, whole, w, accumulate, rows, depth, 0, row, column
        ));
    }
}

/// `W[:, columns] += alpha * delta x[columns]^T` over a batch held in `count` shares, whose
/// samples are taken in share order, as one batch's are: `share(s)` gives share `s`'s deltas
/// and inputs, and `w` holds just the columns `first..first + w.len() / rows` (see
/// [`wide_outer_shares`](super::dispatch::wide_outer_shares)).
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn outer_shares<'a>(
    alpha: f32,
    count: usize,
    share: &dyn Fn(usize) -> (&'a [f32], &'a [f32]),
    w: &mut [f32],
    first: usize,
    (rows, depth): (usize, usize),
) {
    assert!(rows % 16 == 0, "wide_outer: rows not a multiple of 16");
    let columns = w.len() / rows;
    assert!(
        first + columns <= depth,
        "wide_outer: columns past the inputs"
    );
    let w = Disjoint::new(w);
    // SAFETY: this thread has `w` to itself.
    unsafe {
        for_each_tile!(16, [1, 2, 3] 4, TILE_COLUMNS, 0..rows, columns, |row, column| outer_tile(
            alpha, count, share, w, true, rows, depth, first, row, column
        ));
    }
}

/// One tile of `W`: rows `row..row + 16 R`, columns `column..column + C` of `w`, which are the
/// inputs `first + column..first + column + C`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn outer_tile<'a, const R: usize, const C: usize>(
    alpha: f32,
    count: usize,
    share: &dyn Fn(usize) -> (&'a [f32], &'a [f32]),
    w: Disjoint,
    accumulate: bool,
    rows: usize,
    depth: usize,
    first: usize,
    row: usize,
    column: usize,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if row + 16 * R <= rows {
            outer_tile_of::<R, C, false>(
                alpha, count, share, w, accumulate, rows, depth, first, row, column,
            );
        } else {
            outer_tile_of::<R, C, true>(
                alpha, count, share, w, accumulate, rows, depth, first, row, column,
            );
        }
    }
}

/// [`outer_tile`], with the last vector of rows partial when `EDGE`.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn outer_tile_of<'a, const R: usize, const C: usize, const EDGE: bool>(
    alpha: f32,
    count: usize,
    share: &dyn Fn(usize) -> (&'a [f32], &'a [f32]),
    w: Disjoint,
    accumulate: bool,
    rows: usize,
    depth: usize,
    first: usize,
    row: usize,
    column: usize,
) {
    let height = tile_height::<R, EDGE>(rows, row);
    let mut sums = [[_mm512_setzero_ps(); C]; R];
    for index in 0..count {
        let (d, x) = share(index);
        // Each sample's deltas in this tile's rows and inputs in its columns, as slices of
        // known length, so that the loop below needs no bounds checks.
        for (sample_deltas, sample_inputs) in d.chunks_exact(rows).zip(x.chunks_exact(depth)) {
            let deltas = load_tile::<R, EDGE>(&sample_deltas[row..row + height]);
            let inputs = &sample_inputs[first + column..first + column + C];
            for c in 0..C {
                let scale = _mm512_set1_ps(inputs[c]);
                for r in 0..R {
                    sums[r][c] = _mm512_fmadd_ps(deltas[r], scale, sums[r][c]);
                }
            }
        }
    }
    let alpha = _mm512_set1_ps(alpha);
    for (r, row_sums) in sums.iter().enumerate() {
        let lanes = lanes_of::<R, EDGE>(r, height);
        for (c, &sum) in row_sums.iter().enumerate() {
            let start = (column + c) * rows + row + 16 * r;
            // SAFETY: these rows are this tile's, which no other thread touches.
            unsafe {
                let value = if accumulate {
                    _mm512_fmadd_ps(sum, alpha, load_at(w, start, lanes))
                } else {
                    _mm512_mul_ps(sum, alpha)
                };
                store_at(w, start, lanes, value);
            }
        }
    }
}

/// Whether [`affine_narrow`] takes a layer of `outputs` units: 2 to 15, except 8 (one AVX2
/// vector a column wastes nothing there).
#[inline(always)]
pub(super) const fn narrow_takes(outputs: usize) -> bool {
    outputs > 1 && outputs < 16 && outputs != 8
}

/// `z = W x + b` and `a = A(z)` for one sample of a layer of 2 to 15 units, `W` `OUT x IN`
/// column-major: one 16-lane multiply-add per input, on the sixteen weights from its column's
/// start (the lanes past `OUT` hold the next column's, and are dropped), in eight interleaved
/// sums. The AVX2 kernel spends two multiply-adds on a column of 9 to 15, the second on a
/// masked load.
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) unsafe fn affine_narrow<A: Activation, const IN: usize, const OUT: usize>(
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
    let mut sums = [_mm512_setzero_ps(); 8];
    sums[0] = load_first(b, 0, OUT);
    let mut i = 0;
    while i < IN {
        for sum in &mut sums {
            if i < IN {
                // The last columns' loads stop at the end of the weights.
                let start = i * OUT;
                let column = load_first(w, start, (OUT * IN - start).min(16));
                *sum = _mm512_fmadd_ps(column, _mm512_set1_ps(x[i]), *sum);
            }
            i += 1;
        }
    }
    let quads = [
        _mm512_add_ps(sums[0], sums[1]),
        _mm512_add_ps(sums[2], sums[3]),
        _mm512_add_ps(sums[4], sums[5]),
        _mm512_add_ps(sums[6], sums[7]),
    ];
    let total = _mm512_add_ps(
        _mm512_add_ps(quads[0], quads[1]),
        _mm512_add_ps(quads[2], quads[3]),
    );
    let mut lanes = [0.0_f32; 16];
    // SAFETY: `lanes` holds the sixteen floats written.
    unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), total) };
    let mut activated = [0.0_f32; 16];
    A::forward(16, &lanes, &mut activated);
    z.copy_from_slice(&lanes[..OUT]);
    a.copy_from_slice(&activated[..OUT]);
}

/// The `lanes` (1 to 16) floats of `z` from `start` in the first lanes, zeros in the others.
///
/// # Safety
///
/// No other thread may write them meanwhile.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load_at(z: Disjoint, start: usize, lanes: usize) -> __m512 {
    // SAFETY: `Disjoint::at` checks the bounds; the caller rules out a race.
    unsafe { load_lanes(z.at(start, lanes, 16), lanes) }
}

/// Writes the first `lanes` (1 to 16) lanes of `vector` to `z` from `start`.
///
/// # Safety
///
/// No other thread may read or write them meanwhile.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_at(z: Disjoint, start: usize, lanes: usize, vector: __m512) {
    let pointer = z.at(start, lanes, 16);
    // SAFETY: in bounds (`Disjoint::at`; a masked store writes no lane outside its mask); the
    // caller rules out a race.
    unsafe {
        if lanes == 16 {
            _mm512_storeu_ps(pointer, vector);
        } else {
            _mm512_mask_storeu_ps(pointer, first_lanes(lanes), vector);
        }
    }
}

/// The `count` (1 to 16) floats of `values` from `start` in the first lanes, zeros in the
/// others.
#[target_feature(enable = "avx512f")]
#[inline]
fn load_first(values: &[f32], start: usize, count: usize) -> __m512 {
    assert!((1..=16).contains(&count) && start + count <= values.len());
    // SAFETY: the assert keeps the `count` floats read inside `values`.
    unsafe { load_lanes(values[start..].as_ptr(), count) }
}

/// The mask of the first `lanes` (1 to 16) lanes.
#[inline(always)]
fn first_lanes(lanes: usize) -> u16 {
    ((1_u32 << lanes) - 1) as u16
}

/// The `lanes` (1 to 16) floats from `pointer` in the first lanes, zeros in the others; a
/// masked load touches no lane outside its mask.
///
/// # Safety
///
/// The `lanes` floats from `pointer` must be readable.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load_lanes(pointer: *const f32, lanes: usize) -> __m512 {
    // SAFETY: the caller's contract.
    unsafe {
        if lanes == 16 {
            _mm512_loadu_ps(pointer)
        } else {
            _mm512_maskz_loadu_ps(first_lanes(lanes), pointer)
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

#[cfg(test)]
mod tests {
    use super::{affine_narrow, narrow_takes};
    use crate::{Activation, Identity, Relu, Tanh};

    /// The widths the single-sample kernel for narrow layers takes: 2 to 15 units, except 8.
    #[test]
    fn narrow_kernel_takes_2_to_15_units_but_8() {
        let taken: Vec<usize> = (0..40).filter(|&n| narrow_takes(n)).collect();
        assert_eq!(taken, [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15]);
    }

    /// The single-sample kernel for narrow layers against the definition (in f64), for inputs
    /// that fill the eight sums, leave some empty, and end them part-way, with weights fewer
    /// than sixteen and columns whose sixteen lanes run past the end. Without AVX-512F (and
    /// under miri) there is nothing to run.
    #[test]
    fn narrow_kernel_matches_the_definition() {
        fn check<A: Activation, const IN: usize, const OUT: usize>() {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN).map(|k| (k as f32 * 0.73).cos()).collect();
            let (mut z, mut a) = (vec![7.0_f32; OUT], vec![7.0_f32; OUT]);
            // SAFETY: the caller checked the CPU for AVX-512F, and the widths are taken.
            unsafe { affine_narrow::<A, IN, OUT>(&w, &b, &x, &mut z, &mut a) };
            for o in 0..OUT {
                let want = f64::from(b[o])
                    + (0..IN)
                        .map(|i| f64::from(w[i * OUT + o]) * f64::from(x[i]))
                        .sum::<f64>();
                let close = |got: f32, want: f64| {
                    (f64::from(got) - want).abs() <= 1e-5 * want.abs().max(1.0)
                };
                assert!(close(z[o], want), "{IN} -> {OUT}, z[{o}] = {}", z[o]);
                let mut activated = [0.0_f32];
                A::forward(1, &z[o..=o], &mut activated);
                assert_eq!(a[o], activated[0], "{IN} -> {OUT}, a[{o}]");
            }
        }
        if !(cfg!(all(target_arch = "x86_64", not(miri)))
            && std::arch::is_x86_feature_detected!("avx512f"))
        {
            return;
        }
        check::<Relu, 32, 10>();
        check::<Identity, 3, 10>();
        check::<Tanh, 17, 10>();
        check::<Relu, 1, 2>();
        check::<Identity, 9, 2>();
        check::<Tanh, 20, 3>();
        check::<Relu, 5, 7>();
        check::<Identity, 33, 15>();
        check::<Tanh, 7, 9>();
        check::<Relu, 1, 13>();
    }
}
