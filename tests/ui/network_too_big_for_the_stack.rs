use typenn::prelude::*;

network! {
    /// 4 MiB of parameters, twice the stack of a spawned thread.
    pub struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0);
    // On the heap: fine at any size.
    let boxed = Wide::new_boxed(&mut rng);
    if boxed.0.bias[0] != 0.0 {
        // Never runs, and still does not compile: it would overflow the stack if it did.
        let _ = Wide::new(&mut rng);
    }
}
