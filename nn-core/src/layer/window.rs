//! Shape arithmetic of a sliding window along one axis, shared by convolutions and pooling.
//!
//! Lengths follow PyTorch's floor rule:
//! `out = (len + before + after - dilation * (kernel - 1) - 1) / stride + 1`.

use core::ops::Range;

/// Zeros added before and after one axis: (left, right) for a length or a row's columns,
/// (top, bottom) for the rows of an image.
///
/// Keras' `"valid"` is [`Padding::VALID`], PyTorch's `padding="same"` is [`Padding::same`] and
/// an explicit `padding=p` is `Padding::new(p, p)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Padding {
    /// Zeros before the first element (left or top).
    pub before: usize,
    /// Zeros after the last element (right or bottom).
    pub after: usize,
}

impl Padding {
    /// No padding.
    pub const VALID: Self = Self::new(0, 0);

    /// `before` zeros before the first element and `after` after the last.
    #[inline]
    #[must_use]
    pub const fn new(before: usize, after: usize) -> Self {
        Self { before, after }
    }

    /// PyTorch's `"same"`: `dilation * (kernel - 1)` zeros in total, the odd one after. Only
    /// stride 1 keeps the length, so any other stride (or a zero kernel or dilation) gives
    /// `None`, as PyTorch refuses it.
    #[must_use]
    pub const fn same(kernel: usize, dilation: usize, stride: usize) -> Option<Self> {
        if stride != 1 || kernel == 0 || dilation == 0 {
            return None;
        }
        let Some(total) = dilation.checked_mul(kernel - 1) else {
            return None;
        };
        Some(Self::new(total / 2, total - total / 2))
    }
}

/// A window sliding along one axis: `kernel` taps `dilation` apart, moved `stride` at a time
/// over the input padded as `padding` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
}

impl Window {
    /// A window, or `None` when the kernel, stride or dilation is zero.
    #[must_use]
    pub const fn new(
        kernel: usize,
        stride: usize,
        dilation: usize,
        padding: Padding,
    ) -> Option<Self> {
        if kernel == 0 || stride == 0 || dilation == 0 {
            return None;
        }
        Some(Self {
            kernel,
            stride,
            dilation,
            padding,
        })
    }

    /// The number of taps.
    #[inline]
    #[must_use]
    pub const fn kernel(&self) -> usize {
        self.kernel
    }

    /// The step between windows.
    #[inline]
    #[must_use]
    pub const fn stride(&self) -> usize {
        self.stride
    }

    /// The step between taps.
    #[inline]
    #[must_use]
    pub const fn dilation(&self) -> usize {
        self.dilation
    }

    /// The zeros around the input.
    #[inline]
    #[must_use]
    pub const fn padding(&self) -> Padding {
        self.padding
    }

    /// How many input positions one window spans: `dilation * (kernel - 1) + 1`.
    #[must_use]
    pub const fn span(&self) -> Option<usize> {
        match self.dilation.checked_mul(self.kernel - 1) {
            Some(reach) => reach.checked_add(1),
            None => None,
        }
    }

    /// The output length for an input of `len`, or `None` when the input is empty or the
    /// padded input is shorter than one window.
    #[must_use]
    pub const fn output_len(&self, len: usize) -> Option<usize> {
        if len == 0 {
            return None;
        }
        let (Some(span), Some(padded)) = (self.span(), padded_len(len, self.padding)) else {
            return None;
        };
        if padded < span {
            return None;
        }
        Some((padded - span) / self.stride + 1)
    }

    /// Whether every one of the `out` windows over an input of `len` covers at least one input
    /// element rather than padding only, which pooling needs for a maximum or a mean to exist.
    pub(crate) const fn every_window_touches_input(&self, len: usize, out: usize) -> bool {
        let mut t = 0;
        while t < out {
            let mut k = 0;
            let mut touches = false;
            while k < self.kernel {
                let position = t * self.stride + k * self.dilation;
                if position >= self.padding.before && position - self.padding.before < len {
                    touches = true;
                }
                k += 1;
            }
            if !touches {
                return false;
            }
            t += 1;
        }
        true
    }

    /// For tap `k`, the outputs whose tap lands on the input (not on padding) and the input
    /// index the first of them reads; output `t` of the range reads
    /// `first + (t - range.start) * stride`.
    #[inline]
    pub(crate) fn tap(&self, k: usize, len: usize, out: usize) -> (Range<usize>, usize) {
        let offset = k * self.dilation;
        let before = self.padding.before;
        // Output t reads input t * stride + offset - before, which must lie in 0..len.
        let start = if before > offset {
            (before - offset).div_ceil(self.stride)
        } else {
            0
        };
        let end = if len + before > offset {
            ((len - 1 + before - offset) / self.stride + 1).min(out)
        } else {
            0
        };
        let start = start.min(end);
        // An empty range's first index is never read.
        (
            start..end,
            (start * self.stride + offset).saturating_sub(before),
        )
    }

    /// The input index that tap `k` of output `t` reads, or `None` on padding.
    #[inline]
    pub(crate) fn input_index(&self, t: usize, k: usize, len: usize) -> Option<usize> {
        let position = t * self.stride + k * self.dilation;
        let index = position.checked_sub(self.padding.before)?;
        (index < len).then_some(index)
    }
}

const fn padded_len(len: usize, padding: Padding) -> Option<usize> {
    match len.checked_add(padding.before) {
        Some(partial) => partial.checked_add(padding.after),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(
        kernel: usize,
        stride: usize,
        dilation: usize,
        before: usize,
        after: usize,
    ) -> Window {
        Window::new(kernel, stride, dilation, Padding::new(before, after)).unwrap()
    }

    #[test]
    fn output_len_follows_the_floor_rule() {
        // (10 + 0 + 0 - 1*(3-1) - 1)/1 + 1 = 8
        assert_eq!(window(3, 1, 1, 0, 0).output_len(10), Some(8));
        // (10 + 1 + 2 - 2*(3-1) - 1)/3 + 1 = 8/3 + 1 = 3
        assert_eq!(window(3, 3, 2, 1, 2).output_len(10), Some(3));
        // (5 - 4 - 1)/2 + 1 = 1: exactly one window fits.
        assert_eq!(window(5, 2, 1, 0, 0).output_len(5), Some(1));
        // A window longer than the padded input, and an empty input, have no output.
        assert_eq!(window(3, 1, 2, 0, 0).output_len(4), None);
        assert_eq!(window(1, 1, 1, 0, 0).output_len(0), None);
        assert_eq!(window(2, 1, 1, usize::MAX, 0).output_len(1), None);
    }

    #[test]
    fn degenerate_windows_are_refused() {
        assert_eq!(Window::new(0, 1, 1, Padding::VALID), None);
        assert_eq!(Window::new(3, 0, 1, Padding::VALID), None);
        assert_eq!(Window::new(3, 1, 0, Padding::VALID), None);
    }

    #[test]
    fn same_padding_is_pytorchs() {
        // total = 1*(4-1) = 3: left 1, right 2.
        assert_eq!(Padding::same(4, 1, 1), Some(Padding::new(1, 2)));
        // total = 2*(3-1) = 4: 2 and 2.
        assert_eq!(Padding::same(3, 2, 1), Some(Padding::new(2, 2)));
        assert_eq!(Padding::same(3, 1, 2), None);
        let same = window(4, 1, 1, 1, 2);
        assert_eq!(same.output_len(7), Some(7));
    }

    /// `tap` agrees with `input_index` on every output, for many geometries.
    #[test]
    fn tap_ranges_match_index_by_index() {
        for kernel in 1..4 {
            for stride in 1..4 {
                for dilation in 1..3 {
                    for before in 0..4 {
                        for after in 0..3 {
                            for len in 1..7 {
                                let w = window(kernel, stride, dilation, before, after);
                                let Some(out) = w.output_len(len) else {
                                    continue;
                                };
                                for k in 0..kernel {
                                    let (range, first) = w.tap(k, len, out);
                                    for t in 0..out {
                                        let expected = w.input_index(t, k, len);
                                        let got = range
                                            .contains(&t)
                                            .then(|| first + (t - range.start) * stride);
                                        assert_eq!(got, expected, "{w:?} len {len} t {t} k {k}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn windows_of_padding_only_are_detected() {
        // Kernel 1 with a left pad of 1: output 0 reads only padding.
        let w = window(1, 1, 1, 1, 0);
        assert!(!w.every_window_touches_input(3, w.output_len(3).unwrap()));
        let w = window(3, 2, 1, 1, 1);
        assert!(w.every_window_touches_input(5, w.output_len(5).unwrap()));
    }
}

/// Helpers shared by the layers' tests: a fixed pseudo-random source, closeness checks and
/// central differences.
#[cfg(test)]
pub(crate) mod testing {
    /// `n` numbers in [-1, 1) from a xorshift generator, so that tests need no seeded RNG.
    pub(crate) fn numbers(seed: u64, n: usize) -> Vec<f64> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect()
    }

    /// The gradient of `f` at `x` by central differences with step `1e-6`.
    pub(crate) fn numeric_gradient(x: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
        let h = 1e-6;
        let mut probe = x.to_vec();
        (0..x.len())
            .map(|i| {
                probe[i] = x[i] + h;
                let up = f(&probe);
                probe[i] = x[i] - h;
                let down = f(&probe);
                probe[i] = x[i];
                (up - down) / (2.0 * h)
            })
            .collect()
    }

    /// Asserts `|got - want| <= tolerance * max(|got|, |want|, 1e-3)` element by element: a
    /// relative error, floored so that gradients that are zero up to rounding compare
    /// absolutely.
    #[track_caller]
    pub(crate) fn assert_relative(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let scale = g.abs().max(w.abs()).max(1e-3);
            assert!(
                (g - w).abs() <= tolerance * scale,
                "{what}[{i}]: got {g}, want {w}"
            );
        }
    }

    /// Asserts `|got - want| <= tolerance * max(|want|, 1)` element by element.
    #[track_caller]
    pub(crate) fn assert_close(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tolerance * w.abs().max(1.0),
                "{what}[{i}]: got {g}, want {w}"
            );
        }
    }

    /// `values` rounded to `f32`.
    pub(crate) fn to_f32(values: &[f64]) -> Vec<f32> {
        values.iter().map(|&v| v as f32).collect()
    }

    /// `values` widened to `f64`.
    pub(crate) fn to_f64(values: &[f32]) -> Vec<f64> {
        values.iter().map(|&v| f64::from(v)).collect()
    }

    /// `sum(a * b)`, the loss whose gradient with respect to `a` is `b`.
    pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }
}
