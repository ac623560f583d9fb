//! The one list of built-in activations (`nn-activations`) is what `network!` accepts and what
//! the runtime exports: a layer of every listed activation compiles by its bare name, keeps it in
//! the summary, and applies that activation.

use typenn::prelude::*;
use typenn::{Activation, Network, Parameters};

/// A network with one `Dense<2, 2, _>` layer per listed activation, in the list's order, and
/// the listed names. A name the macro did not know, or one the facade did not re-export, would
/// be a compile error here.
macro_rules! every_activation {
    ($($module:ident::$name:ident),* $(,)?) => {
        network! {
            /// One layer of each built-in activation.
            struct Every($(Dense<2, 2, $name>),*);
        }

        const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// The input run through each listed activation in turn, as identity layers pass it on.
        fn through_each(input: [f64; 2]) -> [f64; 2] {
            let mut value = input;
            $(
                let z = value;
                <$name as Activation>::forward(2, &z, &mut value);
            )*
            value
        }
    };
}

nn_core::with_activations!(every_activation);

#[test]
fn every_listed_activation_is_a_layer_by_its_bare_name() {
    assert_eq!(NAMES.len(), Every::<f64>::LAYERS.len());
    for (layer, name) in Every::<f64>::LAYERS.iter().zip(NAMES) {
        assert_eq!(layer.kind, format!("Dense<2, 2, {name}>"));
    }
}

#[test]
fn each_layer_applies_the_activation_it_names() {
    let mut model = Every::<f64>::zeros();
    // Identity weights and zero biases: each layer's output is its activation of its input.
    for index in 0..Every::<f64>::TENSORS {
        let info = Every::<f64>::tensor_info(index).map(|info| info.name);
        if info == Some("weight") {
            model
                .tensor_mut(index)
                .copy_from_slice(&[1.0, 0.0, 0.0, 1.0]);
        }
    }
    let input = [0.75, -1.5];
    let output = model.forward(&SVector::from(input));
    assert_eq!(output, SVector::from(through_each(input)));
}
