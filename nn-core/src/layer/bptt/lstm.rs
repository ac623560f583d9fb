use nalgebra::SVector;

use super::super::recurrent::{flat, flat_mut, gate_products, sigmoid, tanh};
use super::{ThroughTime, add, add_outer, add_outers, back_product, transpose_into};
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
        // On vectors of their own, which the compiler knows alias nothing: the element-wise
        // arithmetic vectorizes.
        let h = SVector::<T, HIDDEN>::from_column_slice(&state[..HIDDEN]);
        let c = SVector::<T, HIDDEN>::from_column_slice(&state[HIDDEN..2 * HIDDEN]);
        let mut gates = [SVector::<T, HIDDEN>::zeros(); 4];
        gate_products::<T, 4, HIDDEN, _>(
            bytemuck::cast_slice(&bias[..]),
            [
                (flat(&self.weight_ih), input.as_slice()),
                (flat(&self.weight_hh), h.as_slice()),
            ],
            bytemuck::cast_slice_mut(&mut gates[..]),
        );
        let values: &mut [T] = bytemuck::cast_slice_mut(&mut gates[..]);
        let (sigmoids, rest) = values.split_at_mut(2 * HIDDEN);
        let (g, o) = rest.split_at_mut(HIDDEN);
        sigmoid(sigmoids);
        tanh(g);
        sigmoid(o);
        let [i, f, g, o] = gates;
        let c = f.component_mul(&c) + i.component_mul(&g);
        let mut squashed = c;
        tanh(squashed.as_mut_slice());
        let h = o.component_mul(&squashed);
        state[..HIDDEN].copy_from_slice(h.as_slice());
        state[HIDDEN..2 * HIDDEN].copy_from_slice(c.as_slice());
        let kept = [i, f, g, o, squashed];
        trace[..5 * HIDDEN].copy_from_slice(bytemuck::cast_slice(&kept[..]));
        h
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
        let (dz, d_input) = cell_backward(transposed, before, trace, d_output, d_state);
        let dz: &[T] = bytemuck::cast_slice(&dz[..]);
        add(bytemuck::cast_slice_mut(&mut gradients.bias_ih[..]), dz);
        add(bytemuck::cast_slice_mut(&mut gradients.bias_hh[..]), dz);
        add_outer(flat_mut(&mut gradients.weight_ih), input.as_slice(), dz);
        add_outer(flat_mut(&mut gradients.weight_hh), &before[..HIDDEN], dz);
        d_input
    }

    /// A step keeps its gates' pre-activations' gradients `dz` (`4 HIDDEN`).
    const DEFERRED_LEN: usize = 4 * HIDDEN;

    #[inline(always)]
    fn deferred_backward_step(
        &self,
        transposed: &[T],
        _input: &SVector<T, IN>,
        before: &[T],
        trace: &[T],
        d_output: &SVector<T, HIDDEN>,
        d_state: &mut [T],
        deferred: &mut [T],
        _gradients: &mut Self,
    ) -> SVector<T, IN> {
        let (dz, d_input) = cell_backward(transposed, before, trace, d_output, d_state);
        deferred[..4 * HIDDEN].copy_from_slice(bytemuck::cast_slice(&dz[..]));
        d_input
    }

    /// `dW_ih = sum dz x^T` and `dW_hh = sum dz h^T` over every step at once, and both biases'
    /// `sum dz`.
    #[inline(always)]
    fn deferred_gradients(inputs: &[T], befores: &[T], deferred: &[T], gradients: &mut Self) {
        let rows = 4 * HIDDEN;
        add_outers(
            flat_mut(&mut gradients.weight_ih),
            rows,
            (deferred, rows),
            (inputs, IN),
        );
        add_outers(
            flat_mut(&mut gradients.weight_hh),
            rows,
            (deferred, rows),
            (befores, 2 * HIDDEN),
        );
        let bias: &mut [T] = bytemuck::cast_slice_mut(&mut gradients.bias_ih[..]);
        for dz in deferred.chunks_exact(rows) {
            add(bias, dz);
        }
        gradients.bias_hh = gradients.bias_ih;
    }
}

/// One step of the cell back: the gates' pre-activations' gradients `dz` (i, f, g, o) and the
/// gradient with respect to the step's input; `d_state` as for
/// [`ThroughTime::backward_step`].
#[inline(always)]
fn cell_backward<T: Scalar, const IN: usize, const HIDDEN: usize>(
    transposed: &[T],
    before: &[T],
    trace: &[T],
    d_output: &SVector<T, HIDDEN>,
    d_state: &mut [T],
) -> ([SVector<T, HIDDEN>; 4], SVector<T, IN>) {
    let load = |values: &[T]| SVector::<T, HIDDEN>::from_column_slice(&values[..HIDDEN]);
    let c = load(&before[HIDDEN..]);
    let [i, f, g, o, squashed] =
        core::array::from_fn(|k| load(&trace[k * HIDDEN..(k + 1) * HIDDEN]));
    let one = SVector::<T, HIDDEN>::repeat(T::one());
    let dh = d_output + load(d_state);
    let dc = load(&d_state[HIDDEN..])
        + dh.component_mul(&o)
            .component_mul(&(one - squashed.component_mul(&squashed)));
    // The gates' pre-activations' gradients, in the gates' order i, f, g, o.
    let sigmoid_slope = |a: &SVector<T, HIDDEN>| a.component_mul(&(one - a));
    let dz = [
        dc.component_mul(&g).component_mul(&sigmoid_slope(&i)),
        dc.component_mul(&c).component_mul(&sigmoid_slope(&f)),
        dc.component_mul(&i)
            .component_mul(&(one - g.component_mul(&g))),
        dh.component_mul(&squashed)
            .component_mul(&sigmoid_slope(&o)),
    ];
    d_state[HIDDEN..2 * HIDDEN].copy_from_slice(dc.component_mul(&f).as_slice());
    let flat_dz: &[T] = bytemuck::cast_slice(&dz[..]);
    let (ih, hh) = transposed.split_at(4 * HIDDEN * IN);
    let mut d_input = SVector::<T, IN>::zeros();
    back_product::<T, IN>(
        ih,
        flat_dz,
        SVector::<T, IN>::zeros().as_slice(),
        d_input.as_mut_slice(),
    );
    let zeros = SVector::<T, HIDDEN>::zeros();
    back_product::<T, HIDDEN>(hh, flat_dz, zeros.as_slice(), &mut d_state[..HIDDEN]);
    (dz, d_input)
}
