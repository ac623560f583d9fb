use super::Activation;
use crate::Scalar;

/// The softmax `a_i = e^(z_i) / sum_j e^(z_j)` over each sample's outputs: probabilities that sum
/// to 1. For inference; to train a classifier, keep the output linear and use a cross-entropy
/// loss on the logits, which is exact where softmax followed by a loss loses precision.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Softmax;

impl Activation for Softmax {
    const NAME: &'static str = "Softmax";

    fn forward<T: Scalar>(width: usize, z: &[T], a: &mut [T]) {
        if width == 0 {
            return;
        }
        for (z, a) in z.chunks_exact(width).zip(a.chunks_exact_mut(width)) {
            // Shifting by the largest logit keeps every exponent at or below 0.
            let largest = z
                .iter()
                .copied()
                .fold(T::min_value().unwrap_or(-T::one()), |m, v| {
                    if v > m { v } else { m }
                });
            let mut sum = T::zero();
            for (out, &pre) in a.iter_mut().zip(z) {
                *out = (pre - largest).exp();
                sum += *out;
            }
            for out in a.iter_mut() {
                *out /= sum;
            }
        }
    }

    fn backward<T: Scalar>(width: usize, _z: &[T], a: &[T], delta: &mut [T]) {
        if width == 0 {
            return;
        }
        // The Jacobian-vector product: dz_i = a_i (da_i - sum_j a_j da_j).
        for (a, delta) in a.chunks_exact(width).zip(delta.chunks_exact_mut(width)) {
            let dot = a
                .iter()
                .zip(delta.iter())
                .fold(T::zero(), |acc, (&p, &d)| acc + p * d);
            for (d, &p) in delta.iter_mut().zip(a) {
                *d = p * (*d - dot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        let mut a = [0.0_f64; 3];
        Softmax::forward(3, &[0.0, 0.0, 0.0], &mut a);
        assert_eq!(a, [1.0 / 3.0; 3]);
        // [1, 2] -> [1 / (1 + e), e / (1 + e)] = [0.2689414213699951, 0.7310585786300049]
        let mut a = [0.0_f64; 2];
        Softmax::forward(2, &[1.0, 2.0], &mut a);
        assert!(
            (a[0] - 0.268_941_421_369_995_1).abs() < 1e-15
                && (a[1] - 0.731_058_578_630_004_9).abs() < 1e-15
        );
    }

    #[test]
    fn large_logits_do_not_overflow() {
        let mut a = [0.0_f32; 2];
        Softmax::forward(2, &[1000.0, 0.0], &mut a);
        assert_eq!(a, [1.0, 0.0]);
    }

    #[test]
    fn backward_matches_finite_differences() {
        // L = sum_i c_i a_i(z) for two samples of three logits.
        let z = [0.3_f64, -1.2, 0.8, 2.0, 0.1, -0.5];
        let c = [0.7_f64, -0.4, 1.3, -1.0, 0.2, 0.5];
        let loss = |z: &[f64]| {
            let mut a = [0.0; 6];
            Softmax::forward(3, z, &mut a);
            a.iter().zip(&c).map(|(p, w)| p * w).sum::<f64>()
        };
        let mut a = [0.0; 6];
        Softmax::forward(3, &z, &mut a);
        let mut delta = c;
        Softmax::backward(3, &z, &a, &mut delta);
        let h = 1e-6;
        for i in 0..6 {
            let (mut plus, mut minus) = (z, z);
            plus[i] += h;
            minus[i] -= h;
            let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
            assert!(
                (numeric - delta[i]).abs() < 1e-8,
                "logit {i}: {numeric} vs {}",
                delta[i]
            );
        }
    }
}
