//! The integer arithmetic of quantization: rounding, symmetric scales and the fixed-point
//! multipliers that take an `i32` sum on one scale to an `i8` on another.
//!
//! Requantization is integer-only (TFLite's scheme): a real multiplier `M` is stored as
//! `m / 2^shift` with `m` a 31-bit integer, and applied as `(acc * m) >> shift` in `i64` with
//! rounding. That gives the same answer on every CPU, needs no FPU (Cortex-M0 has none), and is
//! within `2^-31` relative of `M`, far below the half-unit error of rounding to `i8`.

/// The largest magnitude of a quantized number: scales are symmetric, `[-127, 127]`, so that
/// negating a value never overflows and zero is exactly zero.
pub const QMAX: i32 = 127;

/// `x` rounded to the nearest integer, ties away from zero (as `f64::round`), without `std`'s
/// float functions. `x` must lie within `i64`'s range.
#[inline]
#[must_use]
pub(crate) fn round_ties_away(x: f64) -> i64 {
    // Truncation toward zero of `x +- 0.5` rounds ties away from zero. The addition is exact for
    // every `x` below 2^52 in magnitude, and above that `x` is already whole.
    const WHOLE: f64 = 4_503_599_627_370_496.0; // 2^52
    if !(-WHOLE..WHOLE).contains(&x) {
        x as i64
    } else if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// `x / scale` (in `f32`) rounded to the nearest integer, ties away from zero, and clamped to
/// `[-QMAX, QMAX]`; NaN goes to 0. Branch-free, so that quantizing a vector compiles to vector
/// code.
#[inline]
#[must_use]
pub fn quantize_value(x: f32, scale: f32) -> i8 {
    let q = x / scale;
    // Into [-128, 128] first, NaN to 0, so that the conversion below never saturates and
    // compiles to one vector instruction.
    let q = if q.is_nan() {
        0.0
    } else {
        q.clamp(-128.0, 128.0)
    };
    // Truncation toward zero, then the fraction it dropped, exactly.
    let whole = q as i32;
    let fraction = q - whole as f32;
    let up = i32::from(fraction >= 0.5) - i32::from(fraction <= -0.5);
    (whole + up).clamp(-QMAX, QMAX) as i8
}

/// The symmetric scale of values whose largest magnitude is `max_abs`: `max_abs / 127`, so that
/// the largest maps to 127. An all-zero range takes scale 1, on which zero is still exactly 0.
#[inline]
#[must_use]
pub fn symmetric_scale(max_abs: f32) -> f32 {
    if max_abs > 0.0 {
        max_abs / QMAX as f32
    } else {
        1.0
    }
}

/// A real multiplier `M` as `m / 2^shift`: what takes a sum on one scale to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// In `[2^30, 2^31)`, or 0 for a multiplier too small to turn any `i32` into a nonzero `i8`.
    pub m: i32,
    /// In `1..=62`.
    pub shift: u32,
}

impl Multiplier {
    /// The multiplier nearest `real`, which must be finite and at least 0.
    ///
    /// Below 2^-32 every `|acc| < 2^31` rounds to 0, and that is what the result does; at 2^30
    /// and above every nonzero sum saturates, and the result (just under 2^30) does too.
    #[must_use]
    pub fn new(real: f64) -> Self {
        const SMALLEST: f64 = 1.0 / 4_294_967_296.0; // 2^-32
        const LARGEST: f64 = 1_073_741_824.0; // 2^30
        const UNIT: f64 = 2_147_483_648.0; // 2^31
        if real.is_nan() || real < SMALLEST {
            return Self { m: 0, shift: 1 };
        }
        if real >= LARGEST {
            return Self {
                m: i32::MAX,
                shift: 1,
            };
        }
        // real = f * 2^e with f in [0.5, 1): m = f * 2^31, shift = 31 - e.
        let mut e = 0_i32;
        let mut f = real;
        while f >= 1.0 {
            f /= 2.0;
            e += 1;
        }
        while f < 0.5 {
            f *= 2.0;
            e -= 1;
        }
        let mut m = round_ties_away(f * UNIT);
        if m == 1 << 31 {
            m = 1 << 30;
            e += 1;
        }
        // e is in -31..=30, so the shift is in 1..=62.
        Self {
            m: m as i32,
            shift: (31 - e) as u32,
        }
    }

    /// `acc * M` rounded to the nearest integer (ties away from zero), in `i64`: exact, since
    /// `|acc * m| < 2^62`.
    #[inline]
    #[must_use]
    pub fn apply(self, acc: i32) -> i64 {
        let product = i64::from(acc) * i64::from(self.m);
        let half = 1_i64 << (self.shift - 1);
        // Round half up is `(p + half) >> shift` (an arithmetic shift floors); for a negative
        // product, one less moves its ties away from zero too: `-((-p + half) >> shift)`.
        (product + half - i64::from(product < 0)) >> self.shift
    }

    /// `acc * M` rounded and clamped to `[-QMAX, QMAX]`.
    #[inline]
    #[must_use]
    pub fn requantize(self, acc: i32) -> i8 {
        self.apply(acc).clamp(-i64::from(QMAX), i64::from(QMAX)) as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_sends_ties_away_from_zero() {
        assert_eq!(round_ties_away(2.5), 3);
        assert_eq!(round_ties_away(-2.5), -3);
        assert_eq!(round_ties_away(0.5), 1);
        assert_eq!(round_ties_away(-0.5), -1);
        assert_eq!(round_ties_away(2.499_999_999), 2);
        assert_eq!(round_ties_away(-0.4), 0);
        assert_eq!(round_ties_away(1e17), 100_000_000_000_000_000);
    }

    #[test]
    fn values_quantize_rounded_and_clamped() {
        // Scale 0.5: 1.25 / 0.5 = 2.5 is a tie, to 3; -0.75 / 0.5 = -1.5 to -2.
        assert_eq!(quantize_value(1.25, 0.5), 3);
        assert_eq!(quantize_value(-0.75, 0.5), -2);
        assert_eq!(quantize_value(100.0, 0.5), 127);
        assert_eq!(quantize_value(-100.0, 0.5), -127);
        assert_eq!(quantize_value(f32::NAN, 0.5), 0);
        assert_eq!(symmetric_scale(254.0), 2.0);
        assert_eq!(symmetric_scale(0.0), 1.0);
    }

    #[test]
    fn multipliers_are_exact_for_powers_of_two_and_near_otherwise() {
        // 0.5 = 2^30 / 2^31.
        assert_eq!(
            Multiplier::new(0.5),
            Multiplier {
                m: 1 << 30,
                shift: 31
            }
        );
        // 3 = 0.75 * 2^2: m = 0.75 * 2^31, shift 29.
        assert_eq!(
            Multiplier::new(3.0),
            Multiplier {
                m: 3 << 29,
                shift: 29
            }
        );
        // 0.1 is not a power of two: m / 2^shift is within 2^-31 relative.
        let tenth = Multiplier::new(0.1);
        let back = f64::from(tenth.m) / 2.0_f64.powi(tenth.shift as i32);
        assert!((back - 0.1).abs() <= 0.1 * 2.0_f64.powi(-31), "{back}");
        assert_eq!(Multiplier::new(1e-12), Multiplier { m: 0, shift: 1 });
        assert_eq!(Multiplier::new(0.0).apply(i32::MAX), 0);
    }

    #[test]
    fn requantization_rounds_ties_away_and_saturates() {
        let half = Multiplier::new(0.5);
        // 5 * 0.5 = 2.5 -> 3, -5 * 0.5 = -2.5 -> -3, 4 * 0.5 = 2, 3 * 0.5 = 1.5 -> 2.
        assert_eq!(half.apply(5), 3);
        assert_eq!(half.apply(-5), -3);
        assert_eq!(half.apply(4), 2);
        assert_eq!(half.apply(3), 2);
        assert_eq!(half.requantize(1000), 127);
        assert_eq!(half.requantize(-1000), -127);
        // 0.1 is stored as 1717986918 / 2^34, a hair below it: 15 * 0.1 = 1.5 rounds to 1
        // and -25 * 0.1 = -2.5 to -2, while 16 * 0.1 = 1.6 -> 2 and -26 * 0.1 = -2.6 -> -3.
        let tenth = Multiplier::new(0.1);
        assert_eq!(
            tenth,
            Multiplier {
                m: 1_717_986_918,
                shift: 34
            }
        );
        assert_eq!(tenth.apply(15), 1);
        assert_eq!(tenth.apply(16), 2);
        assert_eq!(tenth.apply(-25), -2);
        assert_eq!(tenth.apply(-26), -3);
        // The extremes of i32 go through i64 without overflow.
        assert_eq!(Multiplier::new(1.0).apply(i32::MIN), i64::from(i32::MIN));
        let huge = Multiplier::new(1e12);
        assert_eq!(huge.requantize(1), 127);
        assert_eq!(huge.requantize(0), 0);
    }
}
