//! The int8 products in plain Rust, for any CPU and for miri: the definition the vector kernels
//! are tested against, bit for bit.
//!
//! Sums wrap on overflow, as the vector instructions' 32-bit lanes do, so that every path gives
//! the same `i32` whatever the inputs. With int8 operands a sum cannot overflow below 2^17 inputs
//! (`127 * 128 * 2^17 < 2^31`), so for real layers wrapping never happens.

use super::Dims;
use crate::quant::{Multiplier, quantize_value};

/// `acc[o] = bias[o] + sum_k weights[o * IN + k] * input[k]`, with `weights` row-major
/// `OUT x IN` (row `o` holds unit `o`'s weights).
#[inline]
pub(crate) fn affine<D: Dims>(weights: &[i8], bias: &[i32], input: &[i8], acc: &mut [i32]) {
    let (inputs, outputs) = (D::IN, D::OUT);
    let input = &input[..inputs];
    for ((row, &b), a) in weights[..outputs * inputs]
        .chunks_exact(inputs)
        .zip(&bias[..outputs])
        .zip(&mut acc[..outputs])
    {
        *a = dot(row, input).wrapping_add(b);
    }
}

/// Each `input / scale` rounded and clamped to `i8` ([`quantize_value`]).
#[inline(always)]
pub(crate) fn quantize(input: &[f32], scale: f32, output: &mut [i8]) {
    for (q, &x) in output.iter_mut().zip(input) {
        *q = quantize_value(x, scale);
    }
}

/// Each sum to the output scale by its unit's multiplier, after a ReLU when `relu`.
#[inline(always)]
pub(crate) fn requantize(acc: &[i32], multipliers: &[Multiplier], relu: bool, output: &mut [i8]) {
    for ((q, &a), m) in output.iter_mut().zip(acc).zip(multipliers) {
        *q = m.requantize(if relu { a.max(0) } else { a });
    }
}

/// `sum_k a[k] * b[k]` in `i32`, wrapping.
#[inline]
pub(crate) fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).fold(0_i32, |sum, (&x, &y)| {
        sum.wrapping_add(i32::from(x) * i32::from(y))
    })
}

/// The bias for inputs offset by 128 (`u8 = i8 + 128`), as the unsigned-by-signed VNNI
/// instruction takes them: `bias - 128 * sum(row)`, wrapping, so that
/// `sum (x + 128) w + (bias - 128 sum w) = sum x w + bias` exactly.
#[must_use]
pub(crate) fn unsigned_bias(row: &[i8], bias: i32) -> i32 {
    let sum = row.iter().fold(0_i32, |s, &w| s.wrapping_add(i32::from(w)));
    bias.wrapping_sub(sum.wrapping_mul(128))
}

#[cfg(test)]
mod tests {
    use super::super::Fixed;
    use super::*;

    #[test]
    fn affine_is_the_hand_computed_sum() {
        // Rows [1, -2, 3] and [-127, 127, -128], input [127, -128, 2].
        let w = [1_i8, -2, 3, -127, 127, -128];
        let x = [127_i8, -128, 2];
        let mut acc = [0_i32; 2];
        affine::<Fixed<3, 2>>(&w, &[10, -5], &x, &mut acc);
        // 127 + 256 + 6 + 10 = 399; -16129 - 16256 - 256 - 5 = -32646.
        assert_eq!(acc, [399, -32646]);
    }

    #[test]
    fn unsigned_bias_makes_offset_inputs_exact() {
        let row = [1_i8, -2, 3, -127];
        let x = [5_i8, -128, 127, 0];
        let offset: i32 = row
            .iter()
            .zip(&x)
            .map(|(&w, &x)| i32::from(w) * (i32::from(x) + 128))
            .sum();
        // sum(row) = -125, so the offset bias is 7 + 128 * 125 = 16007.
        assert_eq!(unsigned_bias(&row, 7), 16007);
        assert_eq!(offset + unsigned_bias(&row, 7), dot(&row, &x) + 7);
    }

    #[test]
    fn sums_wrap_as_vector_lanes_do() {
        assert_eq!(
            affine_one(&[i8::MIN; 2], &[i8::MIN; 2], i32::MAX),
            i32::MAX.wrapping_add(2 * 16384)
        );
    }

    fn affine_one(w: &[i8; 2], x: &[i8; 2], bias: i32) -> i32 {
        let mut acc = [0];
        affine::<Fixed<2, 1>>(w, &[bias], x, &mut acc);
        acc[0]
    }
}
