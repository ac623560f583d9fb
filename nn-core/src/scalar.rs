//! The element types a network can be built from.

use core::fmt::{Debug, Display};

use nalgebra::RealField;

mod sealed {
    #[cfg(not(feature = "serde"))]
    pub trait Sealed {}

    /// With the `serde` feature every scalar can be written and read, so that layers and networks
    /// generic over `T: Scalar` can be too without a bound of their own.
    #[cfg(feature = "serde")]
    pub trait Sealed: serde::Serialize + serde::de::DeserializeOwned {}

    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type for parameters and data: `f32` (the default) or `f64`.
///
/// The trait is sealed: the zero bit pattern must be the number zero, which the training code
/// relies on when it views parameters as plain slices.
///
/// With the `serde` feature, every `Scalar` is also `serde::Serialize` and
/// `serde::de::DeserializeOwned`.
pub trait Scalar:
    RealField
    + Copy
    + Default
    + Debug
    + Display
    + bytemuck::Pod
    + Send
    + Sync
    + 'static
    + sealed::Sealed
{
    /// The name of the type, as Rust spells it.
    const NAME: &'static str;

    /// A bound on one update's change to a parameter below which adding it to any finite value
    /// gives a finite value: a quarter of the spacing of the largest numbers (`2^102` for `f32`,
    /// `2^969` for `f64`). Training applies a step without copying the parameters first only when
    /// its update is known to stay below this.
    #[doc(hidden)]
    const SAFE_STEP: Self;

    /// The smallest positive normal number.
    #[doc(hidden)]
    const MIN_POSITIVE: Self;

    /// A value's magnitude as an unsigned integer: its bits with the sign cleared, whose order
    /// is the magnitudes' (with NaN above infinity), so that the largest of many is an integer
    /// maximum, which vectorizes, and NaN is never below a limit.
    #[doc(hidden)]
    type Magnitude: Copy + Ord + Default + Debug + Send + Sync + From<u32>;

    /// The largest magnitude among `values` (0 for none).
    #[doc(hidden)]
    #[must_use]
    fn largest_magnitude(values: &[Self]) -> Self::Magnitude;

    /// This value's magnitude.
    #[doc(hidden)]
    #[must_use]
    fn magnitude(self) -> Self::Magnitude;

    /// The non-negative value whose magnitude is `magnitude`.
    #[doc(hidden)]
    #[must_use]
    fn from_magnitude(magnitude: Self::Magnitude) -> Self;

    /// Converts from `f64`, rounding to nearest for `f32`.
    #[must_use]
    fn cast_from(value: f64) -> Self;

    /// Converts to `f64` exactly.
    #[must_use]
    fn as_f64(self) -> f64;
}

/// Running maxima of [`largest_bits`]: one 512-bit vector of `u32`, or two of 256 bits.
const MAXIMA: usize = 16;

/// The largest of `bits & mask` (0 for none), in [`MAXIMA`] running maxima reduced at the end,
/// so that the loop compiles to vector maxima (an integer maximum is the same in any order).
#[inline(always)]
fn largest_bits<B>(bits: &[B], mask: B) -> B
where
    B: Copy + Ord + Default + core::ops::BitAnd<Output = B>,
{
    let chunks = bits.chunks_exact(MAXIMA);
    let rest = chunks
        .remainder()
        .iter()
        .fold(B::default(), |largest, &b| largest.max(b & mask));
    let mut maxima = [B::default(); MAXIMA];
    for chunk in chunks {
        for (largest, &b) in maxima.iter_mut().zip(chunk) {
            *largest = (*largest).max(b & mask);
        }
    }
    maxima.iter().fold(rest, |largest, &m| largest.max(m))
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    const SAFE_STEP: Self = f32::from_bits((127 + 102) << 23);
    const MIN_POSITIVE: Self = f32::MIN_POSITIVE;

    type Magnitude = u32;

    #[inline(always)]
    fn largest_magnitude(values: &[Self]) -> u32 {
        largest_bits(bytemuck::cast_slice::<f32, u32>(values), 0x7fff_ffff)
    }

    #[inline(always)]
    fn magnitude(self) -> u32 {
        self.to_bits() & 0x7fff_ffff
    }

    #[inline(always)]
    fn from_magnitude(magnitude: u32) -> Self {
        f32::from_bits(magnitude)
    }

    #[inline]
    fn cast_from(value: f64) -> Self {
        value as f32
    }

    #[inline]
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    const SAFE_STEP: Self = f64::from_bits((1023 + 969) << 52);
    const MIN_POSITIVE: Self = f64::MIN_POSITIVE;

    type Magnitude = u64;

    #[inline(always)]
    fn largest_magnitude(values: &[Self]) -> u64 {
        largest_bits(
            bytemuck::cast_slice::<f64, u64>(values),
            0x7fff_ffff_ffff_ffff,
        )
    }

    #[inline(always)]
    fn magnitude(self) -> u64 {
        self.to_bits() & 0x7fff_ffff_ffff_ffff
    }

    #[inline(always)]
    fn from_magnitude(magnitude: u64) -> Self {
        f64::from_bits(magnitude)
    }

    #[inline]
    fn cast_from(value: f64) -> Self {
        value
    }

    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::Scalar;

    /// The sixteen running maxima against one maximum taken value by value, for lengths that
    /// fill them, leave a remainder or have only one, with the largest in a chunk or in the
    /// remainder, negative, infinite or NaN (whose magnitude is above every other).
    #[test]
    fn largest_magnitude_is_the_largest_of_every_value() {
        fn one_by_one<T: Scalar>(values: &[T]) -> T::Magnitude {
            values.iter().fold(T::Magnitude::default(), |largest, &v| {
                largest.max(v.magnitude())
            })
        }
        fn check<T: Scalar>() {
            let specials = [
                T::cast_from(-7.5),
                T::cast_from(f64::INFINITY),
                T::cast_from(f64::NEG_INFINITY),
                T::cast_from(f64::NAN),
            ];
            for len in [0_usize, 1, 15, 16, 17, 33, 40] {
                let values: Vec<T> = (0..len)
                    .map(|i| T::cast_from((i as f64 * 0.7).sin() * 3.0))
                    .collect();
                assert_eq!(T::largest_magnitude(&values), one_by_one(&values), "{len}");
                for at in [0, len / 2, len.saturating_sub(1)]
                    .into_iter()
                    .take(len.min(3))
                {
                    for special in specials {
                        let mut values = values.clone();
                        values[at] = special;
                        let largest = T::largest_magnitude(&values);
                        assert_eq!(largest, special.magnitude(), "{len} at {at}");
                        assert_eq!(largest, one_by_one(&values));
                    }
                }
            }
            assert_eq!(
                T::largest_magnitude(&[T::cast_from(f64::INFINITY), T::cast_from(f64::NAN)]),
                T::cast_from(f64::NAN).magnitude()
            );
        }
        check::<f32>();
        check::<f64>();
    }
}
