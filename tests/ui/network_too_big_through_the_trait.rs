use typenn::prelude::*;

network! {
    /// 4 MiB of parameters, twice the stack of a spawned thread.
    pub struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
}

/// Generic code builds networks by value through the trait: the same limit applies.
fn fresh<N: Network<f32, 1024, 10>>(rng: &mut StdRng) -> N {
    N::with_init(Init::HeUniform, rng)
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0);
    let network: Wide = fresh(&mut rng);
    let _ = network;
}
