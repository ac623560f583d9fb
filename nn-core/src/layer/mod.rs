//! Layers: the building blocks a `network!` chains together.

mod dense;
#[cfg(feature = "serde")]
mod deserialize;

pub use dense::{Dense, DenseGradients};
#[cfg(feature = "serde")]
#[doc(hidden)]
pub use deserialize::{FieldName, InPlace};

use nalgebra::SVector;
use rand::Rng;

use crate::{Columns, ColumnsMut, Init, Parameters, Scalar};

/// A layer that maps `IN` numbers per sample to `OUT` numbers per sample.
///
/// The widths are const parameters of the trait, so a network whose layers do not line up does
/// not type-check. Batches are matrices with one sample per column.
pub trait Layer<T: Scalar, const IN: usize, const OUT: usize>: Parameters<T> {
    /// The gradient of a loss with respect to this layer's parameters.
    type Gradients: Parameters<T>;

    /// Sets the parameters to fresh random values drawn as `init` says.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);

    /// Output for one sample.
    #[must_use]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT>;

    /// Output for a batch: writes the pre-activations to `z` and the outputs to `a`, both of
    /// which `backward` takes back.
    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        z: ColumnsMut<'_, T, OUT>,
        a: ColumnsMut<'_, T, OUT>,
    );

    /// Back-propagation through a batch.
    ///
    /// On entry `delta` holds the loss's gradient with respect to this layer's output `a`; on
    /// return it holds the gradient with respect to `z`. The parameter gradients are written
    /// (not added) to `gradients`, and when `input_gradient` is given the gradient with respect
    /// to `input` is written there.
    #[allow(clippy::too_many_arguments)]
    fn backward_batch(
        &self,
        input: Columns<'_, T, IN>,
        z: Columns<'_, T, OUT>,
        a: Columns<'_, T, OUT>,
        delta: ColumnsMut<'_, T, OUT>,
        gradients: &mut Self::Gradients,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    );
}
