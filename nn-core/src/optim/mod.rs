//! Optimizers: how a gradient changes the parameters.

mod sgd;

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
