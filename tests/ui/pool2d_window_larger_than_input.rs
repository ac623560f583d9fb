use typenn::prelude::*;

network! {
    #[input_shape(4, 6, 9)]
    pub struct Net(Conv2d<4, 4, 3>, AvgPool2d<5>, Flatten, Dense<4, 1>);
}

fn main() {}
