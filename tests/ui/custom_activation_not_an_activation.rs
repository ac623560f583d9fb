use typenn::prelude::*;

mod mine {
    /// Not an activation: it does not implement `typenn::Activation`.
    #[derive(Clone, Copy, Default, Debug)]
    pub struct Squash;
}

network! {
    pub struct Regressor(Dense<4, 3, mine::Squash>, Dense<3, 1>);
}

fn main() {
    let _ = Regressor::zeros();
}
