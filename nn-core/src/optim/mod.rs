//! Optimizers: how a gradient changes the parameters.

mod adam;
mod adamw;
mod rmsprop;
mod sgd;

pub use adam::{Adam, AdamState};
pub use adamw::AdamW;
pub use rmsprop::{RmsProp, RmsPropState};
pub use sgd::Sgd;

use crate::{Parameters, Scalar, TrainError};

/// An update rule for parameters given their gradients.
///
/// The optimizer's memory between steps (momentum, moment estimates) is `State<G>`, built from
/// gradient-shaped buffers `G`, so it is as statically typed as the network itself.
pub trait Optimizer<T: Scalar> {
    /// What the optimizer remembers between steps for gradients of type `G`.
    type State<G: Parameters<T>>;

    /// Checks the settings, so a bad learning rate is reported before training starts.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] naming the setting, what it must be and what it is.
    fn validate(&self) -> Result<(), TrainError>;

    /// The learning rate the next step will use.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate from the next step on, keeping the optimizer's state (for
    /// schedules and callbacks between epochs).
    ///
    /// The value is not checked here; [`Optimizer::validate`] reports one out of range.
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// The learning rate when this optimizer's update is plain `w <- w - learning_rate * dw`
    /// with nothing else (no momentum, no state, no decay), and `None` otherwise.
    ///
    /// Training then applies the update while back-propagating, as each layer's gradient
    /// becomes known, instead of writing all gradients to buffers and walking them afterwards:
    /// the same step, faster. The default is `None`.
    fn plain_sgd(&self) -> Option<f64> {
        None
    }

    /// A fresh state, as before the first step.
    #[must_use]
    fn state<G: Parameters<T>>(&self) -> Self::State<G>;

    /// Updates `parameters` in place from `gradients`.
    fn update<P: Parameters<T>, G: Parameters<T>>(
        &mut self,
        parameters: &mut P,
        gradients: &G,
        state: &mut Self::State<G>,
    );
}

/// The checks the optimizers share, each naming the setting when it fails.
fn check_learning_rate(option: &'static str, value: f64) -> Result<(), TrainError> {
    check(
        option,
        "a finite number above 0",
        value.is_finite() && value > 0.0,
        value,
    )
}

/// A decay rate such as a beta or a momentum: from 0 up to but excluding 1.
fn check_decay(option: &'static str, value: f64) -> Result<(), TrainError> {
    check(
        option,
        "a number from 0 up to but excluding 1",
        (0.0..1.0).contains(&value),
        value,
    )
}

fn check_epsilon(option: &'static str, value: f64) -> Result<(), TrainError> {
    check(
        option,
        "a finite number above 0",
        value.is_finite() && value > 0.0,
        value,
    )
}

fn check_weight_decay(option: &'static str, value: f64) -> Result<(), TrainError> {
    check(
        option,
        "a finite number of at least 0",
        value.is_finite() && value >= 0.0,
        value,
    )
}

fn check(
    option: &'static str,
    expected: &'static str,
    valid: bool,
    found: f64,
) -> Result<(), TrainError> {
    if valid {
        Ok(())
    } else {
        Err(TrainError::InvalidOption {
            option,
            expected,
            found,
        })
    }
}
