use typenn::prelude::*;

network! {
    #[input_shape(2, 8)]
    pub struct Net(Conv1d<2, 4, 3, Relu>, Flatten, Dense<20, 1>);
}

fn main() {}
