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

    /// Output for one sample with its pre-activation: `(z, a)`, both of which
    /// [`sgd_single`](Self::sgd_single) takes back.
    #[must_use]
    fn forward_parts(&self, input: &SVector<T, IN>) -> (SVector<T, OUT>, SVector<T, OUT>);

    /// Back-propagation through one sample with plain SGD applied on the way: as
    /// [`sgd_batch`](Self::sgd_batch) for a batch of one, on stack vectors. `delta` is the
    /// loss's gradient with respect to `a`; the gradient with respect to `input` is returned
    /// (computed only when `input_gradient` is true, and zero otherwise).
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    fn sgd_single(
        &mut self,
        input: &SVector<T, IN>,
        z: &SVector<T, OUT>,
        a: &SVector<T, OUT>,
        delta: SVector<T, OUT>,
        learning_rate: T,
        input_gradient: bool,
    ) -> SVector<T, IN>;

    /// Back-propagation through a batch with plain SGD (`w <- w - learning_rate * dw`) applied
    /// to this layer's parameters on the way, so that no gradient buffer is written.
    ///
    /// The arguments are those of [`backward_batch`](Self::backward_batch); the input gradient
    /// is computed with the parameters as they were before the update.
    #[allow(clippy::too_many_arguments)]
    fn sgd_batch(
        &mut self,
        input: Columns<'_, T, IN>,
        z: Columns<'_, T, OUT>,
        a: Columns<'_, T, OUT>,
        delta: ColumnsMut<'_, T, OUT>,
        learning_rate: T,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
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
