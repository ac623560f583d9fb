use typenn::prelude::*;

network! {
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut model = Regressor::zeros();
    let mut trainer = model.trainer(Mse, Sgd::new(0.01))?;
    let inputs = [SVector::<f32, 32>::zeros()];
    let targets = [SVector::<f32, 2>::zeros()];
    trainer.step(&mut model, &inputs, &targets)?;
    Ok(())
}
