//! A 2-d network whose sizes are const items: the macro leaves H', W' and the flat widths to
//! the compiler as hidden const items, and the network builds and runs.
use typenn::prelude::*;

const CHANNELS: usize = 2;
const SIDE: usize = 7;
const KERNEL: usize = 3;

network! {
    #[input_shape(CHANNELS, SIDE, SIDE)]
    struct Images(
        Conv2d<CHANNELS, 4, KERNEL, 1, Same, 2, Relu>,
        MaxPool2d<2>,
        Conv2d<4, 3, KERNEL, 2, 1>,
        GlobalAvgPool,
        Dense<3, 1>,
    );
}

fn main() {
    let network = Images::zeros();
    let y: SVector<f32, 1> = network.forward(&SVector::<f32, 98>::zeros());
    assert_eq!(y, SVector::<f32, 1>::zeros());
    // 7 x 7 kept by `Same`, floored to 3 x 3 by the pool, (3 + 2 - 3) / 2 + 1 = 2 by the
    // strided convolution.
    let summary = network.summary();
    assert_eq!(summary.layers[1].outputs, 4 * 3 * 3);
    assert_eq!(summary.layers[2].outputs, 3 * 2 * 2);
}
