use typenn::prelude::*;

const INPUTS: usize = 32;
const HIDDEN: usize = 10;
const WIDER: usize = 11;

network! {
    pub struct Regressor(Dense<INPUTS, HIDDEN, Relu>, Dense<WIDER, 1>);
}

fn main() {}
