//! What an importer of another framework's model file sees of each layer of a network: its
//! kind, activation included, so that a file's layers are matched to the declared ones, the
//! layers without tensors (activations, Dropout) as well.

/// A layer's kind, as importers match it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerKind {
    /// `Dense` with its activation's name (`"Identity"`, `"Tanh"`).
    Dense {
        /// The activation's type name.
        activation: &'static str,
    },
    /// An activation layer on its own.
    Activation(&'static str),
    /// `Lstm`.
    Lstm,
    /// `Gru`.
    Gru,
    /// `Rnn` with its nonlinearity's name.
    Rnn {
        /// The nonlinearity's type name.
        activation: &'static str,
    },
    /// `CausalConv1d` with its dilation, which no tensor's shape holds (the kernel size is the
    /// weight's last dimension), and its activation's name.
    CausalConv1d {
        /// The spacing of the kernel's taps, in time steps.
        dilation: usize,
        /// The activation's type name.
        activation: &'static str,
    },
    /// `Dropout`: nothing at inference.
    Dropout,
    /// Any other layer, or a network.
    Other,
}

/// One layer of a network: its field, kind and number of tensors
/// ([`Parameters::TENSORS`](crate::Parameters::TENSORS)).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerOf {
    /// The field that holds it (`"0"`, `"cell"`); empty for a lone layer.
    pub field: &'static str,
    /// Its kind.
    pub kind: LayerKind,
    /// How many of the network's tensors are its, in order.
    pub tensors: usize,
}

/// The name of type `A` without its path: `"Tanh"` for `nn_core::activation::tanh::Tanh`.
#[doc(hidden)]
#[must_use]
pub fn type_name_of<A: ?Sized>() -> &'static str {
    let full = core::any::type_name::<A>();
    let plain = full.split('<').next().unwrap_or(full);
    plain.rsplit("::").next().unwrap_or(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_names_lose_their_paths() {
        assert_eq!(type_name_of::<crate::Tanh>(), "Tanh");
        assert_eq!(type_name_of::<crate::Identity>(), "Identity");
    }
}
