use super::{Optimizer, check_decay, check_positive};
use crate::{Parameters, Scalar, TrainError};

/// Adam: a step along the gradient's running mean, scaled per parameter by the running root mean
/// square of the gradient.
///
/// With learning rate `lr`, decay rates `b1` and `b2`, `epsilon` and gradient `g` at step `t`
/// (counting from 1), each step is PyTorch's `optim.Adam` rule:
///
/// ```text
/// m <- b1 m + (1 - b1) g
/// v <- b2 v + (1 - b2) g^2
/// w <- w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + epsilon)
/// ```
///
/// that is `w <- w - lr m_hat / (sqrt(v_hat) + epsilon)` with the bias-corrected moments
/// `m_hat = m / (1 - b1^t)` and `v_hat = v / (1 - b2^t)`. The defaults are PyTorch's:
/// learning rate 0.001, betas 0.9 and 0.999, epsilon 1e-8.
///
/// # Keras
///
/// Keras's `Adam` (Keras 3, and `tf.keras` before it) has the same defaults except epsilon
/// 1e-7, and adds its epsilon to `sqrt(v)` before the bias correction (the "epsilon hat" of
/// Kingma and Ba): `w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)`. That is
/// this rule with `epsilon` replaced by `epsilon / sqrt(1 - b2^t)`, which starts about 32 times
/// larger (with `b2 = 0.999`) and falls to `epsilon` as `t` grows; the two agree closely once
/// `sqrt(v_hat)` is well above epsilon. `Adam::new(0.001).epsilon(1e-7)` uses Keras's value.
///
/// # Example
///
/// ```
/// use typenn::{Adam, Dense, DenseGradients, Identity, Optimizer, Parameters};
///
/// let adam = Adam::new(0.1).betas(0.9, 0.999).epsilon(1e-8);
/// Optimizer::<f64>::validate(&adam)?;
///
/// let mut layer = Dense::<1, 1, Identity, f64>::zeros();
/// let mut gradients = DenseGradients::<1, 1, f64>::zeros();
/// gradients.weights[(0, 0)] = 0.5;
/// let mut state = Optimizer::<f64>::state(&adam);
/// let mut optimizer = adam;
/// optimizer.update(&mut layer, &gradients, &mut state);
/// // The first step moves a weight by the learning rate, whatever the gradient's size.
/// assert!((layer.weights[(0, 0)] + 0.1).abs() < 1e-6);
/// assert_eq!(state.step, 1);
/// # Ok::<(), typenn::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam {
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
}

/// What [`Adam`] and [`AdamW`](super::AdamW) remember between steps: two gradient-shaped
/// buffers and the step count.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState<G> {
    /// The running mean of the gradient, `m` (PyTorch's `exp_avg`).
    pub m: Box<G>,
    /// The running mean of the squared gradient, `v` (PyTorch's `exp_avg_sq`).
    pub v: Box<G>,
    /// How many steps have been taken, `t`.
    pub step: u64,
}

impl Default for Adam {
    /// PyTorch's defaults: learning rate 0.001, betas 0.9 and 0.999, epsilon 1e-8.
    fn default() -> Self {
        Self::new(0.001)
    }
}

impl Adam {
    /// Adam with the given learning rate and PyTorch's other defaults (betas 0.9 and 0.999,
    /// epsilon 1e-8).
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
        }
    }

    /// Sets the decay rates of the gradient's mean (`beta1`) and of its square (`beta2`), each
    /// from 0 up to but excluding 1.
    #[must_use]
    pub const fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets the `epsilon` added to the denominator, above 0 (Keras uses 1e-7).
    #[must_use]
    pub const fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
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

    /// Checks the settings, naming them as `names` does: learning rate, beta1, beta2, epsilon.
    pub(super) fn check<T: Scalar>(&self, names: [&'static str; 4]) -> Result<(), TrainError> {
        let [learning_rate, beta1, beta2, epsilon] = names;
        check_positive::<T>(learning_rate, self.learning_rate)?;
        check_decay::<T>(beta1, self.beta1)?;
        check_decay::<T>(beta2, self.beta2)?;
        check_positive::<T>(epsilon, self.epsilon)
    }

    /// A fresh state: zero moments, no steps taken.
    pub(super) fn fresh<T: Scalar, G: Parameters<T>>() -> AdamState<G> {
        AdamState {
            m: G::zeros_boxed(),
            v: G::zeros_boxed(),
            step: 0,
        }
    }

    /// One Adam step, after multiplying every parameter by `decay` (1 for plain Adam, which
    /// leaves it exact; `1 - lr * weight_decay` for AdamW).
    pub(super) fn step<T: Scalar, P: Parameters<T>, G: Parameters<T>>(
        &self,
        parameters: &mut P,
        gradients: &G,
        state: &mut AdamState<G>,
        decay: f64,
    ) {
        state.step = state.step.saturating_add(1);
        // The bias corrections are scalars, computed in f64 as PyTorch computes them in Python.
        let t = state.step as f64;
        let step_size = T::cast_from(self.learning_rate / (1.0 - self.beta1.powf(t)));
        let correction2_sqrt = T::cast_from((1.0 - self.beta2.powf(t)).sqrt());
        let (beta1, rest1) = (T::cast_from(self.beta1), T::cast_from(1.0 - self.beta1));
        let (beta2, rest2) = (T::cast_from(self.beta2), T::cast_from(1.0 - self.beta2));
        let epsilon = T::cast_from(self.epsilon);
        let decay = T::cast_from(decay);
        for index in 0..P::TENSORS {
            let weights = parameters.tensor_mut(index);
            let gradient = gradients.tensor(index);
            let m = state.m.tensor_mut(index);
            let v = state.v.tensor_mut(index);
            for (((w, &g), m), v) in weights.iter_mut().zip(gradient).zip(m).zip(v) {
                *m = beta1 * *m + rest1 * g;
                *v = beta2 * *v + rest2 * g * g;
                let denominator = v.sqrt() / correction2_sqrt + epsilon;
                *w = *w * decay - step_size * (*m / denominator);
            }
        }
    }
}

impl<T: Scalar> Optimizer<T> for Adam {
    /// The moment estimates `m` and `v` and the step count.
    type State<G: Parameters<T>> = AdamState<G>;

    fn validate(&self) -> Result<(), TrainError> {
        self.check::<T>([
            "Adam learning rate",
            "Adam beta1",
            "Adam beta2",
            "Adam epsilon",
        ])
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn state<G: Parameters<T>>(&self) -> AdamState<G> {
        Self::fresh()
    }

    fn update<P: Parameters<T>, G: Parameters<T>>(
        &mut self,
        parameters: &mut P,
        gradients: &G,
        state: &mut AdamState<G>,
    ) {
        self.step(parameters, gradients, state, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, DenseGradients, Identity};

    /// One weight starting at 1, updated with the given gradients; the weight after each step.
    fn run<T: Scalar>(adam: Adam, gradients: &[f64]) -> Vec<f64> {
        let mut layer = Dense::<1, 1, Identity, T>::zeros();
        layer.weights[(0, 0)] = T::one();
        let mut state = Optimizer::<T>::state::<DenseGradients<1, 1, T>>(&adam);
        let mut optimizer = adam;
        let mut seen = Vec::new();
        for &g in gradients {
            let mut grad = DenseGradients::<1, 1, T>::zeros();
            grad.weights[(0, 0)] = T::cast_from(g);
            optimizer.update(&mut layer, &grad, &mut state);
            seen.push(layer.weights[(0, 0)].as_f64());
            // A zero gradient leaves the bias where it was: its moments stay zero.
            assert_eq!(layer.bias[0], T::zero());
        }
        assert_eq!(state.step, gradients.len() as u64);
        seen
    }

    fn assert_close(got: &[f64], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tolerance, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn two_steps_by_hand() {
        // lr 0.1, betas 0.5 and 0.75, epsilon 0.25, gradients 2 then -1.
        // Step 1: m = 1, v = 1; m_hat = 1 / 0.5 = 2, v_hat = 1 / 0.25 = 4;
        //         w = 1 - 0.1 * 2 / (2 + 0.25) = 1 - 0.2 / 2.25 = 0.911111...
        // Step 2: m = 0.5 - 0.5 = 0, so the weight stays; v = 0.75 + 0.25 = 1.
        // Gradients 2 then 4 instead: m = 0.5 + 2 = 2.5, v = 0.75 + 4 = 4.75;
        //         m_hat = 2.5 / 0.75 = 10/3, v_hat = 4.75 / 0.4375 = 76/7;
        //         w = 0.911111 - 0.1 * (10/3) / (sqrt(76/7) + 0.25).
        let adam = Adam::new(0.1).betas(0.5, 0.75).epsilon(0.25);
        let first = 1.0 - 0.2 / 2.25;
        assert_close(&run::<f64>(adam, &[2.0, -1.0]), &[first, first], 1e-14);
        let second = first - 0.1 * (10.0 / 3.0) / ((76.0_f64 / 7.0).sqrt() + 0.25);
        assert_close(&run::<f64>(adam, &[2.0, 4.0]), &[first, second], 1e-14);
        assert_close(&run::<f32>(adam, &[2.0, 4.0]), &[first, second], 1e-6);
    }

    #[test]
    fn epsilon_is_added_after_the_bias_correction() {
        // With beta2 0.99, step 1: v = 0.01 g^2, v_hat = g^2. PyTorch: w = 1 - lr g / (|g| + eps).
        // Keras would add eps to sqrt(v) = 0.1 |g| instead, giving 1 - lr g / (|g| + 10 eps).
        let adam = Adam::new(0.1).betas(0.9, 0.99).epsilon(0.5);
        assert_close(&run::<f64>(adam, &[1.0]), &[1.0 - 0.1 / 1.5], 1e-14);
    }

    #[test]
    fn defaults_are_pytorchs() {
        assert_eq!(Adam::default(), Adam::new(0.001));
        assert_eq!(
            Adam::default(),
            Adam::new(0.001).betas(0.9, 0.999).epsilon(1e-8)
        );
        let mut adam = Adam::default();
        Optimizer::<f32>::set_learning_rate(&mut adam, 0.5);
        assert_eq!(Optimizer::<f32>::learning_rate(&adam), 0.5);
        assert_eq!(adam.learning_rate(), 0.5);
    }

    #[test]
    fn rejects_bad_settings() {
        let check = |adam: Adam| Optimizer::<f32>::validate(&adam);
        assert!(check(Adam::default()).is_ok());
        assert!(check(Adam::new(0.1).betas(0.0, 0.0)).is_ok());
        for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            assert!(check(Adam::new(bad)).is_err(), "learning rate {bad}");
        }
        for bad in [-0.1, 1.0, 1.5, f64::NAN] {
            assert!(
                check(Adam::new(0.1).betas(bad, 0.999)).is_err(),
                "beta1 {bad}"
            );
            assert!(
                check(Adam::new(0.1).betas(0.9, bad)).is_err(),
                "beta2 {bad}"
            );
        }
        for bad in [0.0, -1e-8, f64::NAN, f64::INFINITY] {
            assert!(check(Adam::new(0.1).epsilon(bad)).is_err(), "epsilon {bad}");
        }
        assert_eq!(
            check(Adam::new(0.1).betas(0.9, 1.0)),
            Err(TrainError::InvalidOption {
                option: "Adam beta2",
                expected: "a number from 0 up to but excluding 1 that f32 does not round to 1 (at most 0.99999994)",
                found: 1.0,
            })
        );
    }
}
