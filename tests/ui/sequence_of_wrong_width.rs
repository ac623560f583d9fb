use typenn::prelude::*;

network! {
    pub struct Amp(Gru<2, 8>, Dense<8, 1>);
}

fn main() {
    let model = Amp::zeros();
    let mut state = AmpState::zeros();
    let inputs = SMatrix::<f32, 1, 16>::zeros();
    let _ = model.sequence(&mut state, &inputs);
}
