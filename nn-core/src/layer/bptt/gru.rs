use nalgebra::SVector;

use super::super::recurrent::{flat, flat_mut, gate_products, sigmoid, tanh};
use super::{ThroughTime, add, add_outer, back_product, transpose_into};
use crate::{Gru, Scalar};

/// The state is `h`; a step keeps its gates r, z, n (after their activations) and the hidden
/// side of n before `r` scales it, `W_hn h + b_hn`.
impl<const IN: usize, const HIDDEN: usize, T: Scalar> ThroughTime<T, IN, HIDDEN>
    for Gru<IN, HIDDEN, T>
{
    const STATE_LEN: usize = HIDDEN;
    const TRACE_LEN: usize = 4 * HIDDEN;
    const TRANSPOSED_LEN: usize = 3 * HIDDEN * (IN + HIDDEN);

    #[inline(always)]
    fn transpose(&self, out: &mut [T]) {
        let (ih, hh) = out.split_at_mut(3 * HIDDEN * IN);
        transpose_into(flat(&self.weight_ih), 3 * HIDDEN, ih);
        transpose_into(flat(&self.weight_hh), 3 * HIDDEN, hh);
    }

    #[inline(always)]
    fn write_state(state: &Self::State, out: &mut [T]) {
        out[..HIDDEN].copy_from_slice(state.as_slice());
    }

    #[inline(always)]
    fn read_state(values: &[T]) -> Self::State {
        SVector::from_column_slice(&values[..HIDDEN])
    }

    #[inline(always)]
    fn traced_step(
        &self,
        state: &mut [T],
        input: &SVector<T, IN>,
        trace: &mut [T],
    ) -> SVector<T, HIDDEN> {
        let mut from_input = [SVector::<T, HIDDEN>::zeros(); 3];
        let mut from_hidden = [SVector::<T, HIDDEN>::zeros(); 3];
        gate_products::<T, 3, HIDDEN, _>(
            bytemuck::cast_slice(&self.bias_ih[..]),
            [(flat(&self.weight_ih), input.as_slice())],
            bytemuck::cast_slice_mut(&mut from_input[..]),
        );
        gate_products::<T, 3, HIDDEN, _>(
            bytemuck::cast_slice(&self.bias_hh[..]),
            [(flat(&self.weight_hh), &state[..HIDDEN])],
            bytemuck::cast_slice_mut(&mut from_hidden[..]),
        );
        // Exact lengths, so that the loops below have no bounds checks and vectorize.
        let state = &mut state[..HIDDEN];
        let (gates, rest) = trace[..4 * HIDDEN].split_at_mut(2 * HIDDEN);
        let (n, hidden_n) = rest.split_at_mut(HIDDEN);
        for k in 0..HIDDEN {
            gates[k] = from_input[0][k] + from_hidden[0][k];
            gates[HIDDEN + k] = from_input[1][k] + from_hidden[1][k];
        }
        sigmoid(gates);
        let (r, z) = gates.split_at(HIDDEN);
        for k in 0..HIDDEN {
            n[k] = from_input[2][k] + r[k] * from_hidden[2][k];
        }
        tanh(n);
        hidden_n[..HIDDEN].copy_from_slice(from_hidden[2].as_slice());
        for k in 0..HIDDEN {
            state[k] = n[k] + z[k] * (state[k] - n[k]);
        }
        SVector::from_column_slice(&state[..HIDDEN])
    }

    #[inline(always)]
    fn backward_step(
        &self,
        transposed: &[T],
        input: &SVector<T, IN>,
        before: &[T],
        trace: &[T],
        d_output: &SVector<T, HIDDEN>,
        d_state: &mut [T],
        gradients: &mut Self,
    ) -> SVector<T, IN> {
        let one = T::one();
        let before = &before[..HIDDEN];
        let d_state = &mut d_state[..HIDDEN];
        let (r, rest) = trace[..4 * HIDDEN].split_at(HIDDEN);
        let (z, rest) = rest.split_at(HIDDEN);
        let (n, hidden_n) = rest.split_at(HIDDEN);
        // Gradients of the input side's and the hidden side's products, gates r, z, n.
        let mut d_input_side = [SVector::<T, HIDDEN>::zeros(); 3];
        let mut d_hidden_side = [SVector::<T, HIDDEN>::zeros(); 3];
        // The gradient with respect to `h` that skips the products, through `z * h`.
        let mut direct = SVector::<T, HIDDEN>::zeros();
        for k in 0..HIDDEN {
            let dh = d_output[k] + d_state[k];
            let dn = dh * (one - z[k]) * (one - n[k] * n[k]);
            let dz = dh * (before[k] - n[k]) * z[k] * (one - z[k]);
            let dr = dn * hidden_n[k] * r[k] * (one - r[k]);
            d_input_side[0][k] = dr;
            d_input_side[1][k] = dz;
            d_input_side[2][k] = dn;
            d_hidden_side[0][k] = dr;
            d_hidden_side[1][k] = dz;
            d_hidden_side[2][k] = dn * r[k];
            direct[k] = dh * z[k];
        }
        let d_input_side: &[T] = bytemuck::cast_slice(&d_input_side[..]);
        let d_hidden_side: &[T] = bytemuck::cast_slice(&d_hidden_side[..]);
        add(
            bytemuck::cast_slice_mut(&mut gradients.bias_ih[..]),
            d_input_side,
        );
        add(
            bytemuck::cast_slice_mut(&mut gradients.bias_hh[..]),
            d_hidden_side,
        );
        add_outer(
            flat_mut(&mut gradients.weight_ih),
            input.as_slice(),
            d_input_side,
        );
        add_outer(flat_mut(&mut gradients.weight_hh), before, d_hidden_side);
        let (ih, hh) = transposed.split_at(3 * HIDDEN * IN);
        let mut d_input = SVector::<T, IN>::zeros();
        let zeros = SVector::<T, IN>::zeros();
        back_product::<T, IN>(ih, d_input_side, zeros.as_slice(), d_input.as_mut_slice());
        back_product::<T, HIDDEN>(hh, d_hidden_side, direct.as_slice(), d_state);
        d_input
    }
}
