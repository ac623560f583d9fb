//! Digits with a small convolutional network: each 8x8 image (one channel) goes through two
//! blocks of a 3x3 convolution, batch normalization, ReLU and 2x2 max pooling, then dropout and
//! one Dense layer to 10 class scores. Trained on the same split as `examples/digits.rs` (the
//! PyTorch baselines' `examples/data/splits_seed0.json`: 1437 training images, 360 test images).
//!
//! ```sh
//! cargo run --release --example digits_cnn                      # train, print every epoch, test
//! cargo run --release --example digits_cnn -- --plot loss.svg   # the same, and the loss curves
//! ```
//!
//! The shapes, as the type says: 1 x 8 x 8 -> 16 x 8 x 8 (padding 1 keeps the size) -> 16 x 4 x 4
//! -> 32 x 4 x 4 -> 32 x 2 x 2 -> 128 -> 10 logits, 6,186 parameters. As in `digits.rs`, pixels
//! are divided by 16, the network outputs logits for `SoftmaxCrossEntropy`, and the last fifth of
//! the training images is held out as validation data for early stopping, which keeps the best
//! epoch's weights. Batch normalization uses batch statistics in training and its running ones in
//! `predict`; dropout is active only in training.
//!
//! # How the design was chosen
//!
//! On the validation images only, before the test images were used. The training settings are
//! `digits.rs`'s, not tuned: Adam with PyTorch's default learning rate (0.001), batches of 32,
//! patience 10, seed 0. Two widths were compared, each trained once with those settings:
//!
//! | convolutions | parameters | best validation loss | validation accuracy |
//! | --- | --- | --- | --- |
//! | 8 then 16 channels, `Dense<64, 10>` | 1,946 | 0.0308 | 286/287 |
//! | 16 then 32 channels, `Dense<128, 10>` (this one) | 6,186 | 0.0059 | 287/287 |
//!
//! The wider one was kept for its lower validation loss. The test images are used once, at the
//! end. The MLP of `digits.rs` gets 352/360 on them.

#[path = "common/classification.rs"]
mod classification;
mod common;
#[path = "common/digits.rs"]
// The loader, the network and its training: the MLP is the other digits examples'.
#[allow(dead_code)]
mod digits;
#[path = "common/plot.rs"]
mod plot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let plot_path = plot::plot_argument()?;

    let (train, test) = digits::load()?;
    println!(
        "{} training images ({:.0}% held out for validation), {} test images\n",
        train.len(),
        100.0 * digits::VALIDATION,
        test.len()
    );

    let (model, history, elapsed) = digits::train_cnn(&train)?;

    classification::print_history(&history, elapsed);
    classification::print_test_accuracy(&model, &test);

    if let Some(path) = plot_path {
        plot::loss_curves(
            &path,
            "Digits CNN: 2 x (Conv2d 3x3, BatchNorm, ReLU, MaxPool 2) -> Dropout -> Dense, Adam",
            &history,
        )?;
        println!("loss curves written to {}", path.display());
    }
    Ok(())
}
