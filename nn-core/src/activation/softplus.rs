use super::Elementwise;
use crate::{Scalar, Sigmoid};

/// The softplus `f(z) = ln(1 + e^z)`, a smooth rectifier, with derivative `sigmoid(z)`.
///
/// Computed as `max(z, 0) + ln(1 + e^-|z|)`, which never overflows and keeps its digits for large
/// negative `z`. The values are those of PyTorch's `nn.Softplus()` (whose switch to `z` above 20 is
/// within rounding of this) and Keras's `softplus`.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Softplus;

impl Elementwise for Softplus {
    const NAME: &'static str = "Softplus";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        z.max(T::zero()) + (-z.abs()).exp().ln_1p()
    }

    #[inline]
    fn derivative<T: Scalar>(z: T, _a: T) -> T {
        Sigmoid::apply(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn hand_computed_values() {
        // ln 2 = 0.6931471805599453
        assert!((Softplus::apply(0.0_f64) - core::f64::consts::LN_2).abs() < 1e-16);
        // ln(1 + e) = 1.3132616875182228, ln(1 + e^-1) = 0.31326168751822286
        assert!((Softplus::apply(1.0_f64) - 1.313_261_687_518_222_8).abs() < 1e-15);
        assert!((Softplus::apply(-1.0_f64) - 0.313_261_687_518_222_86).abs() < 1e-16);
        // ln(1 + e^-40) = 4.248354255291589e-18: ln(1 + e^z) computed directly would give 0.
        assert!((Softplus::apply(-40.0_f64) - 4.248_354_255_291_589e-18).abs() < 1e-32);
    }

    #[test]
    fn large_inputs_do_not_overflow() {
        assert_eq!(Softplus::apply(1000.0_f32), 1000.0);
        assert_eq!(Softplus::apply(-1000.0_f32), 0.0);
        assert_eq!(Softplus::derivative(1000.0_f32, 1000.0), 1.0);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Softplus>(&[-6.0, -1.0, 0.0, 0.3, 2.0, 8.0]);
    }
}
