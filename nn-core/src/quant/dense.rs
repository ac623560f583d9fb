//! [`Dense`] in int8: per-unit symmetric weights, an `i32` bias on the sum's scale, and one
//! fixed-point multiplier per unit to the output's scale.

use core::any::TypeId;
use core::marker::PhantomData;

use super::error::check_finite;
use super::fixed_point::Multiplier;
use super::units::{Affine, Units, affine_channels, quantize_unit};
use super::{
    NonFiniteParameter, Quantize, QuantizeError, QuantizeFolded, QuantizedLayer, Scales,
    folded_overflow, quantize_value,
};
use crate::activation::{Activation, Identity, Relu};
use crate::kernels::int8;
use crate::layer::{BatchNorm, Dense};

/// A [`Dense`] layer with `i8` weights: `q_out = requantize(act(q_b + W_q q_in))`.
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input | `[i8; IN]` | one sample, on the input scale |
/// | `weights` | `[[i8; IN]; OUT]` | row `o` holds unit `o`'s weights, on `weight_scales[o]` |
/// | `bias` | `[i32; OUT]` | unit `o`'s bias on `input scale * weight_scales[o]` |
/// | output | `[i8; OUT]` | one sample, on the output scale |
#[derive(Clone, Debug)]
pub struct QuantizedDense<const IN: usize, const OUT: usize, A = Identity> {
    weights: [[i8; IN]; OUT],
    bias: [i32; OUT],
    /// The bias for inputs offset by 128, which the VNNI kernel takes.
    unsigned_bias: [i32; OUT],
    weight_scales: [f32; OUT],
    /// The scale of each unit's `i32` sum: input scale times its weight scale.
    sum_scales: [f32; OUT],
    /// Each unit's sum to the output scale.
    multipliers: [Multiplier; OUT],
    scales: Scales,
    activation: PhantomData<A>,
}

// By hand rather than derived, as for `Dense`: the activation is a marker type without
// `PartialEq`.
impl<const IN: usize, const OUT: usize, A> PartialEq for QuantizedDense<IN, OUT, A> {
    fn eq(&self, other: &Self) -> bool {
        self.weights == other.weights
            && self.bias == other.bias
            && self.weight_scales == other.weight_scales
            && self.multipliers == other.multipliers
            && self.scales == other.scales
    }
}

/// How a layer's activation is computed in int8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Integer {
    Identity,
    Relu,
    /// Through `f32`: dequantize, apply, quantize.
    Float,
}

/// How activation `A` runs on int8 sums.
#[inline(always)]
pub(super) fn integer<A: Activation>() -> Integer {
    let id = TypeId::of::<A>();
    if id == TypeId::of::<Identity>() {
        Integer::Identity
    } else if id == TypeId::of::<Relu>() {
        Integer::Relu
    } else {
        Integer::Float
    }
}

impl<const IN: usize, const OUT: usize, A: Activation> QuantizedDense<IN, OUT, A> {
    /// The quantized weights, row `o` unit `o`'s.
    #[must_use]
    pub fn weights(&self) -> &[[i8; IN]; OUT] {
        &self.weights
    }

    /// The biases, each on its unit's sum scale.
    #[must_use]
    pub fn bias(&self) -> &[i32; OUT] {
        &self.bias
    }

    /// Each unit's weight scale.
    #[must_use]
    pub fn weight_scales(&self) -> &[f32; OUT] {
        &self.weight_scales
    }

    /// Each unit's `i32` sum `q_b + W_q q_in`, before the activation and requantization.
    #[must_use]
    pub fn sums(&self, input: &[i8; IN]) -> [i32; OUT] {
        let mut acc = [0; OUT];
        int8::affine::<int8::Fixed<IN, OUT>>(
            self.weights.as_flattened(),
            &self.bias,
            &self.unsigned_bias,
            input,
            &mut acc,
        );
        acc
    }

    /// The activation and requantization of a sample's sums.
    #[inline]
    fn outputs(&self, acc: &[i32; OUT]) -> [i8; OUT] {
        match integer::<A>() {
            Integer::Identity | Integer::Relu => {
                let mut output = [0; OUT];
                let relu = integer::<A>() == Integer::Relu;
                int8::requantize(acc, &self.multipliers, relu, &mut output);
                output
            }
            Integer::Float => {
                let z: [f32; OUT] = core::array::from_fn(|o| acc[o] as f32 * self.sum_scales[o]);
                let mut a = [0.0_f32; OUT];
                A::forward(OUT, &z, &mut a);
                a.map(|a| quantize_value(a, self.scales.output))
            }
        }
    }
}

impl<const IN: usize, const OUT: usize, A: Activation> QuantizedLayer<IN, OUT>
    for QuantizedDense<IN, OUT, A>
{
    #[inline]
    fn scales(&self) -> Scales {
        self.scales
    }

    #[inline]
    fn forward(&self, input: &[i8; IN]) -> [i8; OUT] {
        self.outputs(&self.sums(input))
    }
}

impl<const IN: usize, const OUT: usize, A: Activation> Quantize<IN, OUT>
    for Dense<IN, OUT, A, f32>
{
    type Quantized = QuantizedDense<IN, OUT, A>;

    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
        check_finite("weight", self.weights.as_slice())?;
        check_finite("bias", self.bias.as_slice())?;
        // The weights are finite and the factors 1, so every product is: no unit fails.
        self.quantize_affine(&[Affine::IDENTITY; OUT], scales)
            .map_err(|o| NonFiniteParameter {
                tensor: "weight",
                index: o,
                value: self.weights[(o, 0)],
            })
    }
}

impl<const IN: usize, const OUT: usize, A: Activation> Dense<IN, OUT, A, f32> {
    /// The layer quantized with each unit followed by `norms[o]`, or the first unit whose
    /// folded weights are not finite.
    fn quantize_affine(
        &self,
        norms: &[Affine; OUT],
        scales: Scales,
    ) -> Result<QuantizedDense<IN, OUT, A>, usize> {
        let mut weights = [[0_i8; IN]; OUT];
        let mut units = Units::<OUT>::zeros();
        for (o, row) in weights.iter_mut().enumerate() {
            let unit = quantize_unit(
                self.weights.row(o).iter().copied(),
                self.bias[o],
                norms[o],
                scales,
                row,
            )
            .map_err(|_| o)?;
            units.set(o, unit);
        }
        Ok(QuantizedDense {
            weights,
            bias: units.bias,
            unsigned_bias: units.unsigned_bias,
            weight_scales: units.weight_scales,
            sum_scales: units.sum_scales,
            multipliers: units.multipliers,
            scales,
            activation: PhantomData,
        })
    }
}

impl<const IN: usize, const OUT: usize> QuantizeFolded<BatchNorm<OUT, 1, f32>, IN, OUT>
    for Dense<IN, OUT, Identity, f32>
{
    fn quantize_folded(
        &self,
        norm: &BatchNorm<OUT, 1, f32>,
        scales: Scales,
        [layer, norm_label]: [&'static str; 2],
    ) -> Result<Self::Quantized, QuantizeError> {
        check_finite("weight", self.weights.as_slice()).map_err(|e| e.in_layer(layer))?;
        check_finite("bias", self.bias.as_slice()).map_err(|e| e.in_layer(layer))?;
        let norms = affine_channels(norm).map_err(|e| e.in_layer(norm_label))?;
        self.quantize_affine(&norms, scales)
            .map_err(|o| folded_overflow(norm_label, o, norm.weight[o]))
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};

    use super::*;
    use crate::activation::Tanh;
    use crate::quant::quantize_input;

    /// Scales that are powers of two, so that every step below is exact by hand.
    const SCALES: Scales = Scales {
        input: 0.5,
        output: 8.0,
    };

    fn layer<A: Activation>() -> Dense<3, 2, A> {
        Dense::from_parts(
            SMatrix::from_row_slice(&[63.5, -127.0, 31.75, 0.0, 0.0, 0.0]),
            SVector::from([10.25, 4.0]),
        )
    }

    #[test]
    fn a_weight_row_quantizes_on_its_own_scale_with_ties_away_from_zero() {
        let q = layer::<Identity>().quantize(SCALES).unwrap();
        // Row 0: max |w| = 127, so scale 1 and 63.5 -> 64 (a tie), 31.75 -> 32. Row 1 is all
        // zero: scale 1, all 0.
        assert_eq!(q.weights(), &[[64, -127, 32], [0, 0, 0]]);
        assert_eq!(q.weight_scales(), &[1.0, 1.0]);
        // Biases on 0.5 * 1: 10.25 / 0.5 = 20.5 -> 21 (a tie), 4 / 0.5 = 8.
        assert_eq!(q.bias(), &[21, 8]);
    }

    #[test]
    fn sums_and_requantization_are_the_hand_computed_integers() {
        let x = quantize_input(&SVector::from([1.0, 0.75, -2.25]), SCALES.input);
        // 1 / 0.5 = 2, 0.75 / 0.5 = 1.5 -> 2, -2.25 / 0.5 = -4.5 -> -5.
        assert_eq!(x, [2, 2, -5]);
        let identity = layer::<Identity>().quantize(SCALES).unwrap();
        // 21 + 64 * 2 - 127 * 2 + 32 * -5 = -265, and 8.
        assert_eq!(identity.sums(&x), [-265, 8]);
        // To the output's scale: M = 0.5 * 1 / 8 = 1/16; -265 / 16 = -16.5625 -> -17, and
        // 8 / 16 = 0.5, a tie, -> 1.
        assert_eq!(identity.forward(&x), [-17, 1]);
        // ReLU on the sums: max(-265, 0) = 0.
        assert_eq!(
            layer::<Relu>().quantize(SCALES).unwrap().forward(&x),
            [0, 1]
        );
        // Tanh through f32: tanh(-265 * 0.5) = -1 -> -127 and tanh(8 * 0.5) = 0.99933 -> 127
        // on 1/127.
        let tanh = layer::<Tanh>()
            .quantize(Scales {
                input: 0.5,
                output: 1.0 / 127.0,
            })
            .unwrap();
        assert_eq!(tanh.forward(&x), [-127, 127]);
    }

    #[test]
    fn a_non_finite_parameter_is_refused_with_its_place() {
        let mut dense = layer::<Identity>();
        dense.weights[(1, 2)] = f32::INFINITY;
        let error = dense.quantize(SCALES).unwrap_err();
        // Column-major: (1, 2) is 2 * 2 + 1.
        assert_eq!(
            error,
            NonFiniteParameter {
                tensor: "weight",
                index: 5,
                value: f32::INFINITY
            }
        );
        dense.weights[(1, 2)] = 0.0;
        dense.bias[0] = f32::NAN;
        assert_eq!(dense.quantize(SCALES).unwrap_err().tensor, "bias");
    }
}
