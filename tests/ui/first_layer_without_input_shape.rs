use typenn::prelude::*;

network! {
    pub struct Net(Conv1d<1, 4, 3>, Flatten, Dense<24, 1>);
}

fn main() {}
