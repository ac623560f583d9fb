use super::ElementwiseLoss;
use crate::Scalar;

/// Mean absolute error: `mean(|prediction - target|)` over the batch and the outputs.
///
/// The value and gradient are those of PyTorch's `nn.L1Loss()` and Keras's
/// `"mean_absolute_error"`; the gradient of `|e|` is taken as 0 at `e = 0`, as both do.
///
/// # Example
///
/// ```
/// use typenn::{columns, Loss, Mae};
///
/// let predictions = [1.0_f64, 2.0, 3.0, 5.0];
/// let targets = [0.0_f64, 2.0, 3.5, 3.0];
/// // (1 + 0 + 0.5 + 2) / 4
/// let loss = Mae.loss(columns::<f64, 2>(&predictions), columns::<f64, 2>(&targets));
/// assert_eq!(loss, 0.875);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mae;

impl ElementwiseLoss for Mae {
    const NAME: &'static str = "Mae";

    #[inline]
    fn term<T: Scalar>(&self, prediction: T, target: T) -> T {
        (prediction - target).abs()
    }

    /// The sign of the error, and 0 where it is 0 (PyTorch's and Keras's choice at the kink).
    #[inline]
    fn derivative<T: Scalar>(&self, prediction: T, target: T) -> T {
        let error = prediction - target;
        if error > T::zero() {
            T::one()
        } else if error < T::zero() {
            -T::one()
        } else {
            T::zero()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loss;
    use crate::loss::testing::check_gradient;
    use crate::{columns, columns_mut};

    #[test]
    fn hand_computed_value_and_gradient() {
        let predictions = [0.5_f64, -1.0, 2.0, 1.0];
        let targets = [1.0_f64, 1.0, 1.0, 1.0];
        let mut gradient = [9.0_f64; 4];
        let loss = Mae.loss_and_gradient(
            columns::<f64, 2>(&predictions),
            columns::<f64, 2>(&targets),
            columns_mut::<f64, 2>(&mut gradient),
        );
        // (0.5 + 2 + 1 + 0) / 4
        assert_eq!(loss, 0.875);
        // sign(p - t) / 4, and 0 where the prediction is exact.
        assert_eq!(gradient, [-0.25, -0.25, 0.25, 0.0]);
        let value = Mae.loss(columns::<f64, 2>(&predictions), columns::<f64, 2>(&targets));
        assert_eq!(value, loss);
    }

    #[test]
    fn works_in_f32() {
        let loss = Mae.loss(
            columns::<f32, 1>(&[3.0, -1.0]),
            columns::<f32, 1>(&[1.0, 1.0]),
        );
        assert_eq!(loss, 2.0_f32);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // No prediction within the finite-difference step of its target (the kink).
        check_gradient::<_, 3>(
            &Mae,
            &[0.3, -0.7, 1.9, 0.05, -2.2, 0.8],
            &[0.1, 0.4, 1.0, -0.3, -2.0, 0.0],
        );
    }
}
