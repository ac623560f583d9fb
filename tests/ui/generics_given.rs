use typenn::prelude::*;

network! {
    pub struct Regressor<T>(Dense<32, 10, Relu>, Dense<10, 1>);
}

fn main() {}
