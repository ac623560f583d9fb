//! Pooling in int8. Max pooling runs on the `i8` values themselves and keeps its input's scale:
//! quantization is monotone, so the largest `i8` of a window is the quantized largest value
//! and the layer adds no error. Average pooling sums a window's `i8` values in `i32` (padding
//! adds zeros and counts towards the divisor, as in the `f32` layers) and requantizes the sum
//! to its own calibrated scale with one fixed-point multiplier, `s_in / (count s_out)`, which
//! rounds to nearest.

use super::fixed_point::Multiplier;
use super::{NonFiniteParameter, Quantize, QuantizedLayer, Scales};
use crate::layer::{
    AvgPool1d, AvgPool2d, FlatWidths, FlatWidths2d, GlobalAvgPool, MaxPool1d, MaxPool2d,
    Pool1dGeometry, Pool2dGeometry,
};

/// The multiplier that takes a sum of `count` values on `scales.input` to their mean on
/// `scales.output`.
fn mean_multiplier(scales: Scales, count: usize) -> Multiplier {
    Multiplier::new(f64::from(scales.input) / (count as f64 * f64::from(scales.output)))
}

/// What a window becomes.
#[derive(Clone, Copy)]
enum Pool {
    /// Its largest value (every window holds at least one input: the geometry checks it).
    Max,
    /// Its sum, to the output scale by the multiplier.
    Mean(Multiplier),
}

impl Pool {
    #[inline]
    fn of(self, window: impl Iterator<Item = i8>) -> i8 {
        match self {
            Self::Max => window.fold(i8::MIN, i8::max),
            Self::Mean(multiplier) => {
                multiplier.requantize(window.fold(0_i32, |sum, q| sum + i32::from(q)))
            }
        }
    }

    /// Every window of every channel of 2-d pooling `g`.
    #[inline]
    fn each_2d<const IN: usize, const OUT: usize>(
        self,
        g: &Pool2dGeometry,
        input: &[i8; IN],
    ) -> [i8; OUT] {
        let mut output = [0_i8; OUT];
        let ((height, width), (out_height, out_width)) = (g.size(), g.out_size());
        let planes = input
            .chunks_exact(height * width)
            .zip(output.chunks_exact_mut(out_height * out_width));
        for (x, y) in planes {
            for r in 0..out_height {
                for c in 0..out_width {
                    y[r * out_width + c] = self.of(g.inputs(r, c).map(|i| x[i]));
                }
            }
        }
        output
    }

    /// Every window of every channel of 1-d pooling `g`.
    #[inline]
    fn each_1d<const IN: usize, const OUT: usize>(
        self,
        g: &Pool1dGeometry,
        input: &[i8; IN],
    ) -> [i8; OUT] {
        let mut output = [0_i8; OUT];
        let lines = input
            .chunks_exact(g.input_len())
            .zip(output.chunks_exact_mut(g.out_len()));
        for (x, y) in lines {
            for (t, y) in y.iter_mut().enumerate() {
                *y = self.of(g.inputs(t).map(|i| x[i]));
            }
        }
        output
    }
}

/// Pooling types over (C, H, W) samples with one square window, as their `f32` layers.
macro_rules! pool2d {
    ($(#[$doc:meta])* $name:ident, $layer:ident, max: $max:literal) => {
        $(#[$doc])*
        ///
        /// # Shapes
        ///
        /// `[i8; C * H * W]` in, `[i8; C * HOUT * WOUT]` out, channel by channel.
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const H: usize,
            const W: usize,
            const HOUT: usize,
            const WOUT: usize,
        > {
            scales: Scales,
            /// A window's sum to the output scale (average pooling only).
            multiplier: Multiplier,
        }

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const H: usize,
            const W: usize,
            const HOUT: usize,
            const WOUT: usize,
        > $name<C, K, S, P, H, W, HOUT, WOUT> {
            /// The scales of its inputs and outputs (as [`QuantizedLayer::scales`], without
            /// naming the flat widths).
            #[must_use]
            pub fn scales(&self) -> Scales {
                self.scales
            }
        }

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const H: usize,
            const W: usize,
            const HOUT: usize,
            const WOUT: usize,
            const IN: usize,
            const OUT: usize,
        > QuantizedLayer<IN, OUT> for $name<C, K, S, P, H, W, HOUT, WOUT>
        {
            #[inline]
            fn scales(&self) -> Scales {
                self.scales
            }

            #[inline]
            fn forward(&self, input: &[i8; IN]) -> [i8; OUT] {
                let () = FlatWidths2d::<IN, OUT, C, H, W, C, HOUT, WOUT>::MATCH;
                let g = &$layer::<C, K, S, P, H, W, HOUT, WOUT, f32>::GEOMETRY;
                let pool = if $max { Pool::Max } else { Pool::Mean(self.multiplier) };
                pool.each_2d(g, input)
            }
        }

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const H: usize,
            const W: usize,
            const HOUT: usize,
            const WOUT: usize,
            const IN: usize,
            const OUT: usize,
        > Quantize<IN, OUT> for $layer<C, K, S, P, H, W, HOUT, WOUT, f32>
        {
            type Quantized = $name<C, K, S, P, H, W, HOUT, WOUT>;

            fn keeps_scale() -> bool {
                $max
            }

            fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
                Ok($name {
                    scales,
                    multiplier: mean_multiplier(scales, K * K),
                })
            }
        }
    };
}

pool2d!(
    /// [`MaxPool2d`] in int8: each window's largest `i8`, on the input's scale.
    QuantizedMaxPool2d,
    MaxPool2d,
    max: true
);

pool2d!(
    /// [`AvgPool2d`] in int8: each window's `i32` sum (padding as zeros), divided by the
    /// window's area and requantized to the output's scale.
    QuantizedAvgPool2d,
    AvgPool2d,
    max: false
);

/// Pooling types over (C, L) samples, as their `f32` layers.
macro_rules! pool1d {
    ($(#[$doc:meta])* $name:ident, $layer:ident, max: $max:literal) => {
        $(#[$doc])*
        ///
        /// # Shapes
        ///
        /// `[i8; C * L]` in, `[i8; C * LOUT]` out, channel by channel.
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name<
            const C: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const L: usize,
            const LOUT: usize,
        > {
            scales: Scales,
            /// A window's sum to the output scale (average pooling only).
            multiplier: Multiplier,
        }

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const L: usize,
            const LOUT: usize,
        > $name<C, K, S, PL, PR, L, LOUT> {
            /// The scales of its inputs and outputs (as [`QuantizedLayer::scales`], without
            /// naming the flat widths).
            #[must_use]
            pub fn scales(&self) -> Scales {
                self.scales
            }
        }

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const L: usize,
            const LOUT: usize,
            const IN: usize,
            const OUT: usize,
        > QuantizedLayer<IN, OUT> for $name<C, K, S, PL, PR, L, LOUT>
        {
            #[inline]
            fn scales(&self) -> Scales {
                self.scales
            }

            #[inline]
            fn forward(&self, input: &[i8; IN]) -> [i8; OUT] {
                let () = FlatWidths::<IN, OUT, C, L, C, LOUT>::MATCH;
                let g = &$layer::<C, K, S, PL, PR, L, LOUT, f32>::GEOMETRY;
                let pool = if $max { Pool::Max } else { Pool::Mean(self.multiplier) };
                pool.each_1d(g, input)
            }
        }

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const L: usize,
            const LOUT: usize,
            const IN: usize,
            const OUT: usize,
        > Quantize<IN, OUT> for $layer<C, K, S, PL, PR, L, LOUT, f32>
        {
            type Quantized = $name<C, K, S, PL, PR, L, LOUT>;

            fn keeps_scale() -> bool {
                $max
            }

            fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
                Ok($name {
                    scales,
                    multiplier: mean_multiplier(scales, K),
                })
            }
        }
    };
}

pool1d!(
    /// [`MaxPool1d`] in int8: each window's largest `i8`, on the input's scale.
    QuantizedMaxPool1d,
    MaxPool1d,
    max: true
);

pool1d!(
    /// [`AvgPool1d`] in int8: each window's `i32` sum (padding as zeros), divided by the
    /// kernel's length and requantized to the output's scale.
    QuantizedAvgPool1d,
    AvgPool1d,
    max: false
);

/// [`GlobalAvgPool`] in int8: each channel's `i32` sum over its `N` positions, requantized to
/// the output's scale by `s_in / (N s_out)`.
///
/// # Shapes
///
/// `[i8; C * N]` in, `[i8; C]` out.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedGlobalAvgPool<const C: usize, const N: usize> {
    scales: Scales,
    multiplier: Multiplier,
}

impl<const C: usize, const N: usize> QuantizedGlobalAvgPool<C, N> {
    /// The scales of its inputs and outputs (as [`QuantizedLayer::scales`], without naming
    /// the flat widths).
    #[must_use]
    pub fn scales(&self) -> Scales {
        self.scales
    }
}

impl<const C: usize, const N: usize, const IN: usize, const OUT: usize> QuantizedLayer<IN, OUT>
    for QuantizedGlobalAvgPool<C, N>
{
    #[inline]
    fn scales(&self) -> Scales {
        self.scales
    }

    #[inline]
    fn forward(&self, input: &[i8; IN]) -> [i8; OUT] {
        let () = FlatWidths::<IN, OUT, C, N, C, 1>::MATCH;
        let _ = GlobalAvgPool::<C, N, f32>::GEOMETRY;
        let mut output = [0_i8; OUT];
        for (y, x) in output.iter_mut().zip(input.chunks_exact(N)) {
            *y = Pool::Mean(self.multiplier).of(x.iter().copied());
        }
        output
    }
}

impl<const C: usize, const N: usize, const IN: usize, const OUT: usize> Quantize<IN, OUT>
    for GlobalAvgPool<C, N, f32>
{
    type Quantized = QuantizedGlobalAvgPool<C, N>;

    fn quantize(&self, scales: Scales) -> Result<Self::Quantized, NonFiniteParameter> {
        Ok(QuantizedGlobalAvgPool {
            scales,
            multiplier: mean_multiplier(scales, N),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: Scales = Scales {
        input: 1.0,
        output: 1.0,
    };

    fn forward<L: Quantize<IN, OUT>, const IN: usize, const OUT: usize>(
        layer: L,
        scales: Scales,
        x: [i8; IN],
    ) -> [i8; OUT] {
        layer.quantize(scales).unwrap().forward(&x)
    }

    #[test]
    fn max_pooling_takes_the_largest_i8_and_never_the_padding() {
        // Two 2x2 windows over [[1, -5, 7, 3], [-2, 4, -8, 0]].
        let y = forward(
            MaxPool2d::<1, 2, 2, 0, 2, 4, 1, 2, f32>::new(),
            ONE,
            [1, -5, 7, 3, -2, 4, -8, 0],
        );
        assert_eq!(y, [4, 7]);
        // One zero around a 2x2 input, windows of 2 with stride 2: each window holds one input,
        // all negative, and the padding's 0 is not a candidate.
        let y = forward(
            MaxPool2d::<1, 2, 2, 1, 2, 2, 2, 2, f32>::new(),
            ONE,
            [-3, -1, -4, -2],
        );
        assert_eq!(y, [-3, -1, -4, -2]);
        let y = forward(
            MaxPool1d::<2, 3, 2, 1, 0, 5, 2, f32>::new(),
            ONE,
            [-9, -8, 5, -7, -6, 1, 2, 3, 4, -127],
        );
        // Windows {pad, 0, 1} and {1, 2, 3} of each channel.
        assert_eq!(y, [-8, 5, 2, 4]);
        assert!(<MaxPool2d<1, 2, 2, 0, 2, 4, 1, 2, f32> as Quantize<8, 2>>::keeps_scale());
    }

    #[test]
    fn average_pooling_sums_in_i32_and_rounds_to_the_output_scale() {
        // Input scale 0.5, output 0.25: M = 0.5 / (4 * 0.25) = 0.5. Sums 10 - 5 - 2 + 4 = 7 ->
        // 3.5 -> 4 (ties away) and 7 + 3 - 8 + 1 = 3 -> 1.5 -> 2.
        let scales = Scales {
            input: 0.5,
            output: 0.25,
        };
        let y = forward(
            AvgPool2d::<1, 2, 2, 0, 2, 4, 1, 2, f32>::new(),
            scales,
            [10, -5, 7, 3, -2, 4, -8, 1],
        );
        assert_eq!(y, [4, 2]);
        // Padding counts towards the divisor: each window has one input over 4 taps.
        // 8 / 4 = 2, -6 / 4 = -1.5 -> -2, 3 / 4 -> 1, 5 / 4 -> 1.
        let y = forward(
            AvgPool2d::<1, 2, 2, 1, 2, 2, 2, 2, f32>::new(),
            ONE,
            [8, -6, 3, 5],
        );
        assert_eq!(y, [2, -2, 1, 1]);
        // Windows of 2: (3 + 4) / 2 = 3.5 -> 4, (-3 - 4) / 2 -> -4.
        let y = forward(
            AvgPool1d::<1, 2, 2, 0, 0, 4, 2, f32>::new(),
            ONE,
            [3, 4, -3, -4],
        );
        assert_eq!(y, [4, -4]);
        // Global: M = 1 / (3 * 0.5) = 2/3; 7 * 2/3 = 4.67 -> 5, -8 * 2/3 = -5.33 -> -5.
        let y = forward(
            GlobalAvgPool::<2, 3, f32>::new(),
            Scales {
                input: 1.0,
                output: 0.5,
            },
            [1, 2, 4, -3, -3, -2],
        );
        assert_eq!(y, [5, -5]);
        assert!(!<GlobalAvgPool<2, 3, f32> as Quantize<6, 2>>::keeps_scale());
    }
}
