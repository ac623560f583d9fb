//! Products for layers of many units (8 or more) in f32 with AVX2 and FMA, for CPUs without
//! AVX-512: the register tiles of `avx512.rs` at half the width, without packing either operand
//! and without allocating. Tiles of up to 16 rows (two vectors of 8, the last masked where the
//! rows are not a multiple of 8) by 6 columns keep 12 sums in the 16 registers, so each weight
//! vector loaded serves six multiply-adds.
//!
//! Every element is summed in the order the AVX-512 tiles sum it (the bias or zero, then one
//! fused multiply-add per term in order), so the two give the same bits, and a team that shares
//! out whole tiles gives the bits of one thread.

use core::arch::x86_64::{
    __m256, _mm256_fmadd_ps, _mm256_maskstore_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
    _mm256_storeu_ps,
};

use super::avx2::{load, mask};
use super::team::{self, Disjoint, RowParts};

/// Rows per register tile, in vectors of 8.
const TILE_ROWS: usize = 2;
// A team shares out whole tiles of `ROW_TILE` rows, so these tiles must fit inside them.
const _: () = assert!(super::dispatch::ROW_TILE.is_multiple_of(8 * TILE_ROWS));
/// Columns per register tile.
const TILE_COLUMNS: usize = 6;

/// `z = W x + b` (see [`wide_affine`](super::dispatch::wide_affine)), its rows shared out over
/// the installed [`team`] in whole tiles, as the AVX-512 kernel's are.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
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
        // SAFETY: this CPU has AVX2 and FMA (the caller's contract, on the thread that checked
        // it and the team's others alike); each part writes only the rows of its own tiles.
        unsafe {
            for_each_tile!(8, [1] 2, TILE_COLUMNS, rows, batch, |row, column| affine_tile(
                w, b, x, z, depth, row, column
            ));
        }
    });
}

/// One tile of `z`: rows `row..row + 8 R` (the last vector cut at the rows' end), samples
/// `column..column + C`.
#[target_feature(enable = "avx2,fma")]
unsafe fn affine_tile<const R: usize, const C: usize>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    z: Disjoint,
    depth: usize,
    row: usize,
    column: usize,
) {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        if row + 8 * R <= b.len() {
            affine_tile_of::<R, C, false>(w, b, x, z, depth, row, column);
        } else {
            affine_tile_of::<R, C, true>(w, b, x, z, depth, row, column);
        }
    }
}

/// [`affine_tile`], with the last vector of rows partial when `EDGE`.
#[target_feature(enable = "avx2,fma")]
unsafe fn affine_tile_of<const R: usize, const C: usize, const EDGE: bool>(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    z: Disjoint,
    depth: usize,
    row: usize,
    column: usize,
) {
    let rows = b.len();
    let height = tile_height::<R, EDGE>(rows, row);
    let mut sums = [[_mm256_setzero_ps(); C]; R];
    let bias = load_tile::<R, EDGE>(&b[row..row + height]);
    for (row_sums, bias) in sums.iter_mut().zip(bias) {
        *row_sums = [bias; C];
    }
    // Each sample's inputs as slices of known length, so that the loop needs no bounds checks.
    let samples: [&[f32]; C] =
        core::array::from_fn(|c| &x[(column + c) * depth..(column + c + 1) * depth]);
    for (k, column_weights) in w.chunks_exact(rows).enumerate() {
        let weights = load_tile::<R, EDGE>(&column_weights[row..row + height]);
        for c in 0..C {
            let scale = _mm256_set1_ps(samples[c][k]);
            for r in 0..R {
                sums[r][c] = _mm256_fmadd_ps(weights[r], scale, sums[r][c]);
            }
        }
    }
    for (r, row_sums) in sums.iter().enumerate() {
        let lanes = lanes_of::<R, EDGE>(r, height);
        for (c, &sum) in row_sums.iter().enumerate() {
            let start = (column + c) * rows + row + 8 * r;
            // SAFETY: these rows are this tile's, which no other thread writes.
            unsafe { store_at(z, start, lanes, sum) };
        }
    }
}

/// `W = alpha * delta x^T (+ W)` (see [`wide_outer`](super::dispatch::wide_outer)), its rows
/// shared out over the installed [`team`] as [`affine`]'s are.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
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
        // SAFETY: as in `affine`: AVX2 and FMA, and each part writes only its own tiles' rows.
        unsafe {
            for_each_tile!(8, [1] 2, TILE_COLUMNS, tiles, depth, |row, column| outer_tile(
                alpha, 1, &whole, w, accumulate, rows, depth, 0, row, column
            ));
        }
    });
}

/// `W[:, columns] += alpha * delta x[columns]^T` over a batch held in `count` shares, taken in
/// share order (see [`wide_outer_shares`](super::dispatch::wide_outer_shares)); `w` holds just
/// the columns `first..first + w.len() / rows`.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn outer_shares<'a>(
    alpha: f32,
    count: usize,
    share: &dyn Fn(usize) -> (&'a [f32], &'a [f32]),
    w: &mut [f32],
    first: usize,
    (rows, depth): (usize, usize),
) {
    let columns = w.len() / rows;
    assert!(
        first + columns <= depth,
        "wide_outer: columns past the inputs"
    );
    let w = Disjoint::new(w);
    // SAFETY: this thread has `w` to itself.
    unsafe {
        for_each_tile!(8, [1] 2, TILE_COLUMNS, 0..rows, columns, |row, column| outer_tile(
            alpha, count, share, w, true, rows, depth, first, row, column
        ));
    }
}

/// One tile of `W`: rows `row..row + 8 R`, columns `column..column + C` of `w`, which are the
/// inputs `first + column..first + column + C`.
#[target_feature(enable = "avx2,fma")]
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
        if row + 8 * R <= rows {
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
#[target_feature(enable = "avx2,fma")]
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
    let mut sums = [[_mm256_setzero_ps(); C]; R];
    for index in 0..count {
        let (d, x) = share(index);
        for (sample_deltas, sample_inputs) in d.chunks_exact(rows).zip(x.chunks_exact(depth)) {
            let deltas = load_tile::<R, EDGE>(&sample_deltas[row..row + height]);
            let inputs = &sample_inputs[first + column..first + column + C];
            for c in 0..C {
                let scale = _mm256_set1_ps(inputs[c]);
                for r in 0..R {
                    sums[r][c] = _mm256_fmadd_ps(deltas[r], scale, sums[r][c]);
                }
            }
        }
    }
    let alpha = _mm256_set1_ps(alpha);
    for (r, row_sums) in sums.iter().enumerate() {
        let lanes = lanes_of::<R, EDGE>(r, height);
        for (c, &sum) in row_sums.iter().enumerate() {
            let start = (column + c) * rows + row + 8 * r;
            // SAFETY: these rows are this tile's, which no other thread touches.
            unsafe {
                let value = if accumulate {
                    _mm256_fmadd_ps(sum, alpha, load_at(w, start, lanes))
                } else {
                    _mm256_mul_ps(sum, alpha)
                };
                store_at(w, start, lanes, value);
            }
        }
    }
}

/// The rows of a tile of `R` vectors from `row` of `rows`: `8 R`, or fewer at the edge.
#[inline(always)]
fn tile_height<const R: usize, const EDGE: bool>(rows: usize, row: usize) -> usize {
    if EDGE {
        let height = rows - row;
        assert!(height > 8 * (R - 1) && height < 8 * R, "a tile's edge");
        height
    } else {
        8 * R
    }
}

/// The lanes of vector `r` of a tile of `height` rows.
#[inline(always)]
fn lanes_of<const R: usize, const EDGE: bool>(r: usize, height: usize) -> usize {
    if EDGE && r == R - 1 {
        height - 8 * r
    } else {
        8
    }
}

/// The `R` vectors of a tile's rows, `values` holding exactly them: the last one partial, its
/// missing lanes zero, when `EDGE`.
#[target_feature(enable = "avx2,fma")]
#[inline]
fn load_tile<const R: usize, const EDGE: bool>(values: &[f32]) -> [__m256; R] {
    core::array::from_fn(|r| {
        let start = 8 * r;
        let lanes = if EDGE {
            (values.len() - start).min(8)
        } else {
            8
        };
        // SAFETY: this CPU has AVX2 (the callers' contract); `load` checks the bounds, and
        // takes the unmasked load when `lanes` is 8, known here unless `EDGE`.
        unsafe { load(values, start, lanes) }
    })
}

/// The `lanes` (1 to 8) floats of `z` from `start` in the first lanes, zeros in the others.
///
/// # Safety
///
/// The CPU must have AVX2, and no other thread may write those floats meanwhile.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load_at(z: Disjoint, start: usize, lanes: usize) -> __m256 {
    // SAFETY: `Disjoint::at` checks that the floats are inside `z`; the caller rules out a
    // race, so they may be read as a slice; `load` masks the lanes past `lanes`.
    unsafe {
        load(
            core::slice::from_raw_parts(z.at(start, lanes, 8), lanes),
            0,
            lanes,
        )
    }
}

/// Writes the first `lanes` (1 to 8) lanes of `vector` to `z` from `start`.
///
/// # Safety
///
/// The CPU must have AVX2, and no other thread may read or write those floats meanwhile.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_at(z: Disjoint, start: usize, lanes: usize, vector: __m256) {
    let pointer = z.at(start, lanes, 8);
    // SAFETY: in bounds (`Disjoint::at`; a masked store writes no lane outside its mask); the
    // caller rules out a race.
    unsafe {
        if lanes == 8 {
            _mm256_storeu_ps(pointer, vector);
        } else {
            _mm256_maskstore_ps(pointer, mask(lanes), vector);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::kernels::dispatch::tests::wide::operands;

    /// The AVX2 tiles give the AVX-512 tiles' bits, over shapes with full and edge tiles in
    /// both directions, so that a model trains to the same numbers on either kind of CPU. (The
    /// definition test in `dispatch.rs` checks whichever of the two this CPU runs.) Only on a
    /// CPU with AVX-512F, AVX2 and FMA, outside miri.
    #[test]
    fn give_the_bits_of_the_avx512_tiles() {
        if cfg!(miri)
            || !(std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"))
        {
            return;
        }
        for (rows, depth, batch) in [(16, 1, 1), (48, 13, 6), (10, 128, 64), (90, 11, 7)] {
            let [w, b, x, d] = operands(rows, depth, batch);
            let shape = (rows, depth, batch);
            let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let (mut narrow, mut wide) = (vec![0.0; rows * batch], vec![0.0; rows * batch]);
            // SAFETY: this CPU has AVX-512F, AVX2 and FMA (checked above).
            unsafe {
                super::affine(&w, &b, &x, &mut narrow, shape);
                crate::kernels::avx512::affine(&w, &b, &x, &mut wide, shape);
            }
            assert_eq!(bits(&narrow), bits(&wide), "{rows}x{depth}x{batch} z");
            for accumulate in [false, true] {
                let (mut narrow, mut wide) = (w.clone(), w.clone());
                // SAFETY: as above.
                unsafe {
                    super::outer(-0.5, &d, &x, &mut narrow, accumulate, shape);
                    crate::kernels::avx512::outer(-0.5, &d, &x, &mut wide, accumulate, shape);
                }
                assert_eq!(bits(&narrow), bits(&wide), "{rows}x{depth}x{batch} w");
            }
        }
    }
}
