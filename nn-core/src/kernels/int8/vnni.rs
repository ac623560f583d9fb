//! The int8 product with AVX-512 VNNI: `vpdpbusd` multiplies 64 unsigned by 64 signed bytes
//! and adds each group of four products to one of sixteen `i32` lanes, in one instruction.
//!
//! The instruction takes one operand unsigned, so the inputs are offset by 128 (`x ^ 0x80` is
//! `x + 128` as a `u8`) and the bias by `-128 * sum(row)` ([`unsigned_bias`]), which makes the
//! sum exactly the signed one. Products of a byte by a byte and sums of four of them fit in
//! `i32`, and lanes wrap as the portable kernel's sums do, so the result is the same bit for bit.
//! The last partial block of 64 is read with a byte mask, which reads no byte outside the slice.
//!
//! [`unsigned_bias`]: super::portable::unsigned_bias

use core::arch::x86_64::{
    __m128i, __m512i, _mm_add_epi32, _mm_storeu_si128, _mm256_add_epi32, _mm256_castsi256_si128,
    _mm256_extracti128_si256, _mm512_add_epi32, _mm512_castsi512_si256, _mm512_dpbusd_epi32,
    _mm512_extracti64x4_epi64, _mm512_maskz_loadu_epi8, _mm512_reduce_add_epi32, _mm512_set1_epi8,
    _mm512_setzero_si512, _mm512_unpackhi_epi32, _mm512_unpackhi_epi64, _mm512_unpacklo_epi32,
    _mm512_unpacklo_epi64, _mm512_xor_si512,
};

use super::Dims;

/// Rows that share one loaded input vector.
const ROWS: usize = 4;

/// As [`portable::affine`](super::portable::affine), with `unsigned_bias` the bias for inputs
/// offset by 128.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(super) fn affine<D: Dims>(
    weights: &[i8],
    unsigned_bias: &[i32],
    input: &[i8],
    acc: &mut [i32],
) {
    let (inputs, outputs) = (D::IN, D::OUT);
    let (weights, bias, input, acc) = (
        &weights[..outputs * inputs],
        &unsigned_bias[..outputs],
        &input[..inputs],
        &mut acc[..outputs],
    );
    let offset = _mm512_set1_epi8(i8::MIN);
    let mut row = 0;
    while row + ROWS <= outputs {
        let rows = &weights[row * inputs..(row + ROWS) * inputs];
        let mut sums = [_mm512_setzero_si512(); ROWS];
        for k in (0..inputs).step_by(64) {
            let end = inputs.min(k + 64);
            let x = _mm512_xor_si512(load(&input[k..end]), offset);
            for (r, sum) in sums.iter_mut().enumerate() {
                let w = load(&rows[r * inputs + k..r * inputs + end]);
                *sum = _mm512_dpbusd_epi32(*sum, x, w);
            }
        }
        let totals = sum_four(sums);
        for r in 0..ROWS {
            acc[row + r] = totals[r].wrapping_add(bias[row + r]);
        }
        row += ROWS;
    }
    while row < outputs {
        let w = &weights[row * inputs..][..inputs];
        let mut sum = _mm512_setzero_si512();
        for k in (0..inputs).step_by(64) {
            let x = _mm512_xor_si512(load(&input[k..inputs.min(k + 64)]), offset);
            sum = _mm512_dpbusd_epi32(sum, x, load(&w[k..inputs.min(k + 64)]));
        }
        acc[row] = _mm512_reduce_add_epi32(sum).wrapping_add(bias[row]);
        row += 1;
    }
}

/// The sums of the sixteen lanes of each of four vectors, wrapping: the four reductions share
/// their shuffles (unpacking pairs of vectors), where one at a time would take four each.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn sum_four([a, b, c, d]: [__m512i; ROWS]) -> [i32; ROWS] {
    // In each 128-bit block: [a0 + a2, b0 + b2, a1 + a3, b1 + b3], and the same for c and d.
    let ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    let cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    // In each block: [a, b, c, d], each the sum of that block's four lanes.
    let blocks = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    let halves = _mm256_add_epi32(
        _mm512_castsi512_si256(blocks),
        _mm512_extracti64x4_epi64::<1>(blocks),
    );
    let total = _mm_add_epi32(
        _mm256_castsi256_si128(halves),
        _mm256_extracti128_si256::<1>(halves),
    );
    let mut sums = [0_i32; ROWS];
    // SAFETY: `sums` holds the sixteen bytes written.
    unsafe { _mm_storeu_si128(sums.as_mut_ptr().cast::<__m128i>(), total) };
    sums
}

/// Up to 64 bytes, the lanes past the slice's end zero. An input lane of zero becomes 128 after
/// the offset, but its weight lane is zero too, so it adds nothing.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
fn load(values: &[i8]) -> __m512i {
    assert!(!values.is_empty() && values.len() <= 64);
    let mask = u64::MAX >> (64 - values.len());
    // SAFETY: the mask enables exactly the lanes `0..values.len()`, which the slice holds; a
    // masked-off lane is not read (and cannot fault).
    unsafe { _mm512_maskz_loadu_epi8(mask, values.as_ptr()) }
}
