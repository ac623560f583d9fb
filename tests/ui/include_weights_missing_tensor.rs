// trybuild builds this in target/tests/trybuild/typenn, the CARGO_MANIFEST_DIR that a relative
// path starts from: the fixture is four directories up.
use typenn::prelude::*;

network! {
    #[weights("../../../../tests/ui/weights/missing_tensor.safetensors")]
    pub struct Small(Dense<2, 3, Relu>, Dense<3, 1>);
}

fn main() {
    let _ = Small::WEIGHTS.forward(&SVector::from([1.0, 2.0]));
}
