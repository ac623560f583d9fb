//! The design document's Keras program, in typenn.
//!
//! ```python
//! model = Sequential([Dense(10, activation='relu', input_shape=(32,)), Dense(1)])
//! model.compile(loss='mean_squared_error', optimizer='sgd')
//! model.fit(x_train, y_train, epochs=10)
//! ```
//!
//! The data are generated: 4096 samples with `x ~ U[-1, 1]^32` and `y = mean_i sin(3 x_i)`.
//! Run with `cargo run --release --example seed`.

use rand::RngExt;
use typenn::prelude::*;

network! {
    /// 32 inputs, 10 hidden units with ReLU, 1 linear output.
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(42);
    let (x_train, y_train) = generate(&mut rng, 4096);
    let data = Dataset::new(x_train, y_train)?;

    let mut model = Regressor::new(&mut rng);
    println!("{}\n", model.summary());

    // Keras's "sgd" is plain SGD with learning rate 0.01; its default batch size is 32.
    let options = FitOptions::new().epochs(10).batch_size(32).shuffle(7);
    let history = model.fit(&data, Mse, Sgd::new(0.01), &options)?;
    for (epoch, loss) in history.loss.iter().enumerate() {
        println!("Epoch {:>2}/10 - loss: {loss:.6}", epoch + 1);
    }

    let (x_test, y_test) = generate(&mut rng, 1024);
    let test = Dataset::new(x_test, y_test)?;
    let mean = test.targets().iter().map(|y| y[0]).sum::<f32>() / test.len() as f32;
    let baseline = test
        .targets()
        .iter()
        .map(|y| (y[0] - mean).powi(2))
        .sum::<f32>()
        / test.len() as f32;
    println!(
        "\ntest loss: {:.6} (always predicting the mean: {baseline:.6})",
        model.evaluate(&test, &Mse)
    );
    let sample = &test.inputs()[0];
    println!(
        "prediction for the first test sample: {:.4} (target {:.4})",
        model.forward(sample)[0],
        test.targets()[0][0]
    );
    Ok(())
}

/// `n` samples of `x ~ U[-1, 1]^32` with `y = mean_i sin(3 x_i)`.
fn generate(rng: &mut StdRng, n: usize) -> (Vec<SVector<f32, 32>>, Vec<SVector<f32, 1>>) {
    (0..n)
        .map(|_| {
            let x = SVector::<f32, 32>::from_fn(|_, _| rng.random_range(-1.0..1.0));
            let y = x.iter().map(|v| (3.0 * v).sin()).sum::<f32>() / 32.0;
            (x, SVector::from([y]))
        })
        .unzip()
}
