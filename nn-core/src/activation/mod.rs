//! Activation functions, applied element by element after a layer's affine map.
//!
//! Each activation is a zero-sized type, so the choice is part of the layer's type and the
//! function is inlined into the layer's loops.

mod elu;
mod gelu;
mod identity;
mod leaky_relu;
mod relu;
mod sigmoid;
mod softmax;
mod softplus;
mod swish;
mod tanh;

use core::fmt::Debug;

/// `pub use module::Type;` for each built-in activation, from the one list in `nn-activations`:
/// adding an activation is its file, its `mod` line above and its line in that list.
macro_rules! use_activations {
    ($($module:ident::$name:ident),* $(,)?) => {
        $(pub use $module::$name;)*
    };
}
nn_activations::with_activations!(use_activations);

use crate::Scalar;

/// An activation: what a layer applies to its pre-activations `z`, sample by sample.
///
/// Most activations act on each number alone: implement [`Elementwise`] for those and this trait
/// comes with it. Implement `Activation` directly for one that mixes a sample's numbers, as
/// [`Softmax`] does.
///
/// # Example
///
/// ```
/// use typenn::{Activation, Relu, Softmax};
///
/// let z = [-2.0_f32, 0.5, 3.0];
/// let mut a = [0.0_f32; 3];
/// Relu::forward(3, &z, &mut a);
/// assert_eq!(a, [0.0, 0.5, 3.0]);
/// Softmax::forward(3, &z, &mut a);
/// assert!((a.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an activation",
    label = "this layer uses `{Self}` as its activation",
    note = "an activation is a unit struct that implements `typenn::Elementwise` (`apply` and `derivative`) or `typenn::Activation`"
)]
pub trait Activation: Copy + Default + Debug + Send + Sync + 'static {
    /// The name shown in summaries, as written in a layer type.
    const NAME: &'static str;

    /// Whether each output depends on its own pre-activation alone (true for every
    /// [`Elementwise`] activation), so that kernels may apply it to padded vectors.
    const ELEMENTWISE: bool = false;

    /// `a = f(z)` for a batch of samples of `width` numbers each, stored one after the other.
    fn forward<T: Scalar>(width: usize, z: &[T], a: &mut [T]);

    /// Back-propagation: on entry `delta` holds the loss's gradient with respect to `a`, on
    /// return its gradient with respect to `z`.
    fn backward<T: Scalar>(width: usize, z: &[T], a: &[T], delta: &mut [T]);
}

/// An activation that acts on each number alone: `a = f(z)` with derivative `f'(z)`.
///
/// # Example
///
/// ```
/// use typenn::{Elementwise, Relu};
///
/// assert_eq!(Relu::apply(-2.0_f32), 0.0);
/// assert_eq!(Relu::derivative(3.0_f32, 3.0), 1.0);
/// ```
pub trait Elementwise: Copy + Default + Debug + Send + Sync + 'static {
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

impl<E: Elementwise> Activation for E {
    const NAME: &'static str = E::NAME;
    const ELEMENTWISE: bool = true;

    #[inline]
    fn forward<T: Scalar>(_width: usize, z: &[T], a: &mut [T]) {
        for (out, &pre) in a.iter_mut().zip(z) {
            *out = E::apply(pre);
        }
    }

    #[inline]
    fn backward<T: Scalar>(_width: usize, z: &[T], a: &[T], delta: &mut [T]) {
        for ((d, &pre), &out) in delta.iter_mut().zip(z).zip(a) {
            *d *= E::derivative(pre, out);
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::Elementwise;

    /// Checks `A::derivative` against a central finite difference in f64 at `points`,
    /// which must stay away from kinks.
    pub fn check_derivative<A: Elementwise>(points: &[f64]) {
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
