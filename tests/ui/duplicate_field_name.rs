use typenn::prelude::*;

network! {
    pub struct Classifier {
        hidden: Dense<4, 8, Relu>,
        hidden: Dense<8, 3>,
    }
}

fn main() {
    // The struct still exists, so this line adds no error of its own.
    let _: Option<Classifier> = None;
}
