//! A recurrent cell's gate products for one time step in f32 with AVX-512: every row of the
//! `K * H` gates held in registers (up to 16 vectors of 16), each column's weights loaded once
//! and its input broadcast once. For narrow cells the columns alternate between two sets of
//! sums, so that the chain of multiply-adds a step waits for is half as long.

use super::dispatch::wide;
use core::arch::x86_64::{
    _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps,
    _mm512_storeu_ps,
};

/// Vectors of sums the kernel holds: cells of up to `16 * 16 = 256` gate rows.
const MAX_VECTORS: usize = 16;

/// The narrowest cell the kernel takes: below, a step is bound by its chain of dependent
/// operations rather than by loads, and the call out of the AVX2 code (with its switch of
/// vector width) costs more than the wider vectors save (measured on W4 and W5: 16 units).
const MIN_ROWS: usize = 128;

/// [`gate_products`] for `K` gates of `H` rows when the CPU has AVX-512F and the rows fit
/// (a multiple of 16, from `MIN_ROWS` to `16 * MAX_VECTORS`); returns whether it ran.
#[inline(always)]
pub(crate) fn wide_gate_products<const K: usize, const H: usize, const PARTS: usize>(
    bias: &[f32],
    parts: [(&[f32], &[f32]); PARTS],
    out: &mut [f32],
) -> bool {
    let rows = K * H;
    if !rows.is_multiple_of(16) || !(MIN_ROWS..=16 * MAX_VECTORS).contains(&rows) || !wide() {
        return false;
    }
    // SAFETY: the CPU has just been checked for AVX-512F.
    unsafe { gate_products::<K, H, PARTS>(bias, parts, out) };
    true
}

/// `out = bias + sum over parts of W x` for `K * H` rows (a multiple of 16, at most
/// `16 * MAX_VECTORS`), each `W` column-major with `K * H` rows and `x.len()` columns.
///
/// # Safety
///
/// The CPU must have AVX-512F. The slices' lengths are checked: one too short panics rather
/// than being read past.
#[target_feature(enable = "avx512f")]
unsafe fn gate_products<const K: usize, const H: usize, const PARTS: usize>(
    bias: &[f32],
    parts: [(&[f32], &[f32]); PARTS],
    out: &mut [f32],
) {
    let rows = K * H;
    assert!(rows.is_multiple_of(16) && rows <= 16 * MAX_VECTORS);
    let vectors = rows / 16;
    let (bias, out) = (&bias[..rows], &mut out[..rows]);
    let mut even = [_mm512_setzero_ps(); MAX_VECTORS];
    let mut odd = [_mm512_setzero_ps(); MAX_VECTORS];
    for (v, sum) in even.iter_mut().enumerate().take(vectors) {
        // SAFETY: `bias` has `rows` values, so the 16 from `16 v` are inside it.
        *sum = unsafe { _mm512_loadu_ps(bias[16 * v..].as_ptr()) };
    }
    let two_sets = vectors <= MAX_VECTORS / 2;
    for (weights, x) in parts {
        let weights = &weights[..rows * x.len()];
        for (j, (column, &scale)) in weights.chunks_exact(rows).zip(x).enumerate() {
            let scale = _mm512_set1_ps(scale);
            let sums = if two_sets && j % 2 == 1 {
                &mut odd
            } else {
                &mut even
            };
            for (v, sum) in sums.iter_mut().enumerate().take(vectors) {
                // SAFETY: `column` has `rows` values, so the 16 from `16 v` are inside it.
                let w = unsafe { _mm512_loadu_ps(column[16 * v..].as_ptr()) };
                *sum = _mm512_fmadd_ps(w, scale, *sum);
            }
        }
    }
    for v in 0..vectors {
        let total = _mm512_add_ps(even[v], odd[v]);
        // SAFETY: `out` has `rows` values, so the 16 from `16 v` are inside it.
        unsafe { _mm512_storeu_ps(out[16 * v..].as_mut_ptr(), total) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_sums_written_out() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        // 48 rows (two sets of sums) and 160 rows (one), with 1 and 5 columns.
        fn check<const ROWS: usize>() {
            let w1: Vec<f32> = (0..ROWS).map(|i| (i % 5) as f32 - 2.0).collect();
            let w2: Vec<f32> = (0..ROWS * 5).map(|i| (i % 7) as f32 * 0.5).collect();
            let (x1, x2) = ([2.0], [1.0, -1.0, 0.5, 3.0, -2.0]);
            let bias: Vec<f32> = (0..ROWS).map(|i| i as f32).collect();
            let mut out = vec![0.0; ROWS];
            // SAFETY: the CPU has AVX-512F (checked above); the slices have the lengths asked.
            unsafe { gate_products::<1, ROWS, 2>(&bias, [(&w1, &x1), (&w2, &x2)], &mut out) };
            for row in 0..ROWS {
                let mut expected = bias[row] + w1[row] * x1[0];
                for (j, x) in x2.iter().enumerate() {
                    expected += w2[j * ROWS + row] * x;
                }
                assert_eq!(out[row], expected, "row {row} of {ROWS}");
            }
        }
        check::<48>();
        check::<160>();
    }
}
