use typenn::prelude::*;

network! {
    pub struct Regressor(Dense<32, 0, Relu>, Dense<10, 1, Sigmod>, Dense<2, 1>, Conv3d<1, 1>);
}

fn main() {
    // The struct still exists, so this line adds no error of its own.
    let _: Option<Regressor> = None;
}
