//! How fresh parameters are drawn.

use nalgebra::ComplexField;
use rand::Rng;

/// A rule for drawing initial weights. Biases always start at zero, as in Keras.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Init {
    /// Glorot (Xavier) uniform: `U(-l, l)` with `l = sqrt(6 / (in + out))`. Keras's default.
    #[default]
    GlorotUniform,
    /// He uniform: `U(-l, l)` with `l = sqrt(6 / in)`, suited to ReLU layers.
    HeUniform,
    /// All zeros.
    Zeros,
}

impl Init {
    /// The half-width `l` of the uniform distribution for a layer of `fan_in` inputs and
    /// `fan_out` outputs (zero for [`Init::Zeros`]).
    #[must_use]
    pub fn limit(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Self::GlorotUniform => ComplexField::sqrt(6.0 / (fan_in + fan_out) as f64),
            Self::HeUniform => ComplexField::sqrt(6.0 / fan_in as f64),
            Self::Zeros => 0.0,
        }
    }
}

/// A uniform draw from `[-limit, limit)` with 53 random bits.
pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R, limit: f64) -> f64 {
    let unit = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (2.0 * unit - 1.0) * limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_keras() {
        // Dense(10) after 32 inputs: sqrt(6 / 42).
        assert!((Init::GlorotUniform.limit(32, 10) - 0.377_964_473_009_227_2).abs() < 1e-15);
        assert!((Init::HeUniform.limit(24, 10) - 0.5).abs() < 1e-15);
        assert_eq!(Init::Zeros.limit(3, 4), 0.0);
    }
}
