//! Loss functions: how far a batch of predictions is from its targets.

mod binary_cross_entropy;
mod huber;
mod mae;
mod mse;
mod softmax_cross_entropy;

pub use binary_cross_entropy::{BinaryCrossEntropy, BinaryCrossEntropyWithLogits};
pub use huber::Huber;
pub use mae::Mae;
pub use mse::Mse;
pub use softmax_cross_entropy::SoftmaxCrossEntropy;

use crate::{Columns, ColumnsMut, Scalar};

/// A loss over a batch of predictions and targets, one sample per column.
///
/// The loss is a mean over the batch, so its gradient carries the `1 / batch` factor and a
/// learning rate means the same thing whatever the batch size, as in PyTorch and Keras.
///
/// A loss is `Sync`: the threads of a data-parallel training step share it.
pub trait Loss<T: Scalar>: Sync {
    /// The name shown in summaries and errors.
    const NAME: &'static str;

    /// The loss of `predictions` against `targets`.
    #[must_use]
    fn loss<const W: usize>(&self, predictions: Columns<'_, T, W>, targets: Columns<'_, T, W>)
    -> T;

    /// The loss, and its gradient with respect to each prediction written into `gradient`.
    fn loss_and_gradient<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
        gradient: ColumnsMut<'_, T, W>,
    ) -> T;

    /// Checks the loss's settings in `T`, the precision the network computes in; training
    /// calls it before the first step. The default has nothing to check.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`](crate::TrainError::InvalidOption) naming the setting.
    #[cfg(feature = "std")]
    fn validate(&self) -> Result<(), crate::TrainError> {
        Ok(())
    }
}

/// A loss that is the mean, over every output of every sample, of a term of one prediction and
/// its target: every loss here but [`SoftmaxCrossEntropy`]. Implementing it gives [`Loss`] for
/// every scalar type, as [`Elementwise`](crate::Elementwise) gives an activation.
///
/// # Example
///
/// ```
/// use typenn::{ElementwiseLoss, Loss, Scalar, columns};
///
/// /// The mean of the fourth powers of the errors.
/// struct Quartic;
///
/// impl ElementwiseLoss for Quartic {
///     const NAME: &'static str = "Quartic";
///     fn term<T: Scalar>(&self, prediction: T, target: T) -> T {
///         let e = prediction - target;
///         e * e * e * e
///     }
///     fn derivative<T: Scalar>(&self, prediction: T, target: T) -> T {
///         let e = prediction - target;
///         T::cast_from(4.0) * e * e * e
///     }
/// }
///
/// let loss = Quartic.loss(columns::<f64, 1>(&[2.0, 0.0]), columns::<f64, 1>(&[1.0, 0.0]));
/// assert_eq!(loss, 0.5);
/// ```
pub trait ElementwiseLoss: Sync {
    /// The name shown in summaries and errors.
    const NAME: &'static str;

    /// The term for one prediction and its target.
    #[must_use]
    fn term<T: Scalar>(&self, prediction: T, target: T) -> T;

    /// The term's derivative with respect to the prediction.
    #[must_use]
    fn derivative<T: Scalar>(&self, prediction: T, target: T) -> T;

    /// Checks the loss's settings in `T`, as [`Loss::validate`]. The default has nothing to
    /// check.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`](crate::TrainError::InvalidOption) naming the setting.
    #[cfg(feature = "std")]
    fn validate<T: Scalar>(&self) -> Result<(), crate::TrainError> {
        Ok(())
    }
}

impl<L: ElementwiseLoss, T: Scalar> Loss<T> for L {
    const NAME: &'static str = L::NAME;

    fn loss<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
    ) -> T {
        let count = T::cast_from((W * predictions.ncols()) as f64);
        let mut sum = T::zero();
        for (&p, &t) in predictions.as_slice().iter().zip(targets.as_slice()) {
            sum += self.term(p, t);
        }
        sum / count
    }

    fn loss_and_gradient<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
        mut gradient: ColumnsMut<'_, T, W>,
    ) -> T {
        let count = T::cast_from((W * predictions.ncols()) as f64);
        let mut sum = T::zero();
        let pairs = predictions.as_slice().iter().zip(targets.as_slice());
        for (g, (&p, &t)) in gradient.as_mut_slice().iter_mut().zip(pairs) {
            sum += self.term(p, t);
            *g = self.derivative(p, t) / count;
        }
        sum / count
    }

    #[cfg(feature = "std")]
    fn validate(&self) -> Result<(), crate::TrainError> {
        ElementwiseLoss::validate::<T>(self)
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Loss;
    use crate::{columns, columns_mut};

    /// Checks `loss`'s gradient against central finite differences in f64, one prediction at a
    /// time, for a batch of samples `W` wide: each must agree to a relative error of `1e-6` (or
    /// `1e-10` absolute where the gradient is 0). Also checks that `loss` and
    /// `loss_and_gradient` report the same value. The points must stay away from kinks.
    pub fn check_gradient<L: Loss<f64>, const W: usize>(
        loss: &L,
        predictions: &[f64],
        targets: &[f64],
    ) {
        let mut predictions = predictions.to_vec();
        let mut gradient = vec![0.0_f64; predictions.len()];
        let value = loss.loss_and_gradient(
            columns::<f64, W>(&predictions),
            columns::<f64, W>(targets),
            columns_mut::<f64, W>(&mut gradient),
        );
        let alone = loss.loss(columns::<f64, W>(&predictions), columns::<f64, W>(targets));
        assert!(
            (value - alone).abs() <= 1e-15 * value.abs(),
            "{}: loss_and_gradient says {value}, loss says {alone}",
            L::NAME
        );
        let h = 1e-6;
        for i in 0..predictions.len() {
            let original = predictions[i];
            predictions[i] = original + h;
            let plus = loss.loss(columns::<f64, W>(&predictions), columns::<f64, W>(targets));
            predictions[i] = original - h;
            let minus = loss.loss(columns::<f64, W>(&predictions), columns::<f64, W>(targets));
            predictions[i] = original;
            let numeric = (plus - minus) / (2.0 * h);
            let difference = (numeric - gradient[i]).abs();
            let scale = numeric.abs().max(gradient[i].abs());
            assert!(
                difference <= 1e-6 * scale || difference <= 1e-10,
                "{}: prediction {i}: analytic {}, numeric {numeric}",
                L::NAME,
                gradient[i]
            );
        }
    }
}
