use typenn::prelude::*;
use typenn::{History, SequenceDataset, SequenceFit, TrainError};

network! {
    struct Amp(Lstm<1, 8>, Dense<8, 1>);
}

fn train(data: &SequenceDataset<f32, 16, 2, 1>) -> Result<History, TrainError> {
    let mut net = Amp::new(&mut StdRng::seed_from_u64(1));
    SequenceFit::new(data).run(&mut net, Mse, Sgd::new(0.1))
}

fn main() {}
