use typenn::prelude::*;

network! {
    #[input_shape(3, 8, 8)]
    pub struct Net(Conv2d<3, 8, 3>, Conv2d<4, 8, 3>, Flatten, Dense<128, 1>);
}

fn main() {}
