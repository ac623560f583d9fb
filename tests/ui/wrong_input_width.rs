use typenn::prelude::*;

network! {
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

fn main() {
    let model = Regressor::zeros();
    let sample = SVector::<f32, 31>::zeros();
    let _ = model.forward(&sample);
}
