// The network's own mistake is the one error: its `WEIGHTS` still exist, so using them adds none.
use typenn::prelude::*;

network! {
    #[weights("../../../../tests/ui/weights/small.safetensors")]
    pub struct Small(Dense<2, 3, Relu>, Dense<4, 1>);
}

fn main() {
    let _ = Small::WEIGHTS;
}
