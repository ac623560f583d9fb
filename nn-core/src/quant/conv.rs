//! [`Conv1d`] and [`Conv2d`] in int8: per-output-channel symmetric weights, an `i32` bias on
//! each channel's sum scale, and a fixed-point multiplier per channel to the output's scale,
//! as for a Dense unit. Each output position's patch (zeros where a tap reads padding) goes
//! through the int8 product kernels with the channels' weights as the rows, so stride, padding
//! and dilation are the `f32` layer's, read from the same geometry.

use core::marker::PhantomData;

use super::dense::{Integer, integer};
use super::error::check_finite;
use super::units::{Affine, Units, affine_channels, quantize_unit};
use super::{
    NonFiniteParameter, Quantize, QuantizeError, QuantizeFolded, QuantizedLayer, Scales,
    folded_overflow, quantize_value,
};
use crate::activation::{Activation, Identity};
use crate::kernels::int8::{self, Dims};
use crate::layer::{
    BatchNorm, Conv1d, Conv1dGeometry, Conv2d, Conv2dGeometry, FlatWidths, FlatWidths2d, Padding,
    Window,
};

/// A patch of `CIN` channels times `K^AXES` taps, to `COUT` channels: the widths of one output
/// position's product.
struct Patch<const CIN: usize, const COUT: usize, const K: usize, const AXES: u32>;

impl<const CIN: usize, const COUT: usize, const K: usize, const AXES: u32> Dims
    for Patch<CIN, COUT, K, AXES>
{
    const IN: usize = CIN * K.pow(AXES);
    const OUT: usize = COUT;
}

/// Where a convolution's taps read: `channels` planes of `height x width` (`1 x len` for a
/// Conv1d), a window along the rows and one along the columns.
#[derive(Clone, Copy, Debug)]
struct Plane {
    channels: usize,
    height: usize,
    width: usize,
    rows: Window,
    cols: Window,
    out_height: usize,
    out_width: usize,
}

/// The window of a Conv1d's single row.
const ONE_ROW: Window = match Window::new(1, 1, 1, Padding::VALID) {
    Some(window) => window,
    None => panic!("a window of one tap exists"),
};

impl Plane {
    const fn of_2d(g: &Conv2dGeometry) -> Self {
        let ((height, width), (out_height, out_width)) = (g.size(), g.out_size());
        let (rows, cols) = g.windows();
        Self {
            channels: g.in_channels(),
            height,
            width,
            rows,
            cols,
            out_height,
            out_width,
        }
    }

    const fn of_1d(g: &Conv1dGeometry) -> Self {
        Self {
            channels: g.in_channels(),
            height: 1,
            width: g.input_len(),
            rows: ONE_ROW,
            cols: g.window(),
            out_height: 1,
            out_width: g.out_len(),
        }
    }

    /// The patch of output `(r, c)`, channel by channel and row-major within one, as the
    /// weights of a channel are laid out: `0` where a tap lands on padding.
    #[inline]
    fn gather(&self, input: &[i8], r: usize, c: usize, patch: &mut [i8]) {
        let mut taps = patch.iter_mut();
        for channel in input
            .chunks_exact(self.height * self.width)
            .take(self.channels)
        {
            for i in 0..self.rows.kernel() {
                let row = self.rows.input_index(r, i, self.height);
                for j in 0..self.cols.kernel() {
                    let value = match (row, self.cols.input_index(c, j, self.width)) {
                        (Some(y), Some(x)) => channel[y * self.width + x],
                        _ => 0,
                    };
                    if let Some(tap) = taps.next() {
                        *tap = value;
                    }
                }
            }
        }
    }

    /// Every output channel's sums, `acc[o * positions + p]`, from `weights` row-major with
    /// channel `o`'s patch weights in row `o`; `patch` and `at` hold one position's patch and
    /// sums.
    #[inline]
    fn sums<P: Dims>(
        &self,
        weights: &[i8],
        bias: &[i32],
        unsigned_bias: &[i32],
        input: &[i8],
        (patch, at): (&mut [i8], &mut [i32]),
        acc: &mut [i32],
    ) {
        let positions = self.out_height * self.out_width;
        for r in 0..self.out_height {
            for c in 0..self.out_width {
                self.gather(input, r, c, patch);
                int8::affine::<P>(weights, bias, unsigned_bias, patch, at);
                let p = r * self.out_width + c;
                for (sums, &sum) in acc.chunks_exact_mut(positions).zip(at.iter()) {
                    sums[p] = sum;
                }
            }
        }
    }
}

/// The activation and requantization of a convolution's sums, channel by channel (`C`
/// channels of `OUT / C` positions).
#[inline]
fn outputs<A: Activation, const C: usize, const OUT: usize>(
    acc: &[i32; OUT],
    units: &Units<C>,
    output_scale: f32,
) -> [i8; OUT] {
    let positions = OUT / C;
    let mut output = [0_i8; OUT];
    let channels = output
        .chunks_exact_mut(positions)
        .zip(acc.chunks_exact(positions));
    match integer::<A>() {
        Integer::Identity | Integer::Relu => {
            let relu = integer::<A>() == Integer::Relu;
            for ((output, acc), m) in channels.zip(&units.multipliers) {
                for (q, &a) in output.iter_mut().zip(acc) {
                    *q = m.requantize(if relu { a.max(0) } else { a });
                }
            }
        }
        Integer::Float => {
            let mut z = [0.0_f32; OUT];
            let sums = z
                .chunks_exact_mut(positions)
                .zip(acc.chunks_exact(positions));
            for ((z, acc), &scale) in sums.zip(&units.sum_scales) {
                for (z, &a) in z.iter_mut().zip(acc) {
                    *z = a as f32 * scale;
                }
            }
            let mut a = [0.0_f32; OUT];
            A::forward(OUT, &z, &mut a);
            for (q, a) in output.iter_mut().zip(a) {
                *q = quantize_value(a, output_scale);
            }
        }
    }
    output
}

/// A [`Conv2d`] with `i8` weights: each output is `requantize(act(q_b + sum W_q patch))`.
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input | `[i8; CIN * H * W]` | (CIN, H, W), on the input scale |
/// | `weight` | `[[[[i8; K]; K]; CIN]; COUT]` | as the `f32` layer's, channel `o`'s on `weight_scales[o]` |
/// | `bias` | `[i32; COUT]` | channel `o`'s on `input scale * weight_scales[o]` |
/// | output | `[i8; COUT * HOUT * WOUT]` | (COUT, HOUT, WOUT), on the output scale |
#[derive(Clone, Debug)]
pub struct QuantizedConv2d<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PB: usize,
    const PA: usize,
    const D: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
    A = Identity,
> {
    weight: [[[[i8; K]; K]; CIN]; COUT],
    units: Units<COUT>,
    scales: Scales,
    activation: PhantomData<A>,
}

/// A [`Conv1d`] with `i8` weights, as [`QuantizedConv2d`] along one axis.
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input | `[i8; CIN * L]` | (CIN, L), on the input scale |
/// | `weight` | `[[[i8; K]; CIN]; COUT]` | as the `f32` layer's, channel `o`'s on `weight_scales[o]` |
/// | `bias` | `[i32; COUT]` | channel `o`'s on `input scale * weight_scales[o]` |
/// | output | `[i8; COUT * LOUT]` | (COUT, LOUT), on the output scale |
#[derive(Clone, Debug)]
pub struct QuantizedConv1d<
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const L: usize,
    const LOUT: usize,
    A = Identity,
> {
    weight: [[[i8; K]; CIN]; COUT],
    units: Units<COUT>,
    scales: Scales,
    activation: PhantomData<A>,
}

/// What the two convolutions share: equality, accessors, the int8 layer, quantizing and
/// folding. `$row` is one output channel's weights (also one position's patch), `$axes` the
/// number of spatial axes, `$plane` builds the [`Plane`], `$widths` names the proof that the
/// flat widths are the shapes', and `$flat` / `$flat_mut` flatten a row (or the slice of all
/// rows once flattened) to its numbers.
macro_rules! quantized_conv {
    (
        $name:ident, $layer:ident, [$($c:ident),*], $row:ty, $axes:literal, $plane:path,
        $widths:ty, |$w:ident| $flat:expr, |$wm:ident| $flat_mut:expr
    ) => {
        // By hand: the activation is a marker type without `PartialEq`.
        impl<A, $(const $c: usize),*> PartialEq for $name<$($c),*, A> {
            fn eq(&self, other: &Self) -> bool {
                self.weight == other.weight
                    && self.units == other.units
                    && self.scales == other.scales
            }
        }

        impl<A: Activation, $(const $c: usize),*> $name<$($c),*, A> {
            const PLANE: Plane = $plane(&$layer::<$($c),*, Identity, f32>::GEOMETRY);

            /// The scales of its inputs and outputs (as [`QuantizedLayer::scales`], without
            /// naming the flat widths).
            #[must_use]
            pub fn scales(&self) -> Scales {
                self.scales
            }

            /// The quantized weights, in the `f32` layer's layout.
            #[must_use]
            pub fn weight(&self) -> &[$row; COUT] {
                &self.weight
            }

            /// The biases, each on its channel's sum scale.
            #[must_use]
            pub fn bias(&self) -> &[i32; COUT] {
                &self.units.bias
            }

            /// Each output channel's weight scale.
            #[must_use]
            pub fn weight_scales(&self) -> &[f32; COUT] {
                &self.units.weight_scales
            }

            /// Every output's `i32` sum `q_b + sum W_q patch`, before the activation and
            /// requantization, channel by channel.
            #[must_use]
            pub fn sums<const IN: usize, const OUT: usize>(&self, input: &[i8; IN]) -> [i32; OUT] {
                let () = <$widths>::MATCH;
                let mut patch = <$row as bytemuck::Zeroable>::zeroed();
                let mut at = [0_i32; COUT];
                let mut acc = [0_i32; OUT];
                let weights = {
                    let $w = self.weight.as_flattened();
                    $flat
                };
                let $wm = &mut patch;
                Self::PLANE.sums::<Patch<CIN, COUT, K, $axes>>(
                    weights,
                    &self.units.bias,
                    &self.units.unsigned_bias,
                    input,
                    ($flat_mut, &mut at),
                    &mut acc,
                );
                acc
            }
        }

        impl<A: Activation, $(const $c: usize),*, const IN: usize, const OUT: usize>
            QuantizedLayer<IN, OUT> for $name<$($c),*, A>
        {
            #[inline]
            fn scales(&self) -> Scales {
                self.scales
            }

            #[inline]
            fn forward(&self, input: &[i8; IN]) -> [i8; OUT] {
                outputs::<A, COUT, OUT>(&self.sums(input), &self.units, self.scales.output)
            }
        }

        impl<A: Activation, $(const $c: usize),*> $layer<$($c),*, A, f32> {
            /// The layer quantized with output channel `o` followed by `norms[o]`, or the
            /// first channel whose folded weights are not finite.
            fn quantize_affine(
                &self,
                norms: &[Affine; COUT],
                scales: Scales,
            ) -> Result<$name<$($c),*, A>, usize> {
                let mut weight = <[$row; COUT] as bytemuck::Zeroable>::zeroed();
                let mut units = Units::<COUT>::zeros();
                for (o, $wm) in weight.iter_mut().enumerate() {
                    let real = {
                        let $w = &self.weight[o];
                        $flat
                    };
                    let unit = quantize_unit(real.iter().copied(), self.bias[o], norms[o], scales, $flat_mut)
                        .map_err(|_| o)?;
                    units.set(o, unit);
                }
                Ok($name {
                    weight,
                    units,
                    scales,
                    activation: PhantomData,
                })
            }

            /// Every weight, flat in the layout's order.
            fn flat_weights(&self) -> &[f32] {
                let $w = self.weight.as_flattened();
                $flat
            }
        }

        impl<A: Activation, $(const $c: usize),*, const IN: usize, const OUT: usize>
            Quantize<IN, OUT> for $layer<$($c),*, A, f32>
        {
            type Quantized = $name<$($c),*, A>;

            fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
                check_finite("weight", self.flat_weights())?;
                check_finite("bias", &self.bias)?;
                // The weights are finite and the factors 1, so every product is: no channel
                // fails.
                self.quantize_affine(&[Affine::IDENTITY; COUT], scales)
                    .map_err(|o| NonFiniteParameter {
                        tensor: "weight",
                        index: o,
                        value: self.bias[o],
                    })
            }
        }

        impl<$(const $c: usize),*, const NS: usize, const IN: usize, const OUT: usize>
            QuantizeFolded<BatchNorm<COUT, NS, f32>, IN, OUT> for $layer<$($c),*, Identity, f32>
        {
            fn quantize_folded(
                &self,
                norm: &BatchNorm<COUT, NS, f32>,
                scales: Scales,
                [layer, norm_label]: [&'static str; 2],
            ) -> Result<Self::Quantized, QuantizeError> {
                check_finite("weight", self.flat_weights()).map_err(|e| e.in_layer(layer))?;
                check_finite("bias", &self.bias).map_err(|e| e.in_layer(layer))?;
                let norms = affine_channels(norm).map_err(|e| e.in_layer(norm_label))?;
                self.quantize_affine(&norms, scales)
                    .map_err(|o| folded_overflow(norm_label, o, norm.weight[o]))
            }
        }
    };
}

quantized_conv!(
    QuantizedConv2d,
    Conv2d,
    [CIN, COUT, K, S, PB, PA, D, H, W, HOUT, WOUT],
    [[[i8; K]; K]; CIN],
    2,
    Plane::of_2d,
    FlatWidths2d<IN, OUT, CIN, H, W, COUT, HOUT, WOUT>,
    |w| w.as_flattened().as_flattened(),
    |w| w.as_flattened_mut().as_flattened_mut()
);

quantized_conv!(
    QuantizedConv1d,
    Conv1d,
    [CIN, COUT, K, S, PL, PR, D, L, LOUT],
    [[i8; K]; CIN],
    1,
    Plane::of_1d,
    FlatWidths<IN, OUT, CIN, L, COUT, LOUT>,
    |w| w.as_flattened(),
    |w| w.as_flattened_mut()
);

#[cfg(test)]
mod tests {
    use nalgebra::SVector;

    use super::*;
    use crate::activation::Relu;
    use crate::layer::Layer;

    /// Conv1d with stride 2, one zero on each side and dilation 2, over a length of 5:
    /// `(5 + 2 - 2 (2 - 1) - 1) / 2 + 1 = 3` outputs; output `t` reads inputs `2t - 1` and
    /// `2t + 1`, so the first and last each read one zero.
    type Strided<A> = Conv1d<1, 2, 2, 2, 1, 1, 2, 5, 3, A, f32>;

    fn strided<A>() -> Strided<A> {
        Conv1d::from_parts([[[127.0, -63.5]], [[2.0, 4.0]]], [3.0, 0.0])
    }

    const SCALES: Scales = Scales {
        input: 0.5,
        output: 8.0,
    };

    #[test]
    fn conv1d_with_stride_padding_and_dilation_is_the_hand_computed_integers() {
        let q = <Strided<Identity> as Quantize<5, 6>>::quantize(&strided(), SCALES).unwrap();
        // Channel 0: max 127, scale 1, -63.5 -> -64 (a tie, away from zero); bias 3 / 0.5 = 6.
        // Channel 1: max 4, scale 4/127, 2 -> 63.5 -> 64 and 4 -> 127; bias 0.
        assert_eq!(q.weight(), &[[[127, -64]], [[64, 127]]]);
        assert_eq!(q.bias(), &[6, 0]);
        assert_eq!(q.weight_scales()[1], 4.0 / 127.0);
        let x = [10, -20, 30, -40, 50];
        // Channel 0: -64 * -20 + 6 = 1286; 127 * -20 - 64 * -40 + 6 = 26; 127 * -40 + 6 = -5074.
        // Channel 1: 127 * -20 = -2540; 64 * -20 + 127 * -40 = -6360; 64 * -40 = -2560.
        let sums: [i32; 6] = q.sums(&x);
        assert_eq!(sums, [1286, 26, -5074, -2540, -6360, -2560]);
        // Channel 0 to scale 8 by M = 0.5 / 8: 80.375 -> 80, 1.625 -> 2, -317 -> -127 (clamped).
        // Channel 1 by M = 0.5 (4/127) / 8 = 1/508: -5, -12.52 -> -13, -5.04 -> -5.
        assert_eq!(
            QuantizedLayer::<5, 6>::forward(&q, &x),
            [80, 2, -127, -5, -13, -5]
        );
        let relu = <Strided<Relu> as Quantize<5, 6>>::quantize(&strided(), SCALES).unwrap();
        assert_eq!(
            QuantizedLayer::<5, 6>::forward(&relu, &x),
            [80, 2, 0, 0, 0, 0]
        );
    }

    /// Conv2d 2x2 over 2x2 with one zero before each side (top, left) and none after.
    type Padded = Conv2d<1, 1, 2, 1, 1, 0, 1, 2, 2, 2, 2, Identity, f32>;

    #[test]
    fn conv2d_with_padding_matches_the_hand_computed_sums_and_the_f32_layer() {
        let conv: Padded = Conv2d::from_parts([[[[127.0, 0.0], [0.0, -127.0]]]], [0.0]);
        let scales = Scales {
            input: 1.0,
            output: 4.0,
        };
        let q = <Padded as Quantize<4, 4>>::quantize(&conv, scales).unwrap();
        assert_eq!(q.weight(), &[[[[127, 0], [0, -127]]]]);
        // Output (r, c) reads (r - 1, c - 1) with 127 and (r, c) with -127:
        // (0, 0): -127 * 1; (0, 1): -127 * 2; (1, 0): -127 * 3; (1, 1): 127 * 1 - 127 * 4.
        let x = [1, 2, 3, 4];
        let sums: [i32; 4] = q.sums(&x);
        assert_eq!(sums, [-127, -254, -381, -381]);
        let exact = Layer::<f32, 4, 4>::forward(&conv, &SVector::from([1.0, 2.0, 3.0, 4.0]));
        assert_eq!(exact.as_slice(), sums.map(|s| s as f32).as_slice());
        // M = 1 / 4: -31.75 -> -32, -63.5 -> -64 (a tie), -95.25 -> -95.
        assert_eq!(
            QuantizedLayer::<4, 4>::forward(&q, &x),
            [-32, -64, -95, -95]
        );
    }

    #[test]
    fn a_folded_batch_norm_scales_each_channel_and_shifts_its_bias() {
        // Channel 0: gamma 2, mean 1, var 1 - eps (so 1 / sqrt(var + eps) = 1 up to f32's
        // rounding of the variance), beta 0.5: y = 2 (z - 1) + 0.5 = 2 z - 1.5.
        let eps = crate::layer::DEFAULT_EPS as f32;
        let norm = BatchNorm::<2, 3, f32>::from_parts(
            [2.0, 1.0],
            [0.5, 0.0],
            [1.0, 0.0],
            [1.0 - eps, 1.0 - eps],
        );
        let mut by_hand = strided::<Identity>();
        by_hand.weight[0] = [[254.0, -127.0]];
        by_hand.bias[0] = 4.5;
        let folded = <Strided<Identity> as QuantizeFolded<_, 5, 6>>::quantize_folded(
            &strided(),
            &norm,
            SCALES,
            ["conv", "norm"],
        )
        .unwrap();
        let expected = <Strided<Identity> as Quantize<5, 6>>::quantize(&by_hand, SCALES).unwrap();
        assert_eq!(folded.weight(), expected.weight());
        assert_eq!(folded.bias(), expected.bias());
        // 4.5 on 0.5 * 2 = 4.5 -> 5 (ties away); the weights keep their integers, on twice the
        // scale.
        assert_eq!(folded.bias(), &[5, 0]);
        assert_eq!(folded.weight_scales()[0], 2.0);

        let broken = BatchNorm::<2, 3, f32>::from_parts([1.0; 2], [0.0; 2], [0.0; 2], [1.0, -1.0]);
        let error = <Strided<Identity> as QuantizeFolded<_, 5, 6>>::quantize_folded(
            &strided(),
            &broken,
            SCALES,
            ["conv", "norm"],
        )
        .unwrap_err();
        assert_eq!(
            error,
            QuantizeError::NonFiniteParameter {
                layer: "norm",
                tensor: "running_var",
                index: 1,
                value: -1.0
            }
        );
    }
}
