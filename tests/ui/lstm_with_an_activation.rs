use typenn::prelude::*;

network! {
    pub struct Amp(Lstm<1, 8, Relu>, Dense<8, 1>);
}

fn main() {}
