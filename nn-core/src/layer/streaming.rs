//! Streaming: a network run one time step at a time, with the state its recurrent layers carry
//! from step to step, as a real-time audio callback runs it.
//!
//! A layer that keeps state ([`Lstm`](super::Lstm), [`Gru`](super::Gru), [`Rnn`](super::Rnn),
//! [`CausalConv1d`](super::CausalConv1d)) implements [`Streaming`] with its state type; every other [`Layer`] is applied at each step
//! on its own, with the state `()`, through [`Memoryless`]. A recurrent layer does not implement [`Layer`], so a
//! network that holds one has `step` and the sequence methods but no single-sample `forward`
//! or `fit`: those would not say what happens to the state.
//!
//! [`StreamStack`] walks a network's chain of layers (the same [`Link`] chain the other passes
//! use) with one state per layer.

use core::fmt::Debug;

use nalgebra::SVector;
use rand::Rng;

use super::stack::{End, Link};
use super::{HasGradients, Layer, Phase};
use crate::{Init, Parameters, Scalar};

/// A layer that runs one time step at a time from `IN` to `OUT` numbers, carrying a
/// [`State`](Self::State) from one step to the next.
///
/// A step must not allocate, lock or make a system call: it runs inside audio callbacks.
///
/// A network's `step` runs its layers' steps inside [`with_fma`](crate::with_fma), where the
/// cells' f32 arithmetic compiles to fused vector code; a layer's own `step` called outside it
/// gives the same numbers, more slowly.
pub trait Streaming<T: Scalar, const IN: usize, const OUT: usize>:
    Parameters<T> + HasGradients<T>
{
    /// What the layer carries between steps (an LSTM's `h` and `c`); `()` for a layer without
    /// memory. All zero at the start of a stream.
    type State: Copy + Debug + PartialEq + bytemuck::Zeroable + 'static;

    /// Sets the parameters to fresh random values drawn as `init` says.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);

    /// One time step: the output for `input`, updating `state`.
    #[must_use]
    fn step(&self, state: &mut Self::State, input: &SVector<T, IN>) -> SVector<T, OUT>;
}

/// A layer without memory in a chain run step by step: each [`Layer`] is applied at each time
/// step on its own, with the state `()`.
///
/// A wrapper rather than a blanket `Streaming` impl for every `Layer`, which the compiler would
/// refuse as overlapping the recurrent layers' own impls.
#[derive(Debug)]
pub struct Memoryless<H>(pub H);

/// A chain of layers from `IN` to `OUT` numbers, run one time step at a time.
pub trait StreamStack<T: Scalar, const IN: usize, const OUT: usize> {
    /// Every layer's state, borrowed: `(&mut first, (&mut second, ()))`.
    type States<'s>;

    /// One time step through every layer.
    #[must_use]
    fn step(&self, states: Self::States<'_>, input: &SVector<T, IN>) -> SVector<T, OUT>;
}

impl<T, L, R, const IN: usize, const A: usize, const B: usize, const OUT: usize>
    StreamStack<T, IN, OUT> for Link<&L, R, A, B>
where
    T: Scalar,
    L: Streaming<T, IN, A>,
    R: StreamStack<T, B, OUT>,
{
    type States<'s> = (&'s mut L::State, R::States<'s>);

    #[inline(always)]
    fn step(&self, states: Self::States<'_>, input: &SVector<T, IN>) -> SVector<T, OUT> {
        let (own, rest) = states;
        let output = self.0.step(own, input);
        self.1.step(rest, across::<T, A, B>(&output))
    }
}

impl<T, L, R, const IN: usize, const A: usize, const B: usize, const OUT: usize>
    StreamStack<T, IN, OUT> for Link<Memoryless<&L>, R, A, B>
where
    T: Scalar,
    L: Layer<T, IN, A>,
    R: StreamStack<T, B, OUT>,
{
    type States<'s> = (&'s mut (), R::States<'s>);

    #[inline(always)]
    fn step(&self, states: Self::States<'_>, input: &SVector<T, IN>) -> SVector<T, OUT> {
        let (_, rest) = states;
        let (_, output) = self.0.0.forward_single(input, &mut Phase::Inference);
        self.1.step(rest, across::<T, A, B>(&output))
    }
}

/// A value at a link's boundary seen at the other side's width, which is the same: links exist
/// only where `A == B` (`Link::new`).
#[inline(always)]
fn across<T: Scalar, const A: usize, const B: usize>(value: &SVector<T, A>) -> &SVector<T, B> {
    bytemuck::cast_ref::<SVector<T, A>, SVector<T, B>>(value)
}

impl<T: Scalar, const N: usize> StreamStack<T, N, N> for End {
    type States<'s> = ();

    #[inline(always)]
    fn step(&self, _states: (), input: &SVector<T, N>) -> SVector<T, N> {
        *input
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};

    use super::*;
    use crate::{Dense, Parameters, Relu, Rnn};

    #[test]
    fn a_chain_steps_a_recurrent_layer_then_a_layer_without_memory() {
        let mut rnn = Rnn::<1, 1, Relu, f64>::zeros();
        rnn.weight_ih[0][0] = SVector::from([1.0]);
        rnn.weight_hh[0][0] = SVector::from([1.0]);
        let dense = Dense::<1, 1, Relu, f64>::from_parts(
            SMatrix::<f64, 1, 1>::new(-2.0),
            SVector::from([5.0]),
        );
        let chain = Link::<_, _, 1, 1>::new(&rnn, Link::<_, _, 1, 1>::new(Memoryless(&dense), End));
        let mut h = SVector::zeros();
        // h runs 1, 2, 3 (a running sum); the output is relu(5 - 2 h): 3, 1, 0.
        let outputs: [f64; 3] =
            core::array::from_fn(|_| chain.step((&mut h, (&mut (), ())), &SVector::from([1.0]))[0]);
        assert_eq!(outputs, [3.0, 1.0, 0.0]);
        assert_eq!(h, SVector::from([3.0]));
    }
}
