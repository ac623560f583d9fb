use super::Elementwise;
use crate::Scalar;

/// The hyperbolic tangent `f(z) = tanh(z)`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Tanh;

impl Elementwise for Tanh {
    const NAME: &'static str = "Tanh";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        z.tanh()
    }

    #[inline]
    fn derivative<T: Scalar>(_z: T, a: T) -> T {
        T::one() - a * a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn hand_computed_values() {
        assert_eq!(Tanh::apply(0.0_f64), 0.0);
        // tanh(1) = (e^2 - 1) / (e^2 + 1) = 0.7615941559557649
        assert!((Tanh::apply(1.0_f64) - 0.761_594_155_955_764_9).abs() < 1e-15);
        assert!((Tanh::apply(-1.0_f64) + 0.761_594_155_955_764_9).abs() < 1e-15);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Tanh>(&[-2.0, -0.3, 0.0, 0.8, 2.5]);
    }
}
