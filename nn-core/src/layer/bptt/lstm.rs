use nalgebra::SVector;

use super::super::recurrent::{flat, flat_mut, gate_products, sigmoid, tanh};
use super::{ThroughTime, add, add_outer, back_product, transpose_into};
use crate::{Lstm, LstmState, Scalar};

/// The state is `h` then `c`; a step keeps its gates i, f, g, o (after their activations) and
/// `tanh(c')`.
impl<const IN: usize, const HIDDEN: usize, T: Scalar> ThroughTime<T, IN, HIDDEN>
    for Lstm<IN, HIDDEN, T>
{
    const STATE_LEN: usize = 2 * HIDDEN;
    const TRACE_LEN: usize = 5 * HIDDEN;
    const TRANSPOSED_LEN: usize = 4 * HIDDEN * (IN + HIDDEN);

    #[inline(always)]
    fn transpose(&self, out: &mut [T]) {
        let (ih, hh) = out.split_at_mut(4 * HIDDEN * IN);
        transpose_into(flat(&self.weight_ih), 4 * HIDDEN, ih);
        transpose_into(flat(&self.weight_hh), 4 * HIDDEN, hh);
    }

    #[inline(always)]
    fn write_state(state: &Self::State, out: &mut [T]) {
        out[..HIDDEN].copy_from_slice(state.h.as_slice());
        out[HIDDEN..2 * HIDDEN].copy_from_slice(state.c.as_slice());
    }

    #[inline(always)]
    fn read_state(values: &[T]) -> Self::State {
        LstmState {
            h: SVector::from_column_slice(&values[..HIDDEN]),
            c: SVector::from_column_slice(&values[HIDDEN..2 * HIDDEN]),
        }
    }

    #[inline(always)]
    fn traced_step(
        &self,
        state: &mut [T],
        input: &SVector<T, IN>,
        trace: &mut [T],
    ) -> SVector<T, HIDDEN> {
        let mut bias = self.bias_ih;
        for (b, other) in bias.iter_mut().zip(&self.bias_hh) {
            *b += other;
        }
        // Every piece re-sliced to its exact length, so that the loops below have no bounds
        // checks and vectorize.
        let (h, c) = state[..2 * HIDDEN].split_at_mut(HIDDEN);
        let (gates, squashed) = trace[..5 * HIDDEN].split_at_mut(4 * HIDDEN);
        gate_products::<T, 4, HIDDEN, _>(
            bytemuck::cast_slice(&bias[..]),
            [
                (flat(&self.weight_ih), input.as_slice()),
                (flat(&self.weight_hh), h),
            ],
            gates,
        );
        let (sigmoids, rest) = gates.split_at_mut(2 * HIDDEN);
        let (g, o) = rest.split_at_mut(HIDDEN);
        sigmoid(sigmoids);
        tanh(g);
        sigmoid(o);
        let (i, f) = sigmoids.split_at(HIDDEN);
        for k in 0..HIDDEN {
            c[k] = f[k] * c[k] + i[k] * g[k];
        }
        squashed[..HIDDEN].copy_from_slice(c);
        tanh(&mut squashed[..HIDDEN]);
        for k in 0..HIDDEN {
            h[k] = o[k] * squashed[k];
        }
        SVector::from_column_slice(h)
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
        // Exact lengths, as in `traced_step`.
        let (h, c) = before[..2 * HIDDEN].split_at(HIDDEN);
        let (i, rest) = trace[..5 * HIDDEN].split_at(HIDDEN);
        let (f, rest) = rest.split_at(HIDDEN);
        let (g, rest) = rest.split_at(HIDDEN);
        let (o, squashed) = rest.split_at(HIDDEN);
        let (dh, dc) = d_state[..2 * HIDDEN].split_at_mut(HIDDEN);
        // The gates' pre-activations' gradients, in the gates' order i, f, g, o.
        let mut dz = [SVector::<T, HIDDEN>::zeros(); 4];
        for k in 0..HIDDEN {
            let dh_k = d_output[k] + dh[k];
            let s = squashed[k];
            let dc_k = dc[k] + dh_k * o[k] * (one - s * s);
            dz[0][k] = dc_k * g[k] * i[k] * (one - i[k]);
            dz[1][k] = dc_k * c[k] * f[k] * (one - f[k]);
            dz[2][k] = dc_k * i[k] * (one - g[k] * g[k]);
            dz[3][k] = dh_k * s * o[k] * (one - o[k]);
            dc[k] = dc_k * f[k];
        }
        let dz: &[T] = bytemuck::cast_slice(&dz[..]);
        add(bytemuck::cast_slice_mut(&mut gradients.bias_ih[..]), dz);
        add(bytemuck::cast_slice_mut(&mut gradients.bias_hh[..]), dz);
        add_outer(flat_mut(&mut gradients.weight_ih), input.as_slice(), dz);
        add_outer(flat_mut(&mut gradients.weight_hh), h, dz);
        let (ih, hh) = transposed.split_at(4 * HIDDEN * IN);
        let mut d_input = SVector::<T, IN>::zeros();
        back_product::<T, IN>(
            ih,
            dz,
            SVector::<T, IN>::zeros().as_slice(),
            d_input.as_mut_slice(),
        );
        back_product::<T, HIDDEN>(hh, dz, SVector::<T, HIDDEN>::zeros().as_slice(), dh);
        d_input
    }
}
