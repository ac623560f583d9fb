use typenn::prelude::*;

network! {
    pub struct Nothing();
}

fn main() {}
