//! Pooling on one sample: maximum and average over sliding windows (PyTorch's `MaxPool1d`,
//! `MaxPool2d`, `AvgPool1d`, `AvgPool2d`) and global average pooling.
//!
//! # Shapes
//!
//! - 1-d: input `(channels, len)`, output `(channels, out_len)`;
//! - 2-d: input `(channels, height, width)`, output `(channels, out_height, out_width)`;
//! - global: input `(channels, spatial)` with `spatial = len` or `height * width`, output
//!   `channels`.
//!
//! Padding is never a candidate for a maximum, and counts towards an average's divisor only
//! with `count_include_pad` (PyTorch's default). Max pooling's backward pass routes each
//! output's gradient to the first maximal element of its window, in row-major window order, as
//! PyTorch does, and finds it again from the input rather than keeping indices.

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::no_parameters::no_parameters;
use super::window::{Padding, Window};
use super::{FlatWidths, FlatWidths2d, Layer, NoGradients, Phase};
use crate::{Columns, ColumnsMut, Init, Scalar};

/// The shapes of one-dimensional pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool1dGeometry {
    channels: usize,
    len: usize,
    window: Window,
    out_len: usize,
}

impl Pool1dGeometry {
    /// The geometry, or `None` when there are no channels, the padded input is shorter than
    /// one window, some window covers only padding, or a length overflows `usize`.
    ///
    /// PyTorch is stricter: it also refuses padding above half the kernel.
    #[must_use]
    pub const fn new(channels: usize, len: usize, window: Window) -> Option<Self> {
        if channels == 0 {
            return None;
        }
        let Some(out_len) = window.output_len(len) else {
            return None;
        };
        let sizes = (channels.checked_mul(len), channels.checked_mul(out_len));
        if !window.every_window_touches_input(len, out_len)
            || sizes.0.is_none()
            || sizes.1.is_none()
        {
            return None;
        }
        Some(Self {
            channels,
            len,
            window,
            out_len,
        })
    }

    /// As [`new`](Self::new), for `const` items: impossible geometry panics, which in a
    /// constant is a compile error.
    #[must_use]
    pub const fn new_or_panic(channels: usize, len: usize, window: Window) -> Self {
        match Self::new(channels, len, window) {
            Some(geometry) => geometry,
            None => panic!("impossible 1-d pooling geometry"),
        }
    }

    /// Channels.
    #[inline]
    #[must_use]
    pub const fn channels(&self) -> usize {
        self.channels
    }

    /// Input length (named so that clippy does not ask for `is_empty`).
    #[inline]
    #[must_use]
    pub const fn input_len(&self) -> usize {
        self.len
    }

    /// The sliding window.
    #[inline]
    #[must_use]
    pub const fn window(&self) -> Window {
        self.window
    }

    /// Output length.
    #[inline]
    #[must_use]
    pub const fn out_len(&self) -> usize {
        self.out_len
    }

    /// Numbers in one input sample.
    #[inline]
    #[must_use]
    pub const fn input_size(&self) -> usize {
        self.channels * self.len
    }

    /// Numbers in one output sample.
    #[inline]
    #[must_use]
    pub const fn output_size(&self) -> usize {
        self.channels * self.out_len
    }

    /// The inputs of output `t`'s window, in window order.
    #[inline]
    pub(crate) fn inputs(&self, t: usize) -> impl Iterator<Item = usize> + '_ {
        (0..self.window.kernel()).filter_map(move |k| self.window.input_index(t, k, self.len))
    }

    /// The divisor of output `t`'s average.
    #[inline]
    fn divisor<T: Scalar>(&self, t: usize, count_include_pad: bool) -> T {
        let count = if count_include_pad {
            self.window.kernel()
        } else {
            self.inputs(t).count()
        };
        T::cast_from(count as f64)
    }
}

/// The shapes of two-dimensional pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dGeometry {
    channels: usize,
    height: usize,
    width: usize,
    rows: Window,
    cols: Window,
    out_height: usize,
    out_width: usize,
}

impl Pool2dGeometry {
    /// The geometry, or `None` when there are no channels, either padded side is shorter than
    /// its window, some window covers only padding, or a length overflows `usize`.
    ///
    /// PyTorch is stricter: it also refuses padding above half the kernel.
    #[must_use]
    pub const fn new(
        channels: usize,
        (height, width): (usize, usize),
        rows: Window,
        cols: Window,
    ) -> Option<Self> {
        if channels == 0 {
            return None;
        }
        let (Some(out_height), Some(out_width)) = (rows.output_len(height), cols.output_len(width))
        else {
            return None;
        };
        // A window covers only padding exactly when its rows or its columns do.
        if !rows.every_window_touches_input(height, out_height)
            || !cols.every_window_touches_input(width, out_width)
        {
            return None;
        }
        let sizes = (
            checked_volume(channels, height, width),
            checked_volume(channels, out_height, out_width),
        );
        if sizes.0.is_none() || sizes.1.is_none() {
            return None;
        }
        Some(Self {
            channels,
            height,
            width,
            rows,
            cols,
            out_height,
            out_width,
        })
    }

    /// As [`new`](Self::new), for `const` items: impossible geometry panics, which in a
    /// constant is a compile error.
    #[must_use]
    pub const fn new_or_panic(
        channels: usize,
        size: (usize, usize),
        rows: Window,
        cols: Window,
    ) -> Self {
        match Self::new(channels, size, rows, cols) {
            Some(geometry) => geometry,
            None => panic!("impossible 2-d pooling geometry"),
        }
    }

    /// Channels.
    #[inline]
    #[must_use]
    pub const fn channels(&self) -> usize {
        self.channels
    }

    /// Input `(height, width)`.
    #[inline]
    #[must_use]
    pub const fn size(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// The windows along the rows and along the columns.
    #[inline]
    #[must_use]
    pub const fn windows(&self) -> (Window, Window) {
        (self.rows, self.cols)
    }

    /// Output `(height, width)`.
    #[inline]
    #[must_use]
    pub const fn out_size(&self) -> (usize, usize) {
        (self.out_height, self.out_width)
    }

    /// Numbers in one input sample.
    #[inline]
    #[must_use]
    pub const fn input_size(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Numbers in one output sample.
    #[inline]
    #[must_use]
    pub const fn output_size(&self) -> usize {
        self.channels * self.out_height * self.out_width
    }

    /// The inputs (flat within a channel) of output `(r, c)`'s window, in row-major window
    /// order.
    #[inline]
    pub(crate) fn inputs(&self, r: usize, c: usize) -> impl Iterator<Item = usize> + '_ {
        let rows =
            (0..self.rows.kernel()).filter_map(move |k| self.rows.input_index(r, k, self.height));
        rows.flat_map(move |i| {
            (0..self.cols.kernel())
                .filter_map(move |k| self.cols.input_index(c, k, self.width))
                .map(move |j| i * self.width + j)
        })
    }

    /// Whether every window is a block of whole rows and columns inside the input (no padding,
    /// no dilation), which [`plain_argmax`](Self::plain_argmax) reads with plain loops rather
    /// than through [`inputs`](Self::inputs)' filters.
    #[inline]
    fn plain(&self) -> bool {
        let plain = |w: &Window| w.dilation() == 1 && w.padding() == Padding::VALID;
        plain(&self.rows) && plain(&self.cols)
    }

    /// The index of output `(r, c)`'s window's first element, when the windows are
    /// [`plain`](Self::plain).
    #[inline(always)]
    fn plain_start(&self, r: usize, c: usize) -> usize {
        r * self.rows.stride() * self.width + c * self.cols.stride()
    }

    /// The largest element of the [`plain`](Self::plain) window at `start`, or `None` when it
    /// holds a NaN. Branch-free (`max` and an or), as which element is largest is data that a
    /// branch would mispredict.
    #[inline(always)]
    fn plain_max<T: Scalar>(&self, x: &[T], start: usize) -> Option<T> {
        let mut largest = x[start];
        let mut nan = false;
        for i in 0..self.rows.kernel() {
            for &v in &x[start + i * self.width..][..self.cols.kernel()] {
                largest = largest.max(v);
                // `v != v` is NaN.
                #[allow(clippy::eq_op)]
                let is_nan = v != v;
                nan |= is_nan;
            }
        }
        (!nan).then_some(largest)
    }

    /// The first maximal input of output `(r, c)`'s window, as [`first_max`] picks it, when the
    /// windows are [`plain`](Self::plain): the first element equal to the window's largest, found
    /// going backwards with selects rather than branches.
    #[inline(always)]
    fn plain_argmax<T: Scalar>(&self, x: &[T], r: usize, c: usize) -> usize {
        match self.plain_max(x, self.plain_start(r, c)) {
            Some(largest) => self.plain_argmax_of(x, r, c, largest),
            None => first_max(x, self.inputs(r, c)),
        }
    }

    /// As [`plain_argmax`](Self::plain_argmax), given the window's largest element (the
    /// forward pass's output).
    #[inline(always)]
    fn plain_argmax_of<T: Scalar>(&self, x: &[T], r: usize, c: usize, largest: T) -> usize {
        // `largest != largest` is NaN, which no element equals.
        #[allow(clippy::eq_op)]
        if largest != largest {
            return first_max(x, self.inputs(r, c));
        }
        let start = self.plain_start(r, c);
        let mut best = start;
        for i in (0..self.rows.kernel()).rev() {
            let row = start + i * self.width;
            for j in (row..row + self.cols.kernel()).rev() {
                best = if x[j] == largest { j } else { best };
            }
        }
        best
    }

    /// The divisor of output `(r, c)`'s average.
    #[inline]
    fn divisor<T: Scalar>(&self, r: usize, c: usize, count_include_pad: bool) -> T {
        let count = if count_include_pad {
            self.rows.kernel() * self.cols.kernel()
        } else {
            self.inputs(r, c).count()
        };
        T::cast_from(count as f64)
    }

    /// Calls `f(output, r, c)` for every output position of one channel.
    #[inline]
    fn for_each_output(&self, mut f: impl FnMut(usize, usize, usize)) {
        for r in 0..self.out_height {
            for c in 0..self.out_width {
                f(r * self.out_width + c, r, c);
            }
        }
    }
}

const fn checked_volume(channels: usize, height: usize, width: usize) -> Option<usize> {
    match channels.checked_mul(height) {
        Some(plane) => plane.checked_mul(width),
        None => None,
    }
}

/// The first maximal element among `indices` of `x`: a later element wins only when it is
/// greater, or NaN, as in PyTorch's kernel. Every window holds at least one input, which the
/// geometry checked.
#[inline]
fn first_max<T: Scalar>(x: &[T], mut indices: impl Iterator<Item = usize>) -> usize {
    let mut best = indices.next().unwrap_or(0);
    for i in indices {
        let v = x[i];
        // `v != v` is NaN.
        #[allow(clippy::eq_op)]
        if v > x[best] || v != v {
            best = i;
        }
    }
    best
}

/// Writes each window's maximum.
pub fn max_pool1d_forward<T: Scalar>(geometry: &Pool1dGeometry, input: &[T], output: &mut [T]) {
    let g = geometry;
    debug_assert_eq!(
        (input.len(), output.len()),
        (g.input_size(), g.output_size())
    );
    for (x, y) in input
        .chunks_exact(g.len)
        .zip(output.chunks_exact_mut(g.out_len))
    {
        for (t, y) in y.iter_mut().enumerate() {
            *y = x[first_max(x, g.inputs(t))];
        }
    }
}

/// Writes the gradient with respect to the input: each output's `delta` goes to the first
/// maximal element of its window (summed where windows overlap), zero elsewhere.
pub fn max_pool1d_backward<T: Scalar>(
    geometry: &Pool1dGeometry,
    input: &[T],
    delta: &[T],
    input_gradient: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(
        (input.len(), delta.len()),
        (g.input_size(), g.output_size())
    );
    debug_assert_eq!(input_gradient.len(), g.input_size());
    input_gradient.fill(T::zero());
    let rows = input
        .chunks_exact(g.len)
        .zip(input_gradient.chunks_exact_mut(g.len));
    for ((x, dx), d) in rows.zip(delta.chunks_exact(g.out_len)) {
        for (t, &d) in d.iter().enumerate() {
            dx[first_max(x, g.inputs(t))] += d;
        }
    }
}

/// Writes each window's mean; the divisor is the kernel size with `count_include_pad`
/// (PyTorch's default) and the number of inputs in the window without.
pub fn avg_pool1d_forward<T: Scalar>(
    geometry: &Pool1dGeometry,
    count_include_pad: bool,
    input: &[T],
    output: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(
        (input.len(), output.len()),
        (g.input_size(), g.output_size())
    );
    for (x, y) in input
        .chunks_exact(g.len)
        .zip(output.chunks_exact_mut(g.out_len))
    {
        for (t, y) in y.iter_mut().enumerate() {
            let sum = g.inputs(t).fold(T::zero(), |sum, i| sum + x[i]);
            *y = sum / g.divisor::<T>(t, count_include_pad);
        }
    }
}

/// Writes the gradient of [`avg_pool1d_forward`] with respect to its input.
pub fn avg_pool1d_backward<T: Scalar>(
    geometry: &Pool1dGeometry,
    count_include_pad: bool,
    delta: &[T],
    input_gradient: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(delta.len(), g.output_size());
    debug_assert_eq!(input_gradient.len(), g.input_size());
    input_gradient.fill(T::zero());
    let rows = input_gradient.chunks_exact_mut(g.len);
    for (dx, d) in rows.zip(delta.chunks_exact(g.out_len)) {
        for (t, &d) in d.iter().enumerate() {
            let share = d / g.divisor::<T>(t, count_include_pad);
            for i in g.inputs(t) {
                dx[i] += share;
            }
        }
    }
}

/// Writes each window's maximum.
pub fn max_pool2d_forward<T: Scalar>(geometry: &Pool2dGeometry, input: &[T], output: &mut [T]) {
    let g = geometry;
    debug_assert_eq!(
        (input.len(), output.len()),
        (g.input_size(), g.output_size())
    );
    let (plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    for (x, y) in input
        .chunks_exact(plane)
        .zip(output.chunks_exact_mut(out_plane))
    {
        if g.plain() {
            for (r, y) in y.chunks_exact_mut(g.out_width).enumerate() {
                for (c, y) in y.iter_mut().enumerate() {
                    *y = match g.plain_max(x, g.plain_start(r, c)) {
                        Some(largest) => largest,
                        None => x[first_max(x, g.inputs(r, c))],
                    };
                }
            }
        } else {
            g.for_each_output(|o, r, c| y[o] = x[first_max(x, g.inputs(r, c))]);
        }
    }
}

/// Writes the gradient with respect to the input: each output's `delta` goes to the first
/// maximal element of its window in row-major order (summed where windows overlap).
pub fn max_pool2d_backward<T: Scalar>(
    geometry: &Pool2dGeometry,
    input: &[T],
    delta: &[T],
    input_gradient: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(
        (input.len(), delta.len()),
        (g.input_size(), g.output_size())
    );
    debug_assert_eq!(input_gradient.len(), g.input_size());
    input_gradient.fill(T::zero());
    let (plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    let planes = input
        .chunks_exact(plane)
        .zip(input_gradient.chunks_exact_mut(plane));
    for ((x, dx), d) in planes.zip(delta.chunks_exact(out_plane)) {
        if g.plain() {
            for (r, d) in d.chunks_exact(g.out_width).enumerate() {
                for (c, &d) in d.iter().enumerate() {
                    dx[g.plain_argmax(x, r, c)] += d;
                }
            }
        } else {
            g.for_each_output(|o, r, c| dx[first_max(x, g.inputs(r, c))] += d[o]);
        }
    }
}

/// As [`max_pool2d_backward`], given the forward pass's `output` (each window's maximum), which
/// windows without padding or dilation then need not compute again.
pub fn max_pool2d_backward_given_output<T: Scalar>(
    geometry: &Pool2dGeometry,
    input: &[T],
    output: &[T],
    delta: &[T],
    input_gradient: &mut [T],
) {
    let g = geometry;
    if !g.plain() {
        max_pool2d_backward(g, input, delta, input_gradient);
        return;
    }
    debug_assert_eq!(
        (input.len(), output.len(), delta.len()),
        (g.input_size(), g.output_size(), g.output_size())
    );
    debug_assert_eq!(input_gradient.len(), g.input_size());
    input_gradient.fill(T::zero());
    let (plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    let planes = input
        .chunks_exact(plane)
        .zip(input_gradient.chunks_exact_mut(plane))
        .zip(
            delta
                .chunks_exact(out_plane)
                .zip(output.chunks_exact(out_plane)),
        );
    for ((x, dx), (d, y)) in planes {
        let rows = d.chunks_exact(g.out_width).zip(y.chunks_exact(g.out_width));
        for (r, (d, y)) in rows.enumerate() {
            for (c, (&d, &largest)) in d.iter().zip(y).enumerate() {
                dx[g.plain_argmax_of(x, r, c, largest)] += d;
            }
        }
    }
}

/// Max pooling's forward pass over any number of `H x W` planes whose `K x K` windows tile
/// them (stride `K`, no padding): every size a constant, so the loops unroll, and each window's
/// maximum taken with selects (a later element wins when greater or NaN, as [`first_max`]
/// picks).
#[inline(always)]
fn tiled_max_forward<
    T: Scalar,
    const K: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(
    input: &[T],
    output: &mut [T],
) {
    for (x, y) in input
        .chunks_exact(H * W)
        .zip(output.chunks_exact_mut(HOUT * WOUT))
    {
        for (r, y) in y.chunks_exact_mut(WOUT).enumerate() {
            let rows = &x[r * K * W..][..K * W];
            for (c, y) in y.iter_mut().enumerate() {
                let mut largest = rows[c * K];
                for i in 0..K {
                    for &v in &rows[i * W + c * K..][..K] {
                        // `v != v` is NaN.
                        #[allow(clippy::eq_op)]
                        let wins = (v > largest) | (v != v);
                        largest = if wins { v } else { largest };
                    }
                }
                *y = largest;
            }
        }
    }
}

/// The gradient of [`tiled_max_forward`] with respect to its input, given its output: each
/// window's delta written to its first maximal element and zero to the others (and to the rows
/// and columns no window covers).
#[inline(always)]
fn tiled_max_backward<
    T: Scalar,
    const K: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(
    input: &[T],
    output: &[T],
    delta: &[T],
    input_gradient: &mut [T],
) {
    let planes = input
        .chunks_exact(H * W)
        .zip(input_gradient.chunks_exact_mut(H * W))
        .zip(
            output
                .chunks_exact(HOUT * WOUT)
                .zip(delta.chunks_exact(HOUT * WOUT)),
        );
    for ((x, dx), (y, d)) in planes {
        if HOUT * K < H || WOUT * K < W {
            dx.fill(T::zero());
        }
        let rows = x
            .chunks_exact(K * W)
            .zip(dx.chunks_exact_mut(K * W))
            .zip(y.chunks_exact(WOUT).zip(d.chunks_exact(WOUT)));
        for ((x, dx), (y, d)) in rows {
            for (c, (&largest, &d)) in y.iter().zip(d).enumerate() {
                let best = tiled_argmax::<T, K, W>(x, c * K, largest);
                for i in 0..K {
                    let start = i * W + c * K;
                    for (k, dx) in (start..start + K).zip(&mut dx[start..][..K]) {
                        *dx = if k == best { d } else { T::zero() };
                    }
                }
            }
        }
    }
}

/// The first element of the `K x K` window at column `start` of `rows` (`K` rows of `W`)
/// that equals `largest`, the window's maximum, found going backwards with selects; for a NaN
/// maximum, the element [`first_max`] picks.
#[inline(always)]
fn tiled_argmax<T: Scalar, const K: usize, const W: usize>(
    rows: &[T],
    start: usize,
    largest: T,
) -> usize {
    // `largest != largest` is NaN, which no element equals.
    #[allow(clippy::eq_op)]
    if largest != largest {
        let window = (0..K).flat_map(|i| start + i * W..start + i * W + K);
        return first_max(rows, window);
    }
    let mut best = start;
    for i in (0..K).rev() {
        let row = start + i * W;
        for (k, &v) in (row..row + K).zip(&rows[row..][..K]).rev() {
            best = if v == largest { k } else { best };
        }
    }
    best
}

/// Max pooling's forward pass over a batch of samples: the tiled loops when the windows tile
/// the planes, one sample at a time through the geometry otherwise.
#[inline(always)]
fn max_pool2d_forward_batch<
    T: Scalar,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(
    g: &Pool2dGeometry,
    input: &[T],
    output: &mut [T],
) {
    if K == S && P == 0 {
        tiled_max_forward::<T, K, H, W, HOUT, WOUT>(input, output);
        return;
    }
    let samples = input
        .chunks_exact(g.input_size())
        .zip(output.chunks_exact_mut(g.output_size()));
    for (x, y) in samples {
        max_pool2d_forward(g, x, y);
    }
}

/// Max pooling's backward pass over a batch of samples, given the forward pass's output, as
/// [`max_pool2d_forward_batch`] chooses its loops.
#[inline(always)]
fn max_pool2d_backward_batch<
    T: Scalar,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(
    g: &Pool2dGeometry,
    (input, output): (&[T], &[T]),
    delta: &[T],
    input_gradient: &mut [T],
) {
    if K == S && P == 0 {
        tiled_max_backward::<T, K, H, W, HOUT, WOUT>(input, output, delta, input_gradient);
        return;
    }
    let samples = input
        .chunks_exact(g.input_size())
        .zip(output.chunks_exact(g.output_size()))
        .zip(delta.chunks_exact(g.output_size()))
        .zip(input_gradient.chunks_exact_mut(g.input_size()));
    for (((x, y), d), dx) in samples {
        max_pool2d_backward_given_output(g, x, y, d, dx);
    }
}

/// Average pooling's forward pass over a batch of samples, one at a time.
#[inline(always)]
fn avg_pool2d_forward_batch<
    T: Scalar,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(
    g: &Pool2dGeometry,
    input: &[T],
    output: &mut [T],
) {
    let samples = input
        .chunks_exact(g.input_size())
        .zip(output.chunks_exact_mut(g.output_size()));
    for (x, y) in samples {
        avg_pool2d_forward(g, true, x, y);
    }
}

/// Average pooling's backward pass over a batch of samples, one at a time.
#[inline(always)]
fn avg_pool2d_backward_batch<
    T: Scalar,
    const K: usize,
    const S: usize,
    const P: usize,
    const H: usize,
    const W: usize,
    const HOUT: usize,
    const WOUT: usize,
>(
    g: &Pool2dGeometry,
    _: (&[T], &[T]),
    delta: &[T],
    input_gradient: &mut [T],
) {
    let samples = delta
        .chunks_exact(g.output_size())
        .zip(input_gradient.chunks_exact_mut(g.input_size()));
    for (d, dx) in samples {
        avg_pool2d_backward(g, true, d, dx);
    }
}

/// Writes each window's mean; the divisor is the window's area with `count_include_pad`
/// (PyTorch's default) and the number of inputs in the window without.
pub fn avg_pool2d_forward<T: Scalar>(
    geometry: &Pool2dGeometry,
    count_include_pad: bool,
    input: &[T],
    output: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(
        (input.len(), output.len()),
        (g.input_size(), g.output_size())
    );
    let (plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    for (x, y) in input
        .chunks_exact(plane)
        .zip(output.chunks_exact_mut(out_plane))
    {
        g.for_each_output(|o, r, c| {
            let sum = g.inputs(r, c).fold(T::zero(), |sum, i| sum + x[i]);
            y[o] = sum / g.divisor::<T>(r, c, count_include_pad);
        });
    }
}

/// Writes the gradient of [`avg_pool2d_forward`] with respect to its input.
pub fn avg_pool2d_backward<T: Scalar>(
    geometry: &Pool2dGeometry,
    count_include_pad: bool,
    delta: &[T],
    input_gradient: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(delta.len(), g.output_size());
    debug_assert_eq!(input_gradient.len(), g.input_size());
    input_gradient.fill(T::zero());
    let (plane, out_plane) = (g.height * g.width, g.out_height * g.out_width);
    let planes = input_gradient.chunks_exact_mut(plane);
    for (dx, d) in planes.zip(delta.chunks_exact(out_plane)) {
        g.for_each_output(|o, r, c| {
            let share = d[o] / g.divisor::<T>(r, c, count_include_pad);
            for i in g.inputs(r, c) {
                dx[i] += share;
            }
        });
    }
}

/// The shapes of global average pooling: `spatial` positions per channel, `len` for
/// `(channels, len)` and `height * width` for `(channels, height, width)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalPoolGeometry {
    channels: usize,
    spatial: usize,
}

impl GlobalPoolGeometry {
    /// The geometry of `(channels, len)`, or `None` when either is zero or their product
    /// overflows `usize`.
    #[must_use]
    pub const fn new(channels: usize, spatial: usize) -> Option<Self> {
        if channels == 0 || spatial == 0 || channels.checked_mul(spatial).is_none() {
            return None;
        }
        Some(Self { channels, spatial })
    }

    /// The geometry of `(channels, height, width)`, or `None` as for [`new`](Self::new).
    #[must_use]
    pub const fn new_2d(channels: usize, (height, width): (usize, usize)) -> Option<Self> {
        match height.checked_mul(width) {
            Some(spatial) => Self::new(channels, spatial),
            None => None,
        }
    }

    /// As [`new`](Self::new), for `const` items: impossible geometry panics, which in a
    /// constant is a compile error.
    #[must_use]
    pub const fn new_or_panic(channels: usize, spatial: usize) -> Self {
        match Self::new(channels, spatial) {
            Some(geometry) => geometry,
            None => panic!("impossible global pooling geometry: no channels or no positions"),
        }
    }

    /// Channels, which is also the output's length.
    #[inline]
    #[must_use]
    pub const fn channels(&self) -> usize {
        self.channels
    }

    /// Numbers in one input sample.
    #[inline]
    #[must_use]
    pub const fn input_size(&self) -> usize {
        self.channels * self.spatial
    }
}

/// Writes each channel's mean over its positions.
pub fn global_avg_pool_forward<T: Scalar>(
    geometry: &GlobalPoolGeometry,
    input: &[T],
    output: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!((input.len(), output.len()), (g.input_size(), g.channels));
    let n = T::cast_from(g.spatial as f64);
    for (x, y) in input.chunks_exact(g.spatial).zip(output.iter_mut()) {
        *y = x.iter().fold(T::zero(), |sum, &v| sum + v) / n;
    }
}

/// Writes the gradient of [`global_avg_pool_forward`] with respect to its input: each
/// channel's `delta` spread evenly over its positions.
pub fn global_avg_pool_backward<T: Scalar>(
    geometry: &GlobalPoolGeometry,
    delta: &[T],
    input_gradient: &mut [T],
) {
    let g = geometry;
    debug_assert_eq!(
        (delta.len(), input_gradient.len()),
        (g.channels, g.input_size())
    );
    let n = T::cast_from(g.spatial as f64);
    for (dx, &d) in input_gradient.chunks_exact_mut(g.spatial).zip(delta) {
        dx.fill(d / n);
    }
}

/// Pooling layers over (channels, length) samples: no parameters, a window of `K` with stride
/// `S` and `PL`, `PR` zeros of padding, from length `L` to `LOUT`, on each of `C` channels.
macro_rules! pool1d_layer {
    ($(#[$doc:meta])* $name:ident, $forward:expr, $backward:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
        #[zeroable(bound = "")]
        pub struct $name<
            const C: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const L: usize,
            const LOUT: usize,
            T = f32,
        >(PhantomData<T>);

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const PL: usize,
            const PR: usize,
            const L: usize,
            const LOUT: usize,
            T,
        > $name<C, K, S, PL, PR, L, LOUT, T>
        {
            /// The geometry, checked where the layer is used.
            pub(crate) const GEOMETRY: Pool1dGeometry = {
                let Some(window) = Window::new(K, S, 1, Padding::new(PL, PR)) else {
                    panic!("a pooling window needs a size and a stride of at least 1");
                };
                let geometry = Pool1dGeometry::new_or_panic(C, L, window);
                assert!(
                    geometry.output_size() == C * LOUT,
                    "a pooling layer's output length must follow from its input and window"
                );
                geometry
            };

            /// The layer (it has nothing to set).
            #[must_use]
            pub const fn new() -> Self {
                Self(PhantomData)
            }
        }

        no_parameters!($name<; C, K, S, PL, PR, L, LOUT>);

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
            T: Scalar,
        > Layer<T, IN, OUT> for $name<C, K, S, PL, PR, L, LOUT, T>
        {
            type Cache = ();

            #[inline(always)]
            fn cache_len(_batch: usize) -> usize {
                0
            }

            fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {}

            #[inline]
            fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
                self.forward_single(input, &mut Phase::Inference).1
            }

            #[inline(always)]
            fn forward_single(
                &self,
                input: &SVector<T, IN>,
                _phase: &mut Phase,
            ) -> ((), SVector<T, OUT>) {
                let () = FlatWidths::<IN, OUT, C, L, C, LOUT>::MATCH;
                let mut output = SVector::<T, OUT>::zeros();
                $forward(&Self::GEOMETRY, input.as_slice(), output.as_mut_slice());
                ((), output)
            }

            #[inline(always)]
            fn forward_batch(
                &self,
                input: Columns<'_, T, IN>,
                _cache: &mut [T],
                mut output: ColumnsMut<'_, T, OUT>,
                _phase: &mut Phase,
            ) {
                for (x, y) in input
                    .as_slice()
                    .chunks_exact(IN)
                    .zip(output.as_mut_slice().chunks_exact_mut(OUT))
                {
                    $forward(&Self::GEOMETRY, x, y);
                }
            }

            #[inline(always)]
            fn backward_single(
                &self,
                input: &SVector<T, IN>,
                _cache: &(),
                _output: &SVector<T, OUT>,
                delta: &mut SVector<T, OUT>,
                input_gradient: bool,
            ) -> SVector<T, IN> {
                let mut dx = SVector::<T, IN>::zeros();
                if input_gradient {
                    $backward(&Self::GEOMETRY, input.as_slice(), delta.as_slice(), dx.as_mut_slice());
                }
                dx
            }

            #[inline(always)]
            fn update_single(&mut self, _: &SVector<T, IN>, _: &(), _: &SVector<T, OUT>, _: T) {}

            #[inline(always)]
            fn backward_batch(
                &self,
                input: Columns<'_, T, IN>,
                _cache: &[T],
                _output: Columns<'_, T, OUT>,
                delta: ColumnsMut<'_, T, OUT>,
                _gradients: Option<&mut NoGradients>,
                input_gradient: Option<ColumnsMut<'_, T, IN>>,
            ) {
                if let Some(mut input_gradient) = input_gradient {
                    for ((x, d), dx) in input
                        .as_slice()
                        .chunks_exact(IN)
                        .zip(delta.as_slice().chunks_exact(OUT))
                        .zip(input_gradient.as_mut_slice().chunks_exact_mut(IN))
                    {
                        $backward(&Self::GEOMETRY, x, d, dx);
                    }
                }
            }

            #[inline(always)]
            fn update_batch(&mut self, _: Columns<'_, T, IN>, _: &[T], _: Columns<'_, T, OUT>, _: T) {}
        }
    };
}

pool1d_layer!(
    /// Max pooling over (channels, length) samples, as PyTorch's `nn.MaxPool1d` (floor
    /// semantics; the gradient goes to the first maximum of each window).
    ///
    /// In `network!` it is written `MaxPool1d<KERNEL>`, optionally followed by `STRIDE` (the
    /// kernel by default, as in PyTorch) and `PADDING` (zeros on each side, never a maximum).
    ///
    /// # Shapes
    ///
    /// (C, L) to (C, LOUT) with `LOUT = (L + PL + PR - K) / S + 1`. No parameters.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     #[input_shape(1, 6)]
    ///     struct Net(MaxPool1d<2>);
    /// }
    /// let y = Net::zeros().forward(&SVector::from([1.0, 3.0, -2.0, -5.0, 4.0, 0.0]));
    /// assert_eq!(y, SVector::from([3.0, -2.0, 4.0]));
    /// ```
    MaxPool1d,
    max_pool1d_forward,
    max_pool1d_backward
);

pool1d_layer!(
    /// Average pooling over (channels, length) samples, as PyTorch's `nn.AvgPool1d` (floor
    /// semantics; padding counts towards the divisor, PyTorch's default).
    ///
    /// In `network!` it is written `AvgPool1d<KERNEL>`, optionally followed by `STRIDE` (the
    /// kernel by default) and `PADDING`.
    ///
    /// # Shapes
    ///
    /// (C, L) to (C, LOUT) with `LOUT = (L + PL + PR - K) / S + 1`. No parameters.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     #[input_shape(1, 4)]
    ///     struct Net(AvgPool1d<2>);
    /// }
    /// let y = Net::zeros().forward(&SVector::from([1.0, 3.0, -2.0, -6.0]));
    /// assert_eq!(y, SVector::from([2.0, -4.0]));
    /// ```
    AvgPool1d,
    |g: &Pool1dGeometry, x: &[_], y: &mut [_]| avg_pool1d_forward(g, true, x, y),
    |g: &Pool1dGeometry, _x: &[_], d: &[_], dx: &mut [_]| avg_pool1d_backward(g, true, d, dx)
);

/// Pooling layers over (channels, height, width) samples: no parameters, a square window of
/// `K` with stride `S` and `P` zeros of padding on each side, from `H x W` to `HOUT x WOUT`, on
/// each of `C` channels.
macro_rules! pool2d_layer {
    (
        $(#[$doc:meta])* $name:ident, $forward_batch:ident, $backward_batch:ident
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
        #[zeroable(bound = "")]
        pub struct $name<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const H: usize,
            const W: usize,
            const HOUT: usize,
            const WOUT: usize,
            T = f32,
        >(PhantomData<T>);

        impl<
            const C: usize,
            const K: usize,
            const S: usize,
            const P: usize,
            const H: usize,
            const W: usize,
            const HOUT: usize,
            const WOUT: usize,
            T,
        > $name<C, K, S, P, H, W, HOUT, WOUT, T>
        {
            /// The geometry, checked where the layer is used.
            pub(crate) const GEOMETRY: Pool2dGeometry = {
                let Some(window) = Window::new(K, S, 1, Padding::new(P, P)) else {
                    panic!("a pooling window needs a size and a stride of at least 1");
                };
                let geometry = Pool2dGeometry::new_or_panic(C, (H, W), window, window);
                let (out_height, out_width) = geometry.out_size();
                assert!(
                    out_height == HOUT && out_width == WOUT,
                    "a pooling layer's output size must follow from its input and window"
                );
                geometry
            };

            /// The layer (it has nothing to set).
            #[must_use]
            pub const fn new() -> Self {
                Self(PhantomData)
            }
        }

        no_parameters!($name<; C, K, S, P, H, W, HOUT, WOUT>);

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
            T: Scalar,
        > Layer<T, IN, OUT> for $name<C, K, S, P, H, W, HOUT, WOUT, T>
        {
            type Cache = ();

            #[inline(always)]
            fn cache_len(_batch: usize) -> usize {
                0
            }

            fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {}

            #[inline]
            fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
                self.forward_single(input, &mut Phase::Inference).1
            }

            #[inline(always)]
            fn forward_single(
                &self,
                input: &SVector<T, IN>,
                _phase: &mut Phase,
            ) -> ((), SVector<T, OUT>) {
                let () = FlatWidths2d::<IN, OUT, C, H, W, C, HOUT, WOUT>::MATCH;
                let mut output = SVector::<T, OUT>::zeros();
                $forward_batch::<T, K, S, P, H, W, HOUT, WOUT>(
                    &Self::GEOMETRY,
                    input.as_slice(),
                    output.as_mut_slice(),
                );
                ((), output)
            }

            #[inline(always)]
            fn forward_batch(
                &self,
                input: Columns<'_, T, IN>,
                _cache: &mut [T],
                mut output: ColumnsMut<'_, T, OUT>,
                _phase: &mut Phase,
            ) {
                let () = FlatWidths2d::<IN, OUT, C, H, W, C, HOUT, WOUT>::MATCH;
                $forward_batch::<T, K, S, P, H, W, HOUT, WOUT>(
                    &Self::GEOMETRY,
                    input.as_slice(),
                    output.as_mut_slice(),
                );
            }

            #[inline(always)]
            fn backward_single(
                &self,
                input: &SVector<T, IN>,
                _cache: &(),
                output: &SVector<T, OUT>,
                delta: &mut SVector<T, OUT>,
                input_gradient: bool,
            ) -> SVector<T, IN> {
                let mut dx = SVector::<T, IN>::zeros();
                if input_gradient {
                    $backward_batch::<T, K, S, P, H, W, HOUT, WOUT>(
                        &Self::GEOMETRY,
                        (input.as_slice(), output.as_slice()),
                        delta.as_slice(),
                        dx.as_mut_slice(),
                    );
                }
                dx
            }

            #[inline(always)]
            fn update_single(&mut self, _: &SVector<T, IN>, _: &(), _: &SVector<T, OUT>, _: T) {}

            #[inline(always)]
            fn backward_batch(
                &self,
                input: Columns<'_, T, IN>,
                _cache: &[T],
                output: Columns<'_, T, OUT>,
                delta: ColumnsMut<'_, T, OUT>,
                _gradients: Option<&mut NoGradients>,
                input_gradient: Option<ColumnsMut<'_, T, IN>>,
            ) {
                if let Some(mut input_gradient) = input_gradient {
                    $backward_batch::<T, K, S, P, H, W, HOUT, WOUT>(
                        &Self::GEOMETRY,
                        (input.as_slice(), output.as_slice()),
                        delta.as_slice(),
                        input_gradient.as_mut_slice(),
                    );
                }
            }

            #[inline(always)]
            fn update_batch(&mut self, _: Columns<'_, T, IN>, _: &[T], _: Columns<'_, T, OUT>, _: T) {}
        }
    };
}

pool2d_layer!(
    /// Max pooling over (channels, height, width) samples with a square window, as PyTorch's
    /// `nn.MaxPool2d` (floor semantics; the gradient goes to the first maximum of each window
    /// in row-major order).
    ///
    /// In `network!` it is written `MaxPool2d<KERNEL>`, optionally followed by `STRIDE` (the
    /// kernel by default, as in PyTorch) and `PADDING` (zeros on each side, never a maximum),
    /// each one number for both sides.
    ///
    /// # Shapes
    ///
    /// (C, H, W) to (C, HOUT, WOUT) with `HOUT = (H + 2 P - K) / S + 1`, and `WOUT` alike. No
    /// parameters.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     #[input_shape(1, 2, 4)]
    ///     struct Net(MaxPool2d<2>);
    /// }
    /// let x = SVector::from([1.0, 3.0, -2.0, -5.0, 0.0, 2.0, 4.0, -1.0]);
    /// assert_eq!(Net::zeros().forward(&x), SVector::from([3.0, 4.0]));
    /// ```
    MaxPool2d,
    max_pool2d_forward_batch,
    max_pool2d_backward_batch
);

pool2d_layer!(
    /// Average pooling over (channels, height, width) samples with a square window, as
    /// PyTorch's `nn.AvgPool2d` (floor semantics; padding counts towards the divisor, PyTorch's
    /// default).
    ///
    /// In `network!` it is written `AvgPool2d<KERNEL>`, optionally followed by `STRIDE` (the
    /// kernel by default) and `PADDING`, each one number for both sides.
    ///
    /// # Shapes
    ///
    /// (C, H, W) to (C, HOUT, WOUT) with `HOUT = (H + 2 P - K) / S + 1`, and `WOUT` alike. No
    /// parameters.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     #[input_shape(1, 2, 4)]
    ///     struct Net(AvgPool2d<2>);
    /// }
    /// let x = SVector::from([1.0, 3.0, -2.0, -6.0, 0.0, 4.0, 4.0, 0.0]);
    /// assert_eq!(Net::zeros().forward(&x), SVector::from([2.0, -1.0]));
    /// ```
    AvgPool2d,
    avg_pool2d_forward_batch,
    avg_pool2d_backward_batch
);

/// Global average pooling: each channel's mean over all its positions, as PyTorch's
/// `nn.AdaptiveAvgPool2d(1)` followed by a flatten (Keras's `GlobalAveragePooling1D` and
/// `GlobalAveragePooling2D`).
///
/// In `network!` it is written `GlobalAvgPool`, with no arguments; the macro works out `C` and
/// `N`, the positions per channel (`L`, or `H * W`).
///
/// # Shapes
///
/// (C, L) or (C, H, W) to (C). No parameters.
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     #[input_shape(2, 2, 2)]
///     struct Net(GlobalAvgPool);
/// }
/// let x = SVector::from([1.0, 2.0, 3.0, 6.0, -1.0, -1.0, 0.0, 2.0]);
/// assert_eq!(Net::zeros().forward(&x), SVector::from([3.0, 0.0]));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Zeroable)]
#[zeroable(bound = "")]
pub struct GlobalAvgPool<const C: usize, const N: usize, T = f32>(PhantomData<T>);

impl<const C: usize, const N: usize, T> GlobalAvgPool<C, N, T> {
    /// The geometry, checked where the layer is used.
    pub(crate) const GEOMETRY: GlobalPoolGeometry = GlobalPoolGeometry::new_or_panic(C, N);

    /// The layer (it has nothing to set).
    #[must_use]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

no_parameters!(GlobalAvgPool<; C, N>);

impl<const C: usize, const N: usize, const IN: usize, const OUT: usize, T: Scalar> Layer<T, IN, OUT>
    for GlobalAvgPool<C, N, T>
{
    type Cache = ();

    #[inline(always)]
    fn cache_len(_batch: usize) -> usize {
        0
    }

    fn initialize<R: Rng + ?Sized>(&mut self, _init: Init, _rng: &mut R) {}

    #[inline]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
        self.forward_single(input, &mut Phase::Inference).1
    }

    #[inline(always)]
    fn forward_single(&self, input: &SVector<T, IN>, _phase: &mut Phase) -> ((), SVector<T, OUT>) {
        let () = FlatWidths::<IN, OUT, C, N, C, 1>::MATCH;
        let mut output = SVector::<T, OUT>::zeros();
        global_avg_pool_forward(&Self::GEOMETRY, input.as_slice(), output.as_mut_slice());
        ((), output)
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        _cache: &mut [T],
        mut output: ColumnsMut<'_, T, OUT>,
        _phase: &mut Phase,
    ) {
        let () = FlatWidths::<IN, OUT, C, N, C, 1>::MATCH;
        for (x, y) in input
            .as_slice()
            .chunks_exact(IN)
            .zip(output.as_mut_slice().chunks_exact_mut(OUT))
        {
            global_avg_pool_forward(&Self::GEOMETRY, x, y);
        }
    }

    #[inline(always)]
    fn backward_single(
        &self,
        _input: &SVector<T, IN>,
        _cache: &(),
        _output: &SVector<T, OUT>,
        delta: &mut SVector<T, OUT>,
        input_gradient: bool,
    ) -> SVector<T, IN> {
        let mut dx = SVector::<T, IN>::zeros();
        if input_gradient {
            global_avg_pool_backward(&Self::GEOMETRY, delta.as_slice(), dx.as_mut_slice());
        }
        dx
    }

    #[inline(always)]
    fn update_single(&mut self, _: &SVector<T, IN>, _: &(), _: &SVector<T, OUT>, _: T) {}

    #[inline(always)]
    fn backward_batch(
        &self,
        _input: Columns<'_, T, IN>,
        _cache: &[T],
        _output: Columns<'_, T, OUT>,
        delta: ColumnsMut<'_, T, OUT>,
        _gradients: Option<&mut NoGradients>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        if let Some(mut input_gradient) = input_gradient {
            for (d, dx) in delta
                .as_slice()
                .chunks_exact(OUT)
                .zip(input_gradient.as_mut_slice().chunks_exact_mut(IN))
            {
                global_avg_pool_backward(&Self::GEOMETRY, d, dx);
            }
        }
    }

    #[inline(always)]
    fn update_batch(&mut self, _: Columns<'_, T, IN>, _: &[T], _: Columns<'_, T, OUT>, _: T) {}
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

    fn pool1d(channels: usize, len: usize, axis: Axis) -> Pool1dGeometry {
        Pool1dGeometry::new(channels, len, window(axis)).unwrap()
    }

    fn pool2d(channels: usize, size: (usize, usize), rows: Axis, cols: Axis) -> Pool2dGeometry {
        Pool2dGeometry::new(channels, size, window(rows), window(cols)).unwrap()
    }

    /// Plain windows (no padding or dilation) take their own paths: the first maximum of each
    /// window in row-major order still gets the gradient, ties included (the zeros a ReLU
    /// leaves), also when the forward pass's output is given and when windows overlap.
    /// x (5 x 4) = `[[0, 2, 2, 0], [1, 2, 0, 0], [0, 0, 3, 1], [3, 1, 1, 3], [9, 9, 9, 9]]`,
    /// 2 x 2 windows with stride 2 (row 4 is left over by the floor): `[[0, 2], [1, 2]]` has its
    /// first 2 at index 1, `[[2, 0], [0, 0]]` its 2 at index 2, `[[0, 0], [3, 1]]` its 3 at 12
    /// and `[[3, 1], [1, 3]]` its first 3 at 10.
    #[test]
    fn plain_windows_route_the_gradient_to_the_first_maximum() {
        let x = [
            0.0, 2.0, 2.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 3.0, 1.0, 3.0, 1.0, 1.0, 3.0, 9.0,
            9.0, 9.0, 9.0,
        ];
        let g = pool2d(1, (5, 4), (2, 2, 1, (0, 0)), (2, 2, 1, (0, 0)));
        let mut y = [0.0; 4];
        max_pool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [2.0, 2.0, 3.0, 3.0]);
        let delta = [1.0, 2.0, 3.0, 4.0];
        let mut expected = [0.0; 20];
        (expected[1], expected[2], expected[12], expected[10]) = (1.0, 2.0, 3.0, 4.0);
        let mut dx = [7.0; 20];
        max_pool2d_backward(&g, &x, &delta, &mut dx);
        assert_eq!(dx, expected);
        let mut dx = [7.0; 20];
        max_pool2d_backward_given_output(&g, &x, &y, &delta, &mut dx);
        assert_eq!(dx, expected);
        // Overlapping 2 x 2 windows with stride 1 over the first two rows: the first 2 of
        // columns 0-1 and of columns 1-2 is index 1 (which collects 1 + 2), of columns 2-3
        // index 2.
        let g = pool2d(1, (2, 4), (2, 1, 1, (0, 0)), (2, 1, 1, (0, 0)));
        let mut y = [0.0; 3];
        max_pool2d_forward(&g, &x[..8], &mut y);
        assert_eq!(y, [2.0, 2.0, 2.0]);
        let mut dx = [7.0; 8];
        max_pool2d_backward_given_output(&g, &x[..8], &y, &[1.0, 2.0, 4.0], &mut dx);
        assert_eq!(dx, [0.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn impossible_geometry_is_refused() {
        assert_eq!(Pool1dGeometry::new(1, 4, window((1, 1, 1, (1, 0)))), None);
        assert_eq!(Pool1dGeometry::new(0, 4, window((2, 2, 1, (0, 0)))), None);
        let w = window((2, 2, 1, (0, 0)));
        assert_eq!(
            Pool2dGeometry::new(1, (4, 4), window((1, 1, 1, (0, 1))), w),
            None
        );
        assert_eq!(Pool2dGeometry::new(1, (1, 4), w, w), None);
        assert_eq!(GlobalPoolGeometry::new(0, 3), None);
        assert_eq!(GlobalPoolGeometry::new(2, 0), None);
        assert_eq!(GlobalPoolGeometry::new_2d(2, (usize::MAX, 2)), None);
        assert_eq!(
            GlobalPoolGeometry::new_2d(2, (3, 4)).map(|g| g.input_size()),
            Some(24)
        );
    }

    /// x = `[3, 1, 4, 1, 5, 9, 2]`, kernel 3, stride 2, padding (1, 1): out_len = (7 + 2 - 2 -
    /// 1)/2 + 1 = 4, windows `[pad, 3, 1]`, `[1, 4, 1]`, `[1, 5, 9]`, `[9, 2, pad]`. Max: `[3, 4,
    /// 9, 9]`. Average with the padding counted: `[4/3, 6/3, 15/3, 11/3]`; without: `[4/2, 6/3,
    /// 15/3, 11/2]`.
    #[test]
    fn hand_computed_1d() {
        let g = pool1d(1, 7, (3, 2, 1, (1, 1)));
        let x = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
        let mut y = [0.0; 4];
        max_pool1d_forward(&g, &x, &mut y);
        assert_eq!(y, [3.0, 4.0, 9.0, 9.0]);
        avg_pool1d_forward(&g, true, &x, &mut y);
        assert_eq!(y, [4.0 / 3.0, 2.0, 5.0, 11.0 / 3.0]);
        avg_pool1d_forward(&g, false, &x, &mut y);
        assert_eq!(y, [2.0, 2.0, 5.0, 5.5]);
        // The last two windows share the 9 at index 5, which collects both gradients.
        let mut dx = [7.0; 7];
        max_pool1d_backward(&g, &x, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        assert_eq!(dx, [1.0, 0.0, 2.0, 0.0, 0.0, 7.0, 0.0]);
        // Without padding counted: 1/2 to index 0 and 1; 2/3 to 1, 2, 3; 3/3 to 3, 4, 5; 4/2
        // to 5, 6.
        avg_pool1d_backward(&g, false, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        let third = 2.0 / 3.0;
        assert_eq!(dx, [0.5, 0.5 + third, third, third + 1.0, 1.0, 3.0, 2.0]);
    }

    /// Ties go to the first maximal element: in `[2, 2, 1, 2]` with kernel 2, stride 1, the
    /// windows `[2, 2]`, `[2, 1]`, `[1, 2]` send their gradients to indices 0, 1 and 3.
    #[test]
    fn ties_go_to_the_first_maximum() {
        let g = pool1d(1, 4, (2, 1, 1, (0, 0)));
        let mut dx = [0.0; 4];
        max_pool1d_backward(&g, &[2.0, 2.0, 1.0, 2.0], &[1.0, 10.0, 100.0], &mut dx);
        assert_eq!(dx, [1.0, 10.0, 0.0, 100.0]);
        // In 2-d the order is row-major: the window `[[5, 5], [5, 5]]` picks its top left.
        let g = pool2d(1, (2, 2), (2, 1, 1, (0, 0)), (2, 1, 1, (0, 0)));
        let mut dx = [0.0; 4];
        max_pool2d_backward(&g, &[5.0; 4], &[1.0], &mut dx);
        assert_eq!(dx, [1.0, 0.0, 0.0, 0.0]);
    }

    /// x = `[[1, 2, 3], [4, 5, 6], [7, 8, 9]]`, 2 x 2 windows, stride 1, no padding: maxima
    /// `[[5, 6], [8, 9]]`, means `[[12/4, 16/4], [24/4, 28/4]]` = `[[3, 4], [6, 7]]`. With
    /// padding (1, 0) on both axes and stride 2 the windows start at (-1, -1) and (1, 1) on
    /// each axis: `[[pad, pad], [pad, 1]]` etc., maxima `[[1, 3], [7, 9]]`.
    #[test]
    fn hand_computed_2d() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let g = pool2d(1, (3, 3), (2, 1, 1, (0, 0)), (2, 1, 1, (0, 0)));
        let mut y = [0.0; 4];
        max_pool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [5.0, 6.0, 8.0, 9.0]);
        avg_pool2d_forward(&g, true, &x, &mut y);
        assert_eq!(y, [3.0, 4.0, 6.0, 7.0]);
        let g = pool2d(1, (3, 3), (2, 2, 1, (1, 0)), (2, 2, 1, (1, 0)));
        max_pool2d_forward(&g, &x, &mut y);
        assert_eq!(y, [1.0, 3.0, 7.0, 9.0]);
        // Divisors without padding: 1, 2, 2, 4 inputs; x sums 1, 2 + 3, 4 + 7, 5 + 6 + 8 + 9.
        avg_pool2d_forward(&g, false, &x, &mut y);
        assert_eq!(y, [1.0, 2.5, 5.5, 7.0]);
    }

    /// `(channels, len) = (2, 3)`: means `[2, 5]` of `[1, 2, 3]` and `[4, 5, 6]`; each input's
    /// gradient is its channel's delta over 3.
    #[test]
    fn hand_computed_global_average() {
        let g = GlobalPoolGeometry::new_or_panic(2, 3);
        let mut y = [0.0; 2];
        global_avg_pool_forward(&g, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &mut y);
        assert_eq!(y, [2.0, 5.0]);
        let mut dx = [0.0; 6];
        global_avg_pool_backward(&g, &[3.0, -6.0], &mut dx);
        assert_eq!(dx, [1.0, 1.0, 1.0, -2.0, -2.0, -2.0]);
    }

    /// Central differences of `sum(y * delta)` against the backward pass; max pooling's inputs
    /// are spaced by at least 1e-2, so that no step of 1e-6 changes an argmax.
    fn check_1d(g: Pool1dGeometry, seed: u64) {
        let x = spaced(seed, g.input_size());
        let delta = numbers(seed + 1, g.output_size());
        let mut dx = vec![0.0; g.input_size()];
        max_pool1d_backward(&g, &x, &delta, &mut dx);
        let numeric = numeric_gradient(&x, |x| {
            let mut y = vec![0.0; g.output_size()];
            max_pool1d_forward(&g, x, &mut y);
            dot(&y, &delta)
        });
        assert_relative(&dx, &numeric, 1e-6, "max dx");
        for include in [true, false] {
            avg_pool1d_backward(&g, include, &delta, &mut dx);
            let numeric = numeric_gradient(&x, |x| {
                let mut y = vec![0.0; g.output_size()];
                avg_pool1d_forward(&g, include, x, &mut y);
                dot(&y, &delta)
            });
            assert_relative(&dx, &numeric, 1e-6, "avg dx");
        }
    }

    fn check_2d(g: Pool2dGeometry, seed: u64) {
        let x = spaced(seed, g.input_size());
        let delta = numbers(seed + 1, g.output_size());
        let mut dx = vec![0.0; g.input_size()];
        max_pool2d_backward(&g, &x, &delta, &mut dx);
        let numeric = numeric_gradient(&x, |x| {
            let mut y = vec![0.0; g.output_size()];
            max_pool2d_forward(&g, x, &mut y);
            dot(&y, &delta)
        });
        assert_relative(&dx, &numeric, 1e-6, "max dx");
        for include in [true, false] {
            avg_pool2d_backward(&g, include, &delta, &mut dx);
            let numeric = numeric_gradient(&x, |x| {
                let mut y = vec![0.0; g.output_size()];
                avg_pool2d_forward(&g, include, x, &mut y);
                dot(&y, &delta)
            });
            assert_relative(&dx, &numeric, 1e-6, "avg dx");
        }
    }

    /// A shuffle of `0, 1e-2, 2e-2, ...`: pseudo-random, with no two values closer than 1e-2.
    fn spaced(seed: u64, n: usize) -> Vec<f64> {
        let keys = numbers(seed, n);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        let mut x = vec![0.0; n];
        for (rank, &i) in order.iter().enumerate() {
            x[i] = rank as f64 * 1e-2 - 0.5;
        }
        x
    }

    /// The layer's batch passes over windows that tile the planes (the unrolled loops) against
    /// the geometry's per-sample functions, on ties (small integers), a window with one NaN and
    /// one with two, rows and columns no window covers, in f64 and f32.
    fn check_tiled_layer<
        T: Scalar,
        const C: usize,
        const K: usize,
        const H: usize,
        const W: usize,
        const HOUT: usize,
        const WOUT: usize,
        const IN: usize,
        const OUT: usize,
    >() {
        // `v != v` is NaN.
        #[allow(clippy::eq_op)]
        let nan = |v: T| v != v;
        let layer = MaxPool2d::<C, K, K, 0, H, W, HOUT, WOUT, T>::new();
        let g = MaxPool2d::<C, K, K, 0, H, W, HOUT, WOUT, T>::GEOMETRY;
        let batch = 3;
        let mut x: Vec<T> = (0..IN * batch)
            .map(|i| T::cast_from(((i * 7) % 5) as f64 - 2.0))
            .collect();
        // Sample 1's first window: one NaN; sample 2's first window: two.
        x[IN] = T::cast_from(f64::NAN);
        x[2 * IN + 1] = T::cast_from(f64::NAN);
        x[2 * IN + W] = T::cast_from(f64::NAN);
        let delta: Vec<T> = (1..=OUT * batch).map(|i| T::cast_from(i as f64)).collect();
        let mut y = vec![T::zero(); OUT * batch];
        layer.forward_batch(
            crate::columns::<T, IN>(&x),
            &mut [],
            crate::columns_mut::<T, OUT>(&mut y),
            &mut Phase::Inference,
        );
        let mut d = delta.clone();
        let mut dx = vec![T::cast_from(7.0); IN * batch];
        layer.backward_batch(
            crate::columns::<T, IN>(&x),
            &[],
            crate::columns::<T, OUT>(&y),
            crate::columns_mut::<T, OUT>(&mut d),
            None,
            Some(crate::columns_mut::<T, IN>(&mut dx)),
        );
        for sample in 0..batch {
            let (xs, ys) = (&x[sample * IN..][..IN], &y[sample * OUT..][..OUT]);
            let mut expected_y = vec![T::zero(); OUT];
            max_pool2d_forward(&g, xs, &mut expected_y);
            let same = |a: T, b: T| a == b || (nan(a) && nan(b));
            assert!(ys.iter().zip(&expected_y).all(|(&a, &b)| same(a, b)));
            let mut expected_dx = vec![T::zero(); IN];
            max_pool2d_backward(&g, xs, &delta[sample * OUT..][..OUT], &mut expected_dx);
            assert_eq!(
                &dx[sample * IN..][..IN],
                &expected_dx[..],
                "sample {sample}"
            );
        }
        assert!(nan(y[OUT]) && y[2 * OUT..].iter().any(|&v| nan(v)));
    }

    #[test]
    fn tiled_windows_match_the_geometry() {
        check_tiled_layer::<f64, 2, 2, 5, 4, 2, 2, 40, 8>();
        check_tiled_layer::<f64, 3, 3, 6, 7, 2, 2, 126, 12>();
        check_tiled_layer::<f32, 16, 2, 8, 8, 4, 4, 1024, 256>();
        check_tiled_layer::<f32, 1, 1, 2, 3, 2, 3, 6, 6>();
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_1d(pool1d(2, 9, (3, 2, 1, (1, 1))), 1);
        check_1d(pool1d(3, 10, (2, 2, 1, (0, 0))), 2);
        check_1d(pool1d(2, 11, (3, 1, 2, (2, 0))), 3);
        check_1d(pool1d(1, 8, (4, 3, 1, (0, 2))), 4);
        check_2d(pool2d(2, (5, 6), (2, 2, 1, (0, 1)), (3, 1, 1, (1, 1))), 5);
        check_2d(pool2d(2, (7, 5), (3, 2, 2, (1, 0)), (2, 1, 1, (0, 0))), 6);
        let x = numbers(7, 12);
        let delta = numbers(8, 3);
        let mut dx = vec![0.0; 12];
        let g = GlobalPoolGeometry::new_2d(3, (2, 2)).unwrap();
        global_avg_pool_backward(&g, &delta, &mut dx);
        let numeric = numeric_gradient(&x, |x| {
            let mut y = vec![0.0; 3];
            global_avg_pool_forward(&g, x, &mut y);
            dot(&y, &delta)
        });
        assert_relative(&dx, &numeric, 1e-6, "global dx");
    }

    fn reference_1d(case: &reference::Pool1dCase) -> Pool1dGeometry {
        pool1d(
            case.channels,
            case.len,
            (case.kernel, case.stride, case.dilation, case.padding),
        )
    }

    fn reference_2d(case: &reference::Pool2dCase) -> Pool2dGeometry {
        pool2d(
            case.channels,
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

    /// Runs every reference case in `T`, comparing within `tolerance`.
    fn check_reference<T: Scalar>(cast: fn(&[f64]) -> Vec<T>, tolerance: f64) {
        let back = |v: &[T]| v.iter().map(|x| x.as_f64()).collect::<Vec<_>>();
        for case in reference::POOL1D {
            let g = reference_1d(case);
            let (x, d) = (cast(case.input), cast(case.delta));
            let mut y = vec![T::zero(); g.output_size()];
            let mut dx = vec![T::zero(); g.input_size()];
            if case.max {
                max_pool1d_forward(&g, &x, &mut y);
                max_pool1d_backward(&g, &x, &d, &mut dx);
            } else {
                avg_pool1d_forward(&g, case.count_include_pad, &x, &mut y);
                avg_pool1d_backward(&g, case.count_include_pad, &d, &mut dx);
            }
            assert_close(&back(&y), case.output, tolerance, case.name);
            assert_close(&back(&dx), case.input_gradient, tolerance, case.name);
        }
        for case in reference::POOL2D {
            let g = reference_2d(case);
            let (x, d) = (cast(case.input), cast(case.delta));
            let mut y = vec![T::zero(); g.output_size()];
            let mut dx = vec![T::zero(); g.input_size()];
            if case.max {
                max_pool2d_forward(&g, &x, &mut y);
                max_pool2d_backward(&g, &x, &d, &mut dx);
            } else {
                avg_pool2d_forward(&g, case.count_include_pad, &x, &mut y);
                avg_pool2d_backward(&g, case.count_include_pad, &d, &mut dx);
            }
            assert_close(&back(&y), case.output, tolerance, case.name);
            assert_close(&back(&dx), case.input_gradient, tolerance, case.name);
        }
        for case in reference::GLOBAL_AVG_POOL {
            let (x, d) = (cast(case.input), cast(case.delta));
            let mut y = vec![T::zero(); case.channels];
            let mut dx = vec![T::zero(); case.input.len()];
            let g =
                GlobalPoolGeometry::new_or_panic(case.channels, case.input.len() / case.channels);
            global_avg_pool_forward(&g, &x, &mut y);
            global_avg_pool_backward(&g, &d, &mut dx);
            assert_close(&back(&y), case.output, tolerance, case.name);
            assert_close(&back(&dx), case.input_gradient, tolerance, case.name);
        }
    }

    #[test]
    fn matches_pytorch_in_f64() {
        check_reference::<f64>(|v| v.to_vec(), 1e-9);
    }

    /// A maximum is its input rounded to `f32` (within 3e-8 of the `f64` value below 0.5 in
    /// magnitude) and a mean of at most 6 numbers adds a few roundings of 6e-8 relative: within
    /// 1e-7. The reference inputs are spaced so that rounding to `f32` changes no argmax.
    #[test]
    fn matches_pytorch_in_f32() {
        check_reference::<f32>(to_f32, 1e-7);
    }
}
