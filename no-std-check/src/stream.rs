//! A recurrent network streamed one sample at a time without `std`: what an audio effect on a
//! microcontroller does in its sample callback.

use typenn::prelude::*;

network! {
    /// One sample in, one out, with one number of memory.
    pub struct Smoother(Rnn<1, 1>, Dense<1, 1>);
}

/// `h = tanh(0.5 x + 0.5 h)`, then `y = 2 h`.
#[must_use]
pub fn smoother() -> Smoother {
    let mut network = Smoother::zeros();
    network.0.weight_ih[0][0] = SVector::from([0.5]);
    network.0.weight_hh[0][0] = SVector::from([0.5]);
    network.1.weights = SMatrix::from([[2.0]]);
    network
}

/// `input` through the network from silence, one sample per call of `step`.
#[must_use]
pub fn stream<const N: usize>(network: &Smoother, input: [f32; N]) -> [f32; N] {
    let mut state = SmootherState::zeros();
    input.map(|x| network.step(&mut state, &SVector::from([x]))[0])
}

#[cfg(test)]
mod tests {
    #[test]
    fn streamed_outputs_match_the_hand_computation() {
        // h1 = tanh(0.5), h2 = tanh(0.5 h1), h3 = tanh(-0.5 + 0.5 h2); y = 2 h.
        let y = super::stream(&super::smoother(), [1.0, 0.0, -1.0]);
        let h1 = 0.5_f32.tanh();
        let h2 = (0.5 * h1).tanh();
        let h3 = (-0.5 + 0.5 * h2).tanh();
        for (got, want) in y.iter().zip([2.0 * h1, 2.0 * h2, 2.0 * h3]) {
            assert!((got - want).abs() < 1e-6, "{got} against {want}");
        }
    }
}
