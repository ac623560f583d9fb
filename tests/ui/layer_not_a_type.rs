use typenn::prelude::*;

network! {
    pub struct Regressor(Dense(32, 10), Dense<10, 1>);
}

fn main() {}
