//! Whether a pass is training or inference.

use crate::SplitMix64;

/// Whether a pass is training or inference, with training's source of randomness.
///
/// Layers such as dropout behave differently in the two: `forward`, `predict` and `evaluate`
/// run in inference, `fit` and `Trainer::step` in training, with a source seeded from `fit`'s
/// seed so that a seeded run repeats exactly.
#[derive(Clone, Debug)]
pub enum Phase {
    /// Inference: every layer is deterministic.
    Inference,
    /// Training, drawing randomness from the generator.
    Training(SplitMix64),
}

impl Phase {
    /// Training with randomness seeded by `seed`.
    #[must_use]
    pub const fn training(seed: u64) -> Self {
        Self::Training(SplitMix64::new(seed))
    }

    /// Whether this is training.
    #[inline]
    #[must_use]
    pub const fn is_training(&self) -> bool {
        matches!(self, Self::Training(_))
    }

    /// Training's random source, or `None` in inference.
    #[inline]
    pub fn noise(&mut self) -> Option<&mut SplitMix64> {
        match self {
            Self::Inference => None,
            Self::Training(rng) => Some(rng),
        }
    }
}
