//! What can go wrong when a network is quantized: the calibration data, or the network itself.

use core::fmt;

/// Why a network could not be quantized. Each variant says what was expected and what was
/// found, and where.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum QuantizeError {
    /// The calibration data has no samples, so no range can be measured.
    EmptyCalibration,
    /// A calibration input is NaN or infinite.
    NonFiniteInput {
        /// The sample's index in the calibration data.
        sample: usize,
        /// The input's index within the sample.
        feature: usize,
        /// What was found.
        value: f32,
    },
    /// A layer's output for a calibration sample is NaN or infinite, so its range is not finite.
    NonFiniteOutput {
        /// The sample's index in the calibration data.
        sample: usize,
        /// The layer's field in the network (`"0"`, `"hidden"`).
        layer: &'static str,
        /// The output's index within the layer's outputs.
        unit: usize,
        /// What was found.
        value: f32,
    },
    /// A weight or bias of the network is NaN or infinite.
    NonFiniteParameter {
        /// The layer's field in the network.
        layer: &'static str,
        /// The tensor (`"weight"` or `"bias"`).
        tensor: &'static str,
        /// The number's index in the tensor, flat in its slice's order.
        index: usize,
        /// What was found.
        value: f32,
    },
}

impl fmt::Display for QuantizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyCalibration => write!(
                f,
                "calibration data: expected at least one sample to measure the ranges on, found none"
            ),
            Self::NonFiniteInput {
                sample,
                feature,
                value,
            } => write!(
                f,
                "calibration data: expected finite inputs, found {value} at sample {sample}, input {feature}"
            ),
            Self::NonFiniteOutput {
                sample,
                layer,
                unit,
                value,
            } => write!(
                f,
                "calibration: expected finite outputs of layer `{layer}`, found {value} at output {unit} for sample {sample}"
            ),
            Self::NonFiniteParameter {
                layer,
                tensor,
                index,
                value,
            } => write!(
                f,
                "layer `{layer}`: expected finite parameters to quantize, found {value} in `{tensor}` at index {index}"
            ),
        }
    }
}

impl core::error::Error for QuantizeError {}

/// A non-finite number in a layer's parameters, before the network says which layer it is in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFiniteParameter {
    /// The tensor (`"weight"` or `"bias"`).
    pub tensor: &'static str,
    /// The number's index in the tensor.
    pub index: usize,
    /// What was found.
    pub value: f32,
}

impl NonFiniteParameter {
    /// The error, in layer `layer` of a network.
    #[must_use]
    pub fn in_layer(self, layer: &'static str) -> QuantizeError {
        QuantizeError::NonFiniteParameter {
            layer,
            tensor: self.tensor,
            index: self.index,
            value: self.value,
        }
    }
}

/// The first non-finite number of `values`, as a [`NonFiniteParameter`] of `tensor`.
pub(crate) fn check_finite(tensor: &'static str, values: &[f32]) -> Result<(), NonFiniteParameter> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(NonFiniteParameter {
            tensor,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}
