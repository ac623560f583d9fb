use typenn::prelude::*;

network! {
    #[input_shape(2, 8, 8)]
    pub struct Net(Conv2d<2, 4, 3, Relu>, MaxPool2d<2>, Flatten, Dense<64, 1>);
}

fn main() {}
