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

/// The checks the optimizers share, each naming the setting when it fails. Each is made in
/// `T`, the precision the network computes in: a value that is fine as an `f64` but overflows,
/// rounds to zero or (for a decay rate) rounds to 1 in `f32` is refused for an `f32` network,
/// where it would train on NaN or not at all.
///
/// A positive number such as a learning rate, an epsilon or Huber's delta: finite, above 0, and
/// normal in `T`.
pub(crate) fn check_positive<T: Scalar>(
    option: &'static str,
    value: f64,
) -> Result<(), TrainError> {
    check(
        option,
        expected::<T>(
            "a finite number above 0 (in f32: from about 1.2e-38 to 3.4e38)",
            "a finite number above 0 (in f64: from about 2.2e-308 to 1.8e308)",
        ),
        positive::<T>(value),
        value,
    )
}

/// A decay rate such as a beta or a momentum: from 0 up to but excluding 1.
fn check_decay<T: Scalar>(option: &'static str, value: f64) -> Result<(), TrainError> {
    let rounded = T::cast_from(value);
    check(
        option,
        expected::<T>(
            "a number from 0 up to but excluding 1 that f32 does not round to 1 (at most 0.99999994)",
            "a number from 0 up to but excluding 1",
        ),
        (0.0..1.0).contains(&value) && rounded < T::one() && (value == 0.0 || rounded > T::zero()),
        value,
    )
}

fn check_weight_decay<T: Scalar>(option: &'static str, value: f64) -> Result<(), TrainError> {
    check(
        option,
        expected::<T>(
            "0, or a finite number above 0 (in f32: from about 1.2e-38 to 3.4e38)",
            "0, or a finite number above 0 (in f64: from about 2.2e-308 to 1.8e308)",
        ),
        value == 0.0 || positive::<T>(value),
        value,
    )
}

/// Whether `value` is above 0 and a normal number in `T`.
fn positive<T: Scalar>(value: f64) -> bool {
    value > 0.0 && normal::<T>(value)
}

/// Whether `value` is a normal number in `T`: neither overflowing, nor rounding to zero or
/// into the subnormal range, where products lose their precision.
fn normal<T: Scalar>(value: f64) -> bool {
    let rounded = T::cast_from(value);
    rounded.is_finite() && rounded.abs() >= T::MIN_POSITIVE
}

/// The description of a valid value for `T`.
fn expected<T: Scalar>(for_f32: &'static str, for_f64: &'static str) -> &'static str {
    if T::NAME == "f32" { for_f32 } else { for_f64 }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adam, AdamW, Huber, Loss, RmsProp, Sgd};

    /// Whether `f32` and `f64` networks accept the settings.
    fn accepted<O: Optimizer<f32> + Optimizer<f64>>(optimizer: &O) -> (bool, bool) {
        (
            Optimizer::<f32>::validate(optimizer).is_ok(),
            Optimizer::<f64>::validate(optimizer).is_ok(),
        )
    }

    #[test]
    fn learning_rates_are_checked_in_the_networks_precision() {
        for rate in [1e39, 1e-300, 1e-40] {
            // Fine as f64 numbers, but infinite, zero or subnormal as f32.
            assert_eq!(accepted(&Sgd::new(rate)), (false, true), "Sgd {rate}");
            assert_eq!(accepted(&Adam::new(rate)), (false, true), "Adam {rate}");
            assert_eq!(accepted(&AdamW::new(rate)), (false, true), "AdamW {rate}");
            assert_eq!(
                accepted(&RmsProp::new(rate)),
                (false, true),
                "RmsProp {rate}"
            );
        }
        assert_eq!(accepted(&Sgd::new(1e-320)), (false, false));
        assert_eq!(accepted(&Sgd::new(3e38)), (true, true));
        assert_eq!(accepted(&Sgd::new(2e-38)), (true, true));
        assert_eq!(
            Optimizer::<f32>::validate(&Sgd::new(1e39)),
            Err(TrainError::InvalidOption {
                option: "Sgd learning rate",
                expected: "a finite number above 0 (in f32: from about 1.2e-38 to 3.4e38)",
                found: 1e39,
            })
        );
    }

    #[test]
    fn other_settings_are_checked_in_the_networks_precision() {
        // A decay that f32 rounds to 1 would never forget; one it rounds to 0 is not what was set.
        assert_eq!(
            accepted(&Sgd::new(0.1).momentum(0.999_999_99)),
            (false, true)
        );
        assert_eq!(accepted(&Sgd::new(0.1).momentum(1e-300)), (false, true));
        assert_eq!(accepted(&Sgd::new(0.1).momentum(0.0)), (true, true));
        assert_eq!(
            accepted(&Adam::new(0.1).betas(0.9, 0.999_999_99)),
            (false, true)
        );
        assert_eq!(accepted(&Adam::new(0.1).epsilon(1e-300)), (false, true));
        assert_eq!(
            accepted(&RmsProp::new(0.1).alpha(0.999_999_99)),
            (false, true)
        );
        assert_eq!(accepted(&RmsProp::new(0.1).epsilon(1e39)), (false, true));
        assert_eq!(accepted(&AdamW::new(0.1).weight_decay(1e39)), (false, true));
        assert_eq!(
            accepted(&AdamW::new(0.1).weight_decay(1e-300)),
            (false, true)
        );
        assert_eq!(accepted(&AdamW::new(0.1).weight_decay(0.0)), (true, true));
        for delta in [1e39, 1e-300] {
            let huber = Huber::new(delta).expect("a finite positive f64 delta");
            assert!(Loss::<f32>::validate(&huber).is_err(), "{delta}");
            assert!(Loss::<f64>::validate(&huber).is_ok(), "{delta}");
        }
    }
}
