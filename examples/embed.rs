//! Weights baked into the program: one binary, no file to ship or open at run time.
//!
//! `examples/models/sine.safetensors` is a small network (1 -> 16 tanh -> 1, 49 parameters,
//! 460 bytes) trained to follow `sin(x)` on `[-pi, pi]`. This example wrote it, in its `--train`
//! mode, with typenn:
//!
//! ```sh
//! cargo run --release --example embed -- --train   # trains and (re)writes the model file
//! cargo run --release --example embed              # the embedded model, checked, then used
//! ```
//!
//! `#[weights("examples/models/sine.safetensors")]` reads the file while the example compiles,
//! checks every tensor's name, type, shape and value against the layers, and gives `Sine::WEIGHTS`,
//! the network as a constant: kept in a `static`, it sits in the binary's read-only data, and
//! nothing is parsed or copied at run time. A wrong or damaged file does not compile, with an
//! error that names the tensor and both shapes; a retrained file is picked up by the next build.
//! The file is in PyTorch's layout: it holds the `state_dict` of
//! `nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))`, with `1.*` for that model's
//! `2.*` (its `Tanh` module takes index 1).

use std::error::Error;
use std::f32::consts::PI;

use rand::RngExt;
use typenn::prelude::*;

network! {
    /// `sin(x)` for `x` in `[-pi, pi]`: 1 input, 16 tanh units, 1 linear output, with the
    /// trained weights (the path starts at the directory of the package's `Cargo.toml`).
    #[weights("examples/models/sine.safetensors")]
    pub struct Sine(Dense<1, 16, Tanh>, Dense<16, 1>);
}

/// The trained network, inside the binary's read-only data.
static MODEL: Sine = Sine::WEIGHTS;

/// Where `--train` writes the model.
const MODEL_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/models/sine.safetensors"
);

fn main() -> Result<(), Box<dyn Error>> {
    if std::env::args().any(|argument| argument == "--train") {
        return train();
    }

    let model = &MODEL;
    println!(
        "{} parameters checked and compiled in, {} bytes of read-only data\n",
        Sine::PARAMETERS,
        size_of::<Sine>()
    );

    println!("{:>8} {:>10} {:>10}", "x", "sin(x)", "model(x)");
    for step in -6..=6 {
        let x = step as f32 * PI / 6.0;
        let y = model.forward(&SVector::from([x]))[0];
        println!("{x:>8.4} {:>10.4} {y:>10.4}", x.sin());
    }

    let worst = (0..=1000)
        .map(|i| -PI + 2.0 * PI * i as f32 / 1000.0)
        .map(|x| (model.forward(&SVector::from([x]))[0] - x.sin()).abs())
        .fold(0.0_f32, f32::max);
    println!("\nlargest error over 1001 points of [-pi, pi]: {worst:.4}");
    Ok(())
}

/// Trains the network on 1024 random points and writes it to [`MODEL_PATH`].
fn train() -> Result<(), Box<dyn Error>> {
    let mut rng = StdRng::seed_from_u64(11);
    let (inputs, targets): (Vec<SVector<f32, 1>>, Vec<SVector<f32, 1>>) = (0..1024)
        .map(|_| {
            let x: f32 = rng.random_range(-PI..PI);
            (SVector::from([x]), SVector::from([x.sin()]))
        })
        .unzip();
    let data = Dataset::new(inputs, targets)?;

    let mut model = Sine::new(&mut rng);
    let options = FitOptions::new().epochs(400).batch_size(32).shuffle(3);
    let history = model.fit(&data, Mse, Sgd::new(0.05).momentum(0.9), &options)?;
    if let Some(loss) = history.loss.last() {
        println!(
            "mean squared error after {} epochs: {loss:.2e}",
            history.loss.len()
        );
    }

    model.save_safetensors(MODEL_PATH)?;
    println!("wrote {MODEL_PATH}; rebuild to embed it");
    Ok(())
}
