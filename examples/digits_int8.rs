//! Digits in int8: the digits MLP trained exactly as `examples/digits.rs` trains it, quantized
//! after training (int8 weights per unit, activation scales calibrated by max-abs on the
//! training images), then both networks on the test images: accuracy, and inference speed on
//! this machine one sample at a time and over the whole test set. Then the same for the digits
//! CNN of `examples/digits_cnn.rs`, whose batch normalizations are folded into the
//! convolutions before quantizing.
//!
//! ```sh
//! cargo run --release --example digits_int8
//! ```

mod common;
#[path = "common/digits.rs"]
// Both networks and their training; not the cross-validation's pieces.
#[allow(dead_code)]
mod digits;

use std::hint::black_box;
use std::time::Instant;

use typenn::prelude::*;

/// Passes over the test images for each speed figure of the MLP.
const ROUNDS: usize = 200;
/// The same for the CNN, whose samples take about a hundred times longer.
const CNN_ROUNDS: usize = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (train, test) = digits::load()?;
    let (model, history, elapsed) = digits::train(&train)?;
    println!(
        "trained in {} epochs ({:.2} s); kept epoch {}",
        history.epochs(),
        elapsed.as_secs_f64(),
        history.best_epoch.unwrap_or(history.epochs())
    );

    let int8 = model.quantize(&train)?;
    println!(
        "quantized on {} training images: input scale {:.5}, output scale {:.5}, kernel {}",
        train.len(),
        int8.input_scale(),
        int8.output_scale(),
        typenn::quant::kernel()
    );

    let f32_accuracy = accuracy(&model.predict(test.inputs()), &test);
    let int8_accuracy = accuracy(&int8.predict(test.inputs()), &test);
    println!("int8 test accuracy: {int8_accuracy:.4} (f32: {f32_accuracy:.4})");

    let inputs = test.inputs();
    let single_f32 = samples_per_s(inputs.len(), ROUNDS, || {
        for x in inputs {
            black_box(model.forward(black_box(x)));
        }
    });
    let single_int8 = samples_per_s(inputs.len(), ROUNDS, || {
        for x in inputs {
            black_box(int8.forward(black_box(x)));
        }
    });
    let batch_f32 = samples_per_s(inputs.len(), ROUNDS, || {
        black_box(model.predict(black_box(inputs)));
    });
    let batch_int8 = samples_per_s(inputs.len(), ROUNDS, || {
        black_box(int8.predict(black_box(inputs)));
    });
    println!(
        "single sample: f32 {single_f32:.0} samples/s, int8 {single_int8:.0} samples/s ({:.2}x)",
        single_int8 / single_f32
    );
    println!(
        "batch of {}: f32 {batch_f32:.0} samples/s, int8 {batch_int8:.0} samples/s ({:.2}x)",
        inputs.len(),
        batch_int8 / batch_f32
    );

    cnn(&train, &test)
}

/// The digits CNN: trained, quantized with its batch normalizations folded, both on the test
/// images, and one-sample speed.
fn cnn(
    train: &Dataset<f32, 64, 10>,
    test: &Dataset<f32, 64, 10>,
) -> Result<(), Box<dyn std::error::Error>> {
    let training = digits::train_cnn(train)?;
    let model = training.model;
    println!(
        "\nCNN: best epoch {} of {} on the held-out part ({:.2} s), then {} epochs on every \
         training image ({:.2} s)",
        training
            .search
            .best_epoch
            .unwrap_or(training.search.epochs()),
        training.search.epochs(),
        training.elapsed.0.as_secs_f64(),
        training.last.epochs(),
        training.elapsed.1.as_secs_f64(),
    );
    let int8 = model.quantize(train)?;
    println!(
        "quantized on {} training images: input scale {:.5}, output scale {:.5}",
        train.len(),
        int8.input_scale(),
        int8.output_scale(),
    );
    let f32_accuracy = accuracy(&model.predict(test.inputs()), test);
    let int8_accuracy = accuracy(&int8.predict(test.inputs()), test);
    println!("int8 test accuracy: {int8_accuracy:.4} (f32: {f32_accuracy:.4})");

    let inputs = test.inputs();
    let single_f32 = samples_per_s(inputs.len(), CNN_ROUNDS, || {
        for x in inputs {
            black_box(model.forward(black_box(x)));
        }
    });
    let single_int8 = samples_per_s(inputs.len(), CNN_ROUNDS, || {
        for x in inputs {
            black_box(int8.forward(black_box(x)));
        }
    });
    let batch_f32 = samples_per_s(inputs.len(), CNN_ROUNDS, || {
        black_box(model.predict(black_box(inputs)));
    });
    let batch_int8 = samples_per_s(inputs.len(), CNN_ROUNDS, || {
        black_box(int8.predict(black_box(inputs)));
    });
    println!(
        "single sample: f32 {single_f32:.0} samples/s, int8 {single_int8:.0} samples/s ({:.2}x)",
        single_int8 / single_f32
    );
    println!(
        "batch of {}: f32 {batch_f32:.0} samples/s, int8 {batch_int8:.0} samples/s ({:.2}x)",
        inputs.len(),
        batch_int8 / batch_f32
    );
    Ok(())
}

/// The fraction of `data` whose largest output is the target's class.
fn accuracy(outputs: &[SVector<f32, 10>], data: &Dataset<f32, 64, 10>) -> f64 {
    let correct = outputs
        .iter()
        .zip(data.targets())
        .filter(|(output, target)| output.imax() == target.imax())
        .count();
    correct as f64 / data.len() as f64
}

/// Samples per second of `pass`, which runs `samples` samples: the best of five timings of
/// `rounds` passes each, after one untimed pass.
fn samples_per_s(samples: usize, rounds: usize, mut pass: impl FnMut()) -> f64 {
    pass();
    (0..5)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..rounds {
                pass();
            }
            (samples * rounds) as f64 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}
