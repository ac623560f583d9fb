//! A causal, dilated one-dimensional convolution run one time step at a time, keeping the past
//! inputs its taps reach back to: RTNeural's stateful `Conv1D`, with PyTorch's weights.

use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::recurrent::{flat, flat_mut, gate_products, tanh};
use super::{HasGradients, Streaming};
use crate::activation::{Activation, Identity, Tanh};
use crate::init::uniform;
use crate::kernels::portable::{MulAdd, Separate};
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use crate::kernels::{dispatch::fused, portable::Fused};
use crate::{Init, Layout, Parameters, Scalar, TensorInfo};

/// Independent partial sums per output, so that consecutive multiply-adds do not wait for each
/// other.
const LANES: usize = 4;

/// The most outputs whose sums a step holds in registers (four sets of 32 f32 fill the 16 AVX2
/// registers); wider layers go through the recurrent cells' blocked kernel.
const MAX_HELD: usize = 32;

/// How many frames before a step's own the taps of a kernel of `kernel` taps `dilation` apart
/// read: `(kernel - 1) * dilation`.
pub(super) const fn reach(kernel: usize, dilation: usize) -> usize {
    kernel.saturating_sub(1) * dilation
}

/// A causal convolution over a stream of `IN_CH` channels: each step takes one frame of
/// `IN_CH` numbers and gives one of `OUT_CH`, from the last `(KERNEL - 1) * DILATION + 1`
/// frames, which the [state](CausalConv1dState) keeps.
///
/// At step `t`, with `x[t]` the input frame and `f` the activation `A` ([`Identity`] unless
/// given):
///
/// ```text
/// y[t][o] = f(bias[o] + sum over k < KERNEL, c < IN_CH of weight[o][c][k] x[t - (KERNEL - 1 - k) DILATION][c])
/// ```
///
/// with the frames before the stream's start zero. This is PyTorch's
/// `nn.Conv1d(IN_CH, OUT_CH, KERNEL, dilation=DILATION)` applied to the sequence with
/// `(KERNEL - 1) * DILATION` zeros on its left, one output per input: its `weight` and `bias`
/// load as they are. With [`Tanh`] in f32 the activation is the fast tanh of the recurrent
/// cells.
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input `x[t]` | `SVector<T, IN_CH>` | one time step |
/// | `weight` | `[[SVector<T, OUT_CH>; IN_CH]; KERNEL]` | `weight[k][c]` holds PyTorch's `weight[:, c, k]`: the `[OUT_CH, IN_CH, KERNEL]` tensor, first axis fastest |
/// | `bias` | `SVector<T, OUT_CH>` | PyTorch's `[OUT_CH]` `bias` |
/// | state | [`CausalConv1dState`]`<IN_CH, KERNEL, DILATION, T>` | the past input frames |
/// | output `y[t]` | `SVector<T, OUT_CH>` | one time step |
///
/// # Example
///
/// ```
/// use typenn::{CausalConv1d, CausalConv1dState, Parameters, SVector, Streaming};
///
/// // y[t] = x[t] - x[t - 2]: kernel 2, dilation 2.
/// let mut conv = CausalConv1d::<1, 1, 2, 2, typenn::Identity, f64>::zeros();
/// conv.weight = [[SVector::from([-1.0])], [SVector::from([1.0])]];
/// let mut state = CausalConv1dState::default();
/// let ys: Vec<f64> = [1.0, 2.0, 4.0, 8.0]
///     .iter()
///     .map(|&x| conv.step(&mut state, &SVector::from([x]))[0])
///     .collect();
/// assert_eq!(ys, [1.0, 2.0, 3.0, 6.0]);
/// ```
#[derive(bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct CausalConv1d<
    const IN_CH: usize,
    const OUT_CH: usize,
    const KERNEL: usize,
    const DILATION: usize = 1,
    A = Identity,
    T = f32,
> {
    /// `weight[k][c]`: channel `c`'s weights into every output channel at tap `k`, the input
    /// from `(KERNEL - 1 - k) * DILATION` steps before.
    pub weight: [[SVector<T, OUT_CH>; IN_CH]; KERNEL],
    /// One per output channel.
    pub bias: SVector<T, OUT_CH>,
    activation: PhantomData<A>,
}

/// What a [`CausalConv1d`] carries from one time step to the next: its past input frames, in a
/// ring. All zero (the default) at the start of a stream.
///
/// The ring holds `KERNEL * DILATION` frames, of which the taps read the last
/// `(KERNEL - 1) * DILATION + 1`: stable Rust cannot size an array by an expression of const
/// parameters, and the spare `DILATION - 1` frames cost only memory.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct CausalConv1dState<
    const IN_CH: usize,
    const KERNEL: usize,
    const DILATION: usize,
    T = f32,
> {
    frames: [[SVector<T, IN_CH>; DILATION]; KERNEL],
    /// Where the next frame goes; always below `KERNEL * DILATION`.
    next: usize,
}

impl<const IN_CH: usize, const KERNEL: usize, const DILATION: usize, T: Scalar> Default
    for CausalConv1dState<IN_CH, KERNEL, DILATION, T>
{
    fn default() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}

impl<const IN_CH: usize, const KERNEL: usize, const DILATION: usize, T: Scalar>
    CausalConv1dState<IN_CH, KERNEL, DILATION, T>
{
    /// The input frame of `steps_ago` steps before the last one (0: the last), zero before the
    /// stream's start; `None` beyond what the ring keeps.
    #[must_use]
    pub fn past(&self, steps_ago: usize) -> Option<&SVector<T, IN_CH>> {
        let frames = self.frames.as_flattened();
        let len = frames.len();
        (steps_ago < len).then(|| &frames[(self.next + len - 1 - steps_ago) % len])
    }

    /// The state whose frame of `j` steps before the last is `past(j)` for each `j` below
    /// `(KERNEL - 1) * DILATION`, the frames the next step's taps read; the older ones zero.
    #[inline(always)]
    pub(super) fn from_past(past: impl Fn(usize) -> SVector<T, IN_CH>) -> Self {
        let mut state: Self = bytemuck::Zeroable::zeroed();
        let frames = state.frames.as_flattened_mut();
        // With `next` at 0, the last frame is the ring's last.
        for (j, frame) in frames
            .iter_mut()
            .rev()
            .take(reach(KERNEL, DILATION))
            .enumerate()
        {
            *frame = past(j);
        }
        state
    }

    /// Back to the start of a stream: every past frame zero.
    #[inline]
    pub fn reset(&mut self) {
        *self = bytemuck::Zeroable::zeroed();
    }
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
{
    /// Refuses zero sizes when the layer is first used.
    const NONZERO_SIZES: () = assert!(
        IN_CH > 0 && OUT_CH > 0 && KERNEL > 0 && DILATION > 0,
        "a CausalConv1d layer needs at least one input and output channel, kernel tap and dilation step"
    );
}

// By hand: the activation is a marker type, which need not be `Clone`, `Debug` or `PartialEq`.
impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    Clone for CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    T: Scalar,
{
    fn clone(&self) -> Self {
        Self {
            weight: self.weight,
            bias: self.bias,
            activation: PhantomData,
        }
    }
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    core::fmt::Debug for CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    T: Scalar,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CausalConv1d")
            .field("weight", &self.weight)
            .field("bias", &self.bias)
            .finish()
    }
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    PartialEq for CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    T: Scalar,
{
    fn eq(&self, other: &Self) -> bool {
        self.weight == other.weight && self.bias == other.bias
    }
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    Parameters<T> for CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    A: 'static,
    T: Scalar,
{
    const TENSORS: usize = 2;
    const PARAMETERS: usize = OUT_CH * (IN_CH * KERNEL + 1);

    fn kind() -> super::LayerKind {
        super::LayerKind::CausalConv1d {
            dilation: DILATION,
            activation: super::type_name_of::<A>(),
        }
    }

    #[inline]
    fn zeros() -> Self {
        let () = Self::NONZERO_SIZES;
        bytemuck::Zeroable::zeroed()
    }

    #[inline]
    fn tensor(&self, index: usize) -> &[T] {
        match index {
            0 => flat(&self.weight),
            1 => self.bias.as_slice(),
            _ => &[],
        }
    }

    #[inline]
    fn tensor_mut(&mut self, index: usize) -> &mut [T] {
        match index {
            0 => flat_mut(&mut self.weight),
            1 => self.bias.as_mut_slice(),
            _ => &mut [],
        }
    }

    #[inline]
    fn tensor_info(index: usize) -> Option<TensorInfo> {
        let (name, shape, layout): (_, &'static [usize], _) = match index {
            0 => (
                "weight",
                const { &[OUT_CH, IN_CH, KERNEL] },
                Layout::ColumnMajor,
            ),
            1 => ("bias", const { &[OUT_CH] }, Layout::RowMajor),
            _ => return None,
        };
        Some(TensorInfo {
            layer: "",
            name,
            shape,
            layout,
        })
    }
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    HasGradients<T> for CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    A: 'static,
    T: Scalar,
{
    type Gradients = Self;
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    Streaming<T, IN_CH, OUT_CH> for CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    A: Activation + 'static,
    T: Scalar,
{
    type State = CausalConv1dState<IN_CH, KERNEL, DILATION, T>;

    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        // PyTorch's and Keras's fans for a convolution: channels times kernel taps.
        let limit = init.limit(IN_CH * KERNEL, OUT_CH * KERNEL);
        for w in flat_mut(&mut self.weight) {
            *w = T::cast_from(uniform(rng, limit));
        }
        self.bias = SVector::zeros();
    }

    #[inline(always)]
    fn step(&self, state: &mut Self::State, input: &SVector<T, IN_CH>) -> SVector<T, OUT_CH> {
        Self::activate(self.pre_activation(state, input))
    }
}

impl<const IN_CH: usize, const OUT_CH: usize, const KERNEL: usize, const DILATION: usize, A, T>
    CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, A, T>
where
    A: Activation + 'static,
    T: Scalar,
{
    /// One step's outputs before the activation, taking `input` into the state.
    #[inline(always)]
    fn pre_activation(
        &self,
        state: &mut CausalConv1dState<IN_CH, KERNEL, DILATION, T>,
        input: &SVector<T, IN_CH>,
    ) -> SVector<T, OUT_CH> {
        let () = Self::NONZERO_SIZES;
        let next = state.next;
        let frames = state.frames.as_flattened_mut();
        let len = frames.len();
        frames[next] = *input;
        let frames = &*frames;
        // Tap k reads the frame of (KERNEL - 1 - k) * DILATION steps before, which is
        // (k + 1) * DILATION places after `next` around the ring of KERNEL * DILATION.
        let z = self.tap_products(core::array::from_fn(|k| {
            let at = next + (k + 1) * DILATION;
            &frames[if at >= len { at - len } else { at }]
        }));
        state.next = if next + 1 == len { 0 } else { next + 1 };
        z
    }

    /// `bias + sum over k of weight[k] taps[k]`: one step's outputs before the activation, from
    /// the frame each tap reads.
    #[inline(always)]
    pub(super) fn tap_products(&self, taps: [&SVector<T, IN_CH>; KERNEL]) -> SVector<T, OUT_CH> {
        if OUT_CH <= MAX_HELD {
            let x: [[T; IN_CH]; KERNEL] = core::array::from_fn(|k| taps[k].data.0[0]);
            self.held_product(x.as_flattened())
        } else {
            let parts: [(&[T], &[T]); KERNEL] =
                core::array::from_fn(|k| (flat(&self.weight[k..=k]), taps[k].as_slice()));
            let mut z = self.bias;
            gate_products::<T, 1, OUT_CH, KERNEL>(self.bias.as_slice(), parts, z.as_mut_slice());
            z
        }
    }

    /// `bias + sum over columns of weight x` with every output held in [`LANES`] sets of
    /// partial sums, for layers of up to [`MAX_HELD`] outputs: `x` is the taps' frames, in the
    /// order of the weight's columns.
    #[inline(always)]
    fn held_product(&self, x: &[T]) -> SVector<T, OUT_CH> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        if fused() {
            return self.held_sums::<Fused>(x);
        }
        self.held_sums::<Separate>(x)
    }

    #[inline(always)]
    fn held_sums<F: MulAdd>(&self, x: &[T]) -> SVector<T, OUT_CH> {
        let columns = self.weight.as_flattened();
        let mut sums = [[T::zero(); OUT_CH]; LANES];
        sums[0] = self.bias.data.0[0];
        let mut four = columns.chunks_exact(LANES);
        let mut scales = x.chunks_exact(LANES);
        for (block, scale) in (&mut four).zip(&mut scales) {
            for ((sum, column), &scale) in sums.iter_mut().zip(block).zip(scale) {
                for (s, &w) in sum.iter_mut().zip(column.iter()) {
                    *s = F::mul_add(w, scale, *s);
                }
            }
        }
        for (column, &scale) in four.remainder().iter().zip(scales.remainder()) {
            for (s, &w) in sums[0].iter_mut().zip(column.iter()) {
                *s = F::mul_add(w, scale, *s);
            }
        }
        SVector::from_fn(|o, _| (sums[0][o] + sums[1][o]) + (sums[2][o] + sums[3][o]))
    }

    /// The activation of each pre-activation.
    #[inline(always)]
    pub(super) fn activate(mut z: SVector<T, OUT_CH>) -> SVector<T, OUT_CH> {
        if A::NAME == Tanh::NAME {
            tanh(z.as_mut_slice());
            z
        } else if A::NAME == Identity::NAME {
            z
        } else {
            let mut y = z;
            A::forward(OUT_CH, z.as_slice(), y.as_mut_slice());
            y
        }
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::SVector;

    use super::*;
    use crate::Relu;

    /// Two channels in, two out, kernel 3, dilation 2: taps 4, 2 and 0 steps back.
    fn layer() -> CausalConv1d<2, 2, 3, 2, Identity, f64> {
        let mut conv = CausalConv1d::zeros();
        // PyTorch's weight[o][c][k], written out.
        let weight = [
            [[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]],
            [[0.0, -2.0, 1.0], [4.0, 0.0, -0.5]],
        ];
        for (k, columns) in conv.weight.iter_mut().enumerate() {
            for (c, column) in columns.iter_mut().enumerate() {
                *column = SVector::from_fn(|o, _| weight[o][c][k]);
            }
        }
        conv.bias = SVector::from([0.5, -1.0]);
        conv
    }

    #[test]
    fn steps_by_hand() {
        let conv = layer();
        let mut state = CausalConv1dState::default();
        let xs = [[1.0, 2.0], [3.0, -1.0], [0.5, 0.0], [-2.0, 1.0], [1.0, 1.0]];
        let ys: Vec<SVector<f64, 2>> = xs
            .iter()
            .map(|x| conv.step(&mut state, &SVector::from(*x)))
            .collect();
        // t = 0: only tap 2 (no delay) sees a frame: y0 = 0.5 + 3*1 + 0.25*2 = 4,
        // y1 = -1 + 1*1 - 0.5*2 = -1.
        assert_eq!(ys[0], SVector::from([4.0, -1.0]));
        // t = 1: tap 2 on x1 = (3, -1): y0 = 0.5 + 9 - 0.25 = 9.25, y1 = -1 + 3 + 0.5 = 2.5.
        assert_eq!(ys[1], SVector::from([9.25, 2.5]));
        // t = 2: tap 2 on x2 = (0.5, 0), tap 1 on x0 = (1, 2):
        // y0 = 0.5 + 1.5 + (2*1 + 0.5*2) = 5, y1 = -1 + 0.5 + (-2*1 + 0) = -2.5.
        assert_eq!(ys[2], SVector::from([5.0, -2.5]));
        // t = 4: tap 2 on x4 = (1, 1), tap 1 on x2 = (0.5, 0), tap 0 on x0 = (1, 2):
        // y0 = 0.5 + (3 + 0.25) + (1 + 0) + (1 - 2) = 3.75,
        // y1 = -1 + (1 - 0.5) + (-1 + 0) + (0 + 8) = 6.5.
        assert_eq!(ys[4], SVector::from([3.75, 6.5]));
        assert_eq!(state.past(0), Some(&SVector::from([1.0, 1.0])));
        assert_eq!(state.past(4), Some(&SVector::from([1.0, 2.0])));
    }

    /// Steps `conv` over a long stream, against the sum written out over the whole history.
    fn check_against_the_history<
        const IN_CH: usize,
        const OUT_CH: usize,
        const KERNEL: usize,
        const DILATION: usize,
    >(
        conv: &CausalConv1d<IN_CH, OUT_CH, KERNEL, DILATION, Identity, f64>,
    ) {
        let mut state = CausalConv1dState::default();
        let x = |t: usize| SVector::<f64, IN_CH>::from_fn(|c, _| ((t * 7 + c) as f64 * 0.3).sin());
        for t in 0..5 * KERNEL * DILATION {
            let y = conv.step(&mut state, &x(t));
            let mut expected = conv.bias;
            for k in 0..KERNEL {
                if let Some(back) = t.checked_sub((KERNEL - 1 - k) * DILATION) {
                    for c in 0..IN_CH {
                        expected += conv.weight[k][c] * x(back)[c];
                    }
                }
            }
            assert!((y - expected).amax() < 1e-13, "step {t}");
        }
    }

    #[test]
    fn the_ring_wraps_over_a_long_stream() {
        check_against_the_history(&layer());
        // Wider than the outputs held in registers: the blocked kernel.
        let mut wide = CausalConv1d::<3, 40, 2, 3, Identity, f64>::zeros();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(2);
        wide.initialize(Init::GlorotUniform, &mut rng);
        wide.bias = SVector::from_fn(|o, _| o as f64 * 0.01);
        check_against_the_history(&wide);
        // Five columns: a block of four partial sums and one over.
        let mut odd = CausalConv1d::<5, 3, 1, 1, Identity, f64>::zeros();
        odd.initialize(Init::GlorotUniform, &mut rng);
        check_against_the_history(&odd);
    }

    #[test]
    fn reset_forgets_the_past() {
        let conv = layer();
        let mut state = CausalConv1dState::default();
        let x = SVector::from([1.0, 1.0]);
        let first = conv.step(&mut state, &x);
        // Dilation 2: the third step is the first to see an earlier frame.
        let _ = conv.step(&mut state, &x);
        assert_ne!(conv.step(&mut state, &x), first);
        state.reset();
        assert_eq!(state, CausalConv1dState::default());
        assert_eq!(conv.step(&mut state, &SVector::from([1.0, 1.0])), first);
    }

    #[test]
    fn the_activation_applies_to_each_output() {
        let mut conv = CausalConv1d::<1, 2, 1, 1, Relu, f64>::zeros();
        conv.weight = [[SVector::from([1.0, -1.0])]];
        let y = conv.step(&mut CausalConv1dState::default(), &SVector::from([3.0]));
        assert_eq!(y, SVector::from([3.0, 0.0]));
        let mut conv = CausalConv1d::<1, 1, 2, 1, Tanh, f32>::zeros();
        conv.weight = [[SVector::from([0.5])], [SVector::from([1.0])]];
        let mut state = CausalConv1dState::default();
        let _ = conv.step(&mut state, &SVector::from([2.0]));
        let y = conv.step(&mut state, &SVector::from([-0.5]));
        // tanh(0.5 * 2 - 0.5), with the fast f32 tanh.
        assert!((y[0] - 0.5_f32.tanh()).abs() < 1e-6);
    }

    #[test]
    fn the_tensors_are_pytorchs_in_column_major_order() {
        let conv = layer();
        // weight[o][c][k] at o + 2 (c + 2 k): k = 0 first, then c, then o.
        assert_eq!(
            conv.tensor(0),
            &[
                1.0, 0.0, -1.0, 4.0, 2.0, -2.0, 0.5, 0.0, 3.0, 1.0, 0.25, -0.5
            ]
        );
        assert_eq!(conv.tensor(1), &[0.5, -1.0]);
        let info = CausalConv1d::<2, 2, 3, 2, Identity, f64>::tensor_info(0);
        assert_eq!(info.map(|info| info.shape), Some(&[2, 2, 3][..]));
        assert_eq!(
            <CausalConv1d<2, 2, 3, 2> as Parameters<f32>>::PARAMETERS,
            2 * 7
        );
    }
}
