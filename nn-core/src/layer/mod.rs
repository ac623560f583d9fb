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
    /// [`sgd_backward_single`](Self::sgd_backward_single) takes back.
    #[must_use]
    fn forward_parts(&self, input: &SVector<T, IN>) -> (SVector<T, OUT>, SVector<T, OUT>);

    /// Plain SGD's backward half for one sample, on stack vectors: turns `delta`, the loss's
    /// gradient with respect to `a`, into its gradient with respect to `z` in place, and returns
    /// the gradient with respect to `input` (computed only when `input_gradient` is true, and
    /// zero otherwise). The parameters are not changed: training applies the step with
    /// [`sgd_update_single`](Self::sgd_update_single) once every layer's delta is known and
    /// shown not to overflow.
    #[must_use]
    fn sgd_backward_single(
        &self,
        input: &SVector<T, IN>,
        z: &SVector<T, OUT>,
        a: &SVector<T, OUT>,
        delta: &mut SVector<T, OUT>,
        input_gradient: bool,
    ) -> SVector<T, IN>;

    /// Plain SGD's update for one sample: `w <- w - learning_rate * delta input^T` for every
    /// parameter, with `delta` the gradient with respect to `z` that
    /// [`sgd_backward_single`](Self::sgd_backward_single) left.
    fn sgd_update_single(
        &mut self,
        input: &SVector<T, IN>,
        delta: &SVector<T, OUT>,
        learning_rate: T,
    );

    /// Plain SGD's backward half for a batch: as [`backward_batch`](Self::backward_batch)
    /// without the parameter gradients. On return `delta` holds the gradient with respect to
    /// `z`, which [`sgd_update_batch`](Self::sgd_update_batch) takes.
    fn sgd_backward_batch(
        &self,
        input: Columns<'_, T, IN>,
        z: Columns<'_, T, OUT>,
        a: Columns<'_, T, OUT>,
        delta: ColumnsMut<'_, T, OUT>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    );

    /// Plain SGD's update for a batch (`w <- w - learning_rate * dw`, with `dw` summed over the
    /// batch), straight into the parameters so that no gradient buffer is written.
    fn sgd_update_batch(
        &mut self,
        input: Columns<'_, T, IN>,
        delta: Columns<'_, T, OUT>,
        learning_rate: T,
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
