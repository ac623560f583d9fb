//! `#[weights(..)]` under strict lints: the constant is documented, and a `static` holds it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use typenn::prelude::*;

// trybuild builds this in target/tests/trybuild/typenn, the CARGO_MANIFEST_DIR that a relative
// path starts from: the fixture is four directories up.
network! {
    /// The compile-fail cases' network, with the file that fits it.
    #[weights("../../../../tests/ui/weights/small.safetensors")]
    pub struct Small(Dense<2, 3, Relu>, Dense<3, 1>);
}

/// In read-only memory.
pub static SMALL: Small = Small::WEIGHTS;

fn main() {
    // relu([1.00 -1.01; 1.02 -1.03; 1.04 -1.05] [1, 2] + [2, -2.01, 2.02]) = [0.98, 0, 0.96];
    // then [3, -3.01, 3.02] . that + 4.
    let y = SMALL.forward(&SVector::from([1.0, 2.0]))[0];
    let expected = 3.0 * 0.98 + 3.02 * 0.96 + 4.0;
    assert!((y - expected).abs() < 1e-4, "{y} against {expected}");
}
