use super::ElementwiseLoss;
use crate::{Elementwise, Scalar, Sigmoid};

/// Binary cross-entropy on probabilities: `mean(-(t ln p + (1 - t) ln(1 - p)))` over the batch
/// and the outputs, each output an independent yes/no probability `p` with target `t` in [0, 1].
///
/// As Keras's `binary_crossentropy` does, `p` is first clamped to `[1e-7, 1 - 1e-7]`, so a
/// confident wrong answer costs about 16.1 rather than infinity; the gradient
/// `(p - t) / (p (1 - p))` (over the count) is that of the clamped loss, 0 where `p` was clamped.
/// A network trained with it ends in [`Sigmoid`]; [`BinaryCrossEntropyWithLogits`] on a linear
/// output is the same loss without the clamp and its lost gradient, and is the better choice.
///
/// # Example
///
/// ```
/// use typenn::{columns, BinaryCrossEntropy, Loss};
///
/// let probabilities = [0.5_f64, 0.5];
/// let targets = [1.0_f64, 0.0];
/// let loss = BinaryCrossEntropy.loss(columns::<f64, 1>(&probabilities), columns::<f64, 1>(&targets));
/// assert!((loss - 2.0_f64.ln()).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

impl BinaryCrossEntropy {
    /// How far from 0 and 1 probabilities are clamped: Keras's `epsilon()`.
    pub const EPSILON: f64 = 1e-7;
}

/// One output's loss on its clamped probability.
#[inline]
fn cross_entropy<T: Scalar>(p: T, t: T) -> T {
    -(t * p.ln() + (T::one() - t) * (T::one() - p).ln())
}

impl ElementwiseLoss for BinaryCrossEntropy {
    const NAME: &'static str = "BinaryCrossEntropy";

    #[inline]
    fn term<T: Scalar>(&self, prediction: T, target: T) -> T {
        let low = T::cast_from(Self::EPSILON);
        cross_entropy(prediction.clamp(low, T::one() - low), target)
    }

    /// Zero where the prediction is clamped, as the clamp's own derivative is.
    #[inline]
    fn derivative<T: Scalar>(&self, prediction: T, target: T) -> T {
        let low = T::cast_from(Self::EPSILON);
        if prediction < low || prediction > T::one() - low {
            T::zero()
        } else {
            (prediction - target) / (prediction * (T::one() - prediction))
        }
    }
}

/// Binary cross-entropy on logits: the loss of [`BinaryCrossEntropy`] on `sigmoid(z)`, computed
/// from the network's linear output `z` without ever forming `sigmoid(z)`.
///
/// Each output contributes `max(z, 0) - z t + ln(1 + e^-|z|)`, exact for every finite `z`, and the
/// gradient is `(sigmoid(z) - t)` over the count of outputs in the batch. The value and gradient
/// are those of PyTorch's `nn.BCEWithLogitsLoss()` and Keras's
/// `BinaryCrossentropy(from_logits=True)`. Apply [`Sigmoid`] to the outputs to get probabilities.
///
/// # Example
///
/// ```
/// use typenn::{columns, BinaryCrossEntropyWithLogits, Loss};
///
/// let logits = [0.0_f64, 1000.0];
/// let targets = [1.0_f64, 1.0];
/// // ln 2 for the undecided output, nothing for the confident right one.
/// let loss = BinaryCrossEntropyWithLogits.loss(columns::<f64, 2>(&logits), columns::<f64, 2>(&targets));
/// assert!((loss - 2.0_f64.ln() / 2.0).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropyWithLogits;

/// One output's loss on its logit `z`.
#[inline]
fn cross_entropy_with_logit<T: Scalar>(z: T, t: T) -> T {
    // ln(1 + e^z) - z t, rearranged so that the exponent is never positive.
    z.max(T::zero()) - z * t + (-z.abs()).exp().ln_1p()
}

impl ElementwiseLoss for BinaryCrossEntropyWithLogits {
    const NAME: &'static str = "BinaryCrossEntropyWithLogits";

    #[inline]
    fn term<T: Scalar>(&self, logit: T, target: T) -> T {
        cross_entropy_with_logit(logit, target)
    }

    #[inline]
    fn derivative<T: Scalar>(&self, logit: T, target: T) -> T {
        Sigmoid::apply(logit) - target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Loss;
    use crate::loss::testing::check_gradient;
    use crate::{columns, columns_mut};
    use core::f64::consts::LN_2;

    #[test]
    fn probabilities_hand_computed_value_and_gradient() {
        let probabilities = [0.5_f64, 0.9, 0.2, 0.75];
        let targets = [1.0_f64, 1.0, 0.0, 0.5];
        let mut gradient = [0.0_f64; 4];
        let loss = BinaryCrossEntropy.loss_and_gradient(
            columns::<f64, 2>(&probabilities),
            columns::<f64, 2>(&targets),
            columns_mut::<f64, 2>(&mut gradient),
        );
        // -ln 0.5 = ln 2, -ln 0.9, -ln 0.8, -(0.5 ln 0.75 + 0.5 ln 0.25) = -0.5 ln(3/16):
        // 0.6931471805599453 + 0.10536051565782628 + 0.2231435513142097 + 0.8369882167858358
        let expected =
            (LN_2 + 0.105_360_515_657_826_28 + 0.223_143_551_314_209_7 + 0.836_988_216_785_835_8)
                / 4.0;
        assert!((loss - expected).abs() < 1e-15, "{loss} vs {expected}");
        // (p - t) / (p (1 - p)) / 4: -0.5 / 0.25, -0.1 / 0.09, 0.2 / 0.16, 0.25 / 0.1875, over 4.
        let expected = [-0.5, -1.0 / 0.9 / 4.0, 0.3125, 1.0 / 3.0];
        for (g, e) in gradient.iter().zip(expected) {
            assert!((g - e).abs() < 1e-15, "{gradient:?} vs {expected:?}");
        }
    }

    #[test]
    fn probabilities_are_clamped_as_keras_does() {
        let probabilities = [0.0_f64, 1.0, 1.0];
        let targets = [1.0_f64, 0.0, 1.0];
        let mut gradient = [9.0_f64; 3];
        let loss = BinaryCrossEntropy.loss_and_gradient(
            columns::<f64, 1>(&probabilities),
            columns::<f64, 1>(&targets),
            columns_mut::<f64, 1>(&mut gradient),
        );
        // A confident wrong answer costs -ln(1e-7) = 16.11809565095832 (p = 0 clamped up) or
        // -ln(1 - (1 - 1e-7)) = 16.118095651484676 (p = 1 clamped down, 1 - 1e-7 rounded); the
        // right one costs -ln(1 - 1e-7) = 1.0000000494736474e-7.
        let expected =
            (16.118_095_650_958_32 + 16.118_095_651_484_676 + 1.000_000_049_473_647_4e-7) / 3.0;
        assert!((loss - expected).abs() < 1e-14, "{loss} vs {expected}");
        assert_eq!(gradient, [0.0; 3]);
        let single = BinaryCrossEntropy.loss(columns::<f32, 1>(&[0.0]), columns::<f32, 1>(&[1.0]));
        assert!((single - 16.118_095_f32).abs() < 1e-5, "{single}");
    }

    #[test]
    fn probabilities_gradient_matches_finite_differences() {
        check_gradient::<_, 3>(
            &BinaryCrossEntropy,
            &[0.3, 0.7, 0.95, 0.05, 0.5, 0.8],
            &[0.0, 1.0, 1.0, 0.0, 0.25, 1.0],
        );
    }

    #[test]
    fn logits_hand_computed_value_and_gradient() {
        let logits = [0.0_f64, 2.0, -3.0, 1000.0];
        let targets = [1.0_f64, 1.0, 0.0, 0.0];
        let mut gradient = [0.0_f64; 4];
        let loss = BinaryCrossEntropyWithLogits.loss_and_gradient(
            columns::<f64, 1>(&logits),
            columns::<f64, 1>(&targets),
            columns_mut::<f64, 1>(&mut gradient),
        );
        // ln 2, ln(1 + e^-2), ln(1 + e^-3), and 1000 for the confident wrong answer:
        // 0.6931471805599453 + 0.1269280110429725 + 0.04858735157374206 + 1000
        let expected = (LN_2 + 0.126_928_011_042_972_5 + 0.048_587_351_573_742_06 + 1000.0) / 4.0;
        assert!((loss - expected).abs() < 1e-13, "{loss} vs {expected}");
        // (sigmoid(z) - t) / 4, with sigmoid(2) = 0.8807970779778823, sigmoid(-3) = 0.04742587317756678.
        let expected = [
            -0.125,
            (0.880_797_077_977_882_3 - 1.0) / 4.0,
            0.047_425_873_177_566_78 / 4.0,
            0.25,
        ];
        for (g, e) in gradient.iter().zip(expected) {
            assert!((g - e).abs() < 1e-16, "{gradient:?} vs {expected:?}");
        }
    }

    #[test]
    fn logits_agree_with_probabilities_where_no_clamp_applies() {
        let logits = [-2.5_f64, -0.3, 0.0, 1.7, 4.0, 0.9];
        let targets = [0.0_f64, 1.0, 0.5, 1.0, 0.0, 0.2];
        let probabilities: Vec<f64> = logits.iter().map(|&z| Sigmoid::apply(z)).collect();
        let from_logits = BinaryCrossEntropyWithLogits
            .loss(columns::<f64, 2>(&logits), columns::<f64, 2>(&targets));
        let from_probabilities = BinaryCrossEntropy.loss(
            columns::<f64, 2>(&probabilities),
            columns::<f64, 2>(&targets),
        );
        assert!((from_logits - from_probabilities).abs() < 1e-14);
    }

    #[test]
    fn logits_gradient_matches_finite_differences() {
        check_gradient::<_, 2>(
            &BinaryCrossEntropyWithLogits,
            &[-2.5, -0.3, 0.1, 1.7, 4.0, -9.0],
            &[0.0, 1.0, 0.5, 1.0, 0.0, 1.0],
        );
    }
}
