use super::Loss;
use crate::{Columns, ColumnsMut, Scalar};

/// Categorical cross-entropy on logits: softmax and cross-entropy in one, for classifiers whose
/// last layer is linear.
///
/// For each sample the network's `W` outputs are logits `z` and the target `t` is a one-hot row or
/// a row of class probabilities; the sample's loss is `-sum_i t_i ln softmax(z)_i`, computed as
/// `sum_i t_i (logsumexp(z) - z_i)` with the largest logit shifted out, so it is exact for any
/// finite logits. The loss is the mean over the batch, *not* over the outputs, and the gradient is
/// `(softmax(z) - t) / batch` (for targets that sum to 1; `(softmax(z) sum(t) - t) / batch` in
/// general). These are the value and gradient of PyTorch's `nn.CrossEntropyLoss()` with
/// probability targets and Keras's `CategoricalCrossentropy(from_logits=True)`.
///
/// Get probabilities from a trained network with `predict_proba`.
///
/// # Example
///
/// ```
/// use typenn::{columns, Loss, SoftmaxCrossEntropy};
///
/// // One sample, two classes, undecided logits, the first class right.
/// let logits = [3.0_f64, 3.0];
/// let targets = [1.0_f64, 0.0];
/// let loss = SoftmaxCrossEntropy.loss(columns::<f64, 2>(&logits), columns::<f64, 2>(&targets));
/// assert!((loss - 2.0_f64.ln()).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

/// The largest logit of a sample and `ln sum_i e^(z_i - largest)`.
#[inline]
fn shifted_log_sum_exp<'a, T: Scalar>(logits: impl Iterator<Item = &'a T> + Clone) -> (T, T) {
    let largest = logits
        .clone()
        .fold(T::cast_from(f64::NEG_INFINITY), |m, &z| m.max(z));
    let sum = logits.fold(T::zero(), |sum, &z| sum + (z - largest).exp());
    (largest, sum.ln())
}

impl<T: Scalar> Loss<T> for SoftmaxCrossEntropy {
    const NAME: &'static str = "SoftmaxCrossEntropy";

    fn loss<const W: usize>(&self, logits: Columns<'_, T, W>, targets: Columns<'_, T, W>) -> T {
        let batch = T::cast_from(logits.ncols() as f64);
        let mut total = T::zero();
        for (z, t) in logits.column_iter().zip(targets.column_iter()) {
            let (largest, log_sum) = shifted_log_sum_exp(z.iter());
            // -ln softmax(z)_i = log_sum - (z_i - largest)
            for (&z, &t) in z.iter().zip(t.iter()) {
                total += t * (log_sum - (z - largest));
            }
        }
        total / batch
    }

    fn loss_and_gradient<const W: usize>(
        &self,
        logits: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
        mut gradient: ColumnsMut<'_, T, W>,
    ) -> T {
        let batch = T::cast_from(logits.ncols() as f64);
        let mut total = T::zero();
        for ((z, t), mut g) in logits
            .column_iter()
            .zip(targets.column_iter())
            .zip(gradient.column_iter_mut())
        {
            let (largest, log_sum) = shifted_log_sum_exp(z.iter());
            let mut mass = T::zero();
            for (&z, &t) in z.iter().zip(t.iter()) {
                total += t * (log_sum - (z - largest));
                mass += t;
            }
            for ((g, &z), &t) in g.iter_mut().zip(z.iter()).zip(t.iter()) {
                let probability = (z - largest - log_sum).exp();
                *g = (probability * mass - t) / batch;
            }
        }
        total / batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::testing::check_gradient;
    use crate::{columns, columns_mut};

    #[test]
    fn hand_computed_value_and_gradient() {
        // Sample 1: logits [1, 2, 3], one-hot target on class 2.
        // Sample 2: logits [1000, 0, -1000], half on class 0 and half on class 1.
        let logits = [1.0_f64, 2.0, 3.0, 1000.0, 0.0, -1000.0];
        let targets = [0.0_f64, 0.0, 1.0, 0.5, 0.5, 0.0];
        let mut gradient = [0.0_f64; 6];
        let loss = SoftmaxCrossEntropy.loss_and_gradient(
            columns::<f64, 3>(&logits),
            columns::<f64, 3>(&targets),
            columns_mut::<f64, 3>(&mut gradient),
        );
        // Sample 1: ln(e^-2 + e^-1 + 1) = 0.4076059644443804.
        // Sample 2: softmax is [1, 0, 0] to double precision: 0.5 * 0 + 0.5 * 1000.
        // The mean over the two samples, not over the six outputs.
        let expected = (0.407_605_964_444_380_4 + 500.0) / 2.0;
        assert!((loss - expected).abs() < 1e-13, "{loss} vs {expected}");
        // (softmax(z) - t) / 2, softmax([1, 2, 3]) = [0.09003057317038046, 0.24472847105479767,
        // 0.6652409557748219].
        let expected = [
            0.090_030_573_170_380_46 / 2.0,
            0.244_728_471_054_797_67 / 2.0,
            (0.665_240_955_774_821_9 - 1.0) / 2.0,
            0.25,
            -0.25,
            0.0,
        ];
        for (g, e) in gradient.iter().zip(expected) {
            assert!((g - e).abs() < 1e-16, "{gradient:?} vs {expected:?}");
        }
    }

    #[test]
    fn averages_over_the_batch_not_the_outputs() {
        // Four classes, uniform logits: each sample costs ln 4 whatever its class.
        let logits = [0.5_f32; 8];
        let targets = [1.0_f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let loss =
            SoftmaxCrossEntropy.loss(columns::<f32, 4>(&logits), columns::<f32, 4>(&targets));
        assert!((loss - 4.0_f32.ln()).abs() < 1e-6, "{loss}");
    }

    #[test]
    fn large_logits_do_not_overflow() {
        let loss = SoftmaxCrossEntropy.loss(
            columns::<f32, 2>(&[-500.0, 500.0]),
            columns::<f32, 2>(&[1.0, 0.0]),
        );
        assert_eq!(loss, 1000.0);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        // Two samples of three classes: a one-hot row and a probability row.
        check_gradient::<_, 3>(
            &SoftmaxCrossEntropy,
            &[0.3, -1.2, 0.8, 2.0, 0.1, -0.5],
            &[0.0, 1.0, 0.0, 0.2, 0.5, 0.3],
        );
        // Targets that do not sum to 1 still get the exact gradient of the value.
        check_gradient::<_, 2>(
            &SoftmaxCrossEntropy,
            &[1.5, -0.4, -2.0, 0.7],
            &[0.9, 0.6, 0.0, 0.25],
        );
    }
}
