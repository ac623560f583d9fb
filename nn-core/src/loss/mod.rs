//! Loss functions: how far a batch of predictions is from its targets.

mod mse;

pub use mse::Mse;

use crate::{Columns, ColumnsMut, Scalar};

/// A loss over a batch of predictions and targets, one sample per column.
///
/// The loss is a mean over the batch, so its gradient carries the `1 / batch` factor and a
/// learning rate means the same thing whatever the batch size, as in PyTorch and Keras.
pub trait Loss<T: Scalar> {
    /// The name shown in summaries and errors.
    const NAME: &'static str;

    /// The loss of `predictions` against `targets`.
    #[must_use]
    fn loss<const W: usize>(&self, predictions: Columns<'_, T, W>, targets: Columns<'_, T, W>)
    -> T;

    /// The loss, and its gradient with respect to each prediction written into `gradient`.
    fn loss_and_gradient<const W: usize>(
        &self,
        predictions: Columns<'_, T, W>,
        targets: Columns<'_, T, W>,
        gradient: ColumnsMut<'_, T, W>,
    ) -> T;
}
