//! int8 post-training quantization: a trained `f32` network becomes a network of `i8` weights
//! and activations with `i32` sums, which runs without `std` and without an allocator.
//!
//! Every `network!` whose layers are all `Dense`, `Conv1d`, `Conv2d`, poolings, `BatchNorm`,
//! activations, `Flatten` or `Dropout` gets a second struct, `NetInt8` for `Net`, with one
//! quantized layer per field, made by
//! `Net::quantize(&calibration)` (a `Dataset`) or `Net::quantize_inputs(&[inputs])`. Its
//! `forward` takes and returns `f32` vectors of the network's widths, so a wrong width is a
//! compile error as it is for the `f32` network; `forward_int8` runs on `i8` vectors alone.
//!
//! # The scheme
//!
//! - **Weights**: symmetric per output unit (a convolution's output channel),
//!   `s_w[o] = max_k |W[o, k]| / 127` and `q = round(W / s_w)` in `[-127, 127]`. A `BatchNorm`
//!   right after a layer with weights and no activation is folded into those weights and bias
//!   first ([`QuantizeFolded`]).
//! - **Activations**: symmetric per layer input, calibrated by **max-abs**: the scale of each
//!   layer's input is the largest `|x|` seen there over the calibration samples, over 127, so no
//!   calibration value is clipped. A layer that keeps its input's scale (ReLU, max pooling,
//!   `Flatten`, `Dropout`) passes it on instead of measuring its own, which keeps ReLU and max
//!   pooling exact.
//! - **Sums**: `acc = q_b + sum_k q_w q_x` in `i32`, with the bias quantized to `i32` on the
//!   sum's scale, `q_b = round(b / (s_in s_w[o]))`.
//! - **Requantization** to the next layer's scale by a fixed-point multiplier,
//!   `M = s_in s_w[o] / s_out` as `m / 2^shift` ([`Multiplier`]): integer-only, the same on
//!   every CPU, and usable on cores without an FPU; rounding is to nearest, ties away from zero.
//! - **Activations**: identity and ReLU in the integer domain (ReLU is `max(acc, 0)` before
//!   requantizing, exact since the scales are positive); any other activation dequantizes the
//!   sums to `f32`, applies the activation and quantizes the result.
//! - **Pooling**: max pooling on the `i8` values, on its input's scale; average pooling as an
//!   `i32` sum of each window requantized by `s_in / (count s_out)`.
//!
//! The network's input is quantized on the first layer's input scale and its output
//! dequantized from the last layer's output scale.
//!
//! # Example
//!
//! ```
//! use typenn::prelude::*;
//!
//! network! {
//!     pub struct Net(Dense<2, 4, Relu>, Dense<4, 1>);
//! }
//!
//! fn main() -> Result<(), typenn::QuantizeError> {
//!     let net = Net::new(&mut StdRng::seed_from_u64(0));
//!     let calibration = [SVector::from([0.5, -1.0]), SVector::from([1.0, 0.25])];
//!     let int8: NetInt8 = net.quantize_inputs(&calibration)?;
//!     let (exact, approximate) = (net.forward(&calibration[0]), int8.forward(&calibration[0]));
//!     assert!((exact[0] - approximate[0]).abs() < 0.05);
//!     Ok(())
//! }
//! ```

mod batch_norm;
mod conv;
mod dense;
mod elementwise;
mod error;
mod fixed_point;
mod pool;
mod units;

use core::fmt::Debug;

use nalgebra::SVector;

pub use batch_norm::QuantizedBatchNorm;
pub use conv::{QuantizedConv1d, QuantizedConv2d};
pub use dense::QuantizedDense;
pub use elementwise::{QuantizedActivate, QuantizedPassThrough};
pub use error::{NonFiniteParameter, QuantizeError};
pub use fixed_point::{Multiplier, QMAX, quantize_value, symmetric_scale};
pub use pool::{
    QuantizedAvgPool1d, QuantizedAvgPool2d, QuantizedGlobalAvgPool, QuantizedMaxPool1d,
    QuantizedMaxPool2d,
};

/// The scales on a layer's two sides: a real value `x` is `q * scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scales {
    /// The scale of the layer's `i8` inputs.
    pub input: f32,
    /// The scale of the layer's `i8` outputs.
    pub output: f32,
}

/// An `f32` layer that has an int8 counterpart.
pub trait Quantize<const IN: usize, const OUT: usize> {
    /// The int8 layer.
    type Quantized: QuantizedLayer<IN, OUT>;

    /// Whether the layer's outputs are on its input's scale (ReLU, `Flatten`, `Dropout`), so
    /// that the calibrated range of its outputs is not used.
    #[must_use]
    fn keeps_scale() -> bool {
        false
    }

    /// The int8 layer for inputs and outputs on `scales`.
    ///
    /// # Errors
    ///
    /// The first non-finite weight or bias.
    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter>;
}

/// A layer with weights (`Dense`, `Conv1d`, `Conv2d`, without an activation of its own) that
/// takes the [`BatchNorm`](crate::BatchNorm) `N` after it into its weights and bias before
/// quantizing: `gamma (W x + b - mean) / sqrt(var + eps) + beta` is one affine map, so the
/// normalization costs nothing in int8 and adds no rounding of its own.
pub trait QuantizeFolded<N, const IN: usize, const OUT: usize>: Quantize<IN, OUT> {
    /// The int8 layer computing this layer followed by `norm`, for inputs and outputs on
    /// `scales` (the output scale is the normalization's output's); `labels` are the two
    /// layers' fields, for errors.
    ///
    /// # Errors
    ///
    /// [`QuantizeError::NonFiniteParameter`] for a non-finite parameter of either layer, or a
    /// normalization whose factor or folded weights are not finite.
    fn quantize_folded(
        &self,
        norm: &N,
        scales: Scales,
        labels: [&'static str; 2],
    ) -> Result<Self::Quantized, QuantizeError>;
}

/// The error for folded weights of unit `unit` that overflow `f32`: the normalization's scale
/// there, `gamma`, is too large for the layer's weights.
fn folded_overflow(norm: &'static str, unit: usize, gamma: f32) -> QuantizeError {
    QuantizeError::NonFiniteParameter {
        layer: norm,
        tensor: "weight",
        index: unit,
        value: gamma * f32::INFINITY,
    }
}

/// A batch normalization folded into the layer before it ([`QuantizeFolded`]): its numbers
/// pass through, on `scale`, the scale of the folded layer's outputs.
#[doc(hidden)]
#[must_use]
pub fn folded<const N: usize>(scale: f32) -> QuantizedPassThrough<N> {
    QuantizedPassThrough::on(scale)
}

/// An int8 layer from `IN` to `OUT` numbers per sample.
pub trait QuantizedLayer<const IN: usize, const OUT: usize>: Clone + Debug + PartialEq {
    /// The scales of its inputs and outputs.
    #[must_use]
    fn scales(&self) -> Scales;

    /// The output for one sample.
    #[must_use]
    fn forward(&self, input: &[i8; IN]) -> [i8; OUT];
}

/// The largest magnitude seen at one place in a network over the calibration samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    max_abs: f32,
}

impl Range {
    /// Takes `values` into the range; the index and value of the first non-finite one, if any.
    ///
    /// # Errors
    ///
    /// The index and value of the first NaN or infinity, which leaves the range as it was.
    pub fn observe(&mut self, values: &[f32]) -> Result<(), (usize, f32)> {
        let mut largest = self.max_abs;
        for (index, &value) in values.iter().enumerate() {
            if !value.is_finite() {
                return Err((index, value));
            }
            largest = largest.max(value.abs());
        }
        self.max_abs = largest;
        Ok(())
    }

    /// The largest magnitude seen.
    #[must_use]
    pub fn max_abs(&self) -> f32 {
        self.max_abs
    }

    /// The max-abs scale of the range ([`symmetric_scale`]).
    #[must_use]
    pub fn scale(&self) -> f32 {
        symmetric_scale(self.max_abs)
    }
}

/// Takes calibration sample `sample`'s input into `range`.
///
/// # Errors
///
/// [`QuantizeError::NonFiniteInput`] for a NaN or infinite input.
#[doc(hidden)]
pub fn observe_input(
    range: &mut Range,
    sample: usize,
    values: &[f32],
) -> Result<(), QuantizeError> {
    range
        .observe(values)
        .map_err(|(feature, value)| QuantizeError::NonFiniteInput {
            sample,
            feature,
            value,
        })
}

/// Takes layer `layer`'s output for calibration sample `sample` into `range`.
///
/// # Errors
///
/// [`QuantizeError::NonFiniteOutput`] for a NaN or infinite output.
#[doc(hidden)]
pub fn observe_output(
    range: &mut Range,
    sample: usize,
    layer: &'static str,
    values: &[f32],
) -> Result<(), QuantizeError> {
    range
        .observe(values)
        .map_err(|(unit, value)| QuantizeError::NonFiniteOutput {
            sample,
            layer,
            unit,
            value,
        })
}

/// Checks every tensor of `layer`, the field `label` of a network, for NaN and infinity: run
/// before calibration, so that a broken network is reported as such rather than as the
/// non-finite outputs it gives.
///
/// # Errors
///
/// [`QuantizeError::NonFiniteParameter`] for the first non-finite number.
#[doc(hidden)]
pub fn check_parameters<L: crate::Parameters<f32>>(
    layer: &L,
    label: &'static str,
) -> Result<(), QuantizeError> {
    for index in 0..L::TENSORS {
        let tensor = L::tensor_info(index).map_or("", |info| info.name);
        error::check_finite(tensor, layer.tensor(index)).map_err(|error| error.in_layer(label))?;
    }
    Ok(())
}

/// A layer's `i8` output as the next layer's input: the same `N` numbers, the widths being
/// equal wherever a network compiles (its `f32` chain proves it). Written with both widths so
/// that generated code with a width mismatch adds no error to the one the chain reports.
#[doc(hidden)]
#[inline(always)]
#[must_use]
pub fn across<const A: usize, const B: usize>(values: [i8; A]) -> [i8; B] {
    const {
        assert!(
            A == B,
            "a layer's output width is not the next layer's input width"
        )
    };
    core::array::from_fn(|i| values[i])
}

/// As [`across`], for the `f32` vectors of calibration.
#[doc(hidden)]
#[inline(always)]
#[must_use]
pub fn across_f32<const A: usize, const B: usize>(values: &SVector<f32, A>) -> SVector<f32, B> {
    const {
        assert!(
            A == B,
            "a layer's output width is not the next layer's input width"
        )
    };
    SVector::from_fn(|i, _| values[i])
}

/// The scale after a layer: its input's when it keeps it, else its output range's.
#[doc(hidden)]
#[must_use]
pub fn next_scale(keeps_scale: bool, input: f32, output: &Range) -> f32 {
    if keeps_scale { input } else { output.scale() }
}

/// The int8 kernel quantized layers run on this CPU: `"AVX-512 VNNI (vpdpbusd)"`,
/// `"AVX2 (vpmaddwd)"` or `"portable"` (always without `std`). Every kernel gives the same
/// sums bit for bit.
#[must_use]
pub fn kernel() -> &'static str {
    crate::kernels::int8::best().name()
}

/// `input` on `scale` as `i8` ([`quantize_value`] of each number).
#[must_use]
pub fn quantize_input<const N: usize>(input: &SVector<f32, N>, scale: f32) -> [i8; N] {
    let mut output = [0; N];
    crate::kernels::int8::quantize(input.as_slice(), scale, &mut output);
    output
}

/// `i8` values on `scale` as `f32`.
#[must_use]
pub fn dequantize<const N: usize>(values: &[i8; N], scale: f32) -> SVector<f32, N> {
    SVector::from_fn(|i, _| f32::from(values[i]) * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_keep_the_largest_magnitude_and_refuse_non_finite_values() {
        let mut range = Range::default();
        assert_eq!(range.scale(), 1.0);
        range.observe(&[0.5, -2.54, 1.0]).unwrap();
        range.observe(&[0.1]).unwrap();
        assert_eq!(range.max_abs(), 2.54);
        assert!((range.scale() - 0.02).abs() < 1e-8, "{}", range.scale());
        assert_eq!(range.observe(&[1.0, f32::NAN]).map_err(|(i, _)| i), Err(1));
        assert_eq!(
            range.observe(&[f32::NEG_INFINITY]),
            Err((0, f32::NEG_INFINITY))
        );
        assert_eq!(range.max_abs(), 2.54);
    }

    #[test]
    fn inputs_round_trip_within_half_a_step() {
        let x = SVector::<f32, 3>::from([0.3, -1.5, 0.006]);
        let q = quantize_input(&x, 0.01);
        assert_eq!(q, [30, -127, 1]);
        let back = dequantize(&q, 0.01);
        for (a, b) in back.iter().zip(&x) {
            assert!((a - b).abs() <= 0.005 + 1e-6 || b.abs() > 1.27, "{a} {b}");
        }
    }
}
