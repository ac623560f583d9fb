use super::{Optimizer, check_decay, check_positive};
use crate::kernels::dispatch;
use crate::{Parameters, Scalar, TrainError};

/// Stochastic gradient descent, with optional momentum and Nesterov momentum.
///
/// With learning rate `lr`, momentum `m` and gradient `g`, each step is Keras's rule:
///
/// - no momentum: `w <- w - lr * g`;
/// - momentum: `v <- m * v - lr * g`, then `w <- w + v`;
/// - Nesterov: `v <- m * v - lr * g`, then `w <- w + m * v - lr * g`.
///
/// For a constant learning rate these give the same weights as PyTorch's `optim.SGD`.
///
/// # Example
///
/// ```
/// use typenn::Sgd;
///
/// let plain = Sgd::new(0.01);
/// let nesterov = Sgd::new(0.01).momentum(0.9).nesterov(true);
/// assert_eq!(nesterov.learning_rate(), plain.learning_rate());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd {
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
}

impl Sgd {
    /// Plain SGD with the given learning rate.
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            momentum: 0.0,
            nesterov: false,
        }
    }

    /// Sets the momentum `m`, from 0 (none) up to but excluding 1.
    #[must_use]
    pub const fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Uses Nesterov momentum (it needs a non-zero momentum to make a difference).
    #[must_use]
    pub const fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// The learning rate.
    #[must_use]
    pub const fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Changes the learning rate between steps (for schedules).
    pub const fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }
}

impl<T: Scalar> Optimizer<T> for Sgd {
    /// The velocity `v`, kept only when there is momentum.
    type State<G: Parameters<T>> = Option<Box<G>>;

    fn validate(&self) -> Result<(), TrainError> {
        check_positive::<T>("Sgd learning rate", self.learning_rate)?;
        check_decay::<T>("Sgd momentum", self.momentum)
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// The learning rate without momentum: Nesterov's rule with no momentum is plain SGD too.
    fn plain_sgd(&self) -> Option<f64> {
        (self.momentum == 0.0).then_some(self.learning_rate)
    }

    fn state<G: Parameters<T>>(&self) -> Option<Box<G>> {
        (self.momentum != 0.0).then(G::zeros_boxed)
    }

    fn update<P: Parameters<T>, G: Parameters<T>>(
        &mut self,
        parameters: &mut P,
        gradients: &G,
        state: &mut Option<Box<G>>,
    ) {
        let lr = T::cast_from(self.learning_rate);
        let m = T::cast_from(self.momentum);
        for index in 0..P::TENSORS {
            let weights = parameters.tensor_mut(index);
            let gradient = gradients.tensor(index);
            match state {
                None => dispatch::axpy(-lr, gradient, weights),
                Some(velocity) => {
                    let velocity = velocity.tensor_mut(index);
                    for ((w, v), &g) in weights.iter_mut().zip(velocity.iter_mut()).zip(gradient) {
                        *v = m * *v - lr * g;
                        *w += if self.nesterov { m * *v - lr * g } else { *v };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, DenseGradients};

    /// One weight, one bias, updated by hand-computed steps.
    fn run(sgd: Sgd, gradients: &[f64]) -> Vec<f64> {
        let mut layer = Dense::<1, 1, crate::Identity, f64>::zeros();
        layer.weights[(0, 0)] = 1.0;
        let mut state = <Sgd as Optimizer<f64>>::state::<DenseGradients<1, 1, f64>>(&sgd);
        let mut optimizer = sgd;
        let mut seen = Vec::new();
        for &g in gradients {
            let mut grad = DenseGradients::<1, 1, f64>::zeros();
            grad.weights[(0, 0)] = g;
            optimizer.update(&mut layer, &grad, &mut state);
            seen.push(layer.weights[(0, 0)]);
        }
        seen
    }

    #[test]
    fn plain_step() {
        assert_eq!(run(Sgd::new(0.5), &[2.0, -1.0]), vec![0.0, 0.5]);
    }

    #[test]
    fn momentum_steps_follow_keras() {
        // v1 = -0.1 * 1 = -0.1, w1 = 0.9; v2 = 0.5 * -0.1 - 0.1 * 2 = -0.25, w2 = 0.65.
        let w = run(Sgd::new(0.1).momentum(0.5), &[1.0, 2.0]);
        assert!(
            (w[0] - 0.9).abs() < 1e-15 && (w[1] - 0.65).abs() < 1e-15,
            "{w:?}"
        );
    }

    #[test]
    fn nesterov_steps_follow_keras() {
        // v1 = -0.1, w1 = 1 + 0.5 * -0.1 - 0.1 = 0.85;
        // v2 = -0.25, w2 = 0.85 + 0.5 * -0.25 - 0.2 = 0.525.
        let w = run(Sgd::new(0.1).momentum(0.5).nesterov(true), &[1.0, 2.0]);
        assert!(
            (w[0] - 0.85).abs() < 1e-15 && (w[1] - 0.525).abs() < 1e-15,
            "{w:?}"
        );
    }

    #[test]
    fn a_new_learning_rate_applies_from_the_next_step() {
        // w = 1 - 0.5 * 2 = 0; then at rate 0.25: w = 0 - 0.25 * -1 = 0.25.
        let mut sgd = Sgd::new(0.5);
        let mut layer = Dense::<1, 1, crate::Identity, f64>::zeros();
        layer.weights[(0, 0)] = 1.0;
        let mut state = Optimizer::<f64>::state::<DenseGradients<1, 1, f64>>(&sgd);
        let mut grad = DenseGradients::<1, 1, f64>::zeros();
        grad.weights[(0, 0)] = 2.0;
        sgd.update(&mut layer, &grad, &mut state);
        Optimizer::<f64>::set_learning_rate(&mut sgd, 0.25);
        assert_eq!(Optimizer::<f64>::learning_rate(&sgd), 0.25);
        grad.weights[(0, 0)] = -1.0;
        sgd.update(&mut layer, &grad, &mut state);
        assert_eq!(layer.weights[(0, 0)], 0.25);
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(<Sgd as Optimizer<f32>>::validate(&Sgd::new(0.0)).is_err());
        assert!(<Sgd as Optimizer<f32>>::validate(&Sgd::new(f64::NAN)).is_err());
        assert!(<Sgd as Optimizer<f32>>::validate(&Sgd::new(0.1).momentum(1.0)).is_err());
        assert!(<Sgd as Optimizer<f32>>::validate(&Sgd::new(0.1).momentum(0.9)).is_ok());
    }
}
