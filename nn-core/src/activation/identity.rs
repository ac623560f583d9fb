use super::Elementwise;
use crate::Scalar;

/// The identity `f(z) = z`: a linear layer. The default activation of `Dense`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Identity;

impl Elementwise for Identity {
    const NAME: &'static str = "Identity";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        z
    }

    #[inline]
    fn derivative<T: Scalar>(_z: T, _a: T) -> T {
        T::one()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn passes_values_through() {
        assert_eq!(Identity::apply(-2.5_f32), -2.5);
        assert_eq!(Identity::apply(0.0_f64), 0.0);
        assert_eq!(Identity::apply(7.25_f64), 7.25);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Identity>(&[-3.0, -0.1, 0.4, 2.0]);
    }
}
