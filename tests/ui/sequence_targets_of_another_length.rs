use typenn::prelude::*;
use typenn::{SequenceTrainer, TrainError};

network! {
    struct Amp(Lstm<1, 8>, Dense<8, 1>);
}

fn main() -> Result<(), TrainError> {
    let mut net = Amp::new(&mut StdRng::seed_from_u64(1));
    let inputs = [SMatrix::<f32, 1, 16>::zeros()];
    let targets = [SMatrix::<f32, 1, 12>::zeros()];
    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(0.1))?;
    trainer.step(&mut net, &inputs, &targets)?;
    Ok(())
}
