//! A whole time step of an LSTM or GRU cell in f32 with AVX-512: the gate products, the gates'
//! activations and the state update in one function, with every gate row held in registers
//! (up to 16 vectors of 16) and nothing stored between the parts but the new state.
//!
//! A stream runs one step after the other, each waiting for the `h` of the one before, so the
//! step is a chain of dependent operations: the products of narrow cells keep the columns of
//! each vector in four independent sums, and the gates an update waits for come first (LSTM:
//! `i`, `f`, `g` before `o`; GRU: `r` and the hidden side of `n` before `z`). The activations
//! are Eigen's rational tanh with its polynomials split in halves (Estrin's scheme) and the
//! division a reciprocal estimate refined by one Newton step, so that each is a short chain.
//!
//! Rows are packed as the weights are, gate after gate, so a gate of `H` units starts inside a
//! vector when `H` is not a multiple of 16; its units are then gathered from two vectors with
//! one permutation.

use core::arch::x86_64::{
    __m512, _mm512_add_epi32, _mm512_add_ps, _mm512_fmadd_ps, _mm512_fnmadd_ps, _mm512_loadu_ps,
    _mm512_mask_blend_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_max_ps,
    _mm512_min_ps, _mm512_mul_ps, _mm512_permutex2var_ps, _mm512_rcp14_ps, _mm512_roundscale_ps,
    _mm512_scalef_ps, _mm512_set1_epi32, _mm512_set1_ps, _mm512_setr_epi32, _mm512_setzero_ps,
    _mm512_storeu_ps, _mm512_sub_ps,
};

use super::dispatch::wide;

/// Vectors of gate rows the kernels hold in registers: 64 LSTM units, 40 GRU units.
const MAX_VECTORS: usize = 16;

/// Cells with at most this many units keep every `h[j]` broadcast in a register and sum each
/// gate vector on its own (in four chains), so that the first gates are done early; wider ones
/// go column by column over all vectors.
const NARROW: usize = 16;

/// An LSTM cell's f32 parameters, as [`Lstm`](crate::Lstm) holds them: PyTorch's tensors, the
/// weights column-major with `4 H` rows.
#[derive(Clone, Copy)]
pub(crate) struct LstmCell<'a> {
    pub(crate) weight_ih: &'a [f32],
    pub(crate) weight_hh: &'a [f32],
    pub(crate) bias_ih: &'a [f32],
    pub(crate) bias_hh: &'a [f32],
}

/// A GRU cell's f32 parameters, as [`Gru`](crate::Gru) holds them (`3 H` rows).
pub(crate) type GruCell<'a> = LstmCell<'a>;

/// One LSTM step (`h` and `c` updated in place from input `x`) when the CPU has AVX-512F and
/// the cell fits in registers (at most 64 units); returns whether it ran.
#[inline(always)]
pub(crate) fn lstm_step<const IN: usize, const H: usize>(
    cell: LstmCell<'_>,
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) -> bool {
    if (4 * H).div_ceil(16) > MAX_VECTORS || !wide() {
        return false;
    }
    // SAFETY: the CPU has just been checked for AVX-512F.
    unsafe { lstm::<IN, H>(cell, x, h, c) };
    true
}

/// One GRU step (`h` updated in place from input `x`) when the CPU has AVX-512F and the cell
/// fits in registers (at most 40 units); returns whether it ran.
#[inline(always)]
pub(crate) fn gru_step<const IN: usize, const H: usize>(
    cell: GruCell<'_>,
    x: &[f32],
    h: &mut [f32],
) -> bool {
    if (2 * H).div_ceil(16) + H.div_ceil(16) > MAX_VECTORS || !wide() {
        return false;
    }
    // SAFETY: the CPU has just been checked for AVX-512F.
    unsafe { gru::<IN, H>(cell, x, h) };
    true
}

/// Up to 16 consecutive rows of a column: the first, and a mask of the lanes that are rows.
#[derive(Clone, Copy)]
struct Rows {
    start: usize,
    lanes: usize,
}

impl Rows {
    /// The rows from `start`, at most 16 and none from `end` on.
    const fn new(start: usize, end: usize) -> Self {
        let left = end - start;
        Self {
            start,
            lanes: if left < 16 { left } else { 16 },
        }
    }

    /// The lanes that hold rows.
    const fn mask(self) -> u16 {
        if self.lanes == 16 {
            u16::MAX
        } else {
            (1 << self.lanes) - 1
        }
    }
}

/// `values[rows]` in the first lanes of a vector, zero in the rest.
#[inline(always)]
unsafe fn load(values: &[f32], rows: Rows) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let part = &values[rows.start..rows.start + rows.lanes];
        // `part` has the 16 values read, or the mask reads its lanes only.
        if rows.lanes == 16 {
            _mm512_loadu_ps(part.as_ptr())
        } else {
            _mm512_maskz_loadu_ps(rows.mask(), part.as_ptr())
        }
    }
}

/// Writes the first lanes of `value` to `values[rows]`.
#[inline(always)]
unsafe fn store(values: &mut [f32], rows: Rows, value: __m512) {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let part = &mut values[rows.start..rows.start + rows.lanes];
        // `part` has the 16 values written, or the mask writes its lanes only.
        if rows.lanes == 16 {
            _mm512_storeu_ps(part.as_mut_ptr(), value);
        } else {
            _mm512_mask_storeu_ps(part.as_mut_ptr(), rows.mask(), value);
        }
    }
}

/// `sums[v] += sum over j of W[:, j][blocks[v]] * x[j]`, column by column: `W` column-major
/// with `rows` rows and `x.len()` columns. Two sets of sums (even and odd columns) when there
/// are registers for them, so that consecutive columns do not wait for each other.
#[inline(always)]
unsafe fn add_columns(
    sums: &mut [__m512; MAX_VECTORS],
    blocks: &[Rows],
    weights: &[f32],
    rows: usize,
    x: &[f32],
) {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let vectors = blocks.len();
        let weights = &weights[..rows * x.len()];
        let mut odd = [_mm512_setzero_ps(); MAX_VECTORS];
        let two_sets = vectors <= 12 && x.len() > 1;
        let mut columns = weights.chunks_exact(rows).zip(x);
        while let Some((column, &scale)) = columns.next() {
            let scale = _mm512_set1_ps(scale);
            for (sum, &block) in sums.iter_mut().zip(blocks) {
                *sum = _mm512_fmadd_ps(load(column, block), scale, *sum);
            }
            if two_sets && let Some((column, &scale)) = columns.next() {
                let scale = _mm512_set1_ps(scale);
                for (sum, &block) in odd.iter_mut().zip(blocks) {
                    *sum = _mm512_fmadd_ps(load(column, block), scale, *sum);
                }
            }
        }
        if two_sets {
            for (sum, other) in sums.iter_mut().zip(&odd).take(vectors) {
                *sum = _mm512_add_ps(*sum, *other);
            }
        }
    }
}

/// `sum + W[:, j][block] * x[j]` over every column of a narrow cell, with `x[j]` already
/// broadcast, in four chains.
#[inline(always)]
unsafe fn block_product(
    sum: __m512,
    block: Rows,
    weights: &[f32],
    rows: usize,
    x: &[__m512; NARROW],
    columns: usize,
) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let (weights, x) = (&weights[..rows * columns], &x[..columns]);
        let mut chains = [
            sum,
            _mm512_setzero_ps(),
            _mm512_setzero_ps(),
            _mm512_setzero_ps(),
        ];
        let quads = weights.chunks_exact(4 * rows);
        let (left, left_x) = (quads.remainder(), &x[columns / 4 * 4..]);
        for (quad, scales) in quads.zip(x.chunks_exact(4)) {
            for (chain, (column, &scale)) in
                chains.iter_mut().zip(quad.chunks_exact(rows).zip(scales))
            {
                *chain = _mm512_fmadd_ps(load(column, block), scale, *chain);
            }
        }
        for (column, &scale) in left.chunks_exact(rows).zip(left_x) {
            chains[0] = _mm512_fmadd_ps(load(column, block), scale, chains[0]);
        }
        _mm512_add_ps(
            _mm512_add_ps(chains[0], chains[1]),
            _mm512_add_ps(chains[2], chains[3]),
        )
    }
}

/// `h` broadcast, one vector per unit (for at most [`NARROW`] units).
#[inline(always)]
unsafe fn broadcast(h: &[f32]) -> [__m512; NARROW] {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let mut out = [_mm512_setzero_ps(); NARROW];
        for (v, &value) in out.iter_mut().zip(h) {
            *v = _mm512_set1_ps(value);
        }
        out
    }
}

/// The 16 rows of `sums` (packed vectors of rows) from row `start`: one vector, or the end of
/// one and the start of the next.
#[inline(always)]
unsafe fn rows_from(sums: &[__m512; MAX_VECTORS], vectors: usize, start: usize) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let (vector, shift) = (start / 16, start % 16);
        if shift == 0 {
            return sums[vector];
        }
        // Rows past the last vector are past the cell and unused: any lanes do.
        let next = if vector + 1 < vectors {
            sums[vector + 1]
        } else {
            sums[vector]
        };
        let lanes = _mm512_add_epi32(
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
            _mm512_set1_epi32(shift as i32),
        );
        _mm512_permutex2var_ps(sums[vector], lanes, next)
    }
}

/// The bits of the lanes of a vector of rows from `start` whose row lies in `from..to`:
/// arithmetic rather than a loop over the lanes, so that it costs little where the compiler
/// does not unroll the loop over the vectors.
#[inline(always)]
const fn lanes_in(start: usize, from: usize, to: usize) -> u16 {
    let low = from.saturating_sub(start);
    let high = to.saturating_sub(start);
    let (low, high) = (
        if low < 16 { low } else { 16 },
        if high < 16 { high } else { 16 },
    );
    let below_high = (1_u32 << high) - 1;
    let below_low = (1_u32 << low) - 1;
    (below_high & !below_low) as u16
}

/// Eigen's tanh numerator `p(x^2)`, highest power first (as in `layer::recurrent`).
pub(super) const TANH_P: [f32; 7] = [
    -2.760_768_5e-16,
    2.000_188e-13,
    -8.604_672e-11,
    5.122_297e-8,
    1.485_722_4e-5,
    6.372_619_3e-4,
    4.893_524_6e-3,
];
/// Eigen's tanh denominator `q(x^2)`, highest power first.
pub(super) const TANH_Q: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];

/// `tanh` of each lane: `x p(x^2) / q(x^2)` with `x` clamped to `[-9, 9]`, as
/// `layer::recurrent`'s `fast_tanh`, the polynomials in halves and the division a refined
/// reciprocal estimate. NaN stays NaN.
#[inline(always)]
unsafe fn tanh16(z: __m512) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let c = _mm512_set1_ps;
        // `max(-9, z)` and `min(9, ..)` give their second operand for NaN.
        let x = _mm512_min_ps(c(9.0), _mm512_max_ps(c(-9.0), z));
        let y = _mm512_mul_ps(x, x);
        let y2 = _mm512_mul_ps(y, y);
        let y4 = _mm512_mul_ps(y2, y2);
        let [p6, p5, p4, p3, p2, p1, p0] = TANH_P;
        let low = _mm512_fmadd_ps(
            _mm512_fmadd_ps(c(p3), y, c(p2)),
            y2,
            _mm512_fmadd_ps(c(p1), y, c(p0)),
        );
        let high = _mm512_fmadd_ps(c(p6), y2, _mm512_fmadd_ps(c(p5), y, c(p4)));
        let p = _mm512_fmadd_ps(high, y4, low);
        let [q3, q2, q1, q0] = TANH_Q;
        let q = _mm512_fmadd_ps(
            _mm512_fmadd_ps(c(q3), y, c(q2)),
            y2,
            _mm512_fmadd_ps(c(q1), y, c(q0)),
        );
        // q >= 4.9e-3: one Newton step takes the estimate's 2^-14 to about f32's rounding.
        let estimate = _mm512_rcp14_ps(q);
        let reciprocal = _mm512_fmadd_ps(estimate, _mm512_fnmadd_ps(q, estimate, c(1.0)), estimate);
        _mm512_mul_ps(_mm512_mul_ps(x, p), reciprocal)
    }
}

/// The logistic sigmoid in the lanes not in `tanh_lanes` (as `(1 + tanh(z / 2)) / 2`) and
/// `tanh` in the others.
#[inline(always)]
unsafe fn activate(z: __m512, tanh_lanes: u16) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let half = _mm512_set1_ps(0.5);
        match tanh_lanes {
            u16::MAX => tanh16(z),
            0 => _mm512_fmadd_ps(tanh16(_mm512_mul_ps(z, half)), half, half),
            _ => {
                let scale = _mm512_mask_blend_ps(tanh_lanes, half, _mm512_set1_ps(1.0));
                let offset = _mm512_mask_blend_ps(tanh_lanes, half, _mm512_setzero_ps());
                _mm512_fmadd_ps(tanh16(_mm512_mul_ps(z, scale)), scale, offset)
            }
        }
    }
}

/// `2^f` for `f` in `[-1/2, 1/2]`, lowest power first: a least-squares fit on Chebyshev nodes,
/// within 2.2e-7 (relative) in f32 arithmetic.
pub(super) const EXP2: [f32; 6] = [
    1.000_000_1,
    0.693_146_94,
    0.240_221_22,
    0.055_507_425,
    0.009_675_465,
    0.001_326_697_5,
];

/// As [`activate`], in fewer operations and a longer chain: the logistic sigmoid as
/// `1 / (1 + 2^(-z log2 e))` and tanh as `2 / (1 + 2^(-2 z log2 e)) - 1`, the power as a
/// polynomial of its fraction scaled by its whole part, and the division a refined reciprocal
/// estimate. Within 2e-7 of the exact values (tanh 3e-7); NaN stays NaN.
#[inline(always)]
unsafe fn activate_exp(z: __m512, tanh_lanes: u16) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        let c = _mm512_set1_ps;
        let log2e = core::f32::consts::LOG2_E;
        let scale = _mm512_mask_blend_ps(tanh_lanes, c(-log2e), c(-2.0 * log2e));
        // Powers of 2 past +-100 give 0 or 1 in f32 all the same; NaN passes (second operands).
        let t = _mm512_min_ps(c(100.0), _mm512_max_ps(c(-100.0), _mm512_mul_ps(z, scale)));
        let whole = _mm512_roundscale_ps::<0x08>(t);
        let f = _mm512_sub_ps(t, whole);
        let [e0, e1, e2, e3, e4, e5] = EXP2;
        let mut power = _mm512_fmadd_ps(c(e5), f, c(e4));
        for e in [e3, e2, e1, e0] {
            power = _mm512_fmadd_ps(power, f, c(e));
        }
        let d = _mm512_add_ps(_mm512_scalef_ps(power, whole), c(1.0));
        let estimate = _mm512_rcp14_ps(d);
        let r = _mm512_fmadd_ps(estimate, _mm512_fnmadd_ps(d, estimate, c(1.0)), estimate);
        if tanh_lanes == 0 {
            return r;
        }
        let a = _mm512_mask_blend_ps(tanh_lanes, c(1.0), c(2.0));
        let b = _mm512_mask_blend_ps(tanh_lanes, c(0.0), c(-1.0));
        _mm512_fmadd_ps(r, a, b)
    }
}

/// Cells of more gate vectors than this take [`activate_exp`]: their step is bound by the
/// number of operations more than by the length of their chain.
const CHEAP_ABOVE: usize = 6;

/// [`activate`] or [`activate_exp`], as [`CHEAP_ABOVE`] says for a cell of `vectors`.
#[inline(always)]
unsafe fn gate_activation(z: __m512, tanh_lanes: u16, vectors: usize) -> __m512 {
    // SAFETY: the caller has checked the CPU for AVX-512F; loads and stores are on
    // slices of the lengths they touch.
    unsafe {
        if vectors > CHEAP_ABOVE {
            activate_exp(z, tanh_lanes)
        } else {
            activate(z, tanh_lanes)
        }
    }
}

/// The vectors of rows from row `from`, each cut at `to`, and how many there are.
#[inline(always)]
fn blocks_of(from: usize, to: usize) -> ([Rows; MAX_VECTORS], usize) {
    let mut blocks = [Rows::new(0, 0); MAX_VECTORS];
    let count = (to - from).div_ceil(16);
    for (v, block) in blocks.iter_mut().enumerate().take(count) {
        *block = Rows::new(from + 16 * v, to);
    }
    (blocks, count)
}

/// `$body` once for each `$v` in `$from..$to` (within `0..16`), with `$v` a constant in each
/// copy: the compiler does not unroll loops with long bodies, and in a loop the vectors of sums
/// it indexes would live in memory rather than in registers.
macro_rules! unroll {
    ($v:ident in $from:tt..$to:expr => $body:block) => {
        unroll!(@ $v, $from, $to, $body; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
    };
    (@ $v:ident, $from:expr, $to:expr, $body:block; $($n:literal)*) => {
        $({
            let $v: usize = $n;
            if ($from..$to).contains(&$v) $body
        })*
    };
}

/// One LSTM step: see [`lstm_step`].
///
/// # Safety
///
/// The CPU must have AVX-512F. The slices' lengths are checked: one of the wrong length
/// panics rather than being read past.
#[target_feature(enable = "avx512f")]
unsafe fn lstm<const IN: usize, const H: usize>(
    cell: LstmCell<'_>,
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) {
    // SAFETY: the caller has checked the CPU for AVX-512F, which the helpers need.
    unsafe {
        let rows = 4 * H;
        let (blocks, vectors) = blocks_of(0, rows);
        let blocks = &blocks[..vectors];
        assert!(vectors <= MAX_VECTORS && x.len() == IN && h.len() == H && c.len() == H);
        let mut sums = [_mm512_setzero_ps(); MAX_VECTORS];
        unroll!(v in 0..vectors => {
            let block = Rows::new(16 * v, rows);
            sums[v] = _mm512_add_ps(load(cell.bias_ih, block), load(cell.bias_hh, block));
        });
        add_columns(&mut sums, blocks, cell.weight_ih, rows, x);
        if H <= NARROW {
            let hs = broadcast(h);
            // In the gates' order: i, f and g, which the cell waits for, before o.
            unroll!(v in 0..vectors => {
                let block = Rows::new(16 * v, rows);
                sums[v] = block_product(sums[v], block, cell.weight_hh, rows, &hs, H);
            });
        } else {
            add_columns(&mut sums, blocks, cell.weight_hh, rows, &h[..H]);
        }
        unroll!(v in 0..vectors => {
            sums[v] = gate_activation(sums[v], lanes_in(16 * v, 2 * H, 3 * H), vectors);
        });
        unroll!(u in 0..H.div_ceil(16) => {
            let start = 16 * u;
            let units = Rows::new(start, H);
            let (i, f) = (
                rows_from(&sums, vectors, start),
                rows_from(&sums, vectors, H + start),
            );
            let (g, o) = (
                rows_from(&sums, vectors, 2 * H + start),
                rows_from(&sums, vectors, 3 * H + start),
            );
            let cell_state = _mm512_fmadd_ps(f, load(c, units), _mm512_mul_ps(i, g));
            store(c, units, cell_state);
            let squashed = gate_activation(cell_state, u16::MAX, vectors);
            store(h, units, _mm512_mul_ps(o, squashed));
        });
    }
}

/// One GRU step: see [`gru_step`].
///
/// # Safety
///
/// As [`lstm`].
#[target_feature(enable = "avx512f")]
unsafe fn gru<const IN: usize, const H: usize>(cell: GruCell<'_>, x: &[f32], h: &mut [f32]) {
    // SAFETY: the caller has checked the CPU for AVX-512F, which the helpers need.
    unsafe {
        let rows = 3 * H;
        // r and z summed over both sides, then n's hidden side apart (r scales it), in one array
        // of sums; n's input side in another.
        let (gates, gate_vectors) = blocks_of(0, 2 * H);
        let (candidate, candidate_vectors) = blocks_of(2 * H, 3 * H);
        let vectors = gate_vectors + candidate_vectors;
        assert!(vectors <= MAX_VECTORS && x.len() == IN && h.len() == H);
        let mut blocks = gates;
        blocks[gate_vectors..vectors].copy_from_slice(&candidate[..candidate_vectors]);
        let (blocks, candidate) = (&blocks[..vectors], &candidate[..candidate_vectors]);
        // The block of vector `v` of `sums`.
        let block = |v: usize| {
            if v < gate_vectors {
                Rows::new(16 * v, 2 * H)
            } else {
                Rows::new(2 * H + 16 * (v - gate_vectors), 3 * H)
            }
        };
        let mut sums = [_mm512_setzero_ps(); MAX_VECTORS];
        unroll!(v in 0..vectors => {
            sums[v] = load(cell.bias_hh, block(v));
            if v < gate_vectors {
                sums[v] = _mm512_add_ps(sums[v], load(cell.bias_ih, block(v)));
            }
        });
        add_columns(&mut sums, &blocks[..gate_vectors], cell.weight_ih, rows, x);
        let mut from_input = [_mm512_setzero_ps(); MAX_VECTORS];
        unroll!(u in 0..candidate_vectors => {
            from_input[u] = load(cell.bias_ih, block(gate_vectors + u));
        });
        add_columns(&mut from_input, candidate, cell.weight_ih, rows, x);
        if H <= NARROW {
            let hs = broadcast(h);
            // r (the first vectors), then n's hidden side, then z: each waited for in that order.
            let r_vectors = H.div_ceil(16);
            unroll!(v in 0..r_vectors => {
                sums[v] = block_product(sums[v], block(v), cell.weight_hh, rows, &hs, H);
            });
            unroll!(v in gate_vectors..vectors => {
                sums[v] = block_product(sums[v], block(v), cell.weight_hh, rows, &hs, H);
            });
            unroll!(v in r_vectors..gate_vectors => {
                sums[v] = block_product(sums[v], block(v), cell.weight_hh, rows, &hs, H);
            });
        } else {
            add_columns(&mut sums, blocks, cell.weight_hh, rows, &h[..H]);
        }
        unroll!(v in 0..gate_vectors => {
            sums[v] = gate_activation(sums[v], 0, vectors);
        });
        unroll!(u in 0..H.div_ceil(16) => {
            let start = 16 * u;
            let units = Rows::new(start, H);
            let (r, z) = (
                rows_from(&sums, gate_vectors, start),
                rows_from(&sums, gate_vectors, H + start),
            );
            let n = gate_activation(
                _mm512_fmadd_ps(r, sums[gate_vectors + u], from_input[u]),
                u16::MAX,
                vectors,
            );
            // (1 - z) n + z h = n + z (h - n)
            let old = load(h, units);
            store(h, units, _mm512_fmadd_ps(z, _mm512_sub_ps(old, n), n));
        });
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn sigma(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    /// Weights in [-0.5, 0.5) from a fixed sequence, as f32 and f64.
    fn values(count: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
        let mut rng = crate::SplitMix64::new(seed);
        let narrow: Vec<f32> = (0..count).map(|_| rng.next_f32() - 0.5).collect();
        let wide = narrow.iter().map(|&v| f64::from(v)).collect();
        (narrow, wide)
    }

    #[test]
    fn the_activations_are_close_to_the_exact_ones() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        let mut z = -12.0_f32;
        while z <= 12.0 {
            let lanes: [f32; 16] = core::array::from_fn(|l| z + 0.000_1 * l as f32);
            let mut t = [0.0_f32; 16];
            let mut mixed = [0.0_f32; 16];
            let mut cheap = [0.0_f32; 16];
            // SAFETY: the CPU has AVX-512F (checked above); the arrays have 16 values.
            unsafe {
                let v = _mm512_loadu_ps(lanes.as_ptr());
                _mm512_storeu_ps(t.as_mut_ptr(), tanh16(v));
                _mm512_storeu_ps(mixed.as_mut_ptr(), activate(v, 0x00F0));
                _mm512_storeu_ps(cheap.as_mut_ptr(), activate_exp(v, 0x00F0));
            }
            for l in 0..16 {
                let exact = f64::from(lanes[l]).tanh();
                assert!((f64::from(t[l]) - exact).abs() < 5e-7, "tanh({})", lanes[l]);
                // tanh lanes within 8 units in the last place of numbers near 1, as
                // `layer::recurrent`'s fast tanh; sigmoid lanes within 5.
                let (expected, tolerance) = if (4..8).contains(&l) {
                    (exact, 5e-7)
                } else {
                    (sigma(f64::from(lanes[l])), 3e-7)
                };
                for (name, got) in [("rational", mixed[l]), ("exp", cheap[l])] {
                    let error = (f64::from(got) - expected).abs();
                    assert!(error < tolerance, "{name}, lane {l} at {z}: {error}");
                }
            }
            z += 0.003_7;
        }
        // SAFETY: as above.
        let nan = unsafe {
            let mut out = [0.0_f32; 32];
            let v = _mm512_set1_ps(f32::NAN);
            _mm512_storeu_ps(out.as_mut_ptr(), tanh16(v));
            _mm512_storeu_ps(out[16..].as_mut_ptr(), activate_exp(v, 0x00F0));
            out
        };
        assert!(nan.iter().all(|v| v.is_nan()));
    }

    /// An LSTM step kernel.
    pub(crate) type LstmKernel = unsafe fn(LstmCell<'_>, &[f32], &mut [f32], &mut [f32]);
    /// A GRU step kernel.
    pub(crate) type GruKernel = unsafe fn(GruCell<'_>, &[f32], &mut [f32]);

    /// `step`, an LSTM cell of `H` units with `IN` inputs, against the equations in f64, over
    /// 6 steps. The caller has checked the CPU for the kernel's features.
    pub(crate) fn lstm_matches<const IN: usize, const H: usize>(step: LstmKernel) {
        let (w_ih, w_ih64) = values(4 * H * IN, 1);
        let (w_hh, w_hh64) = values(4 * H * H, 2);
        let (b_ih, b_ih64) = values(4 * H, 3);
        let (b_hh, b_hh64) = values(4 * H, 4);
        let cell = LstmCell {
            weight_ih: &w_ih,
            weight_hh: &w_hh,
            bias_ih: &b_ih,
            bias_hh: &b_hh,
        };
        let (mut h, mut c) = (vec![0.0_f32; H], vec![0.0_f32; H]);
        let (mut h64, mut c64) = (vec![0.0_f64; H], vec![0.0_f64; H]);
        for t in 0..6 {
            let x64: Vec<f64> = (0..IN).map(|j| (0.7 * (t * IN + j) as f64).sin()).collect();
            #[allow(clippy::cast_possible_truncation)]
            let x: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
            // SAFETY: the caller checked the CPU for the kernel's features.
            unsafe { step(cell, &x, &mut h, &mut c) };
            let rows = 4 * H;
            let z: Vec<f64> = (0..rows)
                .map(|row| {
                    let mut sum = b_ih64[row] + b_hh64[row];
                    sum += (0..IN)
                        .map(|j| w_ih64[j * rows + row] * x64[j])
                        .sum::<f64>();
                    sum + (0..H).map(|j| w_hh64[j * rows + row] * h64[j]).sum::<f64>()
                })
                .collect();
            for k in 0..H {
                let (i, f) = (sigma(z[k]), sigma(z[H + k]));
                let (g, o) = (z[2 * H + k].tanh(), sigma(z[3 * H + k]));
                c64[k] = f * c64[k] + i * g;
                h64[k] = o * c64[k].tanh();
            }
            for k in 0..H {
                assert!(
                    (f64::from(c[k]) - c64[k]).abs() < 1e-5,
                    "c[{k}] at step {t} of {H}"
                );
                assert!(
                    (f64::from(h[k]) - h64[k]).abs() < 1e-5,
                    "h[{k}] at step {t} of {H}"
                );
            }
        }
    }

    #[test]
    fn an_lstm_step_follows_the_equations() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        // Narrow (16 and 5 units: whole vectors, and gates inside vectors) and wide (40: gates
        // across vectors; 64: the most it takes).
        lstm_matches::<1, 16>(lstm::<1, 16>);
        lstm_matches::<3, 5>(lstm::<3, 5>);
        lstm_matches::<2, 40>(lstm::<2, 40>);
        lstm_matches::<1, 64>(lstm::<1, 64>);
        assert!(!lstm_step::<1, 65>(
            LstmCell {
                weight_ih: &[],
                weight_hh: &[],
                bias_ih: &[],
                bias_hh: &[]
            },
            &[0.0],
            &mut [],
            &mut []
        ));
    }

    /// `step`, a GRU cell of `H` units with `IN` inputs, against the equations in f64, over 6
    /// steps. The caller has checked the CPU for the kernel's features.
    pub(crate) fn gru_matches<const IN: usize, const H: usize>(step: GruKernel) {
        let (w_ih, w_ih64) = values(3 * H * IN, 5);
        let (w_hh, w_hh64) = values(3 * H * H, 6);
        let (b_ih, b_ih64) = values(3 * H, 7);
        let (b_hh, b_hh64) = values(3 * H, 8);
        let cell = GruCell {
            weight_ih: &w_ih,
            weight_hh: &w_hh,
            bias_ih: &b_ih,
            bias_hh: &b_hh,
        };
        let mut h = vec![0.0_f32; H];
        let mut h64 = vec![0.0_f64; H];
        for t in 0..6 {
            let x64: Vec<f64> = (0..IN).map(|j| (0.9 * (t * IN + j) as f64).cos()).collect();
            #[allow(clippy::cast_possible_truncation)]
            let x: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
            // SAFETY: the caller checked the CPU for the kernel's features.
            unsafe { step(cell, &x, &mut h) };
            let rows = 3 * H;
            let side = |w: &[f64], b: &[f64], v: &[f64], row: usize| {
                b[row] + (0..v.len()).map(|j| w[j * rows + row] * v[j]).sum::<f64>()
            };
            let old = h64.clone();
            for k in 0..H {
                let r = sigma(side(&w_ih64, &b_ih64, &x64, k) + side(&w_hh64, &b_hh64, &old, k));
                let z = sigma(
                    side(&w_ih64, &b_ih64, &x64, H + k) + side(&w_hh64, &b_hh64, &old, H + k),
                );
                let n = (side(&w_ih64, &b_ih64, &x64, 2 * H + k)
                    + r * side(&w_hh64, &b_hh64, &old, 2 * H + k))
                .tanh();
                h64[k] = (1.0 - z) * n + z * old[k];
            }
            for k in 0..H {
                assert!(
                    (f64::from(h[k]) - h64[k]).abs() < 1e-5,
                    "h[{k}] at step {t} of {H}"
                );
            }
        }
    }

    #[test]
    fn a_gru_step_follows_the_equations() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        gru_matches::<1, 16>(gru::<1, 16>);
        gru_matches::<2, 7>(gru::<2, 7>);
        gru_matches::<1, 40>(gru::<1, 40>);
        gru_matches::<3, 24>(gru::<3, 24>);
    }
}
