use typenn::prelude::*;

network! {
    /// 4 MiB of parameters, twice the stack of a spawned thread.
    pub struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
}

fn main() {
    let boxed = Wide::zeros_boxed();
    // `boxed.clone_boxed()` copies on the heap; this copy would be built on the stack.
    let copy: Wide = Clone::clone(&*boxed);
    let _ = copy;
}
