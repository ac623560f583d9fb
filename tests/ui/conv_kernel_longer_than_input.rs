use typenn::prelude::*;

network! {
    #[input_shape(1, 4)]
    pub struct Net(Conv1d<1, 2, 5>, Flatten, Dense<2, 1>);
}

fn main() {}
