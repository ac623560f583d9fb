//! The controller in int8, calibrated and run without `std` or an allocator.

use typenn::QuantizeError;
use typenn::prelude::*;

use crate::{Controller, ControllerInt8};

network! {
    /// Two sensor channels of six samples each: a convolution whose batch normalization is
    /// folded into it in int8, ReLU, max pooling and a Dense layer to two scores.
    #[input_shape(2, 6)]
    pub struct Sensors(Conv1d<2, 3, 3, 1, 1>, BatchNorm, Relu, MaxPool1d<2>, Flatten, Dense<9, 2>);
}

/// The sensor network with fixed weights: channel `o` of the convolution sums input channel
/// `o % 2` over three taps, the normalization doubles it, and the Dense layer adds the pooled
/// channels up with alternating signs.
#[must_use]
pub fn sensors() -> Sensors {
    let mut network = Sensors::zeros();
    for (o, kernel) in network.0.weight.iter_mut().enumerate() {
        kernel[o % 2] = [0.25, 0.5, 0.25];
    }
    network.1.weight = [2.0; 3];
    network.1.running_var = [1.0; 3];
    network.5.weights = SMatrix::from_fn(|o, k| if (o + k) % 2 == 0 { 0.5 } else { -0.5 });
    network
}

/// The sensor network in int8, calibrated on `readings`.
///
/// # Errors
///
/// As `Sensors::quantize_inputs`.
pub fn quantized_sensors(
    network: &Sensors,
    readings: &[SVector<f32, 12>],
) -> Result<SensorsInt8, QuantizeError> {
    network.quantize_inputs(readings)
}

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
    fn the_int8_sensor_cnn_follows_the_f32_one() {
        let readings: [SVector<f32, 12>; 3] = [
            SVector::from_fn(|i, _| i as f32 / 12.0),
            SVector::from_fn(|i, _| 1.0 - i as f32 / 6.0),
            SVector::from_fn(|i, _| if i % 3 == 0 { 1.0 } else { -0.5 }),
        ];
        let network = sensors();
        let int8 = quantized_sensors(&network, &readings).unwrap();
        for x in &readings {
            let (exact, approximate) = (network.forward(x), int8.forward(x));
            for (a, b) in exact.iter().zip(&approximate) {
                // Half a step of rounding on each of four scales, each 1/127 of a calibrated
                // range of a few units.
                assert!((a - b).abs() < 0.1, "{exact:?} {approximate:?}");
            }
        }
    }

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
