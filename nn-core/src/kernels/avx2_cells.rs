//! A whole time step of an LSTM or GRU cell in f32 with AVX2 and FMA, for CPUs without
//! AVX-512: `avx512_cells.rs`'s design at 8 lanes. The gate products, the gates' activations
//! and the state update run in one function, on vectors of sums that stay in registers eight at
//! a time while the weights' columns pass, and nothing but the new state is written back.
//!
//! AVX2 has no permutation across two vectors, so a gate's units are not gathered from the
//! packed rows as the AVX-512 kernel does: each vector of sums holds up to 8 units of one gate
//! (the last vector of a gate masked when `H` is not a multiple of 8), and the activations and
//! the update work on whole vectors of one gate.

use core::arch::x86_64::{
    __m256, _mm256_add_epi32, _mm256_add_ps, _mm256_castsi256_ps, _mm256_cvtps_epi32,
    _mm256_div_ps, _mm256_fmadd_ps, _mm256_fnmadd_ps, _mm256_loadu_ps, _mm256_maskload_ps,
    _mm256_maskstore_ps, _mm256_max_ps, _mm256_min_ps, _mm256_mul_ps, _mm256_rcp_ps,
    _mm256_round_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_setzero_ps, _mm256_slli_epi32,
    _mm256_storeu_ps, _mm256_sub_ps,
};

use super::avx2::{load, mask};
// The activations' polynomials are the AVX-512 kernel's, at half the width.
use super::avx512_cells::{EXP2, GruCell, LstmCell, TANH_P, TANH_Q};
use super::dispatch::fused;

/// Vectors of sums the kernels hold: 64 LSTM units, or 64 GRU units (three gates and the input
/// side of `n` apart). They wait in memory between [`GROUP`]s and between the products and the
/// activations.
const MAX_VECTORS: usize = 32;

/// Vectors of sums added together, column after column, in registers: a group's sums are
/// loaded once, take every column, and are stored once. Eight leave registers for the
/// broadcast column value and the loads.
const GROUP: usize = 8;

/// Groups of at most this many vectors keep two sets of sums (even and odd columns), so that
/// consecutive columns do not wait for each other's additions; two sets of more would not fit
/// in the 16 registers.
const TWO_SETS_UP_TO: usize = 6;

/// One LSTM step (`h` and `c` updated in place from input `x`) when the CPU has AVX2 and FMA
/// and the cell has at most 64 units; returns whether it ran.
#[inline(always)]
pub(crate) fn lstm_step<const IN: usize, const H: usize>(
    cell: LstmCell<'_>,
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) -> bool {
    if 4 * H.div_ceil(8) > MAX_VECTORS || !fused() {
        return false;
    }
    // SAFETY: the CPU has just been checked for AVX2 and FMA.
    unsafe { lstm::<IN, H>(cell, x, h, c) };
    true
}

/// One GRU step (`h` updated in place from input `x`) when the CPU has AVX2 and FMA and the
/// cell has at most 64 units; returns whether it ran.
#[inline(always)]
pub(crate) fn gru_step<const IN: usize, const H: usize>(
    cell: GruCell<'_>,
    x: &[f32],
    h: &mut [f32],
) -> bool {
    if 4 * H.div_ceil(8) > MAX_VECTORS || !fused() {
        return false;
    }
    // SAFETY: the CPU has just been checked for AVX2 and FMA.
    unsafe { gru::<IN, H>(cell, x, h) };
    true
}

/// Up to 8 consecutive rows of a column, all of one gate.
#[derive(Clone, Copy)]
struct Rows {
    start: usize,
    lanes: usize,
}

impl Rows {
    /// Units `8 u..` of gate `gate` of a cell of `h` units: at most 8, none past the gate.
    const fn of(gate: usize, u: usize, h: usize) -> Self {
        let left = h - 8 * u;
        Self {
            start: gate * h + 8 * u,
            lanes: if left < 8 { left } else { 8 },
        }
    }
}

/// `values[rows]` in the first lanes of a vector, zero in the rest.
#[inline(always)]
unsafe fn load_rows(values: &[f32], rows: Rows) -> __m256 {
    // SAFETY: the caller has checked the CPU for AVX2; `load` keeps its reads in `values`.
    unsafe { load(values, rows.start, rows.lanes) }
}

/// Writes the first lanes of `value` to `values[rows]`.
#[inline(always)]
unsafe fn store_rows(values: &mut [f32], rows: Rows, value: __m256) {
    let part = &mut values[rows.start..rows.start + rows.lanes];
    // SAFETY: the caller has checked the CPU for AVX2; `part` has the 8 values written, or
    // the mask writes its lanes only.
    unsafe {
        if rows.lanes == 8 {
            _mm256_storeu_ps(part.as_mut_ptr(), value);
        } else {
            _mm256_maskstore_ps(part.as_mut_ptr(), mask(rows.lanes), value);
        }
    }
}

/// `sums[v] += sum over j of W[:, j][blocks[v]] * x[j]`: `W` column-major with `rows` rows and
/// `x.len()` columns, every block inside a column. The blocks are taken in groups of
/// [`GROUP`], each group's sums in registers while the columns pass.
#[inline(always)]
unsafe fn add_columns(
    sums: &mut [__m256; MAX_VECTORS],
    blocks: &[Rows],
    weights: &[f32],
    rows: usize,
    x: &[f32],
) {
    let weights = &weights[..rows * x.len()];
    assert!(
        blocks
            .iter()
            .all(|b| (1..=8).contains(&b.lanes) && b.start + b.lanes <= rows)
    );
    for (sums, blocks) in sums.chunks_exact_mut(GROUP).zip(blocks.chunks(GROUP)) {
        // SAFETY: the caller has checked the CPU for AVX2 and FMA; the assert above keeps
        // every block inside a column of `weights`.
        unsafe {
            match blocks.len() {
                8 => add_group::<8>(sums, blocks, weights, rows, x),
                7 => add_group::<7>(sums, blocks, weights, rows, x),
                6 => add_group::<6>(sums, blocks, weights, rows, x),
                5 => add_group::<5>(sums, blocks, weights, rows, x),
                4 => add_group::<4>(sums, blocks, weights, rows, x),
                3 => add_group::<3>(sums, blocks, weights, rows, x),
                2 => add_group::<2>(sums, blocks, weights, rows, x),
                _ => add_group::<1>(sums, blocks, weights, rows, x),
            }
        }
    }
}

/// [`add_columns`] for one group of `G` blocks: plain loads when every block is a whole
/// vector, masked ones otherwise.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA; `weights` holds `x.len()` columns of `rows`, and each of
/// the first `G` blocks lies inside a column.
#[inline(always)]
unsafe fn add_group<const G: usize>(
    sums: &mut [__m256],
    blocks: &[Rows],
    weights: &[f32],
    rows: usize,
    x: &[f32],
) {
    let blocks: [Rows; G] = core::array::from_fn(|k| blocks[k]);
    // SAFETY: as the caller's.
    unsafe {
        let sums = &mut sums[..G];
        let mut even: [__m256; G] = core::array::from_fn(|k| sums[k]);
        if blocks.iter().all(|b| b.lanes == 8) {
            columns::<G, false>(&mut even, &blocks, weights, rows, x);
        } else {
            columns::<G, true>(&mut even, &blocks, weights, rows, x);
        }
        sums.copy_from_slice(&even);
    }
}

/// The column loop of [`add_group`], with masked loads when `MASKED`.
///
/// # Safety
///
/// As [`add_group`]'s; with `MASKED` false every block has 8 lanes.
#[inline(always)]
unsafe fn columns<const G: usize, const MASKED: bool>(
    even: &mut [__m256; G],
    blocks: &[Rows; G],
    weights: &[f32],
    rows: usize,
    x: &[f32],
) {
    // SAFETY: every block lies inside a column (the caller's promise), so a load of its lanes
    // from a column's start stays inside `weights`; a masked load does not touch the lanes out
    // of its mask.
    unsafe {
        let masks: [_; G] = core::array::from_fn(|k| mask(blocks[k].lanes));
        let load = |column: *const f32, k: usize| {
            let pointer = column.add(blocks[k].start);
            if MASKED {
                _mm256_maskload_ps(pointer, masks[k])
            } else {
                _mm256_loadu_ps(pointer)
            }
        };
        let mut odd = [_mm256_setzero_ps(); G];
        let two_sets = G <= TWO_SETS_UP_TO && x.len() > 1;
        let mut columns = x.iter().enumerate();
        while let Some((j, &scale)) = columns.next() {
            let column = weights.as_ptr().add(j * rows);
            let scale = _mm256_set1_ps(scale);
            for (k, sum) in even.iter_mut().enumerate() {
                *sum = _mm256_fmadd_ps(load(column, k), scale, *sum);
            }
            if two_sets && let Some((j, &scale)) = columns.next() {
                let column = weights.as_ptr().add(j * rows);
                let scale = _mm256_set1_ps(scale);
                for (k, sum) in odd.iter_mut().enumerate() {
                    *sum = _mm256_fmadd_ps(load(column, k), scale, *sum);
                }
            }
        }
        if two_sets {
            for (sum, other) in even.iter_mut().zip(&odd) {
                *sum = _mm256_add_ps(*sum, *other);
            }
        }
    }
}

/// `tanh` of each lane: `x p(x^2) / q(x^2)` with `x` clamped to `[-9, 9]`, as
/// `layer::recurrent`'s `fast_tanh`, the polynomials in halves (a short chain) and one
/// division. NaN stays NaN.
#[inline(always)]
unsafe fn tanh8(z: __m256) -> __m256 {
    // SAFETY: the caller has checked the CPU for AVX2 and FMA; register arithmetic only.
    unsafe {
        let c = _mm256_set1_ps;
        // `max(-9, z)` and `min(9, ..)` give their second operand for NaN.
        let x = _mm256_min_ps(c(9.0), _mm256_max_ps(c(-9.0), z));
        let y = _mm256_mul_ps(x, x);
        let y2 = _mm256_mul_ps(y, y);
        let y4 = _mm256_mul_ps(y2, y2);
        let [p6, p5, p4, p3, p2, p1, p0] = TANH_P;
        let low = _mm256_fmadd_ps(
            _mm256_fmadd_ps(c(p3), y, c(p2)),
            y2,
            _mm256_fmadd_ps(c(p1), y, c(p0)),
        );
        let high = _mm256_fmadd_ps(c(p6), y2, _mm256_fmadd_ps(c(p5), y, c(p4)));
        let p = _mm256_fmadd_ps(high, y4, low);
        let [q3, q2, q1, q0] = TANH_Q;
        let q = _mm256_fmadd_ps(
            _mm256_fmadd_ps(c(q3), y, c(q2)),
            y2,
            _mm256_fmadd_ps(c(q1), y, c(q0)),
        );
        _mm256_div_ps(_mm256_mul_ps(x, p), q)
    }
}

/// `1 / (1 + 2^t)` for `t = z * scale`: the power as a polynomial of its fraction times its
/// whole part put in the exponent bits, and the division a reciprocal estimate refined by one
/// Newton step. NaN stays NaN.
#[inline(always)]
unsafe fn one_over_one_plus_power(z: __m256, scale: f32) -> __m256 {
    // SAFETY: the caller has checked the CPU for AVX2 and FMA; register arithmetic only.
    unsafe {
        let c = _mm256_set1_ps;
        // Powers of 2 past +-100 give 0 or 1 in f32 all the same; NaN passes (second operands).
        let t = _mm256_min_ps(
            c(100.0),
            _mm256_max_ps(c(-100.0), _mm256_mul_ps(z, c(scale))),
        );
        // Round to nearest: `f` in [-1/2, 1/2].
        let whole = _mm256_round_ps::<0x08>(t);
        let f = _mm256_sub_ps(t, whole);
        let [e0, e1, e2, e3, e4, e5] = EXP2;
        let mut power = _mm256_fmadd_ps(c(e5), f, c(e4));
        for e in [e3, e2, e1, e0] {
            power = _mm256_fmadd_ps(power, f, c(e));
        }
        // 2^whole, whole in [-100, 100]: a normal float's exponent bits. For NaN the bits are
        // any, and `power` is NaN.
        let exponent = _mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(whole),
            _mm256_set1_epi32(127),
        ));
        let d = _mm256_fmadd_ps(power, _mm256_castsi256_ps(exponent), c(1.0));
        // d >= 1: one Newton step takes the estimate's 1.5 2^-12 to about 2^-24.
        let estimate = _mm256_rcp_ps(d);
        _mm256_fmadd_ps(estimate, _mm256_fnmadd_ps(d, estimate, c(1.0)), estimate)
    }
}

/// Cells of more vectors of sums than this take the cheaper activations (through powers of 2):
/// their step is bound by the number of operations more than by the length of their chain.
const CHEAP_ABOVE: usize = 6;

/// The logistic sigmoid of each lane, as `(1 + tanh(z / 2)) / 2` for cells of few vectors and
/// as `1 / (1 + 2^(-z log2 e))` for the others.
#[inline(always)]
unsafe fn sigmoid8(z: __m256, vectors: usize) -> __m256 {
    // SAFETY: the caller has checked the CPU for AVX2 and FMA; register arithmetic only.
    unsafe {
        if vectors > CHEAP_ABOVE {
            one_over_one_plus_power(z, -core::f32::consts::LOG2_E)
        } else {
            let half = _mm256_set1_ps(0.5);
            _mm256_fmadd_ps(tanh8(_mm256_mul_ps(z, half)), half, half)
        }
    }
}

/// `tanh` of each lane, rational for cells of few vectors and as `2 / (1 + 2^(-2 z log2 e)) - 1`
/// for the others.
#[inline(always)]
unsafe fn tanh_of(z: __m256, vectors: usize) -> __m256 {
    // SAFETY: the caller has checked the CPU for AVX2 and FMA; register arithmetic only.
    unsafe {
        if vectors > CHEAP_ABOVE {
            let r = one_over_one_plus_power(z, -2.0 * core::f32::consts::LOG2_E);
            _mm256_fmadd_ps(r, _mm256_set1_ps(2.0), _mm256_set1_ps(-1.0))
        } else {
            tanh8(z)
        }
    }
}

/// The vectors of `gates` gates of a cell of `h` units from gate `first`, gate after gate,
/// and how many there are.
#[inline(always)]
fn blocks_of(first: usize, gates: usize, h: usize) -> ([Rows; MAX_VECTORS], usize) {
    let per_gate = h.div_ceil(8);
    let mut blocks = [Rows { start: 0, lanes: 0 }; MAX_VECTORS];
    for (v, block) in blocks.iter_mut().enumerate().take(gates * per_gate) {
        *block = Rows::of(first + v / per_gate, v % per_gate, h);
    }
    (blocks, gates * per_gate)
}

/// One LSTM step: see [`lstm_step`].
///
/// # Safety
///
/// The CPU must have AVX2 and FMA. The slices' lengths are checked: one of the wrong length
/// panics rather than being read past.
#[target_feature(enable = "avx2,fma")]
unsafe fn lstm<const IN: usize, const H: usize>(
    cell: LstmCell<'_>,
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) {
    // SAFETY: the caller has checked the CPU for AVX2 and FMA, which the helpers need.
    unsafe {
        let rows = 4 * H;
        let per_gate = H.div_ceil(8);
        let (blocks, vectors) = blocks_of(0, 4, H);
        let blocks = &blocks[..vectors];
        assert!(vectors <= MAX_VECTORS && x.len() == IN && h.len() == H && c.len() == H);
        let mut sums = [_mm256_setzero_ps(); MAX_VECTORS];
        for (sum, &block) in sums.iter_mut().zip(blocks) {
            *sum = _mm256_add_ps(
                load_rows(cell.bias_ih, block),
                load_rows(cell.bias_hh, block),
            );
        }
        add_columns(&mut sums, blocks, cell.weight_ih, rows, x);
        add_columns(&mut sums, blocks, cell.weight_hh, rows, &h[..H]);
        for u in 0..per_gate {
            let units = Rows::of(0, u, H);
            let i = sigmoid8(sums[u], vectors);
            let f = sigmoid8(sums[per_gate + u], vectors);
            let g = tanh_of(sums[2 * per_gate + u], vectors);
            let o = sigmoid8(sums[3 * per_gate + u], vectors);
            let cell_state = _mm256_fmadd_ps(f, load_rows(c, units), _mm256_mul_ps(i, g));
            store_rows(c, units, cell_state);
            store_rows(h, units, _mm256_mul_ps(o, tanh_of(cell_state, vectors)));
        }
    }
}

/// One GRU step: see [`gru_step`].
///
/// # Safety
///
/// As [`lstm`].
#[target_feature(enable = "avx2,fma")]
unsafe fn gru<const IN: usize, const H: usize>(cell: GruCell<'_>, x: &[f32], h: &mut [f32]) {
    // SAFETY: the caller has checked the CPU for AVX2 and FMA, which the helpers need.
    unsafe {
        let rows = 3 * H;
        let per_gate = H.div_ceil(8);
        // r and z summed over both sides, then n's hidden side apart (r scales it), in one
        // array of sums; n's input side in another.
        let (blocks, vectors) = blocks_of(0, 3, H);
        let (gates, candidate) = (&blocks[..2 * per_gate], &blocks[2 * per_gate..vectors]);
        let blocks = &blocks[..vectors];
        assert!(vectors <= MAX_VECTORS && x.len() == IN && h.len() == H);
        let mut sums = [_mm256_setzero_ps(); MAX_VECTORS];
        for (v, (sum, &block)) in sums.iter_mut().zip(blocks).enumerate() {
            *sum = load_rows(cell.bias_hh, block);
            if v < 2 * per_gate {
                *sum = _mm256_add_ps(*sum, load_rows(cell.bias_ih, block));
            }
        }
        add_columns(&mut sums, gates, cell.weight_ih, rows, x);
        let mut from_input = [_mm256_setzero_ps(); MAX_VECTORS];
        for (sum, &block) in from_input.iter_mut().zip(candidate) {
            *sum = load_rows(cell.bias_ih, block);
        }
        add_columns(&mut from_input, candidate, cell.weight_ih, rows, x);
        add_columns(&mut sums, blocks, cell.weight_hh, rows, &h[..H]);
        for u in 0..per_gate {
            let units = Rows::of(0, u, H);
            let r = sigmoid8(sums[u], vectors);
            let z = sigmoid8(sums[per_gate + u], vectors);
            let n = tanh_of(
                _mm256_fmadd_ps(r, sums[2 * per_gate + u], from_input[u]),
                vectors,
            );
            // (1 - z) n + z h = n + z (h - n)
            let old = load_rows(h, units);
            store_rows(h, units, _mm256_fmadd_ps(z, _mm256_sub_ps(old, n), n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::avx512_cells::tests::{gru_matches, lstm_matches};

    fn avx2() -> bool {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    fn sigma(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    #[test]
    fn the_activations_are_close_to_the_exact_ones() {
        if !avx2() {
            return;
        }
        let mut z = -12.0_f32;
        while z <= 12.0 {
            let lanes: [f32; 8] = core::array::from_fn(|l| z + 0.000_1 * l as f32);
            let mut out = [[0.0_f32; 8]; 4];
            // SAFETY: the CPU has AVX2 and FMA (checked above); the arrays have 8 values.
            unsafe {
                let v = _mm256_loadu_ps(lanes.as_ptr());
                for (slot, vectors) in out.chunks_exact_mut(2).zip([1, CHEAP_ABOVE + 1]) {
                    _mm256_storeu_ps(slot[0].as_mut_ptr(), tanh_of(v, vectors));
                    _mm256_storeu_ps(slot[1].as_mut_ptr(), sigmoid8(v, vectors));
                }
            }
            for l in 0..8 {
                let exact = f64::from(lanes[l]);
                for (kind, [t, s]) in [("rational", [0, 1]), ("powers of 2", [2, 3])] {
                    let tanh_error = (f64::from(out[t][l]) - exact.tanh()).abs();
                    assert!(tanh_error < 5e-7, "{kind} tanh({}): {tanh_error}", lanes[l]);
                    let sigmoid_error = (f64::from(out[s][l]) - sigma(exact)).abs();
                    assert!(
                        sigmoid_error < 3e-7,
                        "{kind} sigmoid({}): {sigmoid_error}",
                        lanes[l]
                    );
                }
            }
            // Miri interprets each intrinsic: a coarser sweep there.
            z += if cfg!(miri) { 0.37 } else { 0.003_7 };
        }
        // SAFETY: as above.
        let nan = unsafe {
            let mut out = [0.0_f32; 32];
            let v = _mm256_set1_ps(f32::NAN);
            for (slot, vectors) in out.chunks_exact_mut(16).zip([1, CHEAP_ABOVE + 1]) {
                _mm256_storeu_ps(slot.as_mut_ptr(), tanh_of(v, vectors));
                _mm256_storeu_ps(slot[8..].as_mut_ptr(), sigmoid8(v, vectors));
            }
            out
        };
        assert!(nan.iter().all(|v| v.is_nan()), "{nan:?}");
    }

    #[test]
    fn an_lstm_step_follows_the_equations() {
        if !avx2() {
            return;
        }
        // Gates of whole vectors (16, 40) and of a masked last one (5, 13), and the most it
        // takes (64). Only 5 units (four vectors) take the rational activations; the others,
        // of eight vectors or more, the cheap ones.
        lstm_matches::<1, 16>(lstm::<1, 16>);
        lstm_matches::<3, 5>(lstm::<3, 5>);
        lstm_matches::<2, 13>(lstm::<2, 13>);
        lstm_matches::<2, 40>(lstm::<2, 40>);
        lstm_matches::<1, 64>(lstm::<1, 64>);
        let empty = LstmCell {
            weight_ih: &[],
            weight_hh: &[],
            bias_ih: &[],
            bias_hh: &[],
        };
        assert!(!lstm_step::<1, 65>(empty, &[0.0], &mut [], &mut []));
    }

    #[test]
    fn a_gru_step_follows_the_equations() {
        if !avx2() {
            return;
        }
        // 7 and 16 units (three and six vectors): the rational activations; 24, 40 and 64: the
        // cheap ones.
        gru_matches::<1, 16>(gru::<1, 16>);
        gru_matches::<2, 7>(gru::<2, 7>);
        gru_matches::<1, 40>(gru::<1, 40>);
        gru_matches::<3, 24>(gru::<3, 24>);
        gru_matches::<1, 64>(gru::<1, 64>);
    }
}
