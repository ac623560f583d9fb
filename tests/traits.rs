//! Every network is `Clone`, `Debug` and `PartialEq` without asking, as derives would make it,
//! including one whose activation is the user's own and is not `PartialEq` itself.

use typenn::prelude::*;
use typenn::{Activation, Elementwise, Scalar};

network! {
    /// A tuple network.
    struct Pair(Dense<2, 1, Relu>, Dense<1, 1>);
}

network! {
    /// A named network, with the user's own derives of the same traits in two spellings.
    #[derive(Debug)]
    #[derive(core::clone::Clone, PartialEq)]
    struct Named {
        hidden: Dense<2, 1, Tanh>,
        r#type: Dense<1, 1>,
    }
}

/// `2 x0 - x1 + 0.5`, then `3 a + 0.25`.
fn layers<A: Activation>() -> (Dense<2, 1, A>, Dense<1, 1>) {
    (
        Dense::from_parts(SMatrix::<f32, 1, 2>::new(2.0, -1.0), SVector::from([0.5])),
        Dense::from_parts(SMatrix::<f32, 1, 1>::new(3.0), SVector::from([0.25])),
    )
}

#[test]
fn a_tuple_network_clones_compares_and_prints() {
    let (hidden, output) = layers::<Relu>();
    let original = Pair(hidden, output);
    let mut copy = original.clone();
    assert_eq!(copy, original);
    assert_eq!(copy.0.weights, SMatrix::<f32, 1, 2>::new(2.0, -1.0));
    // x = (1, 1): 2 - 1 + 0.5 = 1.5; 3 * 1.5 + 0.25 = 4.75.
    assert_eq!(
        copy.forward(&SVector::from([1.0, 1.0])),
        SVector::from([4.75])
    );

    copy.1.bias[0] = 0.0;
    assert_ne!(copy, original);
    assert_eq!(original.1.bias[0], 0.25, "the clone is a copy, not a view");

    // `clone_from` copies in place.
    copy.clone_from(&original);
    assert_eq!(copy, original);

    let printed = format!("{original:?}");
    assert_eq!(printed, format!("Pair({:?}, {:?})", original.0, original.1));
    assert!(
        printed.starts_with("Pair(Dense { weights: [[2.0], [-1.0]], bias: [[0.5]], "),
        "{printed}"
    );
}

#[test]
fn a_named_network_clones_compares_and_prints() {
    let (hidden, output) = layers::<Tanh>();
    let original = Named {
        hidden,
        r#type: output,
    };
    let mut copy = original.clone();
    assert_eq!(copy, original);
    copy.hidden.weights[(0, 1)] = 7.0;
    assert_ne!(copy, original);
    assert_eq!(original.hidden.weights[(0, 1)], -1.0);

    let printed = format!("{original:?}");
    assert_eq!(
        printed,
        format!(
            "Named {{ hidden: {:?}, type: {:?} }}",
            original.hidden, original.r#type
        )
    );
    assert!(
        printed.starts_with("Named { hidden: Dense { weights: [[2.0], [-1.0]], "),
        "{printed}"
    );
    let pretty = format!("{original:#?}");
    assert!(
        pretty.starts_with("Named {\n    hidden: Dense {\n"),
        "{pretty}"
    );
}

/// An activation of the user's own that, as `Activation` allows, is not `PartialEq`.
#[derive(Clone, Copy, Default, Debug)]
struct Halve;

impl Elementwise for Halve {
    const NAME: &'static str = "Halve";

    fn apply<T: Scalar>(z: T) -> T {
        z * T::cast_from(0.5)
    }

    fn derivative<T: Scalar>(_z: T, _a: T) -> T {
        T::cast_from(0.5)
    }
}

network! {
    struct Halving(Dense<2, 1, crate::Halve>, Dense<1, 1>);
}

#[test]
fn a_network_whose_activation_is_not_partial_eq_compares() {
    let (hidden, output) = layers::<Halve>();
    let original = Halving(hidden, output);
    let mut copy = original.clone();
    assert_eq!(copy, original);
    copy.0.bias[0] = 1.0;
    assert_ne!(copy, original);
    // x = (1, 1): (2 - 1 + 0.5) / 2 = 0.75; 3 * 0.75 + 0.25 = 2.5.
    assert_eq!(
        original.forward(&SVector::from([1.0, 1.0])),
        SVector::from([2.5])
    );
}
