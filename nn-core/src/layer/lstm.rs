use nalgebra::SVector;
use rand::Rng;

use super::Streaming;
use super::recurrent::{cell_parameters, flat, gate_products, initialize_cell, sigmoid, tanh};
use crate::{Init, Scalar};

/// A long short-term memory layer, as PyTorch's `nn.LSTM` (one layer, `batch_first` or not):
/// `IN` numbers in and `HIDDEN` out at each time step, carrying `h` and `c` from step to step.
///
/// With `x` the input, `h` and `c` the state from the step before and `σ` the logistic sigmoid:
///
/// ```text
/// i = σ(W_ii x + b_ii + W_hi h + b_hi)        f = σ(W_if x + b_if + W_hf h + b_hf)
/// g = tanh(W_ig x + b_ig + W_hg h + b_hg)     o = σ(W_io x + b_io + W_ho h + b_ho)
/// c' = f * c + i * g                          h' = o * tanh(c')
/// ```
///
/// and the output is `h'`. The gates are in PyTorch's order i, f, g, o, with both of its
/// biases; the tensors are named and shaped as its state dict (`weight_ih_l0`, `weight_hh_l0`,
/// `bias_ih_l0`, `bias_hh_l0`), so a trained `nn.LSTM` loads as it is.
///
/// A recurrent layer runs one step at a time ([`Streaming::step`]) in a network's `step` and
/// sequence methods; it has no single-sample [`Layer`](super::Layer) pass.
///
/// The layer is aligned to 64 bytes, a cache line, with its fields in the order written: where
/// `HIDDEN` is a multiple of 16, each gate's f32 column starts on a cache line, so that a
/// 16-lane load of it reads one line rather than two.
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input `x` | `SVector<T, IN>` | one time step |
/// | `weight_ih` | `[[SVector<T, HIDDEN>; 4]; IN]` | column `j` holds input `j`'s weights into i, f, g, o: PyTorch's `[4 HIDDEN, IN]` `weight_ih_l0`, column by column |
/// | `weight_hh` | `[[SVector<T, HIDDEN>; 4]; HIDDEN]` | the same for `h`: PyTorch's `[4 HIDDEN, HIDDEN]` `weight_hh_l0` |
/// | `bias_ih`, `bias_hh` | `[SVector<T, HIDDEN>; 4]` | i, f, g, o: PyTorch's `[4 HIDDEN]` `bias_ih_l0`, `bias_hh_l0` |
/// | state | [`LstmState`]`<HIDDEN, T>` | `h` and `c` |
/// | output `h'` | `SVector<T, HIDDEN>` | one time step |
///
/// # Example
///
/// ```
/// use typenn::{Lstm, LstmState, Parameters, SVector, Streaming};
///
/// let mut lstm = Lstm::<1, 1, f64>::zeros();
/// lstm.weight_ih[0][2] = SVector::from([1.0]); // x into the cell input g
/// let mut state = LstmState::default();
/// let h = lstm.step(&mut state, &SVector::from([2.0]));
/// // With zero biases: i = f = o = 1/2, g = tanh 2, c = tanh(2) / 2, h = tanh(c) / 2.
/// let c = 2.0_f64.tanh() / 2.0;
/// assert!((state.c[0] - c).abs() < 1e-15);
/// assert!((h[0] - c.tanh() / 2.0).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
#[repr(C, align(64))]
pub struct Lstm<const IN: usize, const HIDDEN: usize, T = f32> {
    /// Column `j`: input `j`'s weights into the gates i, f, g, o.
    pub weight_ih: [[SVector<T, HIDDEN>; 4]; IN],
    /// Column `j`: `h[j]`'s weights into the gates i, f, g, o.
    pub weight_hh: [[SVector<T, HIDDEN>; 4]; HIDDEN],
    /// The input side's bias of each gate.
    pub bias_ih: [SVector<T, HIDDEN>; 4],
    /// The hidden side's bias of each gate.
    pub bias_hh: [SVector<T, HIDDEN>; 4],
}

/// What an [`Lstm`] carries from one time step to the next: the output `h` and the cell `c`.
/// Zero (the default) at the start of a stream.
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct LstmState<const HIDDEN: usize, T = f32> {
    /// The output of the step before.
    pub h: SVector<T, HIDDEN>,
    /// The cell's memory.
    pub c: SVector<T, HIDDEN>,
}

impl<const HIDDEN: usize, T: Scalar> Default for LstmState<HIDDEN, T> {
    fn default() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}

impl<const IN: usize, const HIDDEN: usize, T> Lstm<IN, HIDDEN, T> {
    /// Refuses zero widths when the layer is first used.
    const NONZERO_WIDTHS: () = assert!(
        IN > 0 && HIDDEN > 0,
        "an Lstm layer needs at least one input and one hidden unit"
    );
}

cell_parameters!(Lstm, 4, super::LayerKind::Lstm);

impl<const IN: usize, const HIDDEN: usize, T: Scalar> Streaming<T, IN, HIDDEN>
    for Lstm<IN, HIDDEN, T>
{
    type State = LstmState<HIDDEN, T>;

    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        initialize_cell(
            &mut self.weight_ih,
            &mut self.weight_hh,
            [&mut self.bias_ih, &mut self.bias_hh],
            init,
            rng,
        );
    }

    #[inline(always)]
    fn step(&self, state: &mut Self::State, input: &SVector<T, IN>) -> SVector<T, HIDDEN> {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>()
            && crate::kernels::dispatch::lstm_cell_step::<IN, HIDDEN>(
                crate::kernels::dispatch::LstmCell {
                    weight_ih: bytemuck::cast_slice(flat(&self.weight_ih)),
                    weight_hh: bytemuck::cast_slice(flat(&self.weight_hh)),
                    bias_ih: bytemuck::cast_slice(&self.bias_ih[..]),
                    bias_hh: bytemuck::cast_slice(&self.bias_hh[..]),
                },
                bytemuck::cast_slice(input.as_slice()),
                bytemuck::cast_slice_mut(state.h.as_mut_slice()),
                bytemuck::cast_slice_mut(state.c.as_mut_slice()),
            )
        {
            return state.h;
        }
        let mut bias = self.bias_ih;
        for (b, other) in bias.iter_mut().zip(&self.bias_hh) {
            *b += other;
        }
        // One product of the four gates' `[4 HIDDEN, IN + HIDDEN]` weights with `(x, h)`.
        let mut gates = [SVector::<T, HIDDEN>::zeros(); 4];
        gate_products::<T, 4, HIDDEN, _>(
            bytemuck::cast_slice(&bias[..]),
            [
                (flat(&self.weight_ih), input.as_slice()),
                (flat(&self.weight_hh), state.h.as_slice()),
            ],
            bytemuck::cast_slice_mut(&mut gates[..]),
        );
        let values: &mut [T] = bytemuck::cast_slice_mut(&mut gates[..]);
        let (sigmoids, rest) = values.split_at_mut(2 * HIDDEN);
        let (g, o) = rest.split_at_mut(HIDDEN);
        // i and f side by side: one pass.
        sigmoid(sigmoids);
        tanh(g);
        sigmoid(o);
        let [i, f, g, o] = gates;
        state.c = f.component_mul(&state.c) + i.component_mul(&g);
        let mut squashed = state.c;
        tanh(squashed.as_mut_slice());
        state.h = o.component_mul(&squashed);
        state.h
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::SVector;

    use super::*;
    use crate::Parameters;

    fn sigma(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    /// One unit, one input, every gate's weights and biases distinct: the gates' order shows.
    fn cell<T: Scalar>() -> Lstm<1, 1, T> {
        let mut lstm = Lstm::<1, 1, T>::zeros();
        let v = |x: f64| SVector::from([T::cast_from(x)]);
        lstm.weight_ih[0] = [v(0.5), v(-0.25), v(1.0), v(0.75)];
        lstm.weight_hh[0] = [v(0.1), v(0.2), v(-0.3), v(0.4)];
        lstm.bias_ih = [v(0.05), v(-0.1), v(0.2), v(0.0)];
        lstm.bias_hh = [v(0.01), v(0.3), v(-0.05), v(0.15)];
        lstm
    }

    #[test]
    fn one_step_by_hand() {
        let lstm = cell::<f64>();
        let mut state = LstmState {
            h: SVector::from([0.5]),
            c: SVector::from([-1.0]),
        };
        let x = 2.0;
        let h = lstm.step(&mut state, &SVector::from([x]));
        // i = σ(0.5 * 2 + 0.05 + 0.1 * 0.5 + 0.01) = σ(1.11), f = σ(-0.5 - 0.1 + 0.1 + 0.3) = σ(-0.2),
        // g = tanh(2 + 0.2 - 0.15 - 0.05) = tanh(2), o = σ(1.5 + 0 + 0.2 + 0.15) = σ(1.85).
        let (i, f, g, o) = (sigma(1.11), sigma(-0.2), 2.0_f64.tanh(), sigma(1.85));
        let c = -f + i * g; // c was -1
        assert!((state.c[0] - c).abs() < 1e-15);
        assert!((h[0] - o * c.tanh()).abs() < 1e-15);
        assert_eq!(state.h, h);
    }

    #[test]
    fn f32_follows_f64_over_a_sequence() {
        let (wide, narrow) = (cell::<f64>(), cell::<f32>());
        let (mut s64, mut s32) = (LstmState::default(), LstmState::default());
        for t in 0..50 {
            let x = (f64::from(t) * 0.37).sin() * 3.0;
            let h64 = wide.step(&mut s64, &SVector::from([x]));
            #[allow(clippy::cast_possible_truncation)]
            let h32 = narrow.step(&mut s32, &SVector::from([x as f32]));
            assert!((f64::from(h32[0]) - h64[0]).abs() < 2e-6, "step {t}");
        }
    }

    #[test]
    fn a_wide_f32_cell_follows_f64() {
        // 160 gate rows: the AVX-512 kernel, or else the AVX2 one, where the CPU has them.
        let mut rng = crate::SplitMix64::new(3);
        let mut wide = Lstm::<1, 40, f64>::zeros();
        for t in 0..4 {
            for v in wide.tensor_mut(t) {
                *v = 0.6 * f64::from(rng.next_f32()) - 0.3;
            }
        }
        let mut narrow = Lstm::<1, 40, f32>::zeros();
        for t in 0..4 {
            for (n, w) in narrow.tensor_mut(t).iter_mut().zip(wide.tensor(t)) {
                #[allow(clippy::cast_possible_truncation)]
                let value = *w as f32;
                *n = value;
            }
        }
        let (mut s64, mut s32) = (LstmState::default(), LstmState::default());
        for t in 0..30 {
            let x = (f64::from(t) * 0.41).sin();
            let h64 = wide.step(&mut s64, &SVector::from([x]));
            #[allow(clippy::cast_possible_truncation)]
            let h32 = narrow.step(&mut s32, &SVector::from([x as f32]));
            for j in 0..40 {
                assert!(
                    (f64::from(h32[j]) - h64[j]).abs() < 1e-5,
                    "step {t}, unit {j}"
                );
            }
        }
    }

    #[test]
    fn tensors_are_pytorchs() {
        let lstm = cell::<f64>();
        assert_eq!(<Lstm<1, 1, f64> as Parameters<f64>>::PARAMETERS, 16);
        assert_eq!(lstm.tensor(0), &[0.5, -0.25, 1.0, 0.75]);
        assert_eq!(lstm.tensor(3), &[0.01, 0.3, -0.05, 0.15]);
        let info = <Lstm<3, 2, f64> as Parameters<f64>>::tensor_info(1).map(|i| (i.name, i.shape));
        assert_eq!(info, Some(("weight_hh_l0", &[8_usize, 2][..])));
    }
}
