use nalgebra::SVector;

use super::super::recurrent::{flat, flat_mut, gate_products, tanh};
use super::{ThroughTime, add, add_outer, back_product, transpose_into};
use crate::activation::{Activation, Tanh};
use crate::{Rnn, Scalar};

/// The state is `h`; a step keeps its pre-activation and its output.
impl<const IN: usize, const HIDDEN: usize, A: Activation, T: Scalar> ThroughTime<T, IN, HIDDEN>
    for Rnn<IN, HIDDEN, A, T>
{
    const STATE_LEN: usize = HIDDEN;
    const TRACE_LEN: usize = 2 * HIDDEN;
    const TRANSPOSED_LEN: usize = HIDDEN * (IN + HIDDEN);

    #[inline(always)]
    fn transpose(&self, out: &mut [T]) {
        let (ih, hh) = out.split_at_mut(HIDDEN * IN);
        transpose_into(flat(&self.weight_ih), HIDDEN, ih);
        transpose_into(flat(&self.weight_hh), HIDDEN, hh);
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
        let bias = self.bias_ih[0] + self.bias_hh[0];
        let (z, a) = trace.split_at_mut(HIDDEN);
        gate_products::<T, 1, HIDDEN, _>(
            bias.as_slice(),
            [
                (flat(&self.weight_ih), input.as_slice()),
                (flat(&self.weight_hh), &state[..HIDDEN]),
            ],
            z,
        );
        if A::NAME == Tanh::NAME {
            a[..HIDDEN].copy_from_slice(z);
            tanh(&mut a[..HIDDEN]);
        } else {
            A::forward(HIDDEN, z, &mut a[..HIDDEN]);
        }
        state[..HIDDEN].copy_from_slice(&a[..HIDDEN]);
        SVector::from_column_slice(&a[..HIDDEN])
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
        let (z, a) = trace.split_at(HIDDEN);
        let mut dz = *d_output;
        for (d, &carried) in dz.iter_mut().zip(&d_state[..HIDDEN]) {
            *d += carried;
        }
        A::backward(HIDDEN, z, &a[..HIDDEN], dz.as_mut_slice());
        let dz = dz.as_slice();
        add(gradients.bias_ih[0].as_mut_slice(), dz);
        add(gradients.bias_hh[0].as_mut_slice(), dz);
        add_outer(flat_mut(&mut gradients.weight_ih), input.as_slice(), dz);
        add_outer(flat_mut(&mut gradients.weight_hh), &before[..HIDDEN], dz);
        let (ih, hh) = transposed.split_at(HIDDEN * IN);
        let mut d_input = SVector::<T, IN>::zeros();
        back_product::<T, IN>(
            ih,
            dz,
            SVector::<T, IN>::zeros().as_slice(),
            d_input.as_mut_slice(),
        );
        let zeros = SVector::<T, HIDDEN>::zeros();
        back_product::<T, HIDDEN>(hh, dz, zeros.as_slice(), &mut d_state[..HIDDEN]);
        d_input
    }
}
