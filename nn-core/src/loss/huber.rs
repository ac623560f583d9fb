use super::ElementwiseLoss;
use crate::Scalar;
#[cfg(feature = "std")]
use crate::TrainError;

/// The Huber loss: quadratic for small errors, linear for large ones, averaged over the batch
/// and the outputs.
///
/// With `e = prediction - target`, each output contributes `0.5 e^2` where `|e| <= delta` and
/// `delta (|e| - 0.5 delta)` elsewhere; the gradient is `e`, or `delta * sign(e)` beyond `delta`.
/// These are the value and gradient of PyTorch's `nn.HuberLoss(delta=delta)` and Keras's
/// `Huber(delta=delta)`; the default `delta` is 1, as in both.
///
/// # Example
///
/// ```
/// use typenn::{columns, Huber, Loss};
///
/// # fn main() -> Result<(), typenn::TrainError> {
/// let huber = Huber::new(1.0)?;
/// let predictions = [0.5_f64, 3.0];
/// let targets = [0.0_f64, 0.0];
/// // (0.5 * 0.25 + 1 * (3 - 0.5)) / 2
/// let loss = huber.loss(columns::<f64, 1>(&predictions), columns::<f64, 1>(&targets));
/// assert_eq!(loss, 1.3125);
/// assert!(Huber::new(0.0).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Huber {
    delta: f64,
}

impl Huber {
    /// The `delta` of [`Huber::default`], PyTorch's and Keras's default.
    pub const DEFAULT_DELTA: f64 = 1.0;

    #[cfg(feature = "std")]
    /// A Huber loss that turns from quadratic to linear at errors of `delta`.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] if `delta` is not a finite number above 0 (PyTorch refuses
    /// such a `delta` too).
    pub fn new(delta: f64) -> Result<Self, TrainError> {
        if delta.is_finite() && delta > 0.0 {
            Ok(Self { delta })
        } else {
            Err(TrainError::InvalidOption {
                option: "Huber delta",
                expected: "a finite number above 0",
                found: delta,
            })
        }
    }

    /// The error at which the loss turns from quadratic to linear.
    #[inline]
    #[must_use]
    pub const fn delta(&self) -> f64 {
        self.delta
    }
}

impl Default for Huber {
    /// `delta = 1`.
    fn default() -> Self {
        Self {
            delta: Self::DEFAULT_DELTA,
        }
    }
}

impl ElementwiseLoss for Huber {
    const NAME: &'static str = "Huber";

    /// Refuses a `delta` that overflows or rounds to zero in `T` (`1e39` for `f32`).
    #[cfg(feature = "std")]
    fn validate<T: Scalar>(&self) -> Result<(), TrainError> {
        crate::optim::check_positive::<T>("Huber delta", self.delta)
    }

    #[inline]
    fn term<T: Scalar>(&self, prediction: T, target: T) -> T {
        let (delta, half) = (T::cast_from(self.delta), T::cast_from(0.5));
        let error = (prediction - target).abs();
        if error <= delta {
            half * error * error
        } else {
            delta * (error - half * delta)
        }
    }

    #[inline]
    fn derivative<T: Scalar>(&self, prediction: T, target: T) -> T {
        let delta = T::cast_from(self.delta);
        let error = prediction - target;
        if error.abs() <= delta {
            error
        } else if error > T::zero() {
            delta
        } else {
            -delta
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
        let huber = Huber::new(2.0).expect("a valid delta");
        // Errors -0.5 and 1.5 (quadratic), 3 and -4 (linear), 2 (on the boundary).
        let predictions = [0.5_f64, 2.5, 3.0, -3.0, 2.0];
        let targets = [1.0_f64, 1.0, 0.0, 1.0, 0.0];
        let mut gradient = [0.0_f64; 5];
        let loss = huber.loss_and_gradient(
            columns::<f64, 1>(&predictions),
            columns::<f64, 1>(&targets),
            columns_mut::<f64, 1>(&mut gradient),
        );
        // 0.125 + 1.125 + 2 (3 - 1) + 2 (4 - 1) + 0.5 * 4 = 0.125 + 1.125 + 4 + 6 + 2 = 13.25
        assert_eq!(loss, 13.25 / 5.0);
        // e, or 2 sign(e) beyond 2; the boundary is on the quadratic side, where both agree.
        assert_eq!(gradient, [-0.1, 0.3, 0.4, -0.4, 0.4]);
    }

    #[test]
    fn default_delta_is_one() {
        assert_eq!(Huber::default().delta(), 1.0);
        let loss = Huber::default().loss(
            columns::<f32, 1>(&[0.5, -3.0]),
            columns::<f32, 1>(&[0.0, 0.0]),
        );
        // (0.125 + (3 - 0.5)) / 2
        assert_eq!(loss, 1.3125_f32);
    }

    #[test]
    fn rejects_deltas_that_are_not_positive_numbers() {
        for delta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let error = Huber::new(delta).expect_err("an invalid delta");
            assert!(
                matches!(error, TrainError::InvalidOption { option: "Huber delta", found, .. }
                    if found.to_bits() == delta.to_bits()),
                "{error:?}"
            );
        }
        assert_eq!(Huber::new(0.25).map(|h| h.delta()), Ok(0.25));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // Errors on both sides of delta = 0.8, none within the step of +-0.8.
        check_gradient::<_, 3>(
            &Huber::new(0.8).expect("a valid delta"),
            &[0.3, -0.7, 1.9, 0.05, -2.2, 0.8],
            &[0.1, 0.4, 1.0, -0.3, -2.0, 0.1],
        );
        check_gradient::<_, 2>(
            &Huber::default(),
            &[3.0, -4.5, 0.2, -0.6],
            &[0.0, 0.0, 0.0, 0.0],
        );
    }
}
