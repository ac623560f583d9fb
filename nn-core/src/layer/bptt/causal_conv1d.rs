use nalgebra::SVector;

use super::super::causal_conv1d::reach;
use super::super::recurrent::{flat, flat_mut};
use super::{ThroughTime, add, add_outer, back_product, transpose_into};
use crate::activation::Activation;
use crate::{CausalConv1d, CausalConv1dState, Scalar};

/// The state is the `(KERNEL - 1) * DILATION` input frames before a step's own that its taps
/// read, the newest first (each frame's `IN` channels together); a step keeps its
/// pre-activations and outputs. Going back, the gradient with respect to an input gathers what
/// every later step's taps sent to it, carried in the state's gradient one frame newer per
/// step, so the output of step `t` reaches the inputs `t`, `t - DILATION`, ...,
/// `t - (KERNEL - 1) * DILATION`.
impl<const IN: usize, const OUT: usize, const KERNEL: usize, const DILATION: usize, A, T>
    ThroughTime<T, IN, OUT> for CausalConv1d<IN, OUT, KERNEL, DILATION, A, T>
where
    A: Activation + 'static,
    T: Scalar,
{
    const STATE_LEN: usize = reach(KERNEL, DILATION) * IN;
    const TRACE_LEN: usize = 2 * OUT;
    const TRANSPOSED_LEN: usize = KERNEL * IN * OUT;

    /// Each tap's `OUT x IN` block on its own, `IN x OUT` after it.
    #[inline(always)]
    fn transpose(&self, out: &mut [T]) {
        for (tap, out) in self.weight.iter().zip(out.chunks_exact_mut(IN * OUT)) {
            transpose_into(flat(core::slice::from_ref(tap)), OUT, out);
        }
    }

    #[inline(always)]
    fn write_state(state: &Self::State, out: &mut [T]) {
        for (j, frame) in out[..Self::STATE_LEN].chunks_exact_mut(IN).enumerate() {
            if let Some(past) = state.past(j) {
                frame.copy_from_slice(past.as_slice());
            }
        }
    }

    #[inline(always)]
    fn read_state(values: &[T]) -> Self::State {
        CausalConv1dState::from_past(|j| SVector::from_column_slice(&values[j * IN..][..IN]))
    }

    #[inline(always)]
    fn traced_step(
        &self,
        state: &mut [T],
        input: &SVector<T, IN>,
        trace: &mut [T],
    ) -> SVector<T, OUT> {
        let len = Self::STATE_LEN;
        let z = {
            let past: &[SVector<T, IN>] = bytemuck::cast_slice(&state[..len]);
            self.tap_products(core::array::from_fn(|k| {
                match ((KERNEL - 1 - k) * DILATION).checked_sub(1) {
                    None => input,
                    Some(j) => &past[j],
                }
            }))
        };
        let a = Self::activate(z);
        trace[..OUT].copy_from_slice(z.as_slice());
        trace[OUT..2 * OUT].copy_from_slice(a.as_slice());
        // Every frame one step older, the input the newest.
        if len > 0 {
            state.copy_within(..len - IN, IN);
            state[..IN].copy_from_slice(input.as_slice());
        }
        a
    }

    #[inline(always)]
    fn backward_step(
        &self,
        transposed: &[T],
        input: &SVector<T, IN>,
        before: &[T],
        trace: &[T],
        d_output: &SVector<T, OUT>,
        d_state: &mut [T],
        gradients: &mut Self,
    ) -> SVector<T, IN> {
        let len = Self::STATE_LEN;
        let (z, a) = trace.split_at(OUT);
        let mut dz = *d_output;
        A::backward(OUT, z, &a[..OUT], dz.as_mut_slice());
        let dz = dz.as_slice();
        add(gradients.bias.as_mut_slice(), dz);
        // The state the step left is its input, then `before` one step older: the gradient
        // with respect to the input starts as the newest frame's, and the rest moves one frame
        // newer, the oldest getting nothing from after the step.
        let mut d_input = SVector::<T, IN>::zeros();
        if len > 0 {
            d_input.copy_from_slice(&d_state[..IN]);
            d_state.copy_within(IN..len, 0);
            d_state[len - IN..len].fill(T::zero());
        }
        let past: &[SVector<T, IN>] = bytemuck::cast_slice(&before[..len]);
        let taps = gradients
            .weight
            .iter_mut()
            .zip(transposed.chunks_exact(IN * OUT));
        for (k, (gradient, transposed)) in taps.enumerate() {
            let (frame, d_frame) = match ((KERNEL - 1 - k) * DILATION).checked_sub(1) {
                None => (input, d_input.as_mut_slice()),
                Some(j) => (&past[j], &mut d_state[j * IN..][..IN]),
            };
            add_outer(
                flat_mut(core::slice::from_mut(gradient)),
                frame.as_slice(),
                dz,
            );
            let start = SVector::<T, IN>::from_column_slice(d_frame);
            back_product::<T, IN>(transposed, dz, start.as_slice(), d_frame);
        }
        d_input
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};

    use super::*;
    use crate::{Identity, Init, Parameters, Streaming, Tanh};

    /// What the chain does with one layer over one sequence: the traced steps from the state
    /// `start` (as scalars), then the backward steps from the last. Returns the gradients (as
    /// well as the input's) and the state left.
    fn through_time<
        const IN: usize,
        const OUT: usize,
        const KERNEL: usize,
        const DILATION: usize,
        A: Activation + 'static,
        const STEPS: usize,
    >(
        conv: &CausalConv1d<IN, OUT, KERNEL, DILATION, A, f64>,
        start: &[f64],
        inputs: &SMatrix<f64, IN, STEPS>,
        d_outputs: &SMatrix<f64, OUT, STEPS>,
    ) -> (
        CausalConv1d<IN, OUT, KERNEL, DILATION, A, f64>,
        SMatrix<f64, IN, STEPS>,
        Vec<f64>,
    ) {
        let state_len = start.len();
        let trace_len = 2 * OUT;
        let mut state = start.to_vec();
        let mut befores = Vec::new();
        let mut traces = vec![0.0; STEPS * trace_len];
        for t in 0..STEPS {
            befores.extend_from_slice(&state);
            let _ = conv.traced_step(
                &mut state,
                &inputs.column(t).into_owned(),
                &mut traces[t * trace_len..][..trace_len],
            );
        }
        let mut transposed = vec![0.0; KERNEL * IN * OUT];
        conv.transpose(&mut transposed);
        let mut gradients = CausalConv1d::zeros();
        let mut d_inputs = SMatrix::<f64, IN, STEPS>::zeros();
        let mut d_state = vec![0.0; state_len];
        for t in (0..STEPS).rev() {
            let d_input = conv.backward_step(
                &transposed,
                &inputs.column(t).into_owned(),
                &befores[t * state_len..][..state_len],
                &traces[t * trace_len..][..trace_len],
                &d_outputs.column(t).into_owned(),
                &mut d_state,
                &mut gradients,
            );
            d_inputs.set_column(t, &d_input);
        }
        (gradients, d_inputs, state)
    }

    #[test]
    fn gradients_by_hand() {
        // y[t] = 2 x[t] + 3 x[t - 2] + 1 (kernel 2, dilation 2), over x = 1, 2, 3, 4 with
        // output gradients g = 1, -1, 2, 0.5.
        let mut conv = CausalConv1d::<1, 1, 2, 2, Identity, f64>::zeros();
        conv.weight = [[SVector::from([3.0])], [SVector::from([2.0])]];
        conv.bias = SVector::from([1.0]);
        let inputs = SMatrix::<f64, 1, 4>::from([[1.0], [2.0], [3.0], [4.0]]);
        let g = SMatrix::<f64, 1, 4>::from([[1.0], [-1.0], [2.0], [0.5]]);
        let (gradients, d_inputs, state) = through_time(&conv, &[0.0, 0.0], &inputs, &g);
        // The bias: the sum of g, 2.5. The undelayed tap: sum of g[t] x[t] = 1 - 2 + 6 + 2 = 7.
        // The delayed tap: g[2] x[0] + g[3] x[1] = 2 + 1 = 3 (before, the frames are zero).
        assert_eq!(gradients.bias, SVector::from([2.5]));
        assert_eq!(
            gradients.weight,
            [[SVector::from([3.0])], [SVector::from([7.0])]]
        );
        // dx[t] = 2 g[t] + 3 g[t + 2]: 2 + 6 = 8, -2 + 1.5 = -0.5, 4, 1.
        assert_eq!(
            d_inputs,
            SMatrix::<f64, 1, 4>::from([[8.0], [-0.5], [4.0], [1.0]])
        );
        // The state left: the last two inputs, the newest first.
        assert_eq!(state, [4.0, 3.0]);
        // From that state the delayed tap sees the frames before the sequence, as constants:
        // its gradient gains g[0] x[-2] + g[1] x[-1] = 1 * 3 - 1 * 4 = -1.
        let (after, d_after, _) = through_time(&conv, &state, &inputs, &g);
        assert_eq!(after.weight[0][0], SVector::from([2.0]));
        assert_eq!(d_after, d_inputs);
    }

    #[test]
    fn a_kernel_of_one_has_no_state() {
        let mut conv = CausalConv1d::<2, 1, 1, 3, Identity, f64>::zeros();
        conv.weight = [[SVector::from([2.0]), SVector::from([-1.0])]];
        let inputs = SMatrix::<f64, 2, 2>::from([[1.0, 2.0], [3.0, 4.0]]);
        let g = SMatrix::<f64, 1, 2>::from([[1.0], [10.0]]);
        let (gradients, d_inputs, state) = through_time(&conv, &[], &inputs, &g);
        assert!(state.is_empty());
        assert_eq!(
            gradients.weight[0],
            [SVector::from([31.0]), SVector::from([42.0])]
        );
        assert_eq!(
            d_inputs,
            SMatrix::<f64, 2, 2>::from([[2.0, -1.0], [20.0, -10.0]])
        );
    }

    #[test]
    fn the_state_as_scalars_is_the_past_frames_and_reads_back() {
        let mut conv = CausalConv1d::<2, 3, 3, 2, Tanh, f64>::zeros();
        conv.initialize(
            Init::GlorotUniform,
            &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4),
        );
        let mut state = CausalConv1dState::default();
        let mut scalars = vec![0.0; 8];
        let mut trace = [0.0; 6];
        // Longer than the ring of 6 frames, so that it wraps.
        for t in 0..9 {
            let x = SVector::from([t as f64, -0.5 * t as f64]);
            let stepped = conv.step(&mut state, &x);
            let traced = conv.traced_step(&mut scalars, &x, &mut trace);
            assert_eq!(stepped, traced, "step {t}");
            let mut written = [0.0; 8];
            <CausalConv1d<2, 3, 3, 2, Tanh, f64> as ThroughTime<f64, 2, 3>>::write_state(
                &state,
                &mut written,
            );
            assert_eq!(written[..], scalars[..], "step {t}");
        }
        // A state read back steps on as the one it was written from.
        let mut read =
            <CausalConv1d<2, 3, 3, 2, Tanh, f64> as ThroughTime<f64, 2, 3>>::read_state(&scalars);
        let x = SVector::from([0.25, 1.0]);
        assert_eq!(conv.step(&mut read, &x), conv.step(&mut state, &x));
        assert_eq!(read.past(3), state.past(3));
    }

    /// `sum over t, o of g[o][t] y[o][t]` over `inputs` run from `start`.
    fn loss<const STEPS: usize>(
        conv: &CausalConv1d<2, 3, 3, 2, Tanh, f64>,
        start: &CausalConv1dState<2, 3, 2, f64>,
        inputs: &SMatrix<f64, 2, STEPS>,
        g: &SMatrix<f64, 3, STEPS>,
    ) -> f64 {
        let mut state = *start;
        (0..STEPS)
            .map(|t| {
                conv.step(&mut state, &inputs.column(t).into_owned())
                    .dot(&g.column(t))
            })
            .sum()
    }

    #[test]
    fn gradients_from_a_carried_state_match_finite_differences() {
        let mut conv = CausalConv1d::<2, 3, 3, 2, Tanh, f64>::zeros();
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
        conv.initialize(Init::GlorotUniform, &mut rng);
        conv.bias = SVector::from([0.1, -0.2, 0.3]);
        // A start after some stream, so that the frames before the sequence count.
        let mut start = CausalConv1dState::default();
        for t in 0..4 {
            let _ = conv.step(&mut start, &SVector::from([t as f64 * 0.5 - 1.0, 0.75]));
        }
        let mut scalars = [0.0; 8];
        <CausalConv1d<2, 3, 3, 2, Tanh, f64> as ThroughTime<f64, 2, 3>>::write_state(
            &start,
            &mut scalars,
        );
        let inputs = SMatrix::<f64, 2, 7>::from_fn(|c, t| ((3 * t + c) as f64 * 0.9).sin());
        let g = SMatrix::<f64, 3, 7>::from_fn(|o, t| ((t + 2 * o) as f64 * 0.4).cos());
        let (gradients, input_gradient, _) = through_time(&conv, &scalars, &inputs, &g);

        let h = 1e-6;
        for tensor in 0..2 {
            for i in 0..conv.tensor(tensor).len() {
                let mut shifted = conv.clone();
                shifted.tensor_mut(tensor)[i] += h;
                let up = loss(&shifted, &start, &inputs, &g);
                shifted.tensor_mut(tensor)[i] -= 2.0 * h;
                let down = loss(&shifted, &start, &inputs, &g);
                let numeric = (up - down) / (2.0 * h);
                let analytic = gradients.tensor(tensor)[i];
                assert!(
                    (numeric - analytic).abs() < 1e-8,
                    "tensor {tensor}[{i}]: {numeric} against {analytic}"
                );
            }
        }
        for c in 0..2 {
            for t in 0..7 {
                let mut shifted = inputs;
                shifted[(c, t)] += h;
                let up = loss(&conv, &start, &shifted, &g);
                shifted[(c, t)] -= 2.0 * h;
                let down = loss(&conv, &start, &shifted, &g);
                let numeric = (up - down) / (2.0 * h);
                assert!(
                    (numeric - input_gradient[(c, t)]).abs() < 1e-8,
                    "input ({c}, {t})"
                );
            }
        }
    }
}
