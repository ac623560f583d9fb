//! An activation as a layer of its own, as Keras's `Activation` and PyTorch's `nn.ReLU` are.

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::no_parameters::no_parameters;
use super::{Layer, Phase};
use crate::{Activation, Columns, ColumnsMut, Init, Scalar};

/// The activation `A` applied to each of `N` numbers: after a convolution, as
/// `nn.Sequential(nn.Conv1d(..), nn.ReLU())` writes it.
///
/// In `network!` it is written as the activation's name alone (`Relu`, `Tanh`, ...); the macro
/// fills in the width.
///
/// # Shapes
///
/// Any shape, unchanged: `N` numbers per sample in and out. No parameters.
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     struct Net(Dense<2, 2>, Relu, Dense<2, 1>);
/// }
/// let mut net = Net::zeros();
/// net.0.bias = SVector::from([-1.0, 2.0]);
/// net.2.weights = SMatrix::from([[1.0], [1.0]]);
/// // ReLU(-1) + ReLU(2) = 2.
/// assert_eq!(net.forward(&SVector::from([0.0, 0.0])), SVector::from([2.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
#[zeroable(bound = "")]
pub struct Activate<A, const N: usize, T = f32>(PhantomData<(A, T)>);

impl<A, const N: usize, T> Activate<A, N, T> {
    /// The layer (it has nothing to set).
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

no_parameters!(
    Activate<A; N>,
    super::LayerKind::Activation(super::type_name_of::<A>())
);

impl<A: Activation, const N: usize, T: Scalar> Layer<T, N, N> for Activate<A, N, T> {
    type Cache = ();

    #[inline(always)]
    fn cache_len(_batch: usize) -> usize {
        0
    }

    fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {}

    #[inline(always)]
    fn forward(&self, input: &SVector<T, N>) -> SVector<T, N> {
        self.forward_single(input, &mut Phase::Inference).1
    }

    #[inline(always)]
    fn forward_single(&self, input: &SVector<T, N>, _phase: &mut Phase) -> ((), SVector<T, N>) {
        let mut output = SVector::<T, N>::zeros();
        A::forward(N, input.as_slice(), output.as_mut_slice());
        ((), output)
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, N>,
        _cache: &mut [T],
        mut output: ColumnsMut<'_, T, N>,
        _phase: &mut Phase,
    ) {
        A::forward(N, input.as_slice(), output.as_mut_slice());
    }

    #[inline(always)]
    fn backward_single(
        &self,
        input: &SVector<T, N>,
        _cache: &(),
        output: &SVector<T, N>,
        delta: &mut SVector<T, N>,
        _input_gradient: bool,
    ) -> SVector<T, N> {
        A::backward(N, input.as_slice(), output.as_slice(), delta.as_mut_slice());
        *delta
    }

    #[inline(always)]
    fn update_single(&mut self, _: &SVector<T, N>, _: &(), _: &SVector<T, N>, _: T) {}

    #[inline(always)]
    fn backward_batch(
        &self,
        input: Columns<'_, T, N>,
        _cache: &[T],
        output: Columns<'_, T, N>,
        mut delta: ColumnsMut<'_, T, N>,
        _gradients: Option<&mut super::NoGradients>,
        input_gradient: Option<ColumnsMut<'_, T, N>>,
    ) {
        A::backward(N, input.as_slice(), output.as_slice(), delta.as_mut_slice());
        if let Some(mut input_gradient) = input_gradient {
            input_gradient
                .as_mut_slice()
                .copy_from_slice(delta.as_slice());
        }
    }

    #[inline(always)]
    fn update_batch(&mut self, _: Columns<'_, T, N>, _: &[T], _: Columns<'_, T, N>, _: T) {}
}
