use super::Elementwise;
use crate::Scalar;

/// The leaky rectifier `f(z) = z` for `z > 0`, `0.01 z` otherwise.
///
/// The slope 0.01 is PyTorch's default for `nn.LeakyReLU` (Keras's `LeakyReLU` defaults to a
/// different slope: pass `negative_slope=0.01` there to match).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct LeakyRelu;

impl LeakyRelu {
    /// The slope for negative inputs.
    pub const NEGATIVE_SLOPE: f64 = 0.01;
}

impl Elementwise for LeakyRelu {
    const NAME: &'static str = "LeakyRelu";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        if z > T::zero() {
            z
        } else {
            z * T::cast_from(Self::NEGATIVE_SLOPE)
        }
    }

    #[inline]
    fn derivative<T: Scalar>(z: T, _a: T) -> T {
        if z > T::zero() {
            T::one()
        } else {
            T::cast_from(Self::NEGATIVE_SLOPE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn scales_negative_values() {
        assert_eq!(LeakyRelu::apply(-2.0_f64), -0.02);
        assert_eq!(LeakyRelu::apply(3.0_f64), 3.0);
        assert!((LeakyRelu::apply(-100.0_f32) - -1.0).abs() < 1e-6);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<LeakyRelu>(&[-3.0, -0.1, 0.4, 2.0]);
    }
}
