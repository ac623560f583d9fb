//! A typenn network for a Cortex-M4F, built without `std` and without an allocator, and the
//! inputs it is run on, in `f32` and in int8. The firmware (`src/main.rs`) runs it under QEMU;
//! `host-check` runs the same code on the build machine and compares.
//!
//! The int8 network is made where it runs: [`networks`] quantizes [`MODEL`] with
//! `quantize_inputs` over [`CALIBRATION`], a constant in flash, into a value on the stack. Both
//! sides run the same integer code (typenn's portable kernels), so the int8 outputs must agree to
//! the bit.
//!
//! Each result travels as one text line, `<precision> <sample>: <bits> <bits> <bits>`, with every
//! output as the hexadecimal bits of its `f32`: exact, and no float formatting code in the
//! firmware to inflate its size.
#![no_std]

use core::fmt;

use typenn::QuantizeError;
use typenn::prelude::*;

network! {
    /// 4 readings in, 8 ReLU units, 3 tanh outputs, with the weights of
    /// `model/model.safetensors` (written by `model/write_model.py`), read and checked when this
    /// crate compiles.
    #[weights("model/model.safetensors")]
    pub struct Model(pub Dense<4, 8, Relu>, pub Dense<8, 3, Tanh>);
}

/// The network, in flash: built at compile time, never parsed or copied at run time.
pub static MODEL: Model = Model::WEIGHTS;

/// Inputs per sample.
pub const INPUTS: usize = 4;

/// Outputs per sample.
pub const OUTPUTS: usize = 3;

/// The samples both sides run, fixed so that the host knows what the firmware was given.
pub const SAMPLES: [[f32; INPUTS]; 16] = [
    [0.54, -0.79, 0.10, -0.64],
    [0.39, -0.93, -0.45, -0.31],
    [0.27, -0.90, -0.08, -0.58],
    [-0.44, -0.05, 0.92, -0.04],
    [0.91, -0.66, 0.85, -0.27],
    [-0.62, 0.50, 0.82, -0.99],
    [-0.46, 0.54, -0.32, -0.52],
    [-0.98, -0.92, 0.24, 0.97],
    [1.00, 0.01, -0.95, -0.36],
    [0.57, 0.66, 0.28, -0.54],
    [0.05, -0.05, 0.25, -0.47],
    [0.89, 0.79, -0.68, -0.42],
    [0.75, -0.44, 0.89, 0.03],
    [0.39, 0.41, -0.57, -0.43],
    [-0.49, 0.37, 0.39, -0.74],
    [0.77, -0.16, -0.52, -0.13],
];

/// The inputs the int8 network's activation scales are calibrated on: the ranges the network
/// is expected to see, kept apart from [`SAMPLES`] as a deployment would keep them.
pub const CALIBRATION: [[f32; INPUTS]; 8] = [
    [1.00, -1.00, 1.00, -1.00],
    [-1.00, 1.00, -1.00, 1.00],
    [0.50, 0.25, -0.75, 0.10],
    [-0.30, -0.60, 0.90, -0.20],
    [0.80, 0.70, 0.00, -0.90],
    [-0.95, -0.85, 0.35, 0.65],
    [0.15, -0.45, -0.55, -0.80],
    [0.60, 0.05, 0.95, 0.40],
];

/// The number formats the network runs in. Each has its own lines in the firmware's output and
/// its own tolerance on the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// The network as declared, in `f32`.
    F32,
    /// The network quantized to int8 weights and activations with `i32` sums, its outputs
    /// dequantized to `f32`.
    Int8,
}

impl Precision {
    /// Every precision the firmware runs, in the order it prints them.
    pub const ALL: [Self; 2] = [Self::F32, Self::Int8];

    /// The word that starts this precision's lines.
    #[must_use]
    pub const fn tag(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
        }
    }

    /// The largest difference from the host's output that counts as a match; 0 means the same
    /// bits. In `f32` the two sides may sum in different orders and fuse different
    /// multiply-adds, a few units in the last place. In int8 the sums and requantization are
    /// integers and the rest (the inputs' quantization, the `tanh` between dequantizing and
    /// quantizing, the output's dequantization) is the same `f32` code on the same numbers.
    #[must_use]
    pub const fn tolerance(self) -> f32 {
        match self {
            Self::F32 => 1e-5,
            Self::Int8 => 0.0,
        }
    }
}

/// The networks both sides run: [`MODEL`] where it sits in flash, and its int8 counterpart.
#[derive(Debug)]
pub struct Networks {
    /// The network as declared.
    pub f32: &'static Model,
    /// [`MODEL`] quantized on [`CALIBRATION`].
    pub int8: ModelInt8,
}

/// [`MODEL`] and its int8 counterpart, quantized here on [`CALIBRATION`]: no allocator, the
/// calibration vectors and the int8 network on the stack.
///
/// # Errors
///
/// As `Model::quantize_inputs`: only for non-finite weights or outputs, which the compiled-in
/// weights and the calibration inputs do not give.
pub fn networks() -> Result<Networks, QuantizeError> {
    Ok(Networks {
        f32: &MODEL,
        int8: MODEL.quantize_inputs(&CALIBRATION.map(SVector::from))?,
    })
}

/// The outputs for one sample in one precision.
#[must_use]
pub fn run(networks: &Networks, precision: Precision, sample: &[f32; INPUTS]) -> [f32; OUTPUTS] {
    let input = SVector::from(*sample);
    match precision {
        Precision::F32 => networks.f32.forward(&input).into(),
        Precision::Int8 => networks.int8.forward(&input).into(),
    }
}

/// Writes one result line (with its newline) in the format the module doc describes.
///
/// # Errors
///
/// Whatever `out` returns.
pub fn write_line(
    out: &mut impl fmt::Write,
    precision: Precision,
    sample: usize,
    outputs: &[f32; OUTPUTS],
) -> fmt::Result {
    write!(out, "{} {sample}:", precision.tag())?;
    for output in outputs {
        write!(out, " {:08x}", output.to_bits())?;
    }
    writeln!(out)
}

/// The line after the last result, with the number of result lines: a run that stopped early
/// is told apart from one that printed everything.
pub const DONE: &str = "done";
