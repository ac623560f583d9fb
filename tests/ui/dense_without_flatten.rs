use typenn::prelude::*;

network! {
    #[input_shape(2, 8)]
    pub struct Net(Conv1d<2, 4, 3>, Dense<24, 1>);
}

fn main() {}
