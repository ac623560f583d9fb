use core::marker::PhantomData;

use nalgebra::SVector;
use rand::Rng;

use super::Streaming;
use super::recurrent::{cell_parameters, flat, gate_products, initialize_cell, tanh};
use crate::activation::{Activation, Tanh};
use crate::{Init, Scalar};

/// The simple recurrent layer of PyTorch's `nn.RNN` (one layer): `IN` numbers in and `HIDDEN`
/// out at each time step, `h' = f(W_ih x + b_ih + W_hh h + b_hh)`, with `f` the activation `A`:
/// [`Tanh`] by default, or [`Relu`](crate::Relu) (PyTorch's `nonlinearity='relu'`).
///
/// The tensors are named and shaped as PyTorch's state dict (`weight_ih_l0`, `weight_hh_l0`,
/// `bias_ih_l0`, `bias_hh_l0`).
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input `x` | `SVector<T, IN>` | one time step |
/// | `weight_ih` | `[[SVector<T, HIDDEN>; 1]; IN]` | column `j` holds input `j`'s weights: PyTorch's `[HIDDEN, IN]` `weight_ih_l0`, column by column |
/// | `weight_hh` | `[[SVector<T, HIDDEN>; 1]; HIDDEN]` | the same for `h`: PyTorch's `[HIDDEN, HIDDEN]` `weight_hh_l0` |
/// | `bias_ih`, `bias_hh` | `[SVector<T, HIDDEN>; 1]` | PyTorch's `[HIDDEN]` `bias_ih_l0`, `bias_hh_l0` |
/// | state | `SVector<T, HIDDEN>` | `h` |
/// | output `h'` | `SVector<T, HIDDEN>` | one time step |
///
/// # Example
///
/// ```
/// use typenn::{Parameters, Relu, Rnn, SVector, Streaming};
///
/// let mut rnn = Rnn::<1, 1, Relu, f64>::zeros();
/// rnn.weight_ih[0][0] = SVector::from([1.0]);
/// rnn.weight_hh[0][0] = SVector::from([0.5]);
/// let mut h = SVector::zeros();
/// assert_eq!(rnn.step(&mut h, &SVector::from([2.0])), SVector::from([2.0]));
/// // relu(1 + 0.5 * 2) = 2, then relu(-3 + 0.5 * 2) = 0.
/// assert_eq!(rnn.step(&mut h, &SVector::from([1.0])), SVector::from([2.0]));
/// assert_eq!(rnn.step(&mut h, &SVector::from([-3.0])), SVector::from([0.0]));
/// ```
#[derive(bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct Rnn<const IN: usize, const HIDDEN: usize, A = Tanh, T = f32> {
    /// Column `j`: input `j`'s weights.
    pub weight_ih: [[SVector<T, HIDDEN>; 1]; IN],
    /// Column `j`: `h[j]`'s weights.
    pub weight_hh: [[SVector<T, HIDDEN>; 1]; HIDDEN],
    /// The input side's bias.
    pub bias_ih: [SVector<T, HIDDEN>; 1],
    /// The hidden side's bias.
    pub bias_hh: [SVector<T, HIDDEN>; 1],
    activation: PhantomData<A>,
}

// By hand: the activation is a marker type, which need not be `Clone`, `Debug` or `PartialEq`.
impl<const IN: usize, const HIDDEN: usize, A, T: Scalar> Clone for Rnn<IN, HIDDEN, A, T> {
    fn clone(&self) -> Self {
        Self {
            weight_ih: self.weight_ih,
            weight_hh: self.weight_hh,
            bias_ih: self.bias_ih,
            bias_hh: self.bias_hh,
            activation: PhantomData,
        }
    }
}

impl<const IN: usize, const HIDDEN: usize, A, T: Scalar> core::fmt::Debug
    for Rnn<IN, HIDDEN, A, T>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Rnn")
            .field("weight_ih", &self.weight_ih)
            .field("weight_hh", &self.weight_hh)
            .field("bias_ih", &self.bias_ih)
            .field("bias_hh", &self.bias_hh)
            .finish()
    }
}

impl<const IN: usize, const HIDDEN: usize, A, T: PartialEq> PartialEq for Rnn<IN, HIDDEN, A, T>
where
    SVector<T, HIDDEN>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.weight_ih == other.weight_ih
            && self.weight_hh == other.weight_hh
            && self.bias_ih == other.bias_ih
            && self.bias_hh == other.bias_hh
    }
}

impl<const IN: usize, const HIDDEN: usize, A, T> Rnn<IN, HIDDEN, A, T> {
    /// Refuses zero widths when the layer is first used.
    const NONZERO_WIDTHS: () = assert!(
        IN > 0 && HIDDEN > 0,
        "an Rnn layer needs at least one input and one hidden unit"
    );
}

cell_parameters!(
    Rnn<A>,
    1,
    super::LayerKind::Rnn {
        activation: super::type_name_of::<A>()
    }
);

impl<const IN: usize, const HIDDEN: usize, A: Activation, T: Scalar> Streaming<T, IN, HIDDEN>
    for Rnn<IN, HIDDEN, A, T>
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
        let mut z = self.bias_ih[0] + self.bias_hh[0];
        let bias = z;
        gate_products::<T, 1, HIDDEN, _>(
            bias.as_slice(),
            [
                (flat(&self.weight_ih), input.as_slice()),
                (flat(&self.weight_hh), h.as_slice()),
            ],
            z.as_mut_slice(),
        );
        if A::NAME == Tanh::NAME {
            // The fast tanh for f32.
            tanh(z.as_mut_slice());
            *h = z;
        } else {
            A::forward(HIDDEN, z.as_slice(), h.as_mut_slice());
        }
        *h
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::SVector;

    use super::*;
    use crate::Parameters;

    #[test]
    fn one_tanh_step_by_hand() {
        let mut rnn = Rnn::<2, 2, Tanh, f64>::zeros();
        rnn.weight_ih = [[SVector::from([1.0, -1.0])], [SVector::from([0.5, 2.0])]];
        rnn.weight_hh = [[SVector::from([0.25, 0.0])], [SVector::from([0.0, -0.5])]];
        rnn.bias_ih = [SVector::from([0.1, 0.2])];
        rnn.bias_hh = [SVector::from([-0.3, 0.4])];
        let mut h = SVector::from([1.0, 2.0]);
        let out = rnn.step(&mut h, &SVector::from([3.0, -1.0]));
        // unit 0: tanh(3 - 0.5 + 0.25 * 1 + 0.1 - 0.3) = tanh(2.55);
        // unit 1: tanh(-3 - 2 - 0.5 * 2 + 0.2 + 0.4) = tanh(-5.4).
        assert!((out[0] - 2.55_f64.tanh()).abs() < 1e-15);
        assert!((out[1] - (-5.4_f64).tanh()).abs() < 1e-15);
        assert_eq!(h, out);
        // The tensors in PyTorch's order: weight_ih_l0 = [[1, 0.5], [-1, 2]], column by column.
        assert_eq!(rnn.tensor(0), &[1.0, -1.0, 0.5, 2.0]);
    }
}
