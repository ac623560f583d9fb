use typenn::prelude::*;

network! {
    pub struct Regressor(Dense<32, 10, Rellu>, Dense<10, 1>);
}

fn main() {}
