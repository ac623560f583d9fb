use nalgebra::SVector;
use rand::Rng;

use super::Streaming;
use super::recurrent::{cell_parameters, flat, gate_products, initialize_cell, sigmoid, tanh};
use crate::{Init, Scalar};

/// A gated recurrent unit layer, as PyTorch's `nn.GRU` (one layer): `IN` numbers in and
/// `HIDDEN` out at each time step, carrying `h` from step to step.
///
/// With `x` the input, `h` the state from the step before and `σ` the logistic sigmoid:
///
/// ```text
/// r = σ(W_ir x + b_ir + W_hr h + b_hr)
/// z = σ(W_iz x + b_iz + W_hz h + b_hz)
/// n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
/// h' = (1 - z) * n + z * h
/// ```
///
/// and the output is `h'`. The gates are in PyTorch's order r, z, n, and `b_hn` is inside
/// `r * (..)` (Keras's `reset_after=True`); the tensors are named and shaped as PyTorch's state
/// dict (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`).
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
/// | `weight_ih` | `[[SVector<T, HIDDEN>; 3]; IN]` | column `j` holds input `j`'s weights into r, z, n: PyTorch's `[3 HIDDEN, IN]` `weight_ih_l0`, column by column |
/// | `weight_hh` | `[[SVector<T, HIDDEN>; 3]; HIDDEN]` | the same for `h`: PyTorch's `[3 HIDDEN, HIDDEN]` `weight_hh_l0` |
/// | `bias_ih`, `bias_hh` | `[SVector<T, HIDDEN>; 3]` | r, z, n: PyTorch's `[3 HIDDEN]` `bias_ih_l0`, `bias_hh_l0` |
/// | state | `SVector<T, HIDDEN>` | `h` |
/// | output `h'` | `SVector<T, HIDDEN>` | one time step |
///
/// # Example
///
/// ```
/// use typenn::{Gru, Parameters, SVector, Streaming};
///
/// let mut gru = Gru::<1, 1, f64>::zeros();
/// gru.weight_ih[0][2] = SVector::from([1.0]); // x into the candidate n
/// let mut h = SVector::zeros();
/// let out = gru.step(&mut h, &SVector::from([2.0]));
/// // With zero biases: z = 1/2 and n = tanh 2, so h' = tanh(2) / 2.
/// assert!((out[0] - 2.0_f64.tanh() / 2.0).abs() < 1e-15);
/// assert_eq!(out, h);
/// ```
#[derive(Clone, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
#[repr(C, align(64))]
pub struct Gru<const IN: usize, const HIDDEN: usize, T = f32> {
    /// Column `j`: input `j`'s weights into the gates r, z, n.
    pub weight_ih: [[SVector<T, HIDDEN>; 3]; IN],
    /// Column `j`: `h[j]`'s weights into the gates r, z, n.
    pub weight_hh: [[SVector<T, HIDDEN>; 3]; HIDDEN],
    /// The input side's bias of each gate.
    pub bias_ih: [SVector<T, HIDDEN>; 3],
    /// The hidden side's bias of each gate (`b_hn` is inside `r * (..)`).
    pub bias_hh: [SVector<T, HIDDEN>; 3],
}

impl<const IN: usize, const HIDDEN: usize, T> Gru<IN, HIDDEN, T> {
    /// Refuses zero widths when the layer is first used.
    const NONZERO_WIDTHS: () = assert!(
        IN > 0 && HIDDEN > 0,
        "a Gru layer needs at least one input and one hidden unit"
    );
}

cell_parameters!(Gru, 3, super::LayerKind::Gru);

impl<const IN: usize, const HIDDEN: usize, T: Scalar> Streaming<T, IN, HIDDEN>
    for Gru<IN, HIDDEN, T>
{
    type State = SVector<T, HIDDEN>;

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
    fn step(&self, h: &mut Self::State, input: &SVector<T, IN>) -> SVector<T, HIDDEN> {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>()
            && crate::kernels::dispatch::gru_cell_step::<IN, HIDDEN>(
                crate::kernels::dispatch::GruCell {
                    weight_ih: bytemuck::cast_slice(flat(&self.weight_ih)),
                    weight_hh: bytemuck::cast_slice(flat(&self.weight_hh)),
                    bias_ih: bytemuck::cast_slice(&self.bias_ih[..]),
                    bias_hh: bytemuck::cast_slice(&self.bias_hh[..]),
                },
                bytemuck::cast_slice(input.as_slice()),
                bytemuck::cast_slice_mut(h.as_mut_slice()),
            )
        {
            return *h;
        }
        // The two sides apart: `r` scales the hidden side of `n` alone.
        let mut from_input = [SVector::<T, HIDDEN>::zeros(); 3];
        let mut from_hidden = [SVector::<T, HIDDEN>::zeros(); 3];
        gate_products::<T, 3, HIDDEN, _>(
            bytemuck::cast_slice(&self.bias_ih[..]),
            [(flat(&self.weight_ih), input.as_slice())],
            bytemuck::cast_slice_mut(&mut from_input[..]),
        );
        gate_products::<T, 3, HIDDEN, _>(
            bytemuck::cast_slice(&self.bias_hh[..]),
            [(flat(&self.weight_hh), h.as_slice())],
            bytemuck::cast_slice_mut(&mut from_hidden[..]),
        );
        let mut gates = [
            from_input[0] + from_hidden[0],
            from_input[1] + from_hidden[1],
        ];
        sigmoid::<T>(bytemuck::cast_slice_mut(&mut gates[..]));
        let [r, z] = gates;
        let mut n = from_input[2] + r.component_mul(&from_hidden[2]);
        tanh(n.as_mut_slice());
        // (1 - z) n + z h = n + z (h - n)
        *h = n + z.component_mul(&(*h - n));
        *h
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

    fn cell<T: Scalar>() -> Gru<1, 1, T> {
        let mut gru = Gru::<1, 1, T>::zeros();
        let v = |x: f64| SVector::from([T::cast_from(x)]);
        gru.weight_ih[0] = [v(0.5), v(-0.25), v(1.0)];
        gru.weight_hh[0] = [v(0.1), v(0.2), v(-0.3)];
        gru.bias_ih = [v(0.05), v(-0.1), v(0.2)];
        gru.bias_hh = [v(0.01), v(0.3), v(-0.05)];
        gru
    }

    #[test]
    fn one_step_by_hand() {
        let gru = cell::<f64>();
        let mut h = SVector::from([0.5]);
        let out = gru.step(&mut h, &SVector::from([2.0]));
        // r = σ(1 + 0.05 + 0.05 + 0.01) = σ(1.11), z = σ(-0.5 - 0.1 + 0.1 + 0.3) = σ(-0.2),
        // n = tanh(2 + 0.2 + r (-0.15 - 0.05)): b_hn inside r * (..).
        let (r, z) = (sigma(1.11), sigma(-0.2));
        let n = (2.2 + r * -0.2).tanh();
        let expected = (1.0 - z) * n + z * 0.5;
        assert!((out[0] - expected).abs() < 1e-15);
        assert_eq!(h, out);
    }

    #[test]
    fn f32_follows_f64_over_a_sequence() {
        let (wide, narrow) = (cell::<f64>(), cell::<f32>());
        let (mut h64, mut h32) = (SVector::zeros(), SVector::zeros());
        for t in 0..50 {
            let x = (f64::from(t) * 0.37).sin() * 3.0;
            let a = wide.step(&mut h64, &SVector::from([x]));
            #[allow(clippy::cast_possible_truncation)]
            let b = narrow.step(&mut h32, &SVector::from([x as f32]));
            assert!((f64::from(b[0]) - a[0]).abs() < 2e-6, "step {t}");
        }
    }
}
