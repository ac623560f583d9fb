use typenn::prelude::*;

network! {
    #[input_shape(3, 8, 8)]
    pub struct Net(Conv2d<3, 8, 3>, MaxPool2d<2>, Conv2d<8, 16, 5>, Flatten, Dense<16, 1>);
}

fn main() {}
