//! [`BatchNorm`] in int8 where it cannot be folded: after a layer without weights (a pooling, an
//! activation) or after one with an activation of its own. Inference is one affine map per
//! channel, `y = factor x + shift`, which runs as a Dense layer of one weight per channel would:
//! the factor is an `i8` on its own scale (always +-127, so it is exact), the shift an `i32` on
//! the sum's scale, and a fixed-point multiplier takes the sum to the output's calibrated scale.
//! Where it follows a `Dense`, `Conv1d` or `Conv2d` without an activation, the network folds it
//! into that layer instead ([`QuantizeFolded`](super::QuantizeFolded)).

use super::error::check_finite;
use super::units::{Units, affine_channels, quantize_unit};
use super::{NonFiniteParameter, Quantize, QuantizedLayer, Scales};
use crate::layer::{BatchNorm, FlatWidths};

/// A [`BatchNorm`] on its own in int8: `q_out = requantize(q_b[c] + w[c] q_in)` per channel.
///
/// # Shapes
///
/// `[i8; C * S]` in and out: `C` channels of `S` positions each.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedBatchNorm<const C: usize, const S: usize> {
    weight: [i8; C],
    units: Units<C>,
    scales: Scales,
}

impl<const C: usize, const S: usize> QuantizedBatchNorm<C, S> {
    /// The scales of its inputs and outputs (as [`QuantizedLayer::scales`], without naming
    /// the flat widths).
    #[must_use]
    pub fn scales(&self) -> Scales {
        self.scales
    }

    /// Each channel's factor, on its own scale.
    #[must_use]
    pub fn weight(&self) -> &[i8; C] {
        &self.weight
    }

    /// Each channel's shift, on its sum scale.
    #[must_use]
    pub fn bias(&self) -> &[i32; C] {
        &self.units.bias
    }
}

impl<const C: usize, const S: usize, const IN: usize, const OUT: usize> QuantizedLayer<IN, OUT>
    for QuantizedBatchNorm<C, S>
{
    #[inline]
    fn scales(&self) -> Scales {
        self.scales
    }

    #[inline]
    fn forward(&self, input: &[i8; IN]) -> [i8; OUT] {
        let () = FlatWidths::<IN, OUT, C, S, C, S>::MATCH;
        let mut output = [0_i8; OUT];
        let channels = output.chunks_exact_mut(S).zip(input.chunks_exact(S));
        for (c, (y, x)) in channels.enumerate() {
            let (w, b, m) = (
                i32::from(self.weight[c]),
                self.units.bias[c],
                self.units.multipliers[c],
            );
            for (y, &x) in y.iter_mut().zip(x) {
                *y = m.requantize(b.wrapping_add(w * i32::from(x)));
            }
        }
        output
    }
}

impl<const C: usize, const S: usize, const IN: usize, const OUT: usize> Quantize<IN, OUT>
    for BatchNorm<C, S, f32>
{
    type Quantized = QuantizedBatchNorm<C, S>;

    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
        for (tensor, values) in [
            ("weight", &self.weight),
            ("bias", &self.bias),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
        ] {
            check_finite(tensor, values)?;
        }
        let channels = affine_channels(self)?;
        let mut weight = [0_i8; C];
        let mut units = Units::<C>::zeros();
        for (c, (q, norm)) in weight.iter_mut().zip(channels).enumerate() {
            // The channel as a unit with one weight, the factor, and the shift as its bias.
            let unit = quantize_unit(
                [1.0_f32].into_iter(),
                0.0,
                norm,
                scales,
                core::slice::from_mut(q),
            )
            .map_err(|_| NonFiniteParameter {
                tensor: "weight",
                index: c,
                value: self.weight[c],
            })?;
            units.set(c, unit);
        }
        Ok(QuantizedBatchNorm {
            weight,
            units,
            scales,
        })
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::SVector;

    use super::*;
    use crate::layer::Layer;

    #[test]
    fn a_batch_norm_on_its_own_is_an_exact_factor_and_a_rounded_shift() {
        // Channel 0: gamma 3, mean 1, var 3 (factor 3 / sqrt(3 + eps)), beta 0.25.
        // Channel 1: gamma -1, mean -2, var 0.25 (factor about -2), beta 0.
        let norm =
            BatchNorm::<2, 2, f32>::from_parts([3.0, -1.0], [0.25, 0.0], [1.0, -2.0], [3.0, 0.25]);
        let scales = Scales {
            input: 0.125,
            output: 0.0625,
        };
        let q = <BatchNorm<2, 2, f32> as Quantize<4, 4>>::quantize(&norm, scales).unwrap();
        // A factor is the only weight of its channel: always +-127 on its own scale.
        assert_eq!(q.weight(), &[127, -127]);
        let x = [8, -16, 3, -100];
        let y = QuantizedLayer::<4, 4>::forward(&q, &x);
        let real = SVector::<f32, 4>::from_fn(|i, _| f32::from(x[i]) * scales.input);
        let exact = Layer::<f32, 4, 4>::forward(&norm, &real);
        for i in 0..4 {
            let error = (f32::from(y[i]) * scales.output - exact[i]).abs();
            // Half an output step for the rounding, and the shift's half step of the sum's
            // scale (far smaller), unless the output saturates.
            let saturated = (exact[i] / scales.output).abs() > 127.0;
            assert!(
                error <= 0.5 * scales.output + 1e-3 || saturated,
                "{i}: {} against {}",
                y[i],
                exact[i]
            );
        }
        // Channel 0 at x = 1: 3 (1 - 1) / sqrt(3) + 0.25 = 0.25 -> 4 exactly.
        assert_eq!(QuantizedLayer::<4, 4>::forward(&q, &[8, 8, 0, 0])[0], 4);
    }

    #[test]
    fn a_negative_running_variance_is_refused_with_its_channel() {
        let norm = BatchNorm::<2, 1, f32>::from_parts([1.0; 2], [0.0; 2], [0.0; 2], [-0.5, 1.0]);
        let scales = Scales {
            input: 1.0,
            output: 1.0,
        };
        let error = <BatchNorm<2, 1, f32> as Quantize<2, 2>>::quantize(&norm, scales).unwrap_err();
        assert_eq!(
            error,
            NonFiniteParameter {
                tensor: "running_var",
                index: 0,
                value: -0.5
            }
        );
    }
}
