use super::{Optimizer, check_decay, check_positive};
use crate::{Parameters, Scalar, TrainError};

/// RMSprop: each parameter's step is its gradient divided by the running root mean square of
/// that gradient.
///
/// With learning rate `lr`, smoothing constant `alpha`, `epsilon` and gradient `g`, each step is
/// PyTorch's `optim.RMSprop` rule:
///
/// ```text
/// v <- alpha v + (1 - alpha) g^2
/// w <- w - lr g / (sqrt(v) + epsilon)
/// ```
///
/// With [`momentum`](Self::momentum) `mu` the scaled gradient goes through a buffer first:
/// `b <- mu b + g / (sqrt(v) + epsilon)`, then `w <- w - lr b`. With [`centered`](Self::centered)
/// the running mean of the gradient, `a <- alpha a + (1 - alpha) g`, is also kept and `v` is
/// replaced by the variance estimate `v - a^2` (floored at 0, where rounding would make PyTorch
/// take the root of a negative number). The defaults are PyTorch's: learning rate 0.01, alpha
/// 0.99, epsilon 1e-8, no momentum, not centered.
///
/// # Keras
///
/// Keras's `RMSprop` (its smoothing constant is called `rho`) differs in three ways:
///
/// - defaults: learning rate 0.001, rho 0.9, epsilon 1e-7;
/// - epsilon is added inside the root, `w <- w - lr g / sqrt(v + epsilon)`, which no choice of
///   epsilon here reproduces exactly (the two agree when `v` is well above epsilon squared);
/// - its momentum buffer holds the learning rate, `b <- mu b + lr g / sqrt(v + epsilon)` and
///   `w <- w - b`, which gives the same weights as this rule while the learning rate is constant
///   but not after [`set_learning_rate`](Optimizer::set_learning_rate) changes it.
///
/// Here the rule is PyTorch's. `RmsProp::new(0.001).alpha(0.9)` has Keras's other defaults.
///
/// # Example
///
/// ```
/// use typenn::{Dense, DenseGradients, Identity, Optimizer, Parameters, RmsProp};
///
/// let rmsprop = RmsProp::new(0.1).alpha(0.75).epsilon(0.5).momentum(0.9);
/// Optimizer::<f64>::validate(&rmsprop)?;
///
/// // First step: v = 0.25 * 2^2 = 1, so w <- 1 - 0.1 * 2 / (1 + 0.5).
/// let mut layer = Dense::<1, 1, Identity, f64>::zeros();
/// layer.weights[(0, 0)] = 1.0;
/// let mut gradients = DenseGradients::<1, 1, f64>::zeros();
/// gradients.weights[(0, 0)] = 2.0;
/// let mut state = Optimizer::<f64>::state(&rmsprop);
/// let mut optimizer = rmsprop;
/// optimizer.update(&mut layer, &gradients, &mut state);
/// assert!((layer.weights[(0, 0)] - (1.0 - 0.2 / 1.5)).abs() < 1e-15);
/// assert!(state.momentum_buffer.is_some() && state.gradient_average.is_none());
/// # Ok::<(), typenn::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsProp {
    learning_rate: f64,
    alpha: f64,
    epsilon: f64,
    momentum: f64,
    centered: bool,
}

/// What [`RmsProp`] remembers between steps: gradient-shaped buffers, the optional ones present
/// only when the settings need them.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsPropState<G> {
    /// The running mean of the squared gradient, `v` (PyTorch's `square_avg`).
    pub square_average: Box<G>,
    /// The running mean of the gradient, `a`, when centered (PyTorch's `grad_avg`).
    pub gradient_average: Option<Box<G>>,
    /// The momentum buffer `b`, when there is momentum (PyTorch's `momentum_buffer`).
    pub momentum_buffer: Option<Box<G>>,
}

impl Default for RmsProp {
    /// PyTorch's defaults: learning rate 0.01, alpha 0.99, epsilon 1e-8, no momentum, not
    /// centered.
    fn default() -> Self {
        Self::new(0.01)
    }
}

impl RmsProp {
    /// RMSprop with the given learning rate and PyTorch's other defaults (alpha 0.99, epsilon
    /// 1e-8, no momentum, not centered).
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            alpha: 0.99,
            epsilon: 1e-8,
            momentum: 0.0,
            centered: false,
        }
    }

    /// Sets the smoothing constant `alpha` of the running means (Keras's `rho`), from 0 up to
    /// but excluding 1.
    #[must_use]
    pub const fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets the `epsilon` added to the root mean square, above 0.
    #[must_use]
    pub const fn epsilon(mut self, epsilon: f64) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Sets the momentum `mu`, from 0 (none) up to but excluding 1.
    #[must_use]
    pub const fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Divides by the gradient's estimated standard deviation instead of its root mean square.
    #[must_use]
    pub const fn centered(mut self, centered: bool) -> Self {
        self.centered = centered;
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

impl<T: Scalar> Optimizer<T> for RmsProp {
    /// The running mean of the squared gradient, and the gradient mean and momentum buffer when
    /// the settings need them.
    type State<G: Parameters<T>> = RmsPropState<G>;

    fn validate(&self) -> Result<(), TrainError> {
        check_positive::<T>("RmsProp learning rate", self.learning_rate)?;
        check_decay::<T>("RmsProp alpha", self.alpha)?;
        check_positive::<T>("RmsProp epsilon", self.epsilon)?;
        check_decay::<T>("RmsProp momentum", self.momentum)
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn state<G: Parameters<T>>(&self) -> RmsPropState<G> {
        RmsPropState {
            square_average: G::zeros_boxed(),
            gradient_average: self.centered.then(G::zeros_boxed),
            momentum_buffer: (self.momentum != 0.0).then(G::zeros_boxed),
        }
    }

    fn update<P: Parameters<T>, G: Parameters<T>>(
        &mut self,
        parameters: &mut P,
        gradients: &G,
        state: &mut RmsPropState<G>,
    ) {
        let lr = T::cast_from(self.learning_rate);
        let (alpha, rest) = (T::cast_from(self.alpha), T::cast_from(1.0 - self.alpha));
        let epsilon = T::cast_from(self.epsilon);
        let momentum = T::cast_from(self.momentum);
        for index in 0..P::TENSORS {
            let weights = parameters.tensor_mut(index);
            let gradient = gradients.tensor(index);
            let square = state.square_average.tensor_mut(index);
            let mut average = state
                .gradient_average
                .as_mut()
                .map(|average| average.tensor_mut(index));
            let mut buffer = state
                .momentum_buffer
                .as_mut()
                .map(|buffer| buffer.tensor_mut(index));
            for (i, ((w, &g), v)) in weights.iter_mut().zip(gradient).zip(square).enumerate() {
                *v = alpha * *v + rest * g * g;
                let variance = match average.as_deref_mut().and_then(|a| a.get_mut(i)) {
                    Some(a) => {
                        *a = alpha * *a + rest * g;
                        let variance = *v - *a * *a;
                        if variance > T::zero() {
                            variance
                        } else {
                            T::zero()
                        }
                    }
                    None => *v,
                };
                let scaled = g / (variance.sqrt() + epsilon);
                match buffer.as_deref_mut().and_then(|b| b.get_mut(i)) {
                    Some(b) => {
                        *b = momentum * *b + scaled;
                        *w -= lr * *b;
                    }
                    None => *w -= lr * scaled,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, DenseGradients, Identity};

    /// One weight starting at 1, updated with the given gradients; the weight after each step.
    fn run<T: Scalar>(rmsprop: RmsProp, gradients: &[f64]) -> Vec<f64> {
        let mut layer = Dense::<1, 1, Identity, T>::zeros();
        layer.weights[(0, 0)] = T::one();
        let mut state = Optimizer::<T>::state::<DenseGradients<1, 1, T>>(&rmsprop);
        let mut optimizer = rmsprop;
        let mut seen = Vec::new();
        for &g in gradients {
            let mut grad = DenseGradients::<1, 1, T>::zeros();
            grad.weights[(0, 0)] = T::cast_from(g);
            optimizer.update(&mut layer, &grad, &mut state);
            seen.push(layer.weights[(0, 0)].as_f64());
            assert_eq!(layer.bias[0], T::zero());
        }
        seen
    }

    fn assert_close(got: &[f64], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tolerance, "got {got:?}, want {want:?}");
        }
    }

    /// lr 0.1, alpha 0.75, epsilon 0.5, gradients 2 then 4: v = 0.25 * 4 = 1, then
    /// v = 0.75 + 0.25 * 16 = 4.75.
    const SETTINGS: RmsProp = RmsProp::new(0.1).alpha(0.75).epsilon(0.5);

    #[test]
    fn two_steps_by_hand() {
        let first = 1.0 - 0.1 * 2.0 / 1.5;
        let second = first - 0.1 * 4.0 / (4.75_f64.sqrt() + 0.5);
        assert_close(&run::<f64>(SETTINGS, &[2.0, 4.0]), &[first, second], 1e-14);
        assert_close(&run::<f32>(SETTINGS, &[2.0, 4.0]), &[first, second], 1e-6);
    }

    #[test]
    fn momentum_steps_by_hand() {
        // b = 2 / 1.5 = 4/3; then b = 0.5 * 4/3 + 4 / (sqrt(4.75) + 0.5).
        let first_buffer = 4.0 / 3.0;
        let second_buffer = 0.5 * first_buffer + 4.0 / (4.75_f64.sqrt() + 0.5);
        let first = 1.0 - 0.1 * first_buffer;
        let second = first - 0.1 * second_buffer;
        let rmsprop = SETTINGS.momentum(0.5);
        assert_close(&run::<f64>(rmsprop, &[2.0, 4.0]), &[first, second], 1e-14);
        assert_close(&run::<f32>(rmsprop, &[2.0, 4.0]), &[first, second], 1e-6);
    }

    #[test]
    fn centered_steps_by_hand() {
        // a = 0.25 * 2 = 0.5, variance = 1 - 0.25 = 0.75;
        // a = 0.75 * 0.5 + 0.25 * 4 = 1.375, variance = 4.75 - 1.890625 = 2.859375.
        let first = 1.0 - 0.1 * 2.0 / (0.75_f64.sqrt() + 0.5);
        let second = first - 0.1 * 4.0 / (2.859375_f64.sqrt() + 0.5);
        let rmsprop = SETTINGS.centered(true);
        assert_close(&run::<f64>(rmsprop, &[2.0, 4.0]), &[first, second], 1e-14);
        assert_close(&run::<f32>(rmsprop, &[2.0, 4.0]), &[first, second], 1e-6);
    }

    #[test]
    fn a_negative_variance_is_floored_at_zero() {
        // A state where the gradient mean outgrows the mean square: v = 0.5, a = 1 after the
        // step, so v - a^2 = -0.5 is taken as 0 and w <- 1 - 0.1 * 1 / (0 + 0.5).
        let mut rmsprop = RmsProp::new(0.1).alpha(0.5).epsilon(0.5).centered(true);
        let mut layer = Dense::<1, 1, Identity, f64>::zeros();
        layer.weights[(0, 0)] = 1.0;
        let mut state = Optimizer::<f64>::state::<DenseGradients<1, 1, f64>>(&rmsprop);
        if let Some(average) = &mut state.gradient_average {
            average.weights[(0, 0)] = 1.0;
        }
        let mut grad = DenseGradients::<1, 1, f64>::zeros();
        grad.weights[(0, 0)] = 1.0;
        rmsprop.update(&mut layer, &grad, &mut state);
        assert!((layer.weights[(0, 0)] - 0.8).abs() < 1e-15, "{layer:?}");
    }

    #[test]
    fn state_holds_only_what_the_settings_need() {
        type G = DenseGradients<2, 3, f32>;
        let plain = Optimizer::<f32>::state::<G>(&RmsProp::default());
        assert!(plain.gradient_average.is_none() && plain.momentum_buffer.is_none());
        let full = Optimizer::<f32>::state::<G>(&RmsProp::default().momentum(0.9).centered(true));
        assert!(full.gradient_average.is_some() && full.momentum_buffer.is_some());
    }

    #[test]
    fn defaults_are_pytorchs() {
        assert_eq!(
            RmsProp::default(),
            RmsProp::new(0.01)
                .alpha(0.99)
                .epsilon(1e-8)
                .momentum(0.0)
                .centered(false)
        );
    }

    #[test]
    fn rejects_bad_settings() {
        let check = |rmsprop: RmsProp| Optimizer::<f32>::validate(&rmsprop);
        assert!(check(RmsProp::default()).is_ok());
        assert!(check(RmsProp::new(0.1).alpha(0.0).momentum(0.9)).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(check(RmsProp::new(bad)).is_err(), "learning rate {bad}");
        }
        for bad in [-0.1, 1.0, f64::NAN] {
            assert!(check(RmsProp::new(0.1).alpha(bad)).is_err(), "alpha {bad}");
            assert!(
                check(RmsProp::new(0.1).momentum(bad)).is_err(),
                "momentum {bad}"
            );
        }
        for bad in [0.0, -1e-8, f64::INFINITY] {
            assert!(
                check(RmsProp::new(0.1).epsilon(bad)).is_err(),
                "epsilon {bad}"
            );
        }
        assert_eq!(
            check(RmsProp::new(0.1).alpha(1.0)),
            Err(TrainError::InvalidOption {
                option: "RmsProp alpha",
                expected: "a number from 0 up to but excluding 1 that f32 does not round to 1 (at most 0.99999994)",
                found: 1.0,
            })
        );
    }
}
