//! `Dropout<P>`: inverted dropout, active only in training.

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::no_parameters::no_parameters;
use super::{Layer, Phase};
use crate::{Columns, ColumnsMut, Init, Scalar, SplitMix64};

/// Inverted dropout of `P` percent: in training each number is zeroed with probability
/// `P / 100` and the others are scaled by `100 / (100 - P)`, so that inference, where the
/// layer is the identity, sees the same expected values (Keras's `Dropout(rate)` and PyTorch's
/// `nn.Dropout(p)` with `rate = p = P / 100`).
///
/// The randomness comes from training's [`Phase`]: `fit` seeds it from its shuffle seed, so a
/// seeded run repeats exactly. `forward`, `predict` and `evaluate` run in inference.
///
/// In `network!` it is written `Dropout<P>` (`Dropout<25>` for a rate of 0.25); the macro fills
/// in the width. `P` is a whole percentage below 100.
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
///     struct Net(Dense<2, 4, Relu>, Dropout<50>, Dense<4, 1>);
/// }
/// let net = Net::zeros();
/// // In inference dropout is the identity.
/// assert_eq!(net.forward(&SVector::from([1.0, 2.0])), SVector::from([0.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
#[zeroable(bound = "")]
pub struct Dropout<const P: usize, const N: usize, T = f32>(PhantomData<T>);

impl<const P: usize, const N: usize, T> Dropout<P, N, T> {
    /// Refuses a rate of 100% or more where the layer is used, for rates given by const items.
    const RATE: () = assert!(P < 100, "a Dropout rate is a whole percentage below 100");

    /// The layer (it has nothing to set).
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

no_parameters!(Dropout<; P, N>, super::LayerKind::Dropout);

impl<const P: usize, const N: usize, T: Scalar> Dropout<P, N, T> {
    /// What a kept number is multiplied by.
    #[inline(always)]
    fn scale() -> T {
        T::cast_from(100.0 / (100 - P) as f64)
    }

    /// Fills `mask` with 0 (dropped) or the scale (kept), drawn from `rng`.
    #[inline]
    fn draw(rng: &mut SplitMix64, mask: &mut [T]) {
        let scale = Self::scale();
        // Dropped when a uniform draw on a grid of 2^-24 is below P / 100.
        let threshold = (P as u64) << 24;
        for value in mask {
            let draw = (rng.next_u64() >> 40) * 100;
            *value = if draw < threshold { T::zero() } else { scale };
        }
    }

    /// The mask for `phase`: drawn in training (when the rate is not zero), ones in inference.
    #[inline(always)]
    fn mask(phase: &mut Phase, mask: &mut [T]) {
        let () = Self::RATE;
        match phase.noise() {
            Some(rng) if P > 0 => Self::draw(rng, mask),
            _ => mask.fill(T::one()),
        }
    }
}

impl<const P: usize, const N: usize, T: Scalar> Layer<T, N, N> for Dropout<P, N, T> {
    /// The mask: 0 or the scale, per number.
    type Cache = SVector<T, N>;

    /// The masks are drawn sample after sample from one stream (none at rate 0).
    const SAMPLEWISE: bool = P == 0;

    #[inline(always)]
    fn cache_len(batch: usize) -> usize {
        N * batch
    }

    fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {}

    #[inline(always)]
    fn forward(&self, input: &SVector<T, N>) -> SVector<T, N> {
        let () = Self::RATE;
        *input
    }

    #[inline(always)]
    fn forward_single(
        &self,
        input: &SVector<T, N>,
        phase: &mut Phase,
    ) -> (SVector<T, N>, SVector<T, N>) {
        let mut mask = SVector::<T, N>::zeros();
        Self::mask(phase, mask.as_mut_slice());
        (mask, input.component_mul(&mask))
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, N>,
        cache: &mut [T],
        mut output: ColumnsMut<'_, T, N>,
        phase: &mut Phase,
    ) {
        Self::mask(phase, cache);
        for ((out, &x), &m) in output.iter_mut().zip(input.iter()).zip(cache.iter()) {
            *out = x * m;
        }
    }

    #[inline(always)]
    fn backward_single(
        &self,
        _input: &SVector<T, N>,
        mask: &SVector<T, N>,
        _output: &SVector<T, N>,
        delta: &mut SVector<T, N>,
        _input_gradient: bool,
    ) -> SVector<T, N> {
        delta.component_mul_assign(mask);
        *delta
    }

    #[inline(always)]
    fn update_single(&mut self, _: &SVector<T, N>, _: &SVector<T, N>, _: &SVector<T, N>, _: T) {}

    #[inline(always)]
    fn backward_batch(
        &self,
        _input: Columns<'_, T, N>,
        mask: &[T],
        _output: Columns<'_, T, N>,
        mut delta: ColumnsMut<'_, T, N>,
        _gradients: Option<&mut super::NoGradients>,
        input_gradient: Option<ColumnsMut<'_, T, N>>,
    ) {
        for (d, &m) in delta.iter_mut().zip(mask) {
            *d *= m;
        }
        if let Some(mut input_gradient) = input_gradient {
            input_gradient
                .as_mut_slice()
                .copy_from_slice(delta.as_slice());
        }
    }

    #[inline(always)]
    fn update_batch(&mut self, _: Columns<'_, T, N>, _: &[T], _: Columns<'_, T, N>, _: T) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_drops_about_the_rate_and_scales_the_rest() {
        let layer = Dropout::<25, 4000, f64>::new();
        let input = SVector::<f64, 4000>::from_element(2.0);
        let mut phase = Phase::training(7);
        let (mask, output) = layer.forward_single(&input, &mut phase);
        let dropped = mask.iter().filter(|&&m| m == 0.0).count();
        // 4000 draws at p = 0.25: the standard deviation of the count is about 27.
        assert!((900..1100).contains(&dropped), "{dropped} dropped");
        for (&m, &y) in mask.iter().zip(output.iter()) {
            assert!(
                m == 0.0 && y == 0.0
                    || (m - 4.0 / 3.0).abs() < 1e-15 && (y - 8.0 / 3.0).abs() < 1e-15
            );
        }
        // The gradient goes through the same mask.
        let mut delta = SVector::<f64, 4000>::from_element(1.0);
        let dx = layer.backward_single(&input, &mask, &output, &mut delta, true);
        assert_eq!(dx, mask);
    }

    #[test]
    fn inference_is_the_identity_and_a_seed_repeats() {
        let layer = Dropout::<50, 8, f32>::new();
        let input = SVector::<f32, 8>::from_fn(|i, _| i as f32);
        assert_eq!(layer.forward(&input), input);
        assert_eq!(layer.forward_single(&input, &mut Phase::Inference).1, input);
        let first = layer.forward_single(&input, &mut Phase::training(3)).0;
        let again = layer.forward_single(&input, &mut Phase::training(3)).0;
        let other = layer.forward_single(&input, &mut Phase::training(4)).0;
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn the_batch_pass_masks_as_the_single_one_does() {
        let layer = Dropout::<40, 3, f64>::new();
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut cache = [0.0; 6];
        let mut output = [0.0; 6];
        layer.forward_batch(
            crate::columns::<f64, 3>(&input),
            &mut cache,
            crate::columns_mut::<f64, 3>(&mut output),
            &mut Phase::training(11),
        );
        let mut rng = SplitMix64::new(11);
        let mut expected = [0.0; 6];
        Dropout::<40, 3, f64>::draw(&mut rng, &mut expected);
        assert_eq!(cache, expected);
        for i in 0..6 {
            assert_eq!(output[i], input[i] * expected[i]);
        }
    }
}
