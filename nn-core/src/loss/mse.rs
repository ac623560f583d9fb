use super::ElementwiseLoss;
use crate::Scalar;

/// Mean squared error: `mean((prediction - target)^2)` over the batch and the outputs.
///
/// There is no `1/2` factor: the value and gradient are those of PyTorch's `nn.MSELoss()` and
/// Keras's `"mean_squared_error"`.
///
/// # Example
///
/// ```
/// use typenn::{columns, Loss, Mse};
///
/// let predictions = [1.0_f64, 2.0, 3.0, 5.0];
/// let targets = [0.0_f64, 2.0, 3.0, 3.0];
/// // (1 + 0 + 0 + 4) / 4
/// let loss = Mse.loss(columns::<f64, 2>(&predictions), columns::<f64, 2>(&targets));
/// assert_eq!(loss, 1.25);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl ElementwiseLoss for Mse {
    const NAME: &'static str = "Mse";

    #[inline]
    fn term<T: Scalar>(&self, prediction: T, target: T) -> T {
        let error = prediction - target;
        error * error
    }

    #[inline]
    fn derivative<T: Scalar>(&self, prediction: T, target: T) -> T {
        T::cast_from(2.0) * (prediction - target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loss;
    use crate::{columns, columns_mut};

    #[test]
    fn hand_computed_value_and_gradient() {
        let predictions = [0.5_f64, -1.0, 2.0];
        let targets = [1.0_f64, 1.0, 1.0];
        let mut gradient = [0.0_f64; 3];
        let loss = Mse.loss_and_gradient(
            columns::<f64, 1>(&predictions),
            columns::<f64, 1>(&targets),
            columns_mut::<f64, 1>(&mut gradient),
        );
        // (0.25 + 4 + 1) / 3
        assert!((loss - 1.75).abs() < 1e-15);
        // 2 (p - t) / 3
        assert_eq!(gradient, [-1.0 / 3.0, -4.0 / 3.0, 2.0 / 3.0]);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut predictions = [0.3_f64, -0.7, 1.9, 0.05, -2.2, 0.8];
        let targets = [0.1_f64, 0.4, 1.0, -0.3, -2.0, 0.0];
        let mut gradient = [0.0_f64; 6];
        let _ = Mse.loss_and_gradient(
            columns::<f64, 3>(&predictions),
            columns::<f64, 3>(&targets),
            columns_mut::<f64, 3>(&mut gradient),
        );
        let h = 1e-6;
        for i in 0..predictions.len() {
            let original = predictions[i];
            predictions[i] = original + h;
            let plus = Mse.loss(columns::<f64, 3>(&predictions), columns::<f64, 3>(&targets));
            predictions[i] = original - h;
            let minus = Mse.loss(columns::<f64, 3>(&predictions), columns::<f64, 3>(&targets));
            predictions[i] = original;
            let numeric = (plus - minus) / (2.0 * h);
            assert!(
                (numeric - gradient[i]).abs() <= 1e-6 * numeric.abs().max(1e-3),
                "output {i}: {numeric} vs {}",
                gradient[i]
            );
        }
    }
}
