//! The f32 weights, as constants: they need no allocator and no parsing, and the firmware and the
//! host check read the same numbers.
//!
//! Drawn once, uniformly from `[-1, 1]` and rounded to two decimals, then written here; not
//! trained: the check is that the Cortex-M computes what the host computes. When typenn's
//! compile-time weight macro lands (issue 12, item 2), it replaces this file and
//! [`crate::model`] with a `static` network read from a safetensors file.

/// The hidden layer's weights, `8 x 4`: row `i` holds unit `i`'s input weights.
pub const HIDDEN_WEIGHTS: [[f32; 4]; 8] = [
    [-0.05, 0.31, 0.33, -0.71],
    [-0.98, -0.25, -0.45, 0.62],
    [0.38, 0.20, 0.12, 0.32],
    [-0.71, -0.12, -0.68, 0.81],
    [-0.88, 0.64, -0.85, 0.37],
    [-0.33, -0.19, 0.68, -0.96],
    [-0.88, 0.83, 0.02, -0.82],
    [0.97, 0.89, -0.77, -0.15],
];

/// The hidden layer's biases.
pub const HIDDEN_BIAS: [f32; 8] = [-0.73, -0.37, 0.24, -0.67, 0.39, -0.90, -0.66, 0.63];

/// The output layer's weights, `3 x 8`.
pub const OUTPUT_WEIGHTS: [[f32; 8]; 3] = [
    [-0.20, -0.16, 0.19, -0.05, -0.23, -0.94, 0.45, 0.93],
    [0.95, 0.33, -0.29, -0.27, 0.38, 0.35, -0.77, -0.53],
    [-0.27, 0.02, 0.62, 0.00, -0.94, 0.65, -0.14, 0.04],
];

/// The output layer's biases.
pub const OUTPUT_BIAS: [f32; 3] = [-0.56, -0.15, -0.22];
