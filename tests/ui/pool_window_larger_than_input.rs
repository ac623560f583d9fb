use typenn::prelude::*;

network! {
    #[input_shape(4, 16)]
    pub struct Net(Conv1d<4, 4, 9>, MaxPool1d<10>, Flatten, Dense<4, 1>);
}

fn main() {}
