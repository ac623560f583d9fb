use typenn::prelude::*;

network! {
    pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>);
}

fn main() {}
