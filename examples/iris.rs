//! Iris: 4 measurements -> 8 hidden units (tanh) -> 3 classes, trained on the same train/test
//! split as the PyTorch baselines (`examples/data/splits_seed0.json`).
//!
//! Run with `cargo run --release --example iris`.

mod common;

use typenn::prelude::*;

network! {
    /// Sepal and petal length and width in, one score per species out.
    pub struct IrisClassifier(Dense<4, 8, Tanh>, Dense<8, 3>);
}

const EPOCHS: usize = 100;
const SPECIES: [&str; 3] = ["setosa", "versicolor", "virginica"];

/// The loss and the optimizer: MSE on one-hot targets with SGD for now. Swap in cross-entropy
/// (with a softmax output) and Adam here once they land.
fn loss_and_optimizer() -> (Mse, Sgd) {
    (Mse, Sgd::new(0.05).momentum(0.9))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = Dataset::<f32, 4, 3>::from_csv_path(
        common::data_path("iris.csv"),
        Target::one_hot("label"),
    )?;
    let split = common::load_split("iris")?;
    let mut train = data.subset(&split.train)?;
    let mut test = data.subset(&split.test)?;

    // Standardise with the figures of the training part only.
    let scaler = Standardizer::fit(&train);
    scaler.transform(&mut train)?;
    scaler.transform(&mut test)?;

    let mut model = IrisClassifier::new(&mut StdRng::seed_from_u64(0));
    let (loss, optimizer) = loss_and_optimizer();
    let options = FitOptions::new().epochs(EPOCHS).batch_size(16).shuffle(0);
    let history = model.fit(&train, loss, optimizer, &options)?;
    for (epoch, loss) in history.loss.iter().enumerate() {
        println!("epoch {:>3}/{EPOCHS} - loss: {loss:.4}", epoch + 1);
    }

    let predictions = model.predict(test.inputs());
    let correct = predictions
        .iter()
        .zip(test.targets())
        .filter(|(prediction, target)| prediction.imax() == target.imax())
        .count();
    println!(
        "\ntest accuracy: {correct}/{} = {:.1}%",
        test.len(),
        100.0 * correct as f64 / test.len() as f64
    );

    // New measurements go through the same standardisation before the network.
    let flower = SVector::from([6.1, 2.8, 4.7, 1.2]);
    let scores = model.forward(&scaler.transform_input(&flower));
    println!(
        "a flower of {:?} cm: {}",
        flower.as_slice(),
        SPECIES[scores.imax()]
    );
    Ok(())
}
