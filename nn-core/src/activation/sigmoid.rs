use super::Elementwise;
use crate::Scalar;

/// The logistic function `f(z) = 1 / (1 + e^-z)`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Sigmoid;

impl Elementwise for Sigmoid {
    const NAME: &'static str = "Sigmoid";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        // Both branches only ever exponentiate a non-positive number, so neither overflows.
        if z >= T::zero() {
            T::one() / (T::one() + (-z).exp())
        } else {
            let e = z.exp();
            e / (T::one() + e)
        }
    }

    #[inline]
    fn derivative<T: Scalar>(_z: T, a: T) -> T {
        a * (T::one() - a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn hand_computed_values() {
        assert_eq!(Sigmoid::apply(0.0_f64), 0.5);
        // 1 / (1 + e^-2) = 0.8807970779778823
        assert!((Sigmoid::apply(2.0_f64) - 0.880_797_077_977_882_3).abs() < 1e-15);
        assert!((Sigmoid::apply(-2.0_f64) - 0.119_202_922_022_117_7).abs() < 1e-15);
    }

    #[test]
    fn saturates_without_overflow() {
        assert_eq!(Sigmoid::apply(-1000.0_f32), 0.0);
        assert_eq!(Sigmoid::apply(1000.0_f32), 1.0);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Sigmoid>(&[-4.0, -0.5, 0.0, 0.7, 3.0]);
    }
}
