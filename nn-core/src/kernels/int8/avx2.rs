//! The int8 product with AVX2: sixteen weights and inputs at a time widened to `i16`
//! (`vpmovsxbw`), multiplied and summed in pairs into `i32` (`vpmaddwd`). Both steps are exact,
//! unlike `vpmaddubsw`, whose `i16` pair sums saturate (`255 * 127 * 2 > 32767`), so the result
//! is the portable kernel's bit for bit. Four rows share each widened input vector.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_shuffle_epi32,
    _mm256_add_epi32, _mm256_castsi256_si128, _mm256_cvtepi8_epi16, _mm256_extracti128_si256,
    _mm256_madd_epi16, _mm256_setzero_si256,
};

use super::Dims;
use super::portable::dot;

/// Rows that share one widened input vector.
const ROWS: usize = 4;

/// As [`portable::affine`](super::portable::affine).
#[target_feature(enable = "avx2")]
pub(super) fn affine<D: Dims>(weights: &[i8], bias: &[i32], input: &[i8], acc: &mut [i32]) {
    let (inputs, outputs) = (D::IN, D::OUT);
    let (weights, bias, input, acc) = (
        &weights[..outputs * inputs],
        &bias[..outputs],
        &input[..inputs],
        &mut acc[..outputs],
    );
    let body = inputs - inputs % 16;
    let mut row = 0;
    while row + ROWS <= outputs {
        let rows: [&[i8]; ROWS] =
            core::array::from_fn(|r| &weights[(row + r) * inputs..][..inputs]);
        let mut sums = [_mm256_setzero_si256(); ROWS];
        for k in (0..body).step_by(16) {
            let x = widen(&input[k..k + 16]);
            for (sum, w) in sums.iter_mut().zip(rows) {
                *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(widen(&w[k..k + 16]), x));
            }
        }
        for (r, sum) in sums.into_iter().enumerate() {
            let tail = dot(&rows[r][body..], &input[body..]);
            acc[row + r] = horizontal_sum(sum)
                .wrapping_add(tail)
                .wrapping_add(bias[row + r]);
        }
        row += ROWS;
    }
    while row < outputs {
        let w = &weights[row * inputs..][..inputs];
        let mut sum = _mm256_setzero_si256();
        for k in (0..body).step_by(16) {
            let product = _mm256_madd_epi16(widen(&w[k..k + 16]), widen(&input[k..k + 16]));
            sum = _mm256_add_epi32(sum, product);
        }
        let tail = dot(&w[body..], &input[body..]);
        acc[row] = horizontal_sum(sum)
            .wrapping_add(tail)
            .wrapping_add(bias[row]);
        row += 1;
    }
}

/// Sixteen `i8` from a slice of exactly sixteen, sign-extended to `i16`.
#[target_feature(enable = "avx2")]
#[inline]
fn widen(values: &[i8]) -> __m256i {
    assert_eq!(values.len(), 16);
    // SAFETY: the slice holds the sixteen bytes read.
    let bytes = unsafe { _mm_loadu_si128(values.as_ptr().cast::<__m128i>()) };
    _mm256_cvtepi8_epi16(bytes)
}

/// The sum of eight `i32` lanes, wrapping.
#[target_feature(enable = "avx2")]
#[inline]
fn horizontal_sum(v: __m256i) -> i32 {
    let half = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let pairs = _mm_add_epi32(half, _mm_shuffle_epi32::<0b01_00_11_10>(half));
    let all = _mm_add_epi32(pairs, _mm_shuffle_epi32::<0b10_11_00_01>(pairs));
    _mm_cvtsi128_si32(all)
}
