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

    /// Converts from `f64`, rounding to nearest for `f32`.
    #[must_use]
    fn cast_from(value: f64) -> Self;

    /// Converts to `f64` exactly.
    #[must_use]
    fn as_f64(self) -> f64;
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";

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

    #[inline]
    fn cast_from(value: f64) -> Self {
        value
    }

    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
}
