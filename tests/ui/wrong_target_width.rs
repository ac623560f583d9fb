use typenn::prelude::*;

network! {
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut model = Regressor::zeros();
    let data = Dataset::<f32, 32, 2>::from_rows(&[[0.0; 32]], &[[0.0; 2]])?;
    let _ = model.fit(&data, Mse, Sgd::new(0.01), &FitOptions::new())?;
    Ok(())
}
