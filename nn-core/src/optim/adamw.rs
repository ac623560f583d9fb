use super::{Adam, AdamState, Optimizer, check_weight_decay};
use crate::{Parameters, Scalar, TrainError};

/// AdamW: [`Adam`] with decoupled weight decay.
///
/// Each step first shrinks every parameter (biases included), then takes the Adam step, as
/// PyTorch's `optim.AdamW` does:
///
/// ```text
/// w <- w - lr * weight_decay * w
/// w <- w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + epsilon)    (Adam, see there)
/// ```
///
/// The decay does not pass through the moment estimates, unlike an L2 penalty added to the
/// loss. The defaults are PyTorch's: learning rate 0.001, weight decay 0.01, betas 0.9 and
/// 0.999, epsilon 1e-8.
///
/// # Keras
///
/// Keras's `AdamW` decays the same way before its Adam step, but defaults to weight decay 0.004
/// and epsilon 1e-7, and places epsilon as its `Adam` does (see [`Adam`]'s Keras section).
///
/// # Example
///
/// ```
/// use typenn::{AdamW, Dense, DenseGradients, Identity, Optimizer, Parameters};
///
/// let adamw = AdamW::new(0.1).weight_decay(0.5);
/// Optimizer::<f64>::validate(&adamw)?;
///
/// // With a zero gradient only the decay acts: w <- w - 0.1 * 0.5 * w.
/// let mut layer = Dense::<1, 1, Identity, f64>::zeros();
/// layer.weights[(0, 0)] = 2.0;
/// let gradients = DenseGradients::<1, 1, f64>::zeros();
/// let mut state = Optimizer::<f64>::state(&adamw);
/// let mut optimizer = adamw;
/// optimizer.update(&mut layer, &gradients, &mut state);
/// assert!((layer.weights[(0, 0)] - 1.9).abs() < 1e-15);
/// # Ok::<(), typenn::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamW {
    adam: Adam,
    weight_decay: f64,
}

impl Default for AdamW {
    /// PyTorch's defaults: learning rate 0.001, weight decay 0.01, betas 0.9 and 0.999, epsilon
    /// 1e-8.
    fn default() -> Self {
        Self::new(0.001)
    }
}

impl AdamW {
    /// AdamW with the given learning rate and PyTorch's other defaults (weight decay 0.01,
    /// betas 0.9 and 0.999, epsilon 1e-8).
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self {
            adam: Adam::new(learning_rate),
            weight_decay: 0.01,
        }
    }

    /// Sets the decoupled weight decay, 0 (none, plain Adam) or more.
    #[must_use]
    pub const fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the decay rates of the gradient's mean (`beta1`) and of its square (`beta2`), each
    /// from 0 up to but excluding 1.
    #[must_use]
    pub const fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.adam = self.adam.betas(beta1, beta2);
        self
    }

    /// Sets the `epsilon` added to the denominator, above 0 (Keras uses 1e-7).
    #[must_use]
    pub const fn epsilon(mut self, epsilon: f64) -> Self {
        self.adam = self.adam.epsilon(epsilon);
        self
    }

    /// The learning rate.
    #[must_use]
    pub const fn learning_rate(&self) -> f64 {
        self.adam.learning_rate()
    }

    /// Changes the learning rate between steps (for schedules); the decay per step,
    /// `lr * weight_decay`, follows it.
    pub const fn set_learning_rate(&mut self, learning_rate: f64) {
        self.adam.set_learning_rate(learning_rate);
    }
}

impl<T: Scalar> Optimizer<T> for AdamW {
    /// The moment estimates `m` and `v` and the step count, as for [`Adam`].
    type State<G: Parameters<T>> = AdamState<G>;

    fn validate(&self) -> Result<(), TrainError> {
        self.adam.check::<T>([
            "AdamW learning rate",
            "AdamW beta1",
            "AdamW beta2",
            "AdamW epsilon",
        ])?;
        check_weight_decay::<T>("AdamW weight decay", self.weight_decay)
    }

    fn learning_rate(&self) -> f64 {
        self.adam.learning_rate()
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.adam.set_learning_rate(learning_rate);
    }

    fn state<G: Parameters<T>>(&self) -> AdamState<G> {
        Adam::fresh()
    }

    fn update<P: Parameters<T>, G: Parameters<T>>(
        &mut self,
        parameters: &mut P,
        gradients: &G,
        state: &mut AdamState<G>,
    ) {
        let decay = 1.0 - self.adam.learning_rate() * self.weight_decay;
        self.adam.step(parameters, gradients, state, decay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, DenseGradients, Identity};

    /// One weight and one bias, both starting at 1, updated with the given weight gradients (the
    /// bias gradient is zero); the weight and the bias after each step.
    fn run<T: Scalar>(adamw: AdamW, gradients: &[f64]) -> Vec<(f64, f64)> {
        let mut layer = Dense::<1, 1, Identity, T>::zeros();
        layer.weights[(0, 0)] = T::one();
        layer.bias[0] = T::one();
        let mut state = Optimizer::<T>::state::<DenseGradients<1, 1, T>>(&adamw);
        let mut optimizer = adamw;
        let mut seen = Vec::new();
        for &g in gradients {
            let mut grad = DenseGradients::<1, 1, T>::zeros();
            grad.weights[(0, 0)] = T::cast_from(g);
            optimizer.update(&mut layer, &grad, &mut state);
            seen.push((layer.weights[(0, 0)].as_f64(), layer.bias[0].as_f64()));
        }
        seen
    }

    fn assert_close(got: &[(f64, f64)], want: &[(f64, f64)], tolerance: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(
                (g.0 - w.0).abs() <= tolerance && (g.1 - w.1).abs() <= tolerance,
                "got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn two_steps_by_hand() {
        // lr 0.1, weight decay 0.5 (so each step first multiplies by 0.95), betas 0.5 and 0.75,
        // epsilon 0.25, weight gradients 2 then 4 (the Adam numbers of adam.rs's test).
        // Step 1: w = 0.95 - 0.1 * 2 / (2 + 0.25);
        // Step 2: m_hat = 10/3, v_hat = 76/7; w = 0.95 w - 0.1 * (10/3) / (sqrt(76/7) + 0.25).
        // The bias has a zero gradient, so only the decay moves it: 0.95, then 0.9025.
        let adamw = AdamW::new(0.1)
            .weight_decay(0.5)
            .betas(0.5, 0.75)
            .epsilon(0.25);
        let first = 0.95 - 0.2 / 2.25;
        let second = 0.95 * first - 0.1 * (10.0 / 3.0) / ((76.0_f64 / 7.0).sqrt() + 0.25);
        let want = [(first, 0.95), (second, 0.9025)];
        assert_close(&run::<f64>(adamw, &[2.0, 4.0]), &want, 1e-14);
        assert_close(&run::<f32>(adamw, &[2.0, 4.0]), &want, 1e-6);
    }

    #[test]
    fn no_weight_decay_is_adam() {
        let adamw = AdamW::new(0.1).weight_decay(0.0).betas(0.8, 0.9);
        let adam = Adam::new(0.1).betas(0.8, 0.9);
        let mut layer = Dense::<1, 1, Identity, f64>::zeros();
        layer.weights[(0, 0)] = 1.0;
        let mut same = layer.clone();
        let mut grad = DenseGradients::<1, 1, f64>::zeros();
        let (mut adam_state, mut adamw_state) = (
            Optimizer::<f64>::state(&adam),
            Optimizer::<f64>::state(&adamw),
        );
        let (mut adam, mut adamw) = (adam, adamw);
        for g in [0.3, -1.2, 0.7] {
            grad.weights[(0, 0)] = g;
            adam.update(&mut layer, &grad, &mut adam_state);
            adamw.update(&mut same, &grad, &mut adamw_state);
            assert_eq!(layer, same);
        }
    }

    #[test]
    fn the_decay_follows_the_learning_rate() {
        // Zero gradients: only the decay acts. 1 * (1 - 0.1 * 0.5) = 0.95, then after the rate
        // drops to 0.02: 0.95 * (1 - 0.02 * 0.5) = 0.9405.
        let mut adamw = AdamW::new(0.1).weight_decay(0.5);
        let mut layer = Dense::<1, 1, Identity, f64>::zeros();
        layer.weights[(0, 0)] = 1.0;
        let grad = DenseGradients::<1, 1, f64>::zeros();
        let mut state = Optimizer::<f64>::state(&adamw);
        adamw.update(&mut layer, &grad, &mut state);
        Optimizer::<f64>::set_learning_rate(&mut adamw, 0.02);
        assert_eq!(Optimizer::<f64>::learning_rate(&adamw), 0.02);
        adamw.update(&mut layer, &grad, &mut state);
        assert!((layer.weights[(0, 0)] - 0.9405).abs() < 1e-15);
        assert_eq!(state.step, 2);
    }

    #[test]
    fn defaults_are_pytorchs() {
        assert_eq!(
            AdamW::default(),
            AdamW::new(0.001)
                .weight_decay(0.01)
                .betas(0.9, 0.999)
                .epsilon(1e-8)
        );
    }

    #[test]
    fn rejects_bad_settings() {
        let check = |adamw: AdamW| Optimizer::<f64>::validate(&adamw);
        assert!(check(AdamW::default()).is_ok());
        assert!(check(AdamW::new(0.1).weight_decay(0.0)).is_ok());
        for bad in [-0.01, f64::NAN, f64::INFINITY] {
            assert!(check(AdamW::new(0.1).weight_decay(bad)).is_err(), "{bad}");
        }
        assert!(check(AdamW::new(0.0)).is_err());
        assert!(check(AdamW::new(0.1).betas(1.0, 0.999)).is_err());
        assert!(check(AdamW::new(0.1).epsilon(0.0)).is_err());
        assert_eq!(
            check(AdamW::new(0.1).betas(0.9, -0.5)),
            Err(TrainError::InvalidOption {
                option: "AdamW beta2",
                expected: "a number from 0 up to but excluding 1",
                found: -0.5,
            })
        );
    }
}
