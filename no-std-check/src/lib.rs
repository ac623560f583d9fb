//! A `#![no_std]` crate without an allocator that declares a network with typenn and runs it:
//! what an embedded application does with weights baked into its binary.
//!
//! CI builds it for `x86_64-unknown-none`, a target that has no `std` at all, and runs its test
//! on the host, where only the test harness uses `std`.
#![cfg_attr(not(test), no_std)]

use typenn::prelude::*;

pub mod int8;
pub mod stream;

network! {
    /// A small controller: 3 sensor readings in, 2 actuator commands out.
    pub struct Controller(Dense<3, 4, Relu>, Dense<4, 2, Tanh>);
}

/// The controller with fixed weights, as an application would bake them in.
#[must_use]
pub fn controller() -> Controller {
    let mut network = Controller::zeros();
    network.0.weights = SMatrix::from_row_slice(&[
        1.0, 0.0, 0.0, //
        0.0, 1.0, 0.0, //
        0.0, 0.0, 1.0, //
        -1.0, -1.0, -1.0,
    ]);
    network.0.bias = SVector::from([0.0, 0.0, 0.0, 0.5]);
    network.1.weights = SMatrix::from_row_slice(&[
        0.5, -0.5, 0.0, 1.0, //
        0.0, 0.0, 0.25, 0.0,
    ]);
    network
}

/// One control step: readings in, commands out. No allocation, no `std`.
#[must_use]
pub fn step(network: &Controller, readings: [f32; 3]) -> [f32; 2] {
    network.forward(&SVector::from(readings)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_pass_matches_the_hand_computation() {
        // Hidden: relu([1, 2, 3, -6 + 0.5]) = [1, 2, 3, 0];
        // outputs: tanh([0.5 - 1 + 0, 0.75]) = [tanh(-0.5), tanh(0.75)].
        let [a, b] = step(&controller(), [1.0, 2.0, 3.0]);
        assert!((a - (-0.5f32).tanh()).abs() < 1e-6, "{a}");
        assert!((b - 0.75f32.tanh()).abs() < 1e-6, "{b}");
    }
}
