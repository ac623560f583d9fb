//! The declarations compile at module scope and inside a function, under strict lints.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use typenn::prelude::*;

network! {
    /// The design document's regressor.
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

network! {
    /// Named layers work too.
    #[derive(Clone, Debug)]
    pub struct Classifier {
        /// The hidden layer.
        pub hidden: Dense<4, 8, Tanh>,
        /// The output layer.
        pub output: Dense<8, 3, Sigmoid>,
    }
}

mod widths {
    /// Inputs per sample.
    pub const INPUTS: usize = 6;
}

network! {
    pub(crate) struct FromConsts(Dense<{ widths::INPUTS }, 4, LeakyRelu>, Dense<4, 2, Identity>);
}

fn main() {
    network! {
        struct Local(Dense<2, 3, Relu>, Dense<3, 1>);
    }
    let mut rng = StdRng::seed_from_u64(0);
    let local = Local::new(&mut rng);
    let _: SVector<f32, 1> = local.forward(&SVector::from([1.0, 2.0]));
    let classifier = Classifier::new(&mut rng).clone();
    let _: SVector<f32, 3> = classifier.forward(&SVector::zeros());
    let _: SVector<f64, 1> = Regressor::<f64>::zeros().forward(&SVector::zeros());
    let _: SVector<f32, 2> = FromConsts::zeros().forward(&SVector::zeros());
    assert_eq!(Regressor::PARAMETERS, 341);
}
