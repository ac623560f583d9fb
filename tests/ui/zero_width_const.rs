use typenn::prelude::*;

const HIDDEN: usize = 0;

network! {
    pub struct Regressor(Dense<32, HIDDEN, Relu>, Dense<HIDDEN, 1>);
}

fn main() {
    let _ = Regressor::zeros();
}
