//! Widths written as `{ ... }` expressions, as const generic arguments need them, draw no
//! `unused_braces` warning: its fix, `Dense<N * 4, 8>`, would not compile.
#![deny(unused_braces)]

use typenn::prelude::*;

const N: usize = 2;

network! {
    struct Braced(Dense<{ N * 4 }, 8, Relu>, Dense<8, { N + 1 }>);
}

fn main() {
    let network = Braced::zeros();
    let outputs: SVector<f32, 3> = network.forward(&SVector::<f32, 8>::zeros());
    assert_eq!(outputs, SVector::<f32, 3>::zeros());
    let batch = network.forward_batch(&SMatrix::<f32, 8, 2>::zeros());
    assert_eq!(batch, SMatrix::<f32, 3, 2>::zeros());
    assert_eq!(Braced::summary(&network).layers[1].outputs, 3);
}
