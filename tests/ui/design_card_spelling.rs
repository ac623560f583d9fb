use typenn::prelude::*;

// The design card's `network!< Dense<32, 10, Relu>, Dense<10, 1> >`, as Rust lets it be written.
network![Dense<32, 10, Relu>, Dense<10, 1>];

fn main() {}
