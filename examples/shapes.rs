//! A tour of what the types catch. Every mistake below is in a comment, with the message the
//! compiler (rustc 1.95) gives for it; `tests/ui/` holds each one as a test that fails to compile.
//!
//! Run with `cargo run --example shapes`.

use typenn::prelude::*;

// A network is a struct whose fields are layers. `Dense<IN, OUT, Activation>` maps IN numbers
// per sample to OUT numbers, so the whole shape is written in the type.
network! {
    /// 32 inputs, 10 hidden units with ReLU, 1 linear output.
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

// 1. Layers must line up: each layer takes what the previous one produces.
//
//     network! { pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>); }
//
//     error: layer 2 (`Dense<11, 1>`) expects 11 inputs, but layer 1 (`Dense<32, 10, Relu>`)
//            produces 10 outputs; each layer's input width must equal the previous layer's
//            output width
//      --> tests/ui/width_mismatch.rs:4:53
//       |
//     4 |     pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>);
//       |                                                     ^^

// 2. Widths can be `const` items. The macro cannot see their values, so the type checker does
//    the same check, and still points at the width that is wrong:
//
//     const HIDDEN: usize = 10;
//     const WIDER: usize = 11;
//     network! { pub struct Regressor(Dense<INPUTS, HIDDEN, Relu>, Dense<WIDER, 1>); }
//
//     error[E0277]: this layer takes 11 inputs, but the layer before it produces 10 outputs
//      --> tests/ui/width_mismatch_const.rs:8:61
//       |
//     8 |     pub struct Regressor(Dense<INPUTS, HIDDEN, Relu>, Dense<WIDER, 1>);
//       |                                                             ^^^^^ expected 10 here,
//       |                                                      the previous layer's output width
const INPUTS: usize = 4;
const HIDDEN: usize = 8;

network! {
    /// Widths from `const` items: a classifier of 4 features into 3 classes.
    pub struct Classifier {
        hidden: Dense<INPUTS, HIDDEN, Tanh>,
        output: Dense<HIDDEN, 3, Sigmoid>,
    }
}

// 3. Zero widths, fractional widths, unknown activations and layer kinds are caught by the macro,
//    all in one compile, each on its own token:
//
//     network! { pub struct Regressor(Dense<32, 0, Relu>, Dense<10, 1, Sigmod>, Dense<2, 1>, Lstm<1, 1>); }
//
//     error: a layer needs at least one output, but this width is 0
//     error: unknown activation `Sigmod`: typenn has `Identity`, `Relu`, `LeakyRelu`, `Sigmoid`,
//            `Tanh`, `Softmax`, `Elu`, `Gelu`, `Softplus`, `Swish` and `Silu`; did you mean
//            `Sigmoid`? (an activation of your own is written as a path, such as
//            `crate::MyActivation`)
//     error: unknown layer kind `Lstm`: typenn has `Dense`
//
//    Keras habits are caught too: `Dense(32, 10)` gives
//
//     error: a layer is a type, not a function call: write its widths in angle brackets, such
//            as `Dense<32, 10>`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(0);
    let model = Regressor::new(&mut rng);

    // 4. The input width is part of `forward`'s signature:
    //
    //     let sample = SVector::<f32, 31>::zeros();
    //     model.forward(&sample);
    //
    //     error[E0308]: mismatched types
    //       --> tests/ui/wrong_input_width.rs:10:27
    //        |
    //     10 |     let _ = model.forward(&sample);
    //        |                   ------- ^^^^^^^ expected `32`, found `31`
    let sample = SVector::<f32, 32>::from_fn(|i, _| i as f32 / 32.0);
    let output: SVector<f32, 1> = model.forward(&sample);
    println!(
        "Regressor maps 32 inputs to {} output: {:.4}",
        output.len(),
        output[0]
    );

    // 5. So is the target width of the data given to `fit` (and to a training step):
    //
    //     let data = Dataset::<f32, 32, 2>::from_rows(&[[0.0; 32]], &[[0.0; 2]])?;
    //     model.fit(&data, Mse, Sgd::new(0.01), &FitOptions::new())?;
    //
    //     error[E0308]: mismatched types
    //        |
    //     10 |     let _ = model.fit(&data, Mse, Sgd::new(0.01), &FitOptions::new())?;
    //        |                   --- ^^^^^ expected `1`, found `2`
    //        |
    //        = note: expected reference `&typenn::Dataset<f32, 32, 1>`
    //                   found reference `&typenn::Dataset<f32, 32, 2>`
    let data = Dataset::<f32, 32, 1>::from_rows(&[[0.5; 32], [-0.5; 32]], &[[1.0], [-1.0]])?;
    println!(
        "loss on two samples before training: {:.4}",
        model.evaluate(&data, &Mse)
    );

    // 6. Batches are matrices with one sample per column, and their width is checked the same way.
    let batch = SMatrix::<f32, 32, 4>::from_fn(|row, column| (row + column) as f32 / 64.0);
    let outputs: SMatrix<f32, 1, 4> = model.forward_batch(&batch);
    println!("a batch of 4 gives a 1 x 4 matrix: {outputs:.3}");

    // 7. What the types say, the numbers agree with.
    let classifier = Classifier::new(&mut rng);
    println!("{}", classifier.summary());
    println!(
        "Regressor has {} parameters: 32 x 10 + 10, then 10 x 1 + 1.",
        Regressor::PARAMETERS
    );
    Ok(())
}
