//! What every int8 layer with weights does per output unit (a Dense unit, a convolution's
//! output channel): quantize its weights on their own scale, its bias on the sum's scale, and
//! find the multiplier to the output's scale. A batch normalization folded into the layer
//! enters here as a factor and a shift per unit.

use super::fixed_point::{Multiplier, round_ties_away};
use super::{NonFiniteParameter, Scales, quantize_value, symmetric_scale};
use crate::kernels::int8;
use crate::layer::{BatchNorm, DEFAULT_EPS, inverse_std};

/// A batch normalization in inference as `y = factor * x + shift` per channel, in `f64`:
/// `factor = gamma / sqrt(running_var + eps)` and `shift = beta - running_mean * factor`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Affine {
    pub factor: f64,
    pub shift: f64,
}

impl Affine {
    /// No normalization.
    pub const IDENTITY: Self = Self {
        factor: 1.0,
        shift: 0.0,
    };
}

/// `norm`'s channels as [`Affine`] maps.
///
/// # Errors
///
/// The running variance of the first channel whose factor or shift is not finite (a negative
/// running variance, or one so small that the factor overflows).
pub(super) fn affine_channels<const C: usize, const S: usize>(
    norm: &BatchNorm<C, S, f32>,
) -> Result<[Affine; C], NonFiniteParameter> {
    let mut channels = [Affine::IDENTITY; C];
    for (c, channel) in channels.iter_mut().enumerate() {
        let variance = f64::from(norm.running_var[c]);
        let factor = f64::from(norm.weight[c]) * inverse_std(variance, DEFAULT_EPS);
        let shift = f64::from(norm.bias[c]) - f64::from(norm.running_mean[c]) * factor;
        if !factor.is_finite() || !shift.is_finite() || (factor * 127.0).is_infinite() {
            return Err(NonFiniteParameter {
                tensor: "running_var",
                index: c,
                value: norm.running_var[c],
            });
        }
        *channel = Affine { factor, shift };
    }
    Ok(channels)
}

/// One unit quantized: its row of weights is written by [`quantize_unit`], the rest is here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Unit {
    /// The weights' scale.
    pub weight_scale: f32,
    /// The bias on `input scale * weight_scale`.
    pub bias: i32,
    /// The bias for inputs offset by 128 (the VNNI kernel's).
    pub unsigned_bias: i32,
    /// The scale of the unit's `i32` sum.
    pub sum_scale: f32,
    /// The sum to the output's scale.
    pub multiplier: Multiplier,
}

/// Unit weights `weights` (each times `norm.factor`) quantized into `row` on their max-abs
/// scale, and the bias `bias * norm.factor + norm.shift` on the sum's scale.
///
/// # Errors
///
/// The index of the first weight whose product with the factor is not finite.
pub(super) fn quantize_unit(
    weights: impl Iterator<Item = f32> + Clone,
    bias: f32,
    norm: Affine,
    scales: Scales,
    row: &mut [i8],
) -> Result<Unit, usize> {
    // Without a normalization the factor is 1 and the weights are the layer's exactly.
    let folded = weights.map(move |w| (f64::from(w) * norm.factor) as f32);
    if let Some(index) = folded.clone().position(|w| !w.is_finite()) {
        return Err(index);
    }
    let max_abs = folded.clone().fold(0.0_f32, |m, w| m.max(w.abs()));
    let weight_scale = symmetric_scale(max_abs);
    for (q, w) in row.iter_mut().zip(folded) {
        *q = quantize_value(w, weight_scale);
    }
    let sum_scale = f64::from(scales.input) * f64::from(weight_scale);
    let real_bias = f64::from(bias) * norm.factor + norm.shift;
    // Clamped to what an i32 holds: a bias that large saturates every output anyway.
    let b = (real_bias / sum_scale).clamp(-2_147_483_647.0, 2_147_483_647.0);
    let bias = round_ties_away(b) as i32;
    Ok(Unit {
        weight_scale,
        bias,
        unsigned_bias: int8::unsigned_bias(row, bias),
        sum_scale: sum_scale as f32,
        multiplier: Multiplier::new(sum_scale / f64::from(scales.output)),
    })
}

/// The per-unit numbers of a layer of `N` units, apart from the weights.
#[derive(Clone, Copy, Debug)]
pub(super) struct Units<const N: usize> {
    pub bias: [i32; N],
    pub unsigned_bias: [i32; N],
    pub weight_scales: [f32; N],
    pub sum_scales: [f32; N],
    pub multipliers: [Multiplier; N],
}

impl<const N: usize> PartialEq for Units<N> {
    /// The unsigned biases and sum scales follow from the rest.
    fn eq(&self, other: &Self) -> bool {
        self.bias == other.bias
            && self.weight_scales == other.weight_scales
            && self.multipliers == other.multipliers
    }
}

impl<const N: usize> Units<N> {
    /// Before any unit is set.
    pub fn zeros() -> Self {
        Self {
            bias: [0; N],
            unsigned_bias: [0; N],
            weight_scales: [0.0; N],
            sum_scales: [0.0; N],
            multipliers: [Multiplier::new(0.0); N],
        }
    }

    /// Unit `o` set to `unit`.
    pub fn set(&mut self, o: usize, unit: Unit) {
        self.bias[o] = unit.bias;
        self.unsigned_bias[o] = unit.unsigned_bias;
        self.weight_scales[o] = unit.weight_scale;
        self.sum_scales[o] = unit.sum_scale;
        self.multipliers[o] = unit.multiplier;
    }
}
