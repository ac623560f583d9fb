use typenn::prelude::*;

// The design card's spelling where a type goes: the same one error from `network!`. The second
// error, at the use of `Regressor`, is the compiler's: in type position `compile_error!` leaves
// `()` behind, and no macro output can be an item list and an error type at once.
type Regressor = network![Dense<32, 10, Relu>, Dense<10, 1>];

fn main() {
    let _ = Regressor::zeros();
}
