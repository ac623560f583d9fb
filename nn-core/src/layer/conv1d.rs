//! One-dimensional convolution (PyTorch's `Conv1d`, a cross-correlation) on one sample.
//!
//! # Shapes
//!
//! - input: `(in_channels, len)`, channel-major;
//! - weight: `[out_channels][in_channels][kernel]`, bias: `[out_channels]`;
//! - output: `(out_channels, out_len)` with `out_len` from [`Window::output_len`].

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::patches::{self, Kernel, Patches};
use super::window::{Padding, Window};
use super::{FlatWidths, HasGradients, Layer, Phase};
use crate::init::uniform;
use crate::{
    Activation, Columns, ColumnsMut, Identity, Init, Largest, Layout, Parameters, Scalar,
    TensorInfo,
};

/// The shapes of a one-dimensional convolution, checked once so that the kernels cannot fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv1dGeometry {
    in_channels: usize,
    out_channels: usize,
    len: usize,
    window: Window,
    out_len: usize,
}

impl Conv1dGeometry {
    /// The geometry, or `None` when a channel count is zero, the padded input is shorter than
    /// one window, or a buffer's length would overflow `usize`.
    #[must_use]
    pub const fn new(
        in_channels: usize,
        out_channels: usize,
        len: usize,
        window: Window,
    ) -> Option<Self> {
        if in_channels == 0 || out_channels == 0 {
            return None;
        }
        let Some(out_len) = window.output_len(len) else {
            return None;
        };
        let geometry = Self {
            in_channels,
            out_channels,
            len,
            window,
            out_len,
        };
        let sizes = (
            in_channels.checked_mul(len),
            out_channels.checked_mul(out_len),
            geometry.weight_size_checked(),
        );
        match sizes {
            (Some(_), Some(_), Some(_)) => Some(geometry),
            _ => None,
        }
    }

    /// As [`new`](Self::new), for `const` items: impossible geometry panics, which in a
    /// constant is a compile error.
    #[must_use]
    pub const fn new_or_panic(
        in_channels: usize,
        out_channels: usize,
        len: usize,
        window: Window,
    ) -> Self {
        match Self::new(in_channels, out_channels, len, window) {
            Some(geometry) => geometry,
            None => panic!("impossible Conv1d geometry: no window fits the padded input"),
        }
    }

    const fn weight_size_checked(&self) -> Option<usize> {
        match self.out_channels.checked_mul(self.in_channels) {
            Some(pairs) => pairs.checked_mul(self.window.kernel()),
            None => None,
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

    /// Input length (named so that clippy does not ask for `is_empty`).
    #[inline]
    #[must_use]
    pub const fn input_len(&self) -> usize {
        self.len
    }

    /// Output length.
    #[inline]
    #[must_use]
    pub const fn out_len(&self) -> usize {
        self.out_len
    }

    /// The sliding window.
    #[inline]
    #[must_use]
    pub const fn window(&self) -> Window {
        self.window
    }

    /// Numbers in one input sample: `in_channels * len`.
    #[inline]
    #[must_use]
    pub const fn input_size(&self) -> usize {
        self.in_channels * self.len
    }

    /// Numbers in one output sample: `out_channels * out_len`.
    #[inline]
    #[must_use]
    pub const fn output_size(&self) -> usize {
        self.out_channels * self.out_len
    }

    /// Numbers in the weight: `out_channels * in_channels * kernel`.
    #[inline]
    #[must_use]
    pub const fn weight_size(&self) -> usize {
        self.out_channels * self.in_channels * self.window.kernel()
    }

    #[inline]
    fn debug_check_lengths<T>(&self, input: &[T], weight: &[T], bias: &[T], output: &[T]) {
        debug_assert_eq!(input.len(), self.input_size(), "Conv1d input length");
        debug_assert_eq!(weight.len(), self.weight_size(), "Conv1d weight length");
        debug_assert_eq!(bias.len(), self.out_channels, "Conv1d bias length");
        debug_assert_eq!(output.len(), self.output_size(), "Conv1d output length");
    }
}

impl Patches for Conv1dGeometry {
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
        self.in_channels * self.window.kernel()
    }

    #[inline]
    fn positions(&self) -> usize {
        self.out_len
    }

    #[inline]
    fn gather<T: Scalar>(&self, row: usize, input: &[T], out: &mut [T]) {
        let (channel, k) = (row / self.window.kernel(), row % self.window.kernel());
        let x = &input[channel * self.len..][..self.len];
        let (range, first) = self.window.tap(k, self.len, self.out_len);
        out.fill(T::zero());
        let xs = x[first..].iter().step_by(self.window.stride());
        for (y, &x) in out[range].iter_mut().zip(xs) {
            *y = x;
        }
    }

    #[inline]
    fn scatter<T: Scalar>(&self, row: usize, values: &[T], input_gradient: &mut [T]) {
        let (channel, k) = (row / self.window.kernel(), row % self.window.kernel());
        let dx = &mut input_gradient[channel * self.len..][..self.len];
        let (range, first) = self.window.tap(k, self.len, self.out_len);
        let dxs = dx[first..].iter_mut().step_by(self.window.stride());
        for (dx, &v) in dxs.zip(&values[range]) {
            *dx += v;
        }
    }
}

/// Writes `output = bias + weight (*) input` for one sample.
pub fn conv1d_forward<T: Scalar>(
    geometry: &Conv1dGeometry,
    input: &[T],
    weight: &[T],
    bias: &[T],
    output: &mut [T],
) {
    geometry.debug_check_lengths(input, weight, bias, output);
    let (len, out_len, window) = (geometry.len, geometry.out_len, geometry.window);
    let per_out = geometry.in_channels * window.kernel();
    let rows = output
        .chunks_exact_mut(out_len)
        .zip(weight.chunks_exact(per_out));
    for ((out_row, w_out), &b) in rows.zip(bias) {
        out_row.fill(b);
        for (x_row, taps) in input
            .chunks_exact(len)
            .zip(w_out.chunks_exact(window.kernel()))
        {
            for (k, &w) in taps.iter().enumerate() {
                let (range, first) = window.tap(k, len, out_len);
                let xs = x_row[first..].iter().step_by(window.stride());
                for (y, &x) in out_row[range].iter_mut().zip(xs) {
                    *y += w * x;
                }
            }
        }
    }
}

/// Back-propagates `delta`, the loss's gradient with respect to one sample's output: adds the
/// weight and bias gradients to `weight_gradient` and `bias_gradient` (so that a batch loop
/// sums them) and, when given, writes the gradient with respect to `input` to
/// `input_gradient`.
pub fn conv1d_backward<T: Scalar>(
    geometry: &Conv1dGeometry,
    input: &[T],
    weight: &[T],
    delta: &[T],
    weight_gradient: &mut [T],
    bias_gradient: &mut [T],
    input_gradient: Option<&mut [T]>,
) {
    geometry.debug_check_lengths(input, weight, bias_gradient, delta);
    debug_assert_eq!(weight_gradient.len(), geometry.weight_size());
    let (len, out_len, window) = (geometry.len, geometry.out_len, geometry.window);
    let (kernel, stride) = (window.kernel(), window.stride());
    let per_out = geometry.in_channels * kernel;
    let rows = delta
        .chunks_exact(out_len)
        .zip(weight_gradient.chunks_exact_mut(per_out));
    for ((d_row, gw_out), gb) in rows.zip(bias_gradient.iter_mut()) {
        *gb += d_row.iter().fold(T::zero(), |sum, &d| sum + d);
        for (x_row, g_taps) in input.chunks_exact(len).zip(gw_out.chunks_exact_mut(kernel)) {
            for (k, g) in g_taps.iter_mut().enumerate() {
                let (range, first) = window.tap(k, len, out_len);
                let xs = x_row[first..].iter().step_by(stride);
                *g += d_row[range]
                    .iter()
                    .zip(xs)
                    .fold(T::zero(), |sum, (&d, &x)| sum + d * x);
            }
        }
    }
    let Some(input_gradient) = input_gradient else {
        return;
    };
    debug_assert_eq!(input_gradient.len(), geometry.input_size());
    input_gradient.fill(T::zero());
    for (d_row, w_out) in delta
        .chunks_exact(out_len)
        .zip(weight.chunks_exact(per_out))
    {
        let rows = input_gradient
            .chunks_exact_mut(len)
            .zip(w_out.chunks_exact(kernel));
        for (dx_row, taps) in rows {
            for (k, &w) in taps.iter().enumerate() {
                let (range, first) = window.tap(k, len, out_len);
                let dxs = dx_row[first..].iter_mut().step_by(stride);
                for (dx, &d) in dxs.zip(&d_row[range]) {
                    *dx += w * d;
                }
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

    fn geometry(
        in_channels: usize,
        out_channels: usize,
        len: usize,
        (kernel, stride, dilation): (usize, usize, usize),
        (left, right): (usize, usize),
    ) -> Conv1dGeometry {
        let window = Window::new(kernel, stride, dilation, Padding::new(left, right)).unwrap();
        Conv1dGeometry::new(in_channels, out_channels, len, window).unwrap()
    }

    #[test]
    fn impossible_geometry_is_refused() {
        let window = Window::new(3, 1, 2, Padding::VALID).unwrap();
        assert_eq!(Conv1dGeometry::new(1, 1, 4, window), None);
        assert_eq!(Conv1dGeometry::new(0, 1, 8, window), None);
        assert_eq!(Conv1dGeometry::new(1, 0, 8, window), None);
        assert_eq!(Conv1dGeometry::new(usize::MAX, 2, 8, window), None);
        const SAME: Conv1dGeometry = Conv1dGeometry::new_or_panic(
            2,
            3,
            7,
            match Padding::same(4, 1, 1) {
                Some(padding) => match Window::new(4, 1, 1, padding) {
                    Some(window) => window,
                    None => panic!(),
                },
                None => panic!(),
            },
        );
        assert_eq!(SAME.out_len(), 7);
        assert_eq!(SAME.weight_size(), 24);
    }

    /// One input channel `[1, 2, 3, 4, 5]`, kernel `[1, 0, -1]`, bias 0.5, stride 2, padding
    /// (1, 0): the padded input is `[0, 1, 2, 3, 4, 5]` and out_len = (5 + 1 - 2 - 1)/2 + 1 = 2.
    /// Output 0 reads `[0, 1, 2]`: 0 - 2 + 0.5 = -1.5; output 1 reads `[2, 3, 4]`: 2 - 4 + 0.5
    /// = -1.5. With dilation 2 and no padding, out_len = (5 - 4 - 1)/1 + 1 = 1 and the window
    /// reads `[1, 3, 5]`: 1 - 5 + 0.5 = -3.5.
    #[test]
    fn hand_computed_forward() {
        let g = geometry(1, 1, 5, (3, 2, 1), (1, 0));
        let input = [1.0, 2.0, 3.0, 4.0, 5.0];
        let mut out = [0.0; 2];
        conv1d_forward(&g, &input, &[1.0, 0.0, -1.0], &[0.5], &mut out);
        assert_eq!(out, [-1.5, -1.5]);
        let g = geometry(1, 1, 5, (3, 1, 2), (0, 0));
        let mut out = [0.0; 1];
        conv1d_forward(&g, &input, &[1.0, 0.0, -1.0], &[0.5], &mut out);
        assert_eq!(out, [-3.5]);
    }

    /// Two input channels, kernel 2, one output channel, no padding: x = `[[1, 2, 3], [4, 5,
    /// 6]]`, w = `[[1, 2], [3, 4]]`, delta = `[1, -1]`; output t is `x0[t] + 2 x0[t+1] + 3
    /// x1[t] + 4 x1[t+1]`. dW[i][k] = sum_t delta[t] x_i[t + k]: dW[0] = [1 - 2, 2 - 3] = [-1,
    /// -1], dW[1] = [4 - 5, 5 - 6] = [-1, -1]; db = 0. dx_i[j] = sum over t + k = j of
    /// delta[t] w[i][k]: dx0 = [1, 2 - 1, -2] = [1, 1, -2], dx1 = [3, 4 - 3, -4] = [3, 1, -4].
    /// Gradients add onto what is there (1 everywhere here).
    #[test]
    fn hand_computed_backward_accumulates() {
        let g = geometry(2, 1, 3, (2, 1, 1), (0, 0));
        let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let weight = [1.0, 2.0, 3.0, 4.0];
        let mut gw = [1.0; 4];
        let mut gb = [1.0];
        let mut dx = [7.0; 6];
        conv1d_backward(
            &g,
            &input,
            &weight,
            &[1.0, -1.0],
            &mut gw,
            &mut gb,
            Some(&mut dx),
        );
        assert_eq!(gw, [0.0, 0.0, 0.0, 0.0]);
        assert_eq!(gb, [1.0]);
        assert_eq!(dx, [1.0, 1.0, -2.0, 3.0, 1.0, -4.0]);
    }

    fn check_gradients(g: Conv1dGeometry, seed: u64) {
        let input = numbers(seed, g.input_size());
        let weight = numbers(seed + 1, g.weight_size());
        let bias = numbers(seed + 2, g.out_channels());
        let delta = numbers(seed + 3, g.output_size());
        let loss = |x: &[f64], w: &[f64], b: &[f64]| {
            let mut out = vec![0.0; g.output_size()];
            conv1d_forward(&g, x, w, b, &mut out);
            dot(&out, &delta)
        };
        let mut gw = vec![0.0; g.weight_size()];
        let mut gb = vec![0.0; g.out_channels()];
        let mut dx = vec![0.0; g.input_size()];
        conv1d_backward(&g, &input, &weight, &delta, &mut gw, &mut gb, Some(&mut dx));
        let numeric_w = numeric_gradient(&weight, |w| loss(&input, w, &bias));
        let numeric_b = numeric_gradient(&bias, |b| loss(&input, &weight, b));
        let numeric_x = numeric_gradient(&input, |x| loss(x, &weight, &bias));
        assert_relative(&gw, &numeric_w, 1e-6, "dW");
        assert_relative(&gb, &numeric_b, 1e-6, "db");
        assert_relative(&dx, &numeric_x, 1e-6, "dx");
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_gradients(geometry(2, 3, 9, (3, 1, 1), (0, 0)), 1);
        check_gradients(geometry(3, 2, 11, (3, 2, 1), (1, 2)), 2);
        check_gradients(geometry(2, 2, 10, (3, 3, 2), (2, 0)), 3);
        check_gradients(geometry(1, 4, 6, (4, 1, 1), (1, 2)), 4);
        check_gradients(geometry(2, 1, 5, (2, 2, 3), (0, 3)), 5);
    }

    fn reference_geometry(case: &reference::Conv1dCase) -> Conv1dGeometry {
        geometry(
            case.in_channels,
            case.out_channels,
            case.len,
            (case.kernel, case.stride, case.dilation),
            case.padding,
        )
    }

    #[test]
    fn matches_pytorch_in_f64() {
        for case in reference::CONV1D {
            let g = reference_geometry(case);
            let mut out = vec![0.0; g.output_size()];
            conv1d_forward(&g, case.input, case.weight, case.bias, &mut out);
            assert_close(&out, case.output, 1e-9, case.name);
            let mut gw = vec![0.0; g.weight_size()];
            let mut gb = vec![0.0; g.out_channels()];
            let mut dx = vec![0.0; g.input_size()];
            conv1d_backward(
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

    /// In `f32` each output or gradient is a sum of at most a few dozen products of numbers below
    /// 1 in magnitude, each rounding by `f32`'s relative 6e-8: within 1e-6 (under 3e-7 was
    /// measured).
    #[test]
    fn matches_pytorch_in_f32() {
        for case in reference::CONV1D {
            let g = reference_geometry(case);
            let (x, w, b, d) = (
                to_f32(case.input),
                to_f32(case.weight),
                to_f32(case.bias),
                to_f32(case.delta),
            );
            let mut out = vec![0.0f32; g.output_size()];
            conv1d_forward(&g, &x, &w, &b, &mut out);
            assert_close(&to_f64(&out), case.output, 1e-6, case.name);
            let mut gw = vec![0.0f32; g.weight_size()];
            let mut gb = vec![0.0f32; g.out_channels()];
            let mut dx = vec![0.0f32; g.input_size()];
            conv1d_backward(&g, &x, &w, &d, &mut gw, &mut gb, Some(&mut dx));
            assert_close(&to_f64(&gw), case.weight_gradient, 1e-6, case.name);
            assert_close(&to_f64(&gb), case.bias_gradient, 1e-6, case.name);
            assert_close(&to_f64(&dx), case.input_gradient, 1e-6, case.name);
        }
    }
}

/// The output length of a window over `len` numbers: what the `network!` macro writes for
/// layers whose lengths are const items. A window that does not fit is a compile error there.
#[doc(hidden)]
#[must_use]
pub const fn window_len(
    len: usize,
    kernel: usize,
    stride: usize,
    before: usize,
    after: usize,
    dilation: usize,
) -> usize {
    let Some(window) = Window::new(kernel, stride, dilation, Padding::new(before, after)) else {
        panic!("a window needs a kernel, a stride and a dilation of at least 1");
    };
    match window.output_len(len) {
        Some(out) => out,
        None => panic!("the kernel is longer than the padded input: no window fits"),
    }
}

/// A one-dimensional convolution over (channels, length) samples, as PyTorch's `nn.Conv1d`
/// computes it (a cross-correlation), followed by the activation `A`.
///
/// In `network!` it is written `Conv1d<IN_CHANNELS, OUT_CHANNELS, KERNEL>`, optionally followed
/// by `STRIDE`, `PADDING` (zeros on each side, `Same` or `Valid`), `DILATION` and an activation;
/// the macro works out the rest of this type from the input's shape: `PL` and `PR` are the zeros
/// before and after, `L` the input length and `LOUT` the output length,
/// `(L + PL + PR - D (K - 1) - 1) / S + 1`.
///
/// # Shapes
///
/// | value | shape | layout |
/// | --- | --- | --- |
/// | input | (CIN, L) | channel by channel, PyTorch's order |
/// | `weight` | (COUT, CIN, K) | `weight[o][i][k]`, PyTorch's `weight` |
/// | `bias` | (COUT) | one per output channel |
/// | output | (COUT, LOUT) | channel by channel |
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     #[input_shape(1, 5)]
///     struct Smooth(Conv1d<1, 1, 2>);
/// }
/// let mut net = Smooth::zeros();
/// net.0.weight = [[[0.5, 0.5]]];
/// let y = net.forward(&SVector::from([1.0, 3.0, 5.0, 7.0, 9.0]));
/// assert_eq!(y, SVector::from([2.0, 4.0, 6.0, 8.0]));
/// ```
#[derive(Clone, Copy, Debug, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct Conv1d<
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
    T = f32,
> {
    /// `weight[o][i][k]`: output channel `o`'s tap `k` on input channel `i`.
    pub weight: [[[T; K]; CIN]; COUT],
    /// One bias per output channel.
    pub bias: [T; COUT],
    activation: PhantomData<A>,
}

/// The gradient of a loss with respect to a [`Conv1d`] layer's parameters, in the same shapes.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct Conv1dGradients<const CIN: usize, const COUT: usize, const K: usize, T = f32> {
    /// `d loss / d weight`.
    pub weight: [[[T; K]; CIN]; COUT],
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
    const PL: usize,
    const PR: usize,
    const D: usize,
    const L: usize,
    const LOUT: usize,
> PartialEq for Conv1d<CIN, COUT, K, S, PL, PR, D, L, LOUT, A, T>
{
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

/// The tensors of a convolution, under PyTorch's names and shapes: the kernel
/// `(out, in, k)`, then the bias, both in PyTorch's contiguous order.
fn conv_tensor_info<const CIN: usize, const COUT: usize, const K: usize>(
    index: usize,
) -> Option<TensorInfo> {
    match index {
        0 => Some(TensorInfo {
            layer: "",
            name: "weight",
            shape: const { &[COUT, CIN, K] },
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

macro_rules! conv_tensors {
    () => {
        #[inline]
        fn tensor(&self, index: usize) -> &[T] {
            match index {
                0 => self.weight.as_flattened().as_flattened(),
                1 => &self.bias,
                _ => &[],
            }
        }

        #[inline]
        fn tensor_mut(&mut self, index: usize) -> &mut [T] {
            match index {
                0 => self.weight.as_flattened_mut().as_flattened_mut(),
                1 => &mut self.bias,
                _ => &mut [],
            }
        }

        #[inline]
        fn tensor_info(index: usize) -> Option<TensorInfo> {
            conv_tensor_info::<CIN, COUT, K>(index)
        }
    };
}

impl<const CIN: usize, const COUT: usize, const K: usize, T: Scalar> Parameters<T>
    for Conv1dGradients<CIN, COUT, K, T>
{
    const TENSORS: usize = 2;
    const PARAMETERS: usize = COUT * CIN * K + COUT;

    #[inline]
    fn zeros() -> Self {
        Self {
            weight: [[[T::zero(); K]; CIN]; COUT],
            bias: [T::zero(); COUT],
        }
    }

    conv_tensors!();
}

impl<
    A,
    T: Scalar,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const L: usize,
    const LOUT: usize,
> Parameters<T> for Conv1d<CIN, COUT, K, S, PL, PR, D, L, LOUT, A, T>
{
    const TENSORS: usize = 2;
    const PARAMETERS: usize = COUT * CIN * K + COUT;

    #[inline]
    fn zeros() -> Self {
        Self {
            weight: [[[T::zero(); K]; CIN]; COUT],
            bias: [T::zero(); COUT],
            activation: PhantomData,
        }
    }

    conv_tensors!();
}

impl<
    A,
    T: Scalar,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const L: usize,
    const LOUT: usize,
> HasGradients<T> for Conv1d<CIN, COUT, K, S, PL, PR, D, L, LOUT, A, T>
{
    type Gradients = Conv1dGradients<CIN, COUT, K, T>;
}

impl<
    A,
    T: Scalar,
    const CIN: usize,
    const COUT: usize,
    const K: usize,
    const S: usize,
    const PL: usize,
    const PR: usize,
    const D: usize,
    const L: usize,
    const LOUT: usize,
> Conv1d<CIN, COUT, K, S, PL, PR, D, L, LOUT, A, T>
{
    /// The geometry, checked where the layer is used: a window that cannot fit, or a length
    /// that does not follow from the others, does not compile.
    pub(crate) const GEOMETRY: Conv1dGeometry = {
        let Some(window) = Window::new(K, S, D, Padding::new(PL, PR)) else {
            panic!("a Conv1d needs a kernel, a stride and a dilation of at least 1");
        };
        let geometry = Conv1dGeometry::new_or_panic(CIN, COUT, L, window);
        assert!(
            geometry.out_len() == LOUT,
            "a Conv1d's output length must follow from its input length and window"
        );
        geometry
    };

    /// A layer with the given kernel and biases.
    #[must_use]
    pub const fn from_parts(weight: [[[T; K]; CIN]; COUT], bias: [T; COUT]) -> Self {
        Self {
            weight,
            bias,
            activation: PhantomData,
        }
    }

    /// The parameter gradients of one sample's delta added to `gradients`, and the input's
    /// gradient written to `input_gradient` when given.
    #[inline]
    fn accumulate(
        &self,
        input: &[T],
        delta: &[T],
        gradients: &mut Conv1dGradients<CIN, COUT, K, T>,
        input_gradient: Option<&mut [T]>,
    ) {
        conv1d_backward(
            &Self::GEOMETRY,
            input,
            self.weight.as_flattened().as_flattened(),
            delta,
            gradients.weight.as_flattened_mut().as_flattened_mut(),
            &mut gradients.bias,
            input_gradient,
        );
    }

    /// `w <- w - learning_rate * g` for every parameter.
    #[inline]
    fn step(&mut self, gradients: &Conv1dGradients<CIN, COUT, K, T>, learning_rate: T) {
        let weights = self.weight.as_flattened_mut().as_flattened_mut();
        for (w, &g) in weights
            .iter_mut()
            .zip(gradients.weight.as_flattened().as_flattened())
        {
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
    const PL: usize,
    const PR: usize,
    const D: usize,
    const L: usize,
    const LOUT: usize,
    const IN: usize,
    const OUT: usize,
> Layer<T, IN, OUT> for Conv1d<CIN, COUT, K, S, PL, PR, D, L, LOUT, A, T>
{
    /// The pre-activation (and, for a batch, after it every sample's patch matrix).
    type Cache = SVector<T, OUT>;

    #[inline(always)]
    fn cache_len(batch: usize) -> usize {
        OUT * batch + patches::patches_len(&Self::GEOMETRY, batch)
    }

    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        // PyTorch's and Keras's fans for a convolution: channels times kernel taps.
        let limit = init.limit(CIN * K, COUT * K);
        for w in self.weight.as_flattened_mut().as_flattened_mut() {
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
        let () = FlatWidths::<IN, OUT, CIN, L, COUT, LOUT>::MATCH;
        let _ = Self::GEOMETRY;
        let mut z = SVector::<T, OUT>::zeros();
        let weight = self.weight.as_flattened().as_flattened();
        patches::forward_single(
            &Self::GEOMETRY,
            weight,
            &self.bias,
            input.as_slice(),
            z.as_mut_slice(),
            |z| conv1d_forward(&Self::GEOMETRY, input.as_slice(), weight, &self.bias, z),
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
        let () = FlatWidths::<IN, OUT, CIN, L, COUT, LOUT>::MATCH;
        let kernel = Kernel {
            weight: self.weight.as_flattened().as_flattened(),
            bias: &self.bias,
        };
        patches::forward_batch::<T, A, _, OUT>(
            &Self::GEOMETRY,
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
            let mut scratch = Conv1dGradients::zeros();
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
        let mut gradients = Conv1dGradients::zeros();
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
        let mut transposed = Conv1dGradients::<CIN, COUT, K, T>::zeros();
        patches::backward_batch::<T, A, _, OUT>(
            &Self::GEOMETRY,
            self.weight.as_flattened().as_flattened(),
            cache,
            a.as_slice(),
            delta.as_mut_slice(),
            gradients.map(|g| {
                (
                    g.weight.as_flattened_mut().as_flattened_mut(),
                    &mut g.bias[..],
                )
            }),
            input_gradient.as_mut().map(|dx| dx.as_mut_slice()),
            transposed.weight.as_flattened_mut().as_flattened_mut(),
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
        let mut scratch = Conv1dGradients::<CIN, COUT, K, T>::zeros();
        patches::update_batch::<T, _, OUT>(
            &Self::GEOMETRY,
            (
                self.weight.as_flattened_mut().as_flattened_mut(),
                &mut self.bias,
            ),
            cache,
            delta.as_slice(),
            learning_rate,
            (
                scratch.weight.as_flattened_mut().as_flattened_mut(),
                &mut scratch.bias,
            ),
        );
    }

    #[inline(always)]
    fn bound_update(input: &[T], delta: &[T], largest: &mut Largest<T>) {
        // Each weight moves by a sum over LOUT positions (and the batch, which the limits count):
        // bound the delta side by LOUT times its largest magnitude.
        largest.include(input);
        largest.include_scaled(delta, T::cast_from(LOUT as f64));
    }
}
