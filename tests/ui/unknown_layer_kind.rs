use typenn::prelude::*;

network! {
    pub struct Regressor(Conv3d<32, 10>, Dense<10, 1>);
}

fn main() {}
