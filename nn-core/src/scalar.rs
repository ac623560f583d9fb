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

    /// A vector's worth of magnitudes: the bits of the values with the sign cleared, read as
    /// unsigned integers, whose order is the magnitudes' (with NaN above infinity). Their
    /// lane-wise maximum vectorizes into integer instructions.
    #[doc(hidden)]
    type Lanes: Copy + Default;

    /// Raises each lane of `lanes` to the magnitude of the values that fall in it.
    #[doc(hidden)]
    fn include(lanes: &mut Self::Lanes, values: &[Self]);

    /// Whether every lane is below the magnitude of `limit`: all values seen were smaller than
    /// `limit` in magnitude, and none was NaN.
    #[doc(hidden)]
    #[must_use]
    fn below(lanes: &Self::Lanes, limit: Self) -> bool;

    /// Converts from `f64`, rounding to nearest for `f32`.
    #[must_use]
    fn cast_from(value: f64) -> Self;

    /// Converts to `f64` exactly.
    #[must_use]
    fn as_f64(self) -> f64;
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    const SAFE_STEP: Self = f32::from_bits((127 + 102) << 23);
    const MIN_POSITIVE: Self = f32::MIN_POSITIVE;

    type Lanes = [u32; 8];

    #[inline(always)]
    fn include(lanes: &mut [u32; 8], values: &[Self]) {
        // A long slice is reduced on its own, in registers; short ones go lane by lane, so
        // that a step's few small vectors share one reduction at the end.
        if values.len() > 2 * 8 {
            let largest = values.iter().fold(0, |largest: u32, value| {
                largest.max(value.to_bits() & 0x7fff_ffff)
            });
            lanes[0] = lanes[0].max(largest);
            return;
        }
        let mut chunks = values.chunks_exact(8);
        for chunk in &mut chunks {
            for (lane, value) in lanes.iter_mut().zip(chunk) {
                *lane = (*lane).max(value.to_bits() & 0x7fff_ffff);
            }
        }
        for (lane, value) in lanes.iter_mut().zip(chunks.remainder()) {
            *lane = (*lane).max(value.to_bits() & 0x7fff_ffff);
        }
    }

    #[inline(always)]
    fn below(lanes: &[u32; 8], limit: Self) -> bool {
        lanes.iter().fold(0, |largest, &lane| largest.max(lane)) < limit.to_bits()
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

    type Lanes = [u64; 4];

    #[inline(always)]
    fn include(lanes: &mut [u64; 4], values: &[Self]) {
        // A long slice is reduced on its own, in registers; short ones go lane by lane, so
        // that a step's few small vectors share one reduction at the end.
        if values.len() > 2 * 4 {
            let largest = values.iter().fold(0, |largest: u64, value| {
                largest.max(value.to_bits() & 0x7fff_ffff_ffff_ffff)
            });
            lanes[0] = lanes[0].max(largest);
            return;
        }
        let mut chunks = values.chunks_exact(4);
        for chunk in &mut chunks {
            for (lane, value) in lanes.iter_mut().zip(chunk) {
                *lane = (*lane).max(value.to_bits() & 0x7fff_ffff_ffff_ffff);
            }
        }
        for (lane, value) in lanes.iter_mut().zip(chunks.remainder()) {
            *lane = (*lane).max(value.to_bits() & 0x7fff_ffff_ffff_ffff);
        }
    }

    #[inline(always)]
    fn below(lanes: &[u64; 4], limit: Self) -> bool {
        lanes.iter().fold(0, |largest, &lane| largest.max(lane)) < limit.to_bits()
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
