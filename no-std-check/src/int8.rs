//! The controller in int8, calibrated and run without `std` or an allocator.

use typenn::QuantizeError;
use typenn::prelude::*;

use crate::{Controller, ControllerInt8};

/// Readings the controller sees, on which its int8 scales are calibrated.
pub const CALIBRATION: [[f32; 3]; 4] = [
    [1.0, 2.0, 3.0],
    [-1.0, 0.5, 0.0],
    [0.25, -2.0, 1.5],
    [3.0, 3.0, -3.0],
];

/// `network` in int8, calibrated on [`CALIBRATION`].
///
/// # Errors
///
/// As `Controller::quantize_inputs`: only for a network with non-finite weights here.
pub fn quantized(network: &Controller) -> Result<ControllerInt8, QuantizeError> {
    network.quantize_inputs(&CALIBRATION.map(SVector::from))
}

/// One control step in int8: readings in, commands out.
#[must_use]
pub fn step_int8(network: &ControllerInt8, readings: [f32; 3]) -> [f32; 2] {
    network.forward(&SVector::from(readings)).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{controller, step};

    #[test]
    fn the_int8_controller_follows_the_f32_one() {
        let int8 = quantized(&controller()).unwrap();
        for readings in CALIBRATION {
            let (exact, approximate) = (step(&controller(), readings), step_int8(&int8, readings));
            for (a, b) in exact.iter().zip(&approximate) {
                // Two requantizations of at most half a step of 1/127 of the outputs' range
                // (tanh: at most 1), and the hidden layer's.
                assert!((a - b).abs() < 0.05, "{exact:?} {approximate:?}");
            }
        }
    }
}
