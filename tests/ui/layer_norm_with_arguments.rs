use typenn::prelude::*;

network! {
    pub struct Normed(Dense<4, 6>, LayerNorm<6>, Dense<6, 1>);
}

fn main() {}
