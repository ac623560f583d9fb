//! Two-dimensional convolution (PyTorch's `Conv2d`, a cross-correlation) on one sample.
//!
//! # Shapes
//!
//! - input: `(in_channels, height, width)`, row-major within a channel;
//! - weight: `[out_channels][in_channels][kernel_rows][kernel_cols]`, bias: `[out_channels]`;
//! - output: `(out_channels, out_height, out_width)`, each side from [`Window::output_len`]
//!   of its own window (padding (top, bottom) for rows, (left, right) for columns).

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::patches::{self, Kernel, PLANE, Patches};
use super::window::{Padding, Window};
use super::{FlatWidths2d, HasGradients, Layer, Phase};
use crate::init::uniform;
use crate::{
    Activation, Columns, ColumnsMut, Identity, Init, Largest, Layout, Parameters, Scalar,
    TensorInfo,
};

/// The shapes of a two-dimensional convolution, checked once so that the kernels cannot fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dGeometry {
    in_channels: usize,
    out_channels: usize,
    height: usize,
    width: usize,
    rows: Window,
    cols: Window,
    out_height: usize,
    out_width: usize,
}

impl Conv2dGeometry {
    /// The geometry, or `None` when a channel count is zero, either padded side is shorter
    /// than its window, or a buffer's length would overflow `usize`.
    #[must_use]
    pub const fn new(
        in_channels: usize,
        out_channels: usize,
        (height, width): (usize, usize),
        rows: Window,
        cols: Window,
    ) -> Option<Self> {
        if in_channels == 0 || out_channels == 0 {
            return None;
        }
        let (Some(out_height), Some(out_width)) = (rows.output_len(height), cols.output_len(width))
        else {
            return None;
        };
        let geometry = Self {
            in_channels,
            out_channels,
            height,
            width,
            rows,
            cols,
            out_height,
            out_width,
        };
        if product(&[in_channels, height, width]).is_none()
            || product(&[out_channels, out_height, out_width]).is_none()
            || product(&[out_channels, in_channels, rows.kernel(), cols.kernel()]).is_none()
        {
            return None;
        }
        Some(geometry)
    }

    /// As [`new`](Self::new), for `const` items: impossible geometry panics, which in a
    /// constant is a compile error.
    #[must_use]
    pub const fn new_or_panic(
        in_channels: usize,
        out_channels: usize,
        size: (usize, usize),
        rows: Window,
        cols: Window,
    ) -> Self {
        match Self::new(in_channels, out_channels, size, rows, cols) {
            Some(geometry) => geometry,
            None => panic!("impossible Conv2d geometry: no window fits the padded input"),
        }
    }

    /// Input channels.
    #[inline]
    #[must_use]
    pub const fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// Output channels.
    #[inline]
    #[must_use]
    pub const fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Input `(height, width)`.
    #[inline]
    #[must_use]
    pub const fn size(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Output `(height, width)`.
    #[inline]
    #[must_use]
    pub const fn out_size(&self) -> (usize, usize) {
        (self.out_height, self.out_width)
    }

    /// The windows along the rows and along the columns.
    #[inline]
    #[must_use]
    pub const fn windows(&self) -> (Window, Window) {
        (self.rows, self.cols)
    }

    /// Numbers in one input sample.
    #[inline]
    #[must_use]
    pub const fn input_size(&self) -> usize {
        self.in_channels * self.height * self.width
    }

    /// Numbers in one output sample.
    #[inline]
    #[must_use]
    pub const fn output_size(&self) -> usize {
        self.out_channels * self.out_height * self.out_width
    }

    /// Numbers in the weight.
    #[inline]
    #[must_use]
    pub const fn weight_size(&self) -> usize {
        self.out_channels * self.in_channels * self.rows.kernel() * self.cols.kernel()
    }

    #[inline]
    fn debug_check_lengths<T>(&self, input: &[T], weight: &[T], bias: &[T], output: &[T]) {
        debug_assert_eq!(input.len(), self.input_size(), "Conv2d input length");
        debug_assert_eq!(weight.len(), self.weight_size(), "Conv2d weight length");
        debug_assert_eq!(bias.len(), self.out_channels, "Conv2d bias length");
        debug_assert_eq!(output.len(), self.output_size(), "Conv2d output length");
    }

    /// Calls `f(out_row, in_row, tap)` for every pair of an output row and the input row that
    /// tap `(kr, kc)` reads for it, skipping taps on padding; `tap` gives the columns.
    #[inline]
    fn for_each_tap_row(&self, kr: usize, kc: usize, mut f: impl FnMut(usize, usize, Tap)) {
        let (row_range, first_row) = self.rows.tap(kr, self.height, self.out_height);
        let (cols, first_col) = self.cols.tap(kc, self.width, self.out_width);
        for (step, out_row) in row_range.enumerate() {
            let in_row = first_row + step * self.rows.stride();
            f(
                out_row,
                in_row,
                Tap {
                    cols: cols.clone(),
                    first_col,
                },
            );
        }
    }
}

impl Patches for Conv2dGeometry {
    #[inline]
    fn input_size(&self) -> usize {
        Self::input_size(self)
    }

    #[inline]
    fn out_channels(&self) -> usize {
        self.out_channels
    }

    #[inline]
    fn rows(&self) -> usize {
        self.in_channels * self.rows.kernel() * self.cols.kernel()
    }

    #[inline]
    fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    #[inline]
    fn gather<T: Scalar>(&self, row: usize, input: &[T], out: &mut [T]) {
        let (taps, kernel_cols) = (self.rows.kernel() * self.cols.kernel(), self.cols.kernel());
        let plane = self.height * self.width;
        let (channel, tap) = (row / taps, row % taps);
        let x = &input[channel * plane..][..plane];
        out.fill(T::zero());
        self.for_each_tap_row(tap / kernel_cols, tap % kernel_cols, |r, i, t| {
            let y = &mut out[r * self.out_width..][t.cols];
            let x = &x[i * self.width + t.first_col..];
            if self.cols.stride() == 1 {
                y.copy_from_slice(&x[..y.len()]);
            } else {
                for (y, &x) in y.iter_mut().zip(x.iter().step_by(self.cols.stride())) {
                    *y = x;
                }
            }
        });
    }

    #[inline]
    fn scatter<T: Scalar>(&self, row: usize, values: &[T], input_gradient: &mut [T]) {
        let (taps, kernel_cols) = (self.rows.kernel() * self.cols.kernel(), self.cols.kernel());
        let plane = self.height * self.width;
        let (channel, tap) = (row / taps, row % taps);
        let dx = &mut input_gradient[channel * plane..][..plane];
        self.for_each_tap_row(tap / kernel_cols, tap % kernel_cols, |r, i, t| {
            let v = &values[r * self.out_width..][t.cols];
            let dx = &mut dx[i * self.width + t.first_col..];
            if self.cols.stride() == 1 {
                for (dx, &v) in dx[..v.len()].iter_mut().zip(v) {
                    *dx += v;
                }
            } else {
                for (dx, &v) in dx.iter_mut().step_by(self.cols.stride()).zip(v) {
                    *dx += v;
                }
            }
        });
    }
}

/// A [`Conv2dGeometry`] with the sizes of its planes and windows as constants. A sample's patch
/// rows are copied from each channel's plane padded with zeros (in the pass's scratch plane), so
/// that every output row of a tap is one copy of `WOUT` numbers, with no test for padding; the
/// gradient rows are added into a padded plane the same way and its inside added back. Planes
/// that do not fit the scratch go through the geometry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConstPatches<
    const K: usize,
    const S: usize,
    const D: usize,
    const PB: usize,
    const PA: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(Conv2dGeometry);

impl<
    const K: usize,
    const S: usize,
    const D: usize,
    const PB: usize,
    const PA: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
> ConstPatches<K, S, D, PB, PA, H, W, HOUT, WOUT>
{
    /// The width of a padded plane.
    const PADDED_WIDTH: usize = W + PB + PA;
    /// Whether a padded plane fits the scratch.
    const FITS: bool = (H + PB + PA) * Self::PADDED_WIDTH <= PLANE;

    /// Calls `f(start, row)` for every output row `row` of tap `tap`, with `start` the index in
    /// the padded plane of the number its first position reads.
    #[inline(always)]
    fn for_each_row(tap: usize, mut f: impl FnMut(usize, usize)) {
        let (kr, kc) = (tap / K, tap % K);
        for r in 0..HOUT {
            f((r * S + kr * D) * Self::PADDED_WIDTH + kc * D, r);
        }
    }
}

impl<
    const K: usize,
    const S: usize,
    const D: usize,
    const PB: usize,
    const PA: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
> Patches for ConstPatches<K, S, D, PB, PA, H, W, HOUT, WOUT>
{
    #[inline]
    fn input_size(&self) -> usize {
        self.0.input_size()
    }

    #[inline]
    fn out_channels(&self) -> usize {
        self.0.out_channels
    }

    #[inline]
    fn rows(&self) -> usize {
        self.0.in_channels * K * K
    }

    #[inline]
    fn positions(&self) -> usize {
        HOUT * WOUT
    }

    #[inline]
    fn gather<T: Scalar>(&self, row: usize, input: &[T], out: &mut [T]) {
        self.0.gather(row, input, out);
    }

    #[inline]
    fn scatter<T: Scalar>(&self, row: usize, values: &[T], input_gradient: &mut [T]) {
        self.0.scatter(row, values, input_gradient);
    }

    #[inline(always)]
    fn gather_sample<T: Scalar>(&self, input: &[T], patch: &mut [T], plane: &mut [T; PLANE]) {
        if !Self::FITS {
            for (row, out) in patch.chunks_exact_mut(HOUT * WOUT).enumerate() {
                self.0.gather(row, input, out);
            }
            return;
        }
        let width = Self::PADDED_WIDTH;
        let channels = input
            .chunks_exact(H * W)
            .zip(patch.chunks_exact_mut(K * K * HOUT * WOUT));
        for (x, rows) in channels {
            // The padding around the inside was zero when the pass started and stays so.
            for (i, x) in x.chunks_exact(W).enumerate() {
                plane[(i + PB) * width + PB..][..W].copy_from_slice(x);
            }
            for (tap, out) in rows.chunks_exact_mut(HOUT * WOUT).enumerate() {
                Self::for_each_row(tap, |start, r| {
                    let out = &mut out[r * WOUT..][..WOUT];
                    if S == 1 {
                        out.copy_from_slice(&plane[start..][..WOUT]);
                    } else {
                        let xs = plane[start..].iter().step_by(S);
                        for (y, &x) in out.iter_mut().zip(xs) {
                            *y = x;
                        }
                    }
                });
            }
        }
    }

    #[inline(always)]
    fn scatter_rows<T: Scalar>(
        &self,
        first: usize,
        values: &[T],
        input_gradient: &mut [T],
        plane: &mut [T; PLANE],
    ) {
        if !Self::FITS {
            for (q, row) in values.chunks_exact(HOUT * WOUT).enumerate() {
                self.0.scatter(first + q, row, input_gradient);
            }
            return;
        }
        let (taps, width) = (K * K, Self::PADDED_WIDTH);
        let padded = &mut plane[..(H + PB + PA) * width];
        let end = first + values.len() / (HOUT * WOUT);
        let mut row = first;
        while row < end {
            // The rows of one input channel: added into its padded plane, then its inside to
            // the channel's gradient.
            let channel = row / taps;
            let stop = end.min((channel + 1) * taps);
            padded.fill(T::zero());
            for r in row..stop {
                let v = &values[(r - first) * HOUT * WOUT..][..HOUT * WOUT];
                Self::for_each_row(r % taps, |start, out_row| {
                    let v = &v[out_row * WOUT..][..WOUT];
                    if S == 1 {
                        for (p, &v) in padded[start..][..WOUT].iter_mut().zip(v) {
                            *p += v;
                        }
                    } else {
                        for (p, &v) in padded[start..].iter_mut().step_by(S).zip(v) {
                            *p += v;
                        }
                    }
                });
            }
            let dx = &mut input_gradient[channel * H * W..][..H * W];
            for (i, dx) in dx.chunks_exact_mut(W).enumerate() {
                for (dx, &p) in dx.iter_mut().zip(&padded[(i + PB) * width + PB..][..W]) {
                    *dx += p;
                }
            }
            row = stop;
        }
    }
}

/// The output columns a tap reaches in one row and the input column the first of them reads.
struct Tap {
    cols: core::ops::Range<usize>,
    first_col: usize,
}

/// A kernel `[out][in][row][col]` as one slice, in that order.
#[inline]
fn flat_mut<T, const CIN: usize, const COUT: usize, const K: usize>(
    weight: &mut [[[[T; K]; K]; CIN]; COUT],
) -> &mut [T] {
    weight
        .as_flattened_mut()
        .as_flattened_mut()
        .as_flattened_mut()
}

const fn product(factors: &[usize]) -> Option<usize> {
    let mut total: usize = 1;
    let mut i = 0;
    while i < factors.len() {
        let Some(next) = total.checked_mul(factors[i]) else {
            return None;
        };
        total = next;
        i += 1;
    }
    Some(total)
}

/// Writes `output = bias + weight (*) input` for one sample.
pub fn conv2d_forward<T: Scalar>(
    geometry: &Conv2dGeometry,
    input: &[T],
    weight: &[T],
    bias: &[T],
    output: &mut [T],
) {
    geometry.debug_check_lengths(input, weight, bias, output);
    let g = geometry;
    let plane = g.height * g.width;
    let out_plane = g.out_height * g.out_width;
    let (kernel_rows, kernel_cols) = (g.rows.kernel(), g.cols.kernel());
    let taps = kernel_rows * kernel_cols;
    let col_stride = g.cols.stride();
    let planes = output
        .chunks_exact_mut(out_plane)
        .zip(weight.chunks_exact(g.in_channels * taps));
    for ((out, w_out), &b) in planes.zip(bias) {
        out.fill(b);
        for (x, w_in) in input.chunks_exact(plane).zip(w_out.chunks_exact(taps)) {
            for (tap, &w) in w_in.iter().enumerate() {
                g.for_each_tap_row(tap / kernel_cols, tap % kernel_cols, |r, i, t| {
                    let y = &mut out[r * g.out_width..][t.cols];
                    let xs = x[i * g.width + t.first_col..].iter().step_by(col_stride);
                    for (y, &x) in y.iter_mut().zip(xs) {
                        *y += w * x;
                    }
                });
            }
        }
    }
}

/// Back-propagates `delta`, the loss's gradient with respect to one sample's output: adds the
/// weight and bias gradients to `weight_gradient` and `bias_gradient` (so that a batch loop
/// sums them) and, when given, writes the gradient with respect to `input` to
/// `input_gradient`.
pub fn conv2d_backward<T: Scalar>(
    geometry: &Conv2dGeometry,
    input: &[T],
    weight: &[T],
    delta: &[T],
    weight_gradient: &mut [T],
    bias_gradient: &mut [T],
    input_gradient: Option<&mut [T]>,
) {
    geometry.debug_check_lengths(input, weight, bias_gradient, delta);
    debug_assert_eq!(weight_gradient.len(), geometry.weight_size());
    let g = geometry;
    let plane = g.height * g.width;
    let out_plane = g.out_height * g.out_width;
    let taps = g.rows.kernel() * g.cols.kernel();
    let kernel_cols = g.cols.kernel();
    let col_stride = g.cols.stride();
    let planes = delta
        .chunks_exact(out_plane)
        .zip(weight_gradient.chunks_exact_mut(g.in_channels * taps));
    for ((d, gw_out), gb) in planes.zip(bias_gradient.iter_mut()) {
        *gb += d.iter().fold(T::zero(), |sum, &v| sum + v);
        for (x, gw_in) in input.chunks_exact(plane).zip(gw_out.chunks_exact_mut(taps)) {
            for (tap, gw) in gw_in.iter_mut().enumerate() {
                let mut sum = T::zero();
                g.for_each_tap_row(tap / kernel_cols, tap % kernel_cols, |r, i, t| {
                    let ds = &d[r * g.out_width..][t.cols];
                    let xs = x[i * g.width + t.first_col..].iter().step_by(col_stride);
                    sum = ds.iter().zip(xs).fold(sum, |sum, (&d, &x)| sum + d * x);
                });
                *gw += sum;
            }
        }
    }
    let Some(input_gradient) = input_gradient else {
        return;
    };
    debug_assert_eq!(input_gradient.len(), geometry.input_size());
    input_gradient.fill(T::zero());
    let planes = delta
        .chunks_exact(out_plane)
        .zip(weight.chunks_exact(g.in_channels * taps));
    for (d, w_out) in planes {
        let inputs = input_gradient.chunks_exact_mut(plane);
        for (dx, w_in) in inputs.zip(w_out.chunks_exact(taps)) {
            for (tap, &w) in w_in.iter().enumerate() {
                g.for_each_tap_row(tap / kernel_cols, tap % kernel_cols, |r, i, t| {
                    let ds = &d[r * g.out_width..][t.cols];
                    let dxs = dx[i * g.width + t.first_col..]
                        .iter_mut()
                        .step_by(col_stride);
                    for (dx, &d) in dxs.zip(ds) {
                        *dx += w * d;
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::window::Padding;
    use super::super::window::testing::*;
    use super::*;

    #[allow(dead_code)]
    mod reference {
        include!("../../../tests/fixtures/layers_reference.rs");
    }

    /// `(kernel, stride, dilation, (before, after))` for one axis.
    type Axis = (usize, usize, usize, (usize, usize));

    fn window((kernel, stride, dilation, (before, after)): Axis) -> Window {
        Window::new(kernel, stride, dilation, Padding::new(before, after)).unwrap()
    }

    fn geometry(
        channels: (usize, usize),
        size: (usize, usize),
        rows: Axis,
        cols: Axis,
    ) -> Conv2dGeometry {
        Conv2dGeometry::new(channels.0, channels.1, size, window(rows), window(cols)).unwrap()
    }

    #[test]
    fn impossible_geometry_is_refused() {
        let w = window((3, 1, 1, (0, 0)));
        assert_eq!(Conv2dGeometry::new(1, 1, (2, 5), w, w), None);
        assert_eq!(Conv2dGeometry::new(1, 1, (5, 2), w, w), None);
        assert_eq!(Conv2dGeometry::new(0, 1, (5, 5), w, w), None);
        let g = Conv2dGeometry::new(2, 3, (5, 6), w, window((2, 2, 1, (1, 0)))).unwrap();
        // Rows: (5 - 2 - 1)/1 + 1 = 3; columns: (6 + 1 - 1 - 1)/2 + 1 = 3.
        assert_eq!(g.out_size(), (3, 3));
        assert_eq!(g.weight_size(), 3 * 2 * 3 * 2);
    }

    /// x = `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`, kernel `[[1, 0], [0, -1]]` (x[r][c] -
    /// x[r+1][c+1]), bias 1, stride 1, no padding: every output is 1 + x[r][c] - x[r+1][c+1]
    /// = 1 - 4 = -3. With padding (1, 0) on the rows and (0, 1) on the columns and stride 2
    /// on both: out = ((3 + 1 - 1 - 1)/2 + 1) = 2 per side; output (0, 0) reads padded row -1
    /// (zeros) and x[0][1]: 1 + 0 - 2 = -1; (0, 1): 1 + 0 - x[0][3] (padding) = 1; (1, 0): 1 +
    /// x[1][0] - x[2][1] = 1 + 4 - 8 = -3; (1, 1): 1 + x[1][2] - 0 = 7.
    #[test]
    fn hand_computed_forward() {
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let weight = [1.0, 0.0, 0.0, -1.0];
        let g = geometry((1, 1), (3, 3), (2, 1, 1, (0, 0)), (2, 1, 1, (0, 0)));
        let mut out = [0.0; 4];
        conv2d_forward(&g, &input, &weight, &[1.0], &mut out);
        assert_eq!(out, [-3.0; 4]);
        let g = geometry((1, 1), (3, 3), (2, 2, 1, (1, 0)), (2, 2, 1, (0, 1)));
        conv2d_forward(&g, &input, &weight, &[1.0], &mut out);
        assert_eq!(out, [-1.0, 1.0, -3.0, 7.0]);
    }

    /// The same 3 x 3 input and kernel, stride 1, with delta = `[[1, 0], [0, 2]]`:
    /// dW[a][b] = sum delta[r][c] x[r+a][c+b] = x[a][b] + 2 x[a+1][b+1], so dW = `[[1 + 10, 2 +
    /// 12], [4 + 16, 5 + 18]]` = `[[11, 14], [20, 23]]`; db = 3. dx[i][j] = sum delta[r][c]
    /// w[i-r][j-c]: delta (0,0) puts w at the top left, delta (1,1) puts 2 w at (1,1), so dx =
    /// `[[1, 0, 0], [0, -1 + 2, 0], [0, 0, -2]]`.
    #[test]
    fn hand_computed_backward_accumulates() {
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let weight = [1.0, 0.0, 0.0, -1.0];
        let g = geometry((1, 1), (3, 3), (2, 1, 1, (0, 0)), (2, 1, 1, (0, 0)));
        let (mut gw, mut gb, mut dx) = ([1.0; 4], [1.0], [5.0; 9]);
        let delta = [1.0, 0.0, 0.0, 2.0];
        conv2d_backward(&g, &input, &weight, &delta, &mut gw, &mut gb, Some(&mut dx));
        assert_eq!(gw, [12.0, 15.0, 21.0, 24.0]);
        assert_eq!(gb, [4.0]);
        assert_eq!(dx, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -2.0]);
    }

    fn check_gradients(g: Conv2dGeometry, seed: u64) {
        let input = numbers(seed, g.input_size());
        let weight = numbers(seed + 1, g.weight_size());
        let bias = numbers(seed + 2, g.out_channels());
        let delta = numbers(seed + 3, g.output_size());
        let loss = |x: &[f64], w: &[f64], b: &[f64]| {
            let mut out = vec![0.0; g.output_size()];
            conv2d_forward(&g, x, w, b, &mut out);
            dot(&out, &delta)
        };
        let mut gw = vec![0.0; g.weight_size()];
        let mut gb = vec![0.0; g.out_channels()];
        let mut dx = vec![0.0; g.input_size()];
        conv2d_backward(&g, &input, &weight, &delta, &mut gw, &mut gb, Some(&mut dx));
        let numeric_w = numeric_gradient(&weight, |w| loss(&input, w, &bias));
        let numeric_b = numeric_gradient(&bias, |b| loss(&input, &weight, b));
        let numeric_x = numeric_gradient(&input, |x| loss(x, &weight, &bias));
        assert_relative(&gw, &numeric_w, 1e-6, "dW");
        assert_relative(&gb, &numeric_b, 1e-6, "db");
        assert_relative(&dx, &numeric_x, 1e-6, "dx");
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_gradients(
            geometry((2, 3), (5, 4), (3, 1, 1, (0, 0)), (2, 1, 1, (0, 0))),
            1,
        );
        check_gradients(
            geometry((2, 2), (7, 6), (3, 2, 1, (1, 2)), (3, 3, 2, (2, 1))),
            2,
        );
        check_gradients(
            geometry((1, 2), (6, 7), (2, 1, 3, (0, 1)), (3, 2, 1, (1, 0))),
            3,
        );
        check_gradients(
            geometry((3, 1), (4, 4), (3, 1, 1, (1, 1)), (3, 1, 1, (1, 1))),
            4,
        );
    }

    fn reference_geometry(case: &reference::Conv2dCase) -> Conv2dGeometry {
        geometry(
            (case.in_channels, case.out_channels),
            (case.height, case.width),
            (
                case.kernel.0,
                case.stride.0,
                case.dilation.0,
                case.row_padding,
            ),
            (
                case.kernel.1,
                case.stride.1,
                case.dilation.1,
                case.col_padding,
            ),
        )
    }

    /// The patch rows the constant-size planes copy and add back against the geometry's own,
    /// over two samples with one scratch plane (as a pass lends it) and gradient rows given a
    /// few at a time, so that some calls start and stop inside a channel.
    fn check_const_patches<
        const K: usize,
        const S: usize,
        const D: usize,
        const PB: usize,
        const PA: usize,
        const H: usize,
        const W: usize,
        const HOUT: usize,
        const WOUT: usize,
    >(
        in_channels: usize,
        seed: u64,
    ) {
        let axis = (K, S, D, (PB, PA));
        let g = geometry((in_channels, 2), (H, W), axis, axis);
        assert_eq!(g.out_size(), (HOUT, WOUT));
        let fast = ConstPatches::<K, S, D, PB, PA, H, W, HOUT, WOUT>(g);
        let (rows, positions) = (Patches::rows(&g), Patches::positions(&g));
        let mut plane = [0.0; PLANE];
        for sample in 0..2 {
            let x = numbers(seed + sample, g.input_size());
            let mut expected = vec![0.0; rows * positions];
            for (row, out) in expected.chunks_exact_mut(positions).enumerate() {
                g.gather(row, &x, out);
            }
            let mut patch = vec![f64::NAN; rows * positions];
            fast.gather_sample(&x, &mut patch, &mut plane);
            assert_eq!(patch, expected, "gather, sample {sample}");
        }
        let values = numbers(seed + 2, rows * positions);
        let start = numbers(seed + 3, g.input_size());
        let mut expected = start.clone();
        for (row, v) in values.chunks_exact(positions).enumerate() {
            g.scatter(row, v, &mut expected);
        }
        let mut dx = start;
        let mut plane = [0.0; PLANE];
        for (chunk, v) in values.chunks(5 * positions).enumerate() {
            fast.scatter_rows(chunk * 5, v, &mut dx, &mut plane);
        }
        assert_relative(&dx, &expected, 1e-12, "scatter");
    }

    #[test]
    fn constant_planes_match_the_geometry() {
        check_const_patches::<3, 1, 1, 1, 1, 8, 8, 8, 8>(1, 1);
        check_const_patches::<3, 1, 1, 1, 1, 4, 4, 4, 4>(3, 2);
        check_const_patches::<3, 2, 1, 1, 0, 7, 6, 3, 3>(2, 3);
        check_const_patches::<2, 1, 2, 0, 2, 5, 4, 5, 4>(2, 4);
        check_const_patches::<2, 3, 2, 2, 1, 6, 7, 3, 3>(1, 5);
        // A padded plane larger than the scratch: the geometry's rows.
        check_const_patches::<3, 1, 1, 1, 1, 40, 30, 40, 30>(1, 6);
    }

    #[test]
    fn matches_pytorch_in_f64() {
        for case in reference::CONV2D {
            let g = reference_geometry(case);
            let mut out = vec![0.0; g.output_size()];
            conv2d_forward(&g, case.input, case.weight, case.bias, &mut out);
            assert_close(&out, case.output, 1e-9, case.name);
            let mut gw = vec![0.0; g.weight_size()];
            let mut gb = vec![0.0; g.out_channels()];
            let mut dx = vec![0.0; g.input_size()];
            conv2d_backward(
                &g,
                case.input,
                case.weight,
                case.delta,
                &mut gw,
                &mut gb,
                Some(&mut dx),
            );
            assert_close(&gw, case.weight_gradient, 1e-9, case.name);
            assert_close(&gb, case.bias_gradient, 1e-9, case.name);
            assert_close(&dx, case.input_gradient, 1e-9, case.name);
        }
    }

    /// Sums of at most a few dozen products of numbers below 1 in magnitude, each rounding by
    /// `f32`'s relative 6e-8: within 1e-6 (under 3e-7 was measured).
    #[test]
    fn matches_pytorch_in_f32() {
        for case in reference::CONV2D {
            let g = reference_geometry(case);
            let (x, w, b, d) = (
                to_f32(case.input),
                to_f32(case.weight),
                to_f32(case.bias),
                to_f32(case.delta),
            );
            let mut out = vec![0.0f32; g.output_size()];
            conv2d_forward(&g, &x, &w, &b, &mut out);
            assert_close(&to_f64(&out), case.output, 1e-6, case.name);
            let mut gw = vec![0.0f32; g.weight_size()];
            let mut gb = vec![0.0f32; g.out_channels()];
            let mut dx = vec![0.0f32; g.input_size()];
            conv2d_backward(&g, &x, &w, &d, &mut gw, &mut gb, Some(&mut dx));
            assert_close(&to_f64(&gw), case.weight_gradient, 1e-6, case.name);
            assert_close(&to_f64(&gb), case.bias_gradient, 1e-6, case.name);
            assert_close(&to_f64(&dx), case.input_gradient, 1e-6, case.name);
        }
    }
}

/// A two-dimensional convolution over (channels, height, width) samples, as PyTorch's
/// `nn.Conv2d` computes it (a cross-correlation) with a square kernel, followed by the
/// activation `A`.
///
/// In `network!` it is written `Conv2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>`, optionally followed
/// by `STRIDE`, `PADDING` (zeros on each side, `Same` or `Valid`), `DILATION` and an activation,
/// each one number for both sides; the macro works out the rest of this type from the input's
/// shape: `PB` and `PA` are the zeros before (top, left) and after (bottom, right), `H`, `W` the
/// input's size and `HOUT`, `WOUT` the output's, each side `(H + PB + PA - D (K - 1) - 1) / S + 1`.
///
/// # Shapes
///
/// | value | shape | layout |
/// | --- | --- | --- |
/// | input | (CIN, H, W) | channel by channel, each row-major: PyTorch's order |
/// | `weight` | (COUT, CIN, K, K) | `weight[o][i][r][c]`, PyTorch's `weight` |
/// | `bias` | (COUT) | one per output channel |
/// | output | (COUT, HOUT, WOUT) | channel by channel, each row-major |
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     #[input_shape(1, 3, 3)]
///     struct Corners(Conv2d<1, 1, 2>);
/// }
/// let mut net = Corners::zeros();
/// net.0.weight = [[[[1.0, 0.0], [0.0, 1.0]]]];
/// let y = net.forward(&SVector::from([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]));
/// assert_eq!(y, SVector::from([6.0, 8.0, 12.0, 14.0]));
/// ```
#[derive(Clone, Copy, Debug, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct Conv2d<
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
    T = f32,
> {
    /// `weight[o][i][r][c]`: output channel `o`'s tap at row `r`, column `c` on input channel
    /// `i`.
    pub weight: [[[[T; K]; K]; CIN]; COUT],
    /// One bias per output channel.
    pub bias: [T; COUT],
    activation: PhantomData<A>,
}

/// The gradient of a loss with respect to a [`Conv2d`] layer's parameters, in the same shapes.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct Conv2dGradients<const CIN: usize, const COUT: usize, const K: usize, T = f32> {
    /// `d loss / d weight`.
    pub weight: [[[[T; K]; K]; CIN]; COUT],
    /// `d loss / d bias`.
    pub bias: [T; COUT],
}

impl<
    A,
    T: PartialEq,
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
> PartialEq for Conv2d<CIN, COUT, K, S, PB, PA, D, H, W, HOUT, WOUT, A, T>
{
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

/// The tensors under PyTorch's names and shapes: the kernel `(out, in, k, k)`, then the bias,
/// both in PyTorch's contiguous order.
fn conv2d_tensor_info<const CIN: usize, const COUT: usize, const K: usize>(
    index: usize,
) -> Option<TensorInfo> {
    match index {
        0 => Some(TensorInfo {
            layer: "",
            name: "weight",
            shape: const { &[COUT, CIN, K, K] },
            layout: Layout::RowMajor,
        }),
        1 => Some(TensorInfo {
            layer: "",
            name: "bias",
            shape: const { &[COUT] },
            layout: Layout::RowMajor,
        }),
        _ => None,
    }
}

macro_rules! conv2d_tensors {
    () => {
        #[inline]
        fn tensor(&self, index: usize) -> &[T] {
            match index {
                0 => self.weight.as_flattened().as_flattened().as_flattened(),
                1 => &self.bias,
                _ => &[],
            }
        }

        #[inline]
        fn tensor_mut(&mut self, index: usize) -> &mut [T] {
            match index {
                0 => self
                    .weight
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut(),
                1 => &mut self.bias,
                _ => &mut [],
            }
        }

        #[inline]
        fn tensor_info(index: usize) -> Option<TensorInfo> {
            conv2d_tensor_info::<CIN, COUT, K>(index)
        }
    };
}

impl<const CIN: usize, const COUT: usize, const K: usize, T: Scalar> Parameters<T>
    for Conv2dGradients<CIN, COUT, K, T>
{
    const TENSORS: usize = 2;
    const PARAMETERS: usize = COUT * CIN * K * K + COUT;

    #[inline]
    fn zeros() -> Self {
        Self {
            weight: [[[[T::zero(); K]; K]; CIN]; COUT],
            bias: [T::zero(); COUT],
        }
    }

    conv2d_tensors!();
}

impl<
    A,
    T: Scalar,
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
> Parameters<T> for Conv2d<CIN, COUT, K, S, PB, PA, D, H, W, HOUT, WOUT, A, T>
{
    const TENSORS: usize = 2;
    const PARAMETERS: usize = COUT * CIN * K * K + COUT;

    #[inline]
    fn zeros() -> Self {
        Self {
            weight: [[[[T::zero(); K]; K]; CIN]; COUT],
            bias: [T::zero(); COUT],
            activation: PhantomData,
        }
    }

    conv2d_tensors!();
}
impl<
    A,
    T: Scalar,
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
> HasGradients<T> for Conv2d<CIN, COUT, K, S, PB, PA, D, H, W, HOUT, WOUT, A, T>
{
    type Gradients = Conv2dGradients<CIN, COUT, K, T>;
}

impl<
    A,
    T: Scalar,
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
> Conv2d<CIN, COUT, K, S, PB, PA, D, H, W, HOUT, WOUT, A, T>
{
    /// The geometry, checked where the layer is used: a window that cannot fit, or a size
    /// that does not follow from the others, does not compile.
    pub(crate) const GEOMETRY: Conv2dGeometry = {
        let Some(window) = Window::new(K, S, D, Padding::new(PB, PA)) else {
            panic!("a Conv2d needs a kernel, a stride and a dilation of at least 1");
        };
        let geometry = Conv2dGeometry::new_or_panic(CIN, COUT, (H, W), window, window);
        let (out_height, out_width) = geometry.out_size();
        assert!(
            out_height == HOUT && out_width == WOUT,
            "a Conv2d's output size must follow from its input size and window"
        );
        geometry
    };

    /// The geometry with its planes' sizes as constants, for the batched passes.
    const PATCHES: ConstPatches<K, S, D, PB, PA, H, W, HOUT, WOUT> = ConstPatches(Self::GEOMETRY);

    /// A layer with the given kernel and biases.
    #[must_use]
    pub const fn from_parts(weight: [[[[T; K]; K]; CIN]; COUT], bias: [T; COUT]) -> Self {
        Self {
            weight,
            bias,
            activation: PhantomData,
        }
    }

    #[inline]
    fn flat_weight(&self) -> &[T] {
        self.weight.as_flattened().as_flattened().as_flattened()
    }

    /// The parameter gradients of one sample's delta added to `gradients`, and the input's
    /// gradient written to `input_gradient` when given.
    #[inline]
    fn accumulate(
        &self,
        input: &[T],
        delta: &[T],
        gradients: &mut Conv2dGradients<CIN, COUT, K, T>,
        input_gradient: Option<&mut [T]>,
    ) {
        let weight_gradient = gradients
            .weight
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut();
        conv2d_backward(
            &Self::GEOMETRY,
            input,
            self.flat_weight(),
            delta,
            weight_gradient,
            &mut gradients.bias,
            input_gradient,
        );
    }

    /// `w <- w - learning_rate * g` for every parameter.
    #[inline]
    fn step(&mut self, gradients: &Conv2dGradients<CIN, COUT, K, T>, learning_rate: T) {
        let weights = self
            .weight
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut();
        let steps = gradients
            .weight
            .as_flattened()
            .as_flattened()
            .as_flattened();
        for (w, &g) in weights.iter_mut().zip(steps) {
            *w -= learning_rate * g;
        }
        for (b, &g) in self.bias.iter_mut().zip(&gradients.bias) {
            *b -= learning_rate * g;
        }
    }
}

impl<
    A: Activation,
    T: Scalar,
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
    const IN: usize,
    const OUT: usize,
> Layer<T, IN, OUT> for Conv2d<CIN, COUT, K, S, PB, PA, D, H, W, HOUT, WOUT, A, T>
{
    /// The pre-activation (and, for a batch, after it every sample's patch matrix).
    type Cache = SVector<T, OUT>;

    #[inline(always)]
    fn cache_len(batch: usize) -> usize {
        OUT * batch + patches::patches_len(&Self::GEOMETRY, batch)
    }

    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        // PyTorch's and Keras's fans for a convolution: channels times kernel taps.
        let limit = init.limit(CIN * K * K, COUT * K * K);
        let weights = self
            .weight
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut();
        for w in weights {
            *w = T::cast_from(uniform(rng, limit));
        }
        self.bias = [T::zero(); COUT];
    }

    #[inline]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
        self.forward_single(input, &mut Phase::Inference).1
    }

    #[inline(always)]
    fn forward_single(
        &self,
        input: &SVector<T, IN>,
        _phase: &mut Phase,
    ) -> (SVector<T, OUT>, SVector<T, OUT>) {
        let () = FlatWidths2d::<IN, OUT, CIN, H, W, COUT, HOUT, WOUT>::MATCH;
        let mut z = SVector::<T, OUT>::zeros();
        let (weight, bias) = (self.flat_weight(), &self.bias[..]);
        patches::forward_single(
            &Self::PATCHES,
            weight,
            bias,
            input.as_slice(),
            z.as_mut_slice(),
            |z| conv2d_forward(&Self::GEOMETRY, input.as_slice(), weight, bias, z),
        );
        let mut a = SVector::<T, OUT>::zeros();
        A::forward(OUT, z.as_slice(), a.as_mut_slice());
        (z, a)
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        cache: &mut [T],
        mut a: ColumnsMut<'_, T, OUT>,
        _phase: &mut Phase,
    ) {
        let () = FlatWidths2d::<IN, OUT, CIN, H, W, COUT, HOUT, WOUT>::MATCH;
        let kernel = Kernel {
            weight: self.flat_weight(),
            bias: &self.bias,
        };
        patches::forward_batch::<T, A, _, OUT>(
            &Self::PATCHES,
            kernel,
            input.as_slice(),
            cache,
            a.as_mut_slice(),
        );
    }

    #[inline(always)]
    fn backward_single(
        &self,
        input: &SVector<T, IN>,
        z: &SVector<T, OUT>,
        a: &SVector<T, OUT>,
        delta: &mut SVector<T, OUT>,
        input_gradient: bool,
    ) -> SVector<T, IN> {
        A::backward(OUT, z.as_slice(), a.as_slice(), delta.as_mut_slice());
        let mut dx = SVector::<T, IN>::zeros();
        if input_gradient {
            let mut scratch = Conv2dGradients::zeros();
            self.accumulate(
                input.as_slice(),
                delta.as_slice(),
                &mut scratch,
                Some(dx.as_mut_slice()),
            );
        }
        dx
    }

    #[inline(always)]
    fn update_single(
        &mut self,
        input: &SVector<T, IN>,
        _z: &SVector<T, OUT>,
        delta: &SVector<T, OUT>,
        learning_rate: T,
    ) {
        let mut gradients = Conv2dGradients::zeros();
        self.accumulate(input.as_slice(), delta.as_slice(), &mut gradients, None);
        self.step(&gradients, learning_rate);
    }

    #[inline(always)]
    fn backward_batch(
        &self,
        _input: Columns<'_, T, IN>,
        cache: &[T],
        a: Columns<'_, T, OUT>,
        mut delta: ColumnsMut<'_, T, OUT>,
        gradients: Option<&mut Self::Gradients>,
        mut input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        let mut transposed = Conv2dGradients::<CIN, COUT, K, T>::zeros();
        patches::backward_batch::<T, A, _, OUT>(
            &Self::PATCHES,
            self.flat_weight(),
            cache,
            a.as_slice(),
            delta.as_mut_slice(),
            gradients.map(|g| (flat_mut(&mut g.weight), &mut g.bias[..])),
            input_gradient.as_mut().map(|dx| dx.as_mut_slice()),
            flat_mut(&mut transposed.weight),
        );
    }

    #[inline(always)]
    fn update_batch(
        &mut self,
        _input: Columns<'_, T, IN>,
        cache: &[T],
        delta: Columns<'_, T, OUT>,
        learning_rate: T,
    ) {
        let mut scratch = Conv2dGradients::<CIN, COUT, K, T>::zeros();
        patches::update_batch::<T, _, OUT>(
            &Self::PATCHES,
            (flat_mut(&mut self.weight), &mut self.bias),
            cache,
            delta.as_slice(),
            learning_rate,
            (flat_mut(&mut scratch.weight), &mut scratch.bias),
        );
    }

    #[inline(always)]
    fn bound_update(input: &[T], delta: &[T], largest: &mut Largest<T>) {
        // Each weight moves by a sum over HOUT * WOUT positions (and the batch, which the limits
        // count): bound the delta side by that many times its largest magnitude.
        largest.include(input);
        largest.include_scaled(delta, T::cast_from((HOUT * WOUT) as f64));
    }
}
