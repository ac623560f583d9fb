use typenn::prelude::*;

network! {
    pub struct Regressor(Conv2d<32, 10>, Dense<10, 1>);
}

fn main() {}
