//! The layers without weights in int8: an activation on its own, and the layers that pass a
//! sample through unchanged in inference ([`Flatten`], [`Dropout`]).

use core::any::TypeId;
use core::marker::PhantomData;

use super::{NonFiniteParameter, Quantize, QuantizedLayer, Scales, quantize_value};
use crate::activation::{Activation, Identity, Relu};
use crate::layer::{Activate, Dropout, Flatten};

/// [`Activate`] in int8: ReLU and identity on the `i8` values themselves (their output keeps
/// the input's scale), any other activation through `f32`.
///
/// # Shapes
///
/// `[i8; N]` in and out.
#[derive(Clone, Debug)]
pub struct QuantizedActivate<A, const N: usize> {
    scales: Scales,
    activation: PhantomData<A>,
}

// By hand: the activation is a marker type without `PartialEq`.
impl<A, const N: usize> PartialEq for QuantizedActivate<A, N> {
    fn eq(&self, other: &Self) -> bool {
        self.scales == other.scales
    }
}

/// Whether `A` runs on the `i8` values with the scale kept.
fn exact<A: Activation>() -> bool {
    let id = TypeId::of::<A>();
    id == TypeId::of::<Relu>() || id == TypeId::of::<Identity>()
}

impl<A: Activation, const N: usize> QuantizedLayer<N, N> for QuantizedActivate<A, N> {
    #[inline]
    fn scales(&self) -> Scales {
        self.scales
    }

    #[inline]
    fn forward(&self, input: &[i8; N]) -> [i8; N] {
        if TypeId::of::<A>() == TypeId::of::<Relu>() {
            return input.map(|q| q.max(0));
        }
        if TypeId::of::<A>() == TypeId::of::<Identity>() {
            return *input;
        }
        let x = input.map(|q| f32::from(q) * self.scales.input);
        let mut a = [0.0_f32; N];
        A::forward(N, &x, &mut a);
        a.map(|a| quantize_value(a, self.scales.output))
    }
}

impl<A: Activation, const N: usize> Quantize<N, N> for Activate<A, N, f32> {
    type Quantized = QuantizedActivate<A, N>;

    fn keeps_scale() -> bool {
        exact::<A>()
    }

    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
        Ok(QuantizedActivate {
            scales,
            activation: PhantomData,
        })
    }
}

/// A layer that passes its `N` numbers through unchanged in inference: [`Flatten`] (the data
/// are already flat), [`Dropout`], and a [`BatchNorm`](crate::BatchNorm) folded into the layer
/// before it.
///
/// # Shapes
///
/// `[i8; N]` in and out, on one scale.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedPassThrough<const N: usize> {
    scale: f32,
}

impl<const N: usize> QuantizedPassThrough<N> {
    /// Values on `scale`.
    pub(super) fn on(scale: f32) -> Self {
        Self { scale }
    }
}

impl<const N: usize> QuantizedLayer<N, N> for QuantizedPassThrough<N> {
    #[inline]
    fn scales(&self) -> Scales {
        Scales {
            input: self.scale,
            output: self.scale,
        }
    }

    #[inline]
    fn forward(&self, input: &[i8; N]) -> [i8; N] {
        *input
    }
}

impl<const N: usize> Quantize<N, N> for Flatten<N, f32> {
    type Quantized = QuantizedPassThrough<N>;

    fn keeps_scale() -> bool {
        true
    }

    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
        Ok(QuantizedPassThrough {
            scale: scales.input,
        })
    }
}

impl<const P: usize, const N: usize> Quantize<N, N> for Dropout<P, N, f32> {
    type Quantized = QuantizedPassThrough<N>;

    fn keeps_scale() -> bool {
        true
    }

    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
        Ok(QuantizedPassThrough {
            scale: scales.input,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Sigmoid;

    #[test]
    fn relu_is_exact_on_the_integers_and_others_go_through_f32() {
        let scales = Scales {
            input: 0.5,
            output: 0.5,
        };
        let relu = Activate::<Relu, 3, f32>::new().quantize(scales).unwrap();
        assert!(<Activate<Relu, 3, f32> as Quantize<3, 3>>::keeps_scale());
        assert_eq!(relu.forward(&[-127, 0, 5]), [0, 0, 5]);
        // Sigmoid(0) = 0.5 -> 125 on 1/250; sigmoid(2 * 0.5) = 0.7311 -> 182.8 -> 127 (clamped).
        let sigmoid = Activate::<Sigmoid, 2, f32>::new()
            .quantize(Scales {
                input: 0.5,
                output: 1.0 / 250.0,
            })
            .unwrap();
        assert!(!<Activate<Sigmoid, 2, f32> as Quantize<2, 2>>::keeps_scale());
        assert_eq!(sigmoid.forward(&[0, 2]), [125, 127]);
    }
}
