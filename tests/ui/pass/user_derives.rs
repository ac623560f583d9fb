//! A network is `Clone`, `Debug` and `PartialEq` by itself; deriving them too, in any spelling
//! and across several attributes, is accepted.
use typenn::prelude::*;

network! {
    #[derive(Clone, Debug)]
    struct Both(Dense<2, 3, Relu>, Dense<3, 1>);
}

network! {
    #[derive(core::fmt::Debug)]
    #[derive(std::clone::Clone)]
    #[derive(::core::cmp::PartialEq)]
    struct Spelled {
        hidden: Dense<2, 3, Relu>,
        output: Dense<3, 1>,
    }
}

fn main() {
    let both = Both::zeros();
    assert_eq!(both.clone(), both);
    let spelled = Spelled::zeros();
    assert_eq!(spelled.clone(), spelled);
    let _ = format!("{both:?} {spelled:?}");
}
