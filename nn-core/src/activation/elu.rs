use super::Elementwise;
use crate::Scalar;

/// The exponential linear unit `f(z) = z` for `z > 0`, `α (e^z - 1)` otherwise, with `α = 1`
/// (PyTorch's `nn.ELU()` and Keras's `elu` default).
///
/// Smooth at 0 for this `α`: both sides have slope 1 there.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Elu;

impl Elu {
    /// The scale `α` of the negative side, which tends to `-α` far below 0.
    pub const ALPHA: f64 = 1.0;
}

impl Elementwise for Elu {
    const NAME: &'static str = "Elu";

    #[inline]
    fn apply<T: Scalar>(z: T) -> T {
        if z > T::zero() {
            z
        } else {
            // exp_m1 keeps the digits of e^z - 1 for z near 0.
            T::cast_from(Self::ALPHA) * z.exp_m1()
        }
    }

    /// `1` for `z > 0`, `α e^z = a + α` otherwise.
    #[inline]
    fn derivative<T: Scalar>(z: T, a: T) -> T {
        if z > T::zero() {
            T::one()
        } else {
            a + T::cast_from(Self::ALPHA)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::testing::check_derivative;

    #[test]
    fn hand_computed_values() {
        assert_eq!(Elu::apply(2.5_f64), 2.5);
        assert_eq!(Elu::apply(0.0_f64), 0.0);
        // e^-1 - 1 = -0.6321205588285577
        assert!((Elu::apply(-1.0_f64) + 0.632_120_558_828_557_7).abs() < 1e-15);
        // e^-1e-10 - 1 = -9.9999999995e-11, where e^z - 1 gives -1.0000000827e-10.
        assert!((Elu::apply(-1e-10_f64) + 9.999_999_999_5e-11).abs() < 1e-25);
        assert_eq!(Elu::apply(-100.0_f32), -1.0);
    }

    #[test]
    fn derivative_is_one_at_zero_from_both_sides() {
        assert_eq!(Elu::derivative(0.0_f64, 0.0), 1.0);
        assert_eq!(Elu::derivative(1e-3_f64, 1e-3), 1.0);
        // e^-2 = 0.1353352832366127
        let a = Elu::apply(-2.0_f64);
        assert!((Elu::derivative(-2.0_f64, a) - 0.135_335_283_236_612_7).abs() < 1e-15);
    }

    #[test]
    fn derivative_matches_finite_differences() {
        check_derivative::<Elu>(&[-4.0, -1.0, -0.3, 0.4, 2.0]);
    }
}
