//! The one list of typenn's built-in activations.
//!
//! The runtime (`nn-core`) re-exports each activation by this list, and the `network!` macro
//! recognizes the same names and lists them in its "unknown activation" error. The list lives in
//! a crate of its own because the macro reads it when it runs: a proc-macro crate can read a
//! constant only from a normal dependency, and depending on the runtime would build it (and
//! nalgebra) a second time for the compiler's host.
//!
//! Adding an activation is its file in `nn-core/src/activation/` (with its `mod` line) and one
//! line here.
#![no_std]

/// Calls `$callback! { module::Type, ... }` with every built-in activation: the file of
/// `nn_core::activation` that defines it and its name, in the order the macro's error lists them.
///
/// # Example
///
/// ```
/// macro_rules! count {
///     ($($module:ident::$name:ident),* $(,)?) => { [$(stringify!($name)),*].len() };
/// }
/// assert_eq!(nn_activations::with_activations!(count), nn_activations::ACTIVATIONS.len());
/// ```
#[macro_export]
macro_rules! with_activations {
    ($($callback:tt)*) => {
        $($callback)*! {
            identity::Identity,
            relu::Relu,
            leaky_relu::LeakyRelu,
            sigmoid::Sigmoid,
            tanh::Tanh,
            softmax::Softmax,
            elu::Elu,
            gelu::Gelu,
            softplus::Softplus,
            swish::Swish,
            swish::Silu,
        }
    };
}

/// `[module::Type, ...]` to the types' names.
macro_rules! names {
    ($($module:ident::$name:ident),* $(,)?) => {
        &[$(stringify!($name)),*]
    };
}

/// The built-in activations' names, as written in a layer type (`Dense<32, 10, Relu>`).
pub const ACTIVATIONS: &[&str] = with_activations!(names);

#[cfg(test)]
mod tests {
    use super::ACTIVATIONS;

    #[test]
    fn no_name_is_listed_twice() {
        for (i, name) in ACTIVATIONS.iter().enumerate() {
            assert!(!ACTIVATIONS[..i].contains(name), "{name} is listed twice");
        }
    }
}
