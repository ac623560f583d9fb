use super::Elementwise;
use crate::Scalar;

/// The rectifier `f(z) = max(z, 0)`, with `f'(0) = 0` as in PyTorch and Keras.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Relu;

impl Elementwise for Relu {
    const NAME: &'static str = "Relu";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        if z > T::zero() { z } else { T::zero() }
    }

    #[inline]
    fn derivative<T: Scalar>(z: T, _a: T) -> T {
        if z > T::zero() { T::one() } else { T::zero() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn clips_negative_values() {
        assert_eq!(Relu::apply(-2.5_f32), 0.0);
        assert_eq!(Relu::apply(0.0_f32), 0.0);
        assert_eq!(Relu::apply(1.5_f64), 1.5);
    }

    #[test]
    fn derivative_is_zero_at_the_kink() {
        assert_eq!(Relu::derivative(0.0_f64, 0.0), 0.0);
        assert_eq!(Relu::derivative(-1.0_f64, 0.0), 0.0);
        assert_eq!(Relu::derivative(2.0_f64, 2.0), 1.0);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Relu>(&[-3.0, -0.1, 0.4, 2.0]);
    }
}
