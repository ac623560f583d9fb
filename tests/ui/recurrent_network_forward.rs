use typenn::prelude::*;

network! {
    pub struct Amp(Lstm<1, 8>, Dense<8, 1>);
}

fn main() {
    let model = Amp::zeros();
    // A network with state runs by time steps: `step` with an `AmpState`, not `forward`.
    let _ = model.forward(&SVector::zeros());
}
