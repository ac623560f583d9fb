use typenn::prelude::*;

const LENGTH: usize = 4;
const KERNEL: usize = 5;

network! {
    #[input_shape(1, LENGTH)]
    pub struct Net(Conv1d<1, 2, KERNEL>, Flatten, Dense<2, 1>);
}

fn main() {}
