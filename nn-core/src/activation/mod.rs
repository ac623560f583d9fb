//! Activation functions, applied element by element after a layer's affine map.
//!
//! Each activation is a zero-sized type, so the choice is part of the layer's type and the
//! function is inlined into the layer's loops.

mod identity;
mod leaky_relu;
mod relu;
mod sigmoid;
mod tanh;

use core::fmt::Debug;

pub use identity::Identity;
pub use leaky_relu::LeakyRelu;
pub use relu::Relu;
pub use sigmoid::Sigmoid;
pub use tanh::Tanh;

use crate::Scalar;

/// An element-wise activation function `a = f(z)`.
///
/// Implement it for a unit struct to use your own activation in a `Dense` layer.
///
/// # Example
///
/// ```
/// use nn_core::{Activation, Relu};
///
/// assert_eq!(Relu::apply(-2.0_f32), 0.0);
/// assert_eq!(Relu::derivative(3.0_f32, 3.0), 1.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activation",
    label = "this layer uses `{Self}` as its activation",
    note = "an activation is a unit struct that implements `typenn::Activation` (`apply` and `derivative`)"
)]
pub trait Activation: Copy + Default + Debug + Send + Sync + 'static {
    /// The name shown in summaries, as written in a layer type.
    const NAME: &'static str;

    /// `f(z)`.
    #[must_use]
    fn apply<T: Scalar>(z: T) -> T;

    /// `f'(z)`, given both the input `z` and the output `a = f(z)` so that functions such as
    /// sigmoid and tanh can reuse the output.
    #[must_use]
    fn derivative<T: Scalar>(z: T, a: T) -> T;
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Activation;

    /// Checks `A::derivative` against a central finite difference in f64 at `points`,
    /// which must stay away from kinks.
    pub fn check_derivative<A: Activation>(points: &[f64]) {
        let h = 1e-6;
        for &z in points {
            let numeric = (A::apply(z + h) - A::apply(z - h)) / (2.0 * h);
            let analytic = A::derivative(z, A::apply(z));
            let scale = numeric.abs().max(analytic.abs()).max(1e-12);
            let relative = (numeric - analytic).abs() / scale;
            assert!(
                relative < 1e-7 || (numeric - analytic).abs() < 1e-10,
                "{}: derivative at {z}: analytic {analytic}, numeric {numeric}",
                A::NAME
            );
        }
    }
}
