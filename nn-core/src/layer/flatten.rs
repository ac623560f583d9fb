//! `Flatten`: a (C, L) or (C, H, W) sample seen as the vector of its numbers.

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::no_parameters::no_parameters;
use super::{Layer, Phase};
use crate::{Columns, ColumnsMut, Init, Scalar};

/// Flattens a sample with channels into one vector, as Keras's `Flatten` and PyTorch's
/// `nn.Flatten` do. Samples are stored flat in PyTorch's order already, so nothing moves: the
/// layer only changes what the next layer may take (a `Dense` after it checks the flattened
/// width).
///
/// In `network!` it is written `Flatten`; the macro fills in the width.
///
/// # Shapes
///
/// | value | shape | flat width |
/// | --- | --- | --- |
/// | input | (C, L) or (C, H, W) | `N` = C·L or C·H·W |
/// | output | (N) | `N` |
///
/// No parameters.
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     #[input_shape(2, 3)]
///     struct Net(Flatten, Dense<6, 1>);
/// }
/// let net = Net::zeros();
/// assert_eq!(net.forward(&SVector::from([1.0; 6])), SVector::from([0.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
#[zeroable(bound = "")]
pub struct Flatten<const N: usize, T = f32>(PhantomData<T>);

impl<const N: usize, T> Flatten<N, T> {
    /// The layer (it has nothing to set).
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

no_parameters!(Flatten<; N>);

impl<const N: usize, T: Scalar> Layer<T, N, N> for Flatten<N, T> {
    type Cache = ();

    #[inline(always)]
    fn cache_len(_batch: usize) -> usize {
        0
    }

    fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {}

    #[inline(always)]
    fn forward(&self, input: &SVector<T, N>) -> SVector<T, N> {
        *input
    }

    #[inline(always)]
    fn forward_single(&self, input: &SVector<T, N>, _phase: &mut Phase) -> ((), SVector<T, N>) {
        ((), *input)
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, N>,
        _cache: &mut [T],
        mut output: ColumnsMut<'_, T, N>,
        _phase: &mut Phase,
    ) {
        output.as_mut_slice().copy_from_slice(input.as_slice());
    }

    #[inline(always)]
    fn backward_single(
        &self,
        _input: &SVector<T, N>,
        _cache: &(),
        _output: &SVector<T, N>,
        delta: &mut SVector<T, N>,
        _input_gradient: bool,
    ) -> SVector<T, N> {
        *delta
    }

    #[inline(always)]
    fn update_single(&mut self, _: &SVector<T, N>, _: &(), _: &SVector<T, N>, _: T) {}

    #[inline(always)]
    fn backward_batch(
        &self,
        _input: Columns<'_, T, N>,
        _cache: &[T],
        _output: Columns<'_, T, N>,
        delta: ColumnsMut<'_, T, N>,
        _gradients: Option<&mut super::NoGradients>,
        input_gradient: Option<ColumnsMut<'_, T, N>>,
    ) {
        if let Some(mut input_gradient) = input_gradient {
            input_gradient
                .as_mut_slice()
                .copy_from_slice(delta.as_slice());
        }
    }

    #[inline(always)]
    fn update_batch(&mut self, _: Columns<'_, T, N>, _: &[T], _: Columns<'_, T, N>, _: T) {}
}
