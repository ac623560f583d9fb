// trybuild builds this in target/tests/trybuild/typenn, the CARGO_MANIFEST_DIR that a relative
// path starts from: the fixture is four directories up.
use typenn::prelude::*;

const HIDDEN: usize = 3;

network! {
    #[weights("../../../../tests/ui/weights/small.safetensors")]
    pub struct Small(Dense<2, HIDDEN, Relu>, Dense<HIDDEN, 1>);
}

fn main() {}
