use super::Elementwise;
use crate::{Scalar, Sigmoid};

/// Swish, also called SiLU: `f(z) = z sigmoid(z)`.
///
/// The values are those of PyTorch's `nn.SiLU()` and Keras's `silu`/`swish`. [`Silu`] is the same
/// type under its other name.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Swish;

/// SiLU, the sigmoid-weighted linear unit: another name for [`Swish`].
pub type Silu = Swish;

impl Elementwise for Swish {
    const NAME: &'static str = "Swish";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        z * Sigmoid::apply(z)
    }

    /// `s + z s (1 - s)` with `s = sigmoid(z)`.
    #[inline]
    fn derivative<T: Scalar>(z: T, _a: T) -> T {
        let s = Sigmoid::apply(z);
        s * (T::one() + z * (T::one() - s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn hand_computed_values() {
        assert_eq!(Swish::apply(0.0_f64), 0.0);
        // 2 / (1 + e^-2) = 1.7615941559557646, -2 / (1 + e^2) = -0.2384058440442351
        assert!((Swish::apply(2.0_f64) - 1.761_594_155_955_764_6).abs() < 1e-15);
        assert!((Swish::apply(-2.0_f64) + 0.238_405_844_044_235_1).abs() < 1e-15);
        assert_eq!(Silu::apply(-1000.0_f32), 0.0);
        assert_eq!(Silu::apply(1000.0_f32), 1000.0);
    }

    #[test]
    fn derivative_at_zero_is_one_half() {
        assert_eq!(Swish::derivative(0.0_f64, 0.0), 0.5);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Swish>(&[-5.0, -1.3, -0.2, 0.0, 0.6, 3.0]);
        check_derivative::<Silu>(&[-2.0, 1.0]);
    }
}
