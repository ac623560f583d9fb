use typenn::prelude::*;

network! {
    #[input_shape(1, 16)]
    pub struct Net(Conv1d<1, 4, 3>, Conv1d<8, 4, 3>, Flatten, Dense<48, 1>);
}

fn main() {}
