use nalgebra::ComplexField;

use super::Elementwise;
use crate::Scalar;

/// The Gaussian error linear unit `f(z) = z Φ(z) = 0.5 z (1 + erf(z / √2))`, with Φ the standard
/// normal distribution function.
///
/// This is the exact form, PyTorch's default for `nn.GELU()` and Keras's `gelu` with
/// `approximate=False`, not the tanh approximation. It is computed in `f64` whatever the network's
/// scalar type, as `0.5 z erfc(-z / √2)`, which keeps its relative precision for large negative
/// `z` where `1 + erf` would cancel.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Gelu;

impl Elementwise for Gelu {
    const NAME: &'static str = "Gelu";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        let z = z.as_f64();
        T::cast_from(z * normal_cdf(z))
    }

    /// `Φ(z) + z φ(z)`, with φ the standard normal density.
    #[inline]
    fn derivative<T: Scalar>(z: T, _a: T) -> T {
        let z = z.as_f64();
        let density = ComplexField::exp(-0.5 * z * z) * FRAC_1_SQRT_2PI;
        T::cast_from(normal_cdf(z) + z * density)
    }
}

/// `1 / √(2π)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `Φ(z) = 0.5 erfc(-z / √2)`.
#[inline]
fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z * core::f64::consts::FRAC_1_SQRT_2)
}

// The error function by W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev
// approximations for the error function", Math. Comp. 23, 1969, 631-638), on the three intervals
// of his CALERF routine: each approximates to about 18 significant digits, so the results are
// limited by double rounding. Rust's standard library has no `erf`.

/// Numerator and denominator of `erf(x) / x` for `|x| <= 0.46875`, in powers of `x^2`.
const SMALL_NUMERATOR: [f64; 5] = [
    3.161_123_743_870_565_5,
    113.864_154_151_050_16,
    377.485_237_685_302,
    3_209.377_589_138_469_4,
    0.185_777_706_184_603_15,
];
const SMALL_DENOMINATOR: [f64; 4] = [
    23.601_290_952_344_122,
    244.024_637_934_444_17,
    1_282.616_526_077_372_3,
    2_844.236_833_439_171,
];
/// Numerator and denominator of `erfc(x) e^(x^2)` for `0.46875 < x <= 4`, in powers of `x`.
const MIDDLE_NUMERATOR: [f64; 9] = [
    0.564_188_496_988_670_1,
    8.883_149_794_388_377,
    66.119_190_637_141_63,
    298.635_138_197_400_1,
    881.952_221_241_769,
    1_712.047_612_634_070_7,
    2_051.078_377_826_071_6,
    1_230.339_354_797_997_2,
    2.153_115_354_744_038_3e-8,
];
const MIDDLE_DENOMINATOR: [f64; 8] = [
    15.744_926_110_709_835,
    117.693_950_891_312_5,
    537.181_101_862_009_9,
    1_621.389_574_566_690_3,
    3_290.799_235_733_459_7,
    4_362.619_090_143_247,
    3_439.367_674_143_721_6,
    1_230.339_354_803_749_5,
];
/// Numerator and denominator of the asymptotic correction for `x > 4`, in powers of `1 / x^2`.
const LARGE_NUMERATOR: [f64; 6] = [
    0.305_326_634_961_232_36,
    0.360_344_899_949_804_45,
    0.125_781_726_111_229_26,
    0.016_083_785_148_742_275,
    0.000_658_749_161_529_837_8,
    0.016_315_387_137_302_097,
];
const LARGE_DENOMINATOR: [f64; 5] = [
    2.568_520_192_289_822,
    1.872_952_849_923_460_4,
    0.527_905_102_951_428_5,
    0.060_518_341_312_441_32,
    0.002_335_204_976_268_691_8,
];

/// Where the first interval ends.
const SMALL: f64 = 0.468_75;
/// Above this, `erfc(x)` underflows to 0.
const UNDERFLOW: f64 = 26.543;
/// `1 / √π`.
const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;

/// The error function `erf(x) = 2/√π ∫_0^x e^(-t^2) dt`.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "Gelu needs only erfc; erf is checked against libm in the tests"
    )
)]
fn erf(x: f64) -> f64 {
    let y = x.abs();
    if y <= SMALL {
        x * small_ratio(y)
    } else {
        let value = 1.0 - erfc_above_small(y);
        if x < 0.0 { -value } else { value }
    }
}

/// The complementary error function `erfc(x) = 1 - erf(x)`, accurate in relative terms in its
/// tail, where `1 - erf(x)` would round to 0.
fn erfc(x: f64) -> f64 {
    let y = x.abs();
    if y <= SMALL {
        1.0 - x * small_ratio(y)
    } else {
        let tail = erfc_above_small(y);
        if x < 0.0 { 2.0 - tail } else { tail }
    }
}

/// `erf(y) / y` for `0 <= y <= 0.46875`.
fn small_ratio(y: f64) -> f64 {
    let [a0, a1, a2, a3, a4] = SMALL_NUMERATOR;
    let [b0, b1, b2, b3] = SMALL_DENOMINATOR;
    let s = y * y;
    let numerator = (((a4 * s + a0) * s + a1) * s + a2) * s + a3;
    let denominator = (((s + b0) * s + b1) * s + b2) * s + b3;
    numerator / denominator
}

/// `erfc(y)` for `y > 0.46875` (and NaN for NaN).
fn erfc_above_small(y: f64) -> f64 {
    if y >= UNDERFLOW {
        return 0.0;
    }
    let scaled = if y <= 4.0 {
        // erfc(y) e^(y^2) as a rational function of y.
        let c = MIDDLE_NUMERATOR;
        let d = MIDDLE_DENOMINATOR;
        let mut numerator = c[8] * y;
        let mut denominator = y;
        for i in 0..7 {
            numerator = (numerator + c[i]) * y;
            denominator = (denominator + d[i]) * y;
        }
        (numerator + c[7]) / (denominator + d[7])
    } else {
        // erfc(y) e^(y^2) = (1/√π - R(1/y^2) / y^2) / y.
        let p = LARGE_NUMERATOR;
        let q = LARGE_DENOMINATOR;
        let s = 1.0 / (y * y);
        let mut numerator = p[5] * s;
        let mut denominator = s;
        for i in 0..4 {
            numerator = (numerator + p[i]) * s;
            denominator = (denominator + q[i]) * s;
        }
        (FRAC_1_SQRT_PI - s * (numerator + p[4]) / (denominator + q[4])) / y
    };
    // e^(-y^2) split as e^(-r^2) e^(-(y - r)(y + r)), with r = y rounded down to a sixteenth so
    // that r^2 is exact: rounding y^2 first would cost digits of the result.
    let r = ComplexField::trunc(y * 16.0) / 16.0;
    ComplexField::exp(-r * r) * ComplexField::exp(-(y - r) * (y + r)) * scaled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    /// Relative difference, or absolute where the reference is 0.
    fn relative(value: f64, reference: f64) -> f64 {
        if reference == 0.0 {
            value.abs()
        } else {
            ((value - reference) / reference).abs()
        }
    }

    #[test]
    fn erf_matches_libm() {
        // python3 -c "import math; [print(repr(x), repr(math.erf(x))) for x in
        //   (1e-10, 0.1, 0.3, 0.46875, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.9, 4.0, 4.5, 5.0, 6.0)]"
        let reference = [
            (1e-10, 1.1283791670955126e-10),
            (0.1, 0.1124629160182849),
            (0.3, 0.3286267594591274),
            (0.46875, 0.49261347321793797),
            (0.5, 0.5204998778130465),
            (0.75, 0.7111556336535151),
            (1.0, 0.8427007929497149),
            (1.5, 0.9661051464753108),
            (2.0, 0.9953222650189527),
            (2.5, 0.999593047982555),
            (3.0, 0.9999779095030014),
            (3.9, 0.9999999652077514),
            (4.0, 0.9999999845827421),
            (4.5, 0.9999999998033839),
            (5.0, 0.9999999999984626),
            (6.0, 1.0),
        ];
        let mut worst: f64 = 0.0;
        for (x, expected) in reference {
            for (x, expected) in [(x, expected), (-x, -expected)] {
                let error = relative(erf(x), expected);
                assert!(error < 1e-15, "erf({x}) = {}, libm {expected}", erf(x));
                worst = worst.max(error);
            }
        }
        assert_eq!(erf(0.0), 0.0);
        println!("erf: largest relative error {worst:e}");
    }

    #[test]
    fn erfc_matches_libm_in_the_tails() {
        // python3 -c "import math; [print(repr(x), repr(math.erfc(x))) for x in
        //   (-3.0, -0.2, 0.2, 0.6, 1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0, 20.0, 26.0, 27.0)]"
        let reference = [
            (-3.0, 1.9999779095030015),
            (-0.2, 1.2227025892104786),
            (0.2, 0.7772974107895215),
            (0.6, 0.3961439091520741),
            (1.0, 0.15729920705028513),
            (2.0, 0.004677734981047265),
            (3.0, 2.2090496998585438e-05),
            (4.0, 1.541725790028002e-08),
            (5.0, 1.5374597944280351e-12),
            (7.5, 2.776649386030569e-26),
            (10.0, 2.088487583762545e-45),
            (15.0, 7.212994172451206e-100),
            (20.0, 5.3958656116079005e-176),
            (26.0, 5.663192408856143e-296),
            (27.0, 5.23705e-319),
        ];
        let mut worst: f64 = 0.0;
        for (x, expected) in reference {
            if x >= UNDERFLOW {
                // Cody's routine stops at the smallest normal number; libm goes on into the
                // subnormals. Both are within 1e-300 of 0.
                assert_eq!(erfc(x), 0.0);
                continue;
            }
            let error = relative(erfc(x), expected);
            assert!(error < 1e-15, "erfc({x}) = {}, libm {expected}", erfc(x));
            worst = worst.max(error);
        }
        assert_eq!(erfc(0.0), 1.0);
        println!("erfc: largest relative error {worst:e}");
    }

    #[test]
    fn hand_computed_values() {
        // python3 -c "import math; [print(z, repr(0.5 * z * math.erfc(-z / math.sqrt(2))))
        //   for z in (1.0, -1.0, 2.0, -3.0)]"
        assert_eq!(Gelu::apply(0.0_f64), 0.0);
        for (z, expected) in [
            (1.0, 0.8413447460685429),
            (-1.0, -0.15865525393145707),
            (2.0, 1.9544997361036416),
            (-3.0, -0.004049694094890287),
        ] {
            let error = relative(Gelu::apply(z), expected);
            assert!(
                error < 1e-14,
                "Gelu({z}) = {}, expected {expected}",
                Gelu::apply(z)
            );
        }
        assert!((Gelu::apply(1.0_f32) - 0.841_344_7).abs() < 1e-6);
        // Far out, the identity and 0, with no NaN.
        assert_eq!(Gelu::apply(50.0_f64), 50.0);
        assert_eq!(Gelu::apply(-50.0_f64), 0.0);
        assert_eq!(Gelu::derivative(-50.0_f64, 0.0), 0.0);
        assert_eq!(Gelu::derivative(50.0_f64, 50.0), 1.0);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Gelu>(&[-4.0, -1.3, -0.2, 0.0, 0.4, 0.9, 2.5, 5.0]);
    }
}
