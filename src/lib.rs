//! # typenn: neural networks whose shape is part of their type
//!
//! ```
//! use typenn::prelude::*;
//!
//! network! {
//!     /// The design document's regressor: 32 inputs, 10 hidden (ReLU), 1 output.
//!     pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut rng = StdRng::seed_from_u64(42);
//!     let model = Regressor::new(&mut rng);
//!     let y = model.forward(&SVector::from([0.5; 32]));
//!     assert_eq!(y.len(), 1);
//!     assert_eq!(Regressor::PARAMETERS, 32 * 10 + 10 + 10 + 1);
//!     Ok(())
//! }
//! ```
//!
//! # Features
//!
//! - `serde` (off by default): `Serialize` and `Deserialize` for every `network!` struct, its
//!   gradients struct, and the layers. A network is written as its layers (by field name, or as a
//!   sequence for a tuple struct), a layer as a map from tensor name to its numbers, flat in the
//!   order of the tensor's `TensorInfo::layout`: Dense is `{"weight": [...], "bias": [...]}` with
//!   the weight column by column, as nalgebra writes a matrix, and row-major tensors (conv kernels,
//!   buffers such as `running_mean`) in PyTorch's order. Reading refuses a tensor of
//!   the wrong length, an unknown, missing or repeated name and a non-finite number with an
//!   error that says what it expected. A network too big for the stack is read into
//!   `zeros_boxed()` with serde's `Deserialize::deserialize_in_place` (after an error it holds
//!   part of the input). serde_json reads `f64` exactly only with its `float_roundtrip` feature.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

mod serde_impls;

/// `pub use nn_core::{Identity, Relu, ...};`: the crate root, the prelude and the macro's runtime
/// path each take the built-in activations from the one list, in `nn-activations`.
macro_rules! use_activations {
    ($($module:ident::$name:ident),* $(,)?) => {
        pub use nn_core::{$($name),*};
    };
}

// Everywhere, `#![no_std]` and without an allocator: networks, layers, activations, losses.
pub use nn_core::layer::*;
pub use nn_core::{
    Activation, AllocationError, BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Columns,
    ColumnsMut, Elementwise, ElementwiseLoss, Huber, Init, LayerSummary, Layout, Loss, Mae, Mse,
    Network, Parameters, SMatrix, SVector, Scalar, SoftmaxCrossEntropy, Summary, TensorInfo,
    Workspace, activation, columns, columns_mut, flatten, layer, loss,
};
nn_core::with_activations!(use_activations);
// int8 post-training quantization: the layers, the scheme's arithmetic and the error, everywhere.
pub use nn_core::{QuantizeError, quant};

// With `std`: training, data and files. These re-exports carry no `///` comment: rustdoc
// would put it in front of the doc of every item the line names, so that `LoadError`'s summary
// would be the module's sentence. Each item (and each module) shows its own doc.
#[cfg(feature = "std")]
pub use nn_core::{
    Adam, AdamW, Batches, ColumnId, CsvColumn, CsvError, CsvErrorKind, DataError, Dataset,
    FitOptions, History, NonFiniteCause, Optimizer, Part, RmsProp, Sgd, SplitMix64, Standardizer,
    Target, TargetScaler, Train, TrainError, Trainer, optim,
};
// Recurrent networks trained on sequences by back-propagation through time.
#[cfg(feature = "std")]
pub use nn_core::{SequenceDataset, SequenceFit, SequenceNetwork, SequenceTrainer};
// Weights in and out as safetensors: `Persist` methods on every network, free functions,
// `LoadOptions` and the errors.
#[cfg(feature = "std")]
pub use nn_core::persist::{self, LoadError, LoadOptions, Persist, SaveError};
// What `fit` takes and reports beyond the loss: validation, metrics, early stopping, callbacks.
#[cfg(feature = "std")]
pub use nn_core::{
    Callback, Control, EarlyStopping, EpochLog, Fit, Metric, MetricHistory, MetricValues, Mode,
    Monitor,
};
// Choosing structure and settings: k-fold cross-validation and grid search.
#[cfg(feature = "std")]
pub use nn_core::tune::{self, TuneError};
#[cfg(feature = "std")]
pub use nn_core::{
    CrossValidation, Fold, FoldError, Grid, GridSearch, Hyperparameters, KFold, cross_validate,
    grid_search,
};
/// The random number crate typenn's constructors take generators from.
pub use rand;

/// Declares a network whose shape is part of its type.
///
/// The input is an ordinary struct declaration whose fields are layers, in order from the input to
/// the output. The macro emits that struct (with `f32` as its default scalar type), a struct of the
/// same shape for its gradients, and the code that runs and trains it, written out for exactly
/// these layers. Each layer must take as many inputs as the layer before it produces: a mismatch
/// is a compile error on the width that is wrong.
///
/// # Examples
///
/// A tuple struct, as PyTorch's `nn.Sequential` numbers its layers:
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     /// 32 inputs, 10 hidden units with ReLU, 1 linear output.
///     pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let mut rng = StdRng::seed_from_u64(42);
///     let mut model = Regressor::new(&mut rng);
///     assert_eq!(Regressor::PARAMETERS, 32 * 10 + 10 + 10 * 1 + 1);
///
///     // One sample, or a batch as a matrix with one sample per column.
///     let y: SVector<f32, 1> = model.forward(&SVector::from([0.5; 32]));
///     let batch: SMatrix<f32, 1, 4> = model.forward_batch(&SMatrix::<f32, 32, 4>::repeat(0.5));
///     assert_eq!(batch.column(3), y);
///
///     // The same network in double precision, through the `Network` trait.
///     let precise = Regressor::<f64>::new(&mut rng);
///     let _: SVector<f64, 1> = precise.forward(&SVector::from([0.5; 32]));
///
///     // Training, as Keras's `fit` does.
///     let inputs = vec![SVector::from([0.5; 32]), SVector::from([-0.5; 32])];
///     let targets = vec![SVector::from([1.0]), SVector::from([-1.0])];
///     let data = Dataset::new(inputs, targets)?;
///     let history = model.fit(&data, Mse, Sgd::new(0.01), &FitOptions::new().epochs(5))?;
///     assert_eq!(history.loss.len(), 5);
///     Ok(())
/// }
/// ```
///
/// A struct with named fields, whose names become the layers' names in summaries and weight
/// files; attributes, doc comments and visibility are kept as written:
///
/// ```
/// use typenn::prelude::*;
///
/// const FEATURES: usize = 4;
///
/// network! {
///     /// Iris: 4 measurements, 8 tanh units, 3 logits.
///     pub(crate) struct Classifier {
///         /// The hidden layer.
///         pub hidden: Dense<FEATURES, 8, Tanh>,
///         pub output: Dense<8, 3>,
///     }
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let mut rng = StdRng::seed_from_u64(0);
///     let model = Classifier::with_init(Init::HeUniform, &mut rng);
///     assert_eq!(model.hidden.weights.shape(), (8, 4));
///     // As Keras prints it; a width given as a `const` is shown by name.
///     let table = "\
///         Model: \"Classifier\"\n\
///         -----------------------------------------------------------\n\
///         Layer (type)                       Output shape     Param #\n\
///         -----------------------------------------------------------\n\
///         hidden (Dense<FEATURES, 8, Tanh>)             8          40\n\
///         output (Dense<8, 3>)                          3          27\n\
///         -----------------------------------------------------------\n\
///         Total params: 67";
///     assert_eq!(model.summary().to_string(), table);
///
///     // Saved under the field names: `hidden.weight`, `hidden.bias`, `output.weight`, `output.bias`.
///     let bytes = model.to_safetensors_bytes()?;
///     let loaded = Classifier::from_safetensors_bytes(&bytes)?;
///     // Every network is `Clone`, `Debug` and `PartialEq`.
///     assert_eq!(loaded, model.clone());
///     assert!(format!("{loaded:?}").starts_with("Classifier { hidden: Dense { weights: "));
///     Ok(())
/// }
/// ```
///
/// # Grammar
///
/// ```text
/// network! { Network }
///
/// Network    := Attribute* Visibility "struct" Name Body
/// Body       := "(" Field ("," Field)* ","? ")" ";"?
///             | "{" NamedField ("," NamedField)* ","? "}"
/// Field      := Attribute* Visibility Layer
/// NamedField := Attribute* Visibility Ident ":" Layer
/// Layer      := "Dense" "<" Width "," Width ("," Activation)? ">"
/// Width      := IntegerLiteral          (at least 1; checked by the macro)
///             | Path                    (a `const` item of type `usize`; checked by the compiler)
///             | "{" Expression "}"      (a constant expression; checked by the compiler)
/// Activation := "Identity" | "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Softmax"
///             | "Elu" | "Gelu" | "Softplus" | "Swish" | "Silu"
///             | Path "::" Ident         (your own type implementing `Activation`, such as
///                                        `crate::Cube`)
/// ```
///
/// The struct takes no generic parameters of its own: the macro adds `T: Scalar = f32`, so
/// `Regressor` is `Regressor<f32>` and `Regressor<f64>` is the same network in double precision.
/// A layer without an activation is linear (`Identity`). The macro is usable at module scope and
/// inside a function.
///
/// # What it generates
///
/// For `network! { pub struct Net(...); }`:
///
/// | item | what it is |
/// | --- | --- |
/// | `pub struct Net<T = f32>` | the declared fields, each layer as a [`Dense<IN, OUT, Activation, T>`](Dense) with public `weights` and `bias` |
/// | `pub struct NetGradients<T: Scalar = f32>` | each layer's gradients, as its [`HasGradients::Gradients`] names them ([`DenseGradients`] for a `Dense`), with the same field names and visibility; `Clone`, `Debug`, `PartialEq` |
/// | `Net::PARAMETERS` | the number of parameters, a `const usize` |
/// | `Net::new(&mut rng)` | Glorot-uniform weights (Keras's default) and zero biases, drawn from any [`rand::Rng`] |
/// | `Net::with_init(init, &mut rng)` | weights drawn as the [`Init`] says (`GlorotUniform`, `HeUniform`, `Zeros`), zero biases |
/// | `Net::zeros()` | every parameter zero |
/// | `Net::new_boxed(&mut rng)`, `Net::zeros_boxed()` | as `new` and `zeros`, built on the heap without passing through the stack: for networks too big for it (with `std`). When the allocator cannot give the memory the process aborts, as `Box::new` does |
/// | `Net::try_new_boxed(&mut rng)`, `Net::try_zeros_boxed()` | the same, returning `Result<Box<Net>, AllocationError>`: an [`AllocationError`] that names the network and the bytes asked for, instead of aborting (with `std`) |
/// | `Net::open_safetensors(path)`, `Net::from_safetensors_bytes(bytes)` | an `f32` network read from a safetensors file or its bytes, every tensor checked ([`LoadError`] otherwise); for `f64` the [`Persist`] methods (with `std`) |
/// | `net.forward(&x)` | the output for one sample: `&SVector<T, IN>` to `SVector<T, OUT>`, no allocation |
/// | `net.forward_batch(&xs)` | the outputs for a batch: `&SMatrix<T, IN, B>` to `SMatrix<T, OUT, B>`, one sample per column |
/// | `net.summary()` | a Keras-style table of the layers, their output widths and parameter counts ([`Summary`], printed with `{}`) |
/// | `net.clone_boxed()` | a copy on the heap, for a network too big for `clone()` (with `std`) |
/// | `impl Parameters<T> for Net<T>` and `for NetGradients<T>` | the parameters as a list of flat tensors, layer by layer (weights then bias), with their names and shapes |
/// | `impl Network<T, IN, OUT> for Net<T>` | what generic code is written against: the macro lends the layers out as a chain, and the forward, backward and fused-SGD passes are [`Network`]'s own methods, written once in the library over any [`Layer`]; through a blanket impl of [`Train`] (with `std`) every network also has `predict`, `predict_proba`, `evaluate`, `gradients` (one backward pass, returning a boxed `NetGradients`), `trainer` (a [`Trainer`] for custom loops) and `fit` |
/// | `Clone`, `Debug`, `PartialEq` | for both structs, as derives would write them (`Debug` prints the layers' weights and biases); `clone_from` copies the parameters in place. A `#[derive]` of any of the three on the declaration is accepted and left to the macro; other derives are passed through |
/// | `Serialize`, `Deserialize` | for both structs, with typenn's `serde` feature |
///
/// The constructors, the two readers and `PARAMETERS` are on `Net<f32>`; for `f64` the same
/// constructors are reached through the traits (`Net::<f64>::new(&mut rng)` with [`Network`] in
/// scope, as the prelude brings it, and `Net::<f64>::open_safetensors(path)` through [`Persist`]).
/// `forward`, `forward_batch`, `summary` and `clone_boxed` are on every `Net<T>`.
///
/// Through blanket impls every network also has the [`Persist`] methods (with `std`):
/// `save_safetensors(path)`, `to_safetensors_bytes()`, `Net::open_safetensors(path)`,
/// `Net::from_safetensors_bytes(bytes)`, and `load_safetensors(bytes, &options)` into an existing
/// network, with tensors named `0.weight`, `0.bias`, ... for a tuple struct (as PyTorch's
/// `nn.Sequential` names them) and `hidden.weight`, ... for named fields. [`Train::fit`] trains
/// on a [`Dataset`] with a loss, an optimizer and [`FitOptions`] and returns the [`History`] of
/// every epoch; [`Fit`] adds validation data and callbacks. A step that would make the loss or a
/// parameter NaN or infinite stops training with [`TrainError::NonFiniteLoss`] or
/// [`TrainError::NonFiniteParameter`] (which names the tensor and element), and the network keeps
/// the parameters it had before that step.
///
/// # Weights at compile time
///
/// `#[weights("path/to/file.safetensors")]` on the declaration reads a safetensors file while the
/// crate compiles and adds `Net::WEIGHTS`, the network with the file's parameters as a
/// constant on `Net<f32>` (`#[weights("file.safetensors", f64)]` gives it on `Net<f64>`, from
/// F64 tensors). Every layer is built by a `const fn`, so in a `static` the whole network sits in
/// read-only memory (flash on a microcontroller): nothing is parsed, checked or copied at run
/// time, and it works without `std`.
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     /// `sin(x)` on `[-pi, pi]`, trained by `examples/embed.rs`.
///     #[weights("examples/models/sine.safetensors")]
///     pub struct Sine(Dense<1, 16, Tanh>, Dense<16, 1>);
/// }
///
/// static MODEL: Sine = Sine::WEIGHTS;
///
/// let y = MODEL.forward(&SVector::from([1.0]))[0];
/// assert!((y - 1.0_f32.sin()).abs() < 0.05);
/// ```
///
/// - **The path** starts at the directory of the `Cargo.toml` of the crate that declares the
///   network (`CARGO_MANIFEST_DIR`), wherever the declaration's file is: the path is the same
///   from `src/`, `examples/` and `tests/` (an absolute path is taken as it is). Cargo rebuilds
///   the crate when the file changes.
/// - **The names** are those the run-time loader reads ([`Persist`]): `0.weight`, `0.bias`, ...
///   for a tuple struct, field names for named fields, in PyTorch's shapes (`[out, in]` for a
///   Dense weight, `[out, in, k]` for a Conv1d kernel, `running_mean` and `running_var` for a
///   BatchNorm; PyTorch's `num_batches_tracked` is ignored).
/// - **Every mismatch is a compile error** on the path, naming the tensor and both shapes, all
///   of them in one build: a tensor missing, one the network does not have, one of the wrong
///   shape or float type, a NaN or infinite value, or a file that cannot be read. For example:
///
/// ```text
/// error: tensor `0.weight` has shape [3, 3] in the file, but layer 1 (`Dense<2, 3, Relu>`) needs its weight as [3, 2] ([out, in], as `nn.Linear` keeps it)
///  --> src/main.rs:4:15
///   |
/// 4 |     #[weights("models/small.safetensors")]
///   |               ^^^^^^^^^^^^^^^^^^^^^^^^^^
/// ```
///
/// The widths must be numbers, for the macro to know the shapes. It is an attribute of
/// `network!` rather than a macro of its own so that the layers are written once: the same
/// declaration gives the type and checks the file against it.
///
/// # Big networks
///
/// `new`, `with_init`, `zeros` and `clone` build the network on the stack. For a network over
/// 1 MiB (half the stack of a spawned thread) they do not compile, wherever the call is, even in
/// a branch that never runs, so that the program cannot overflow its stack at run time; the
/// `*_boxed` constructors have no such limit. The error is reported by `cargo build` and
/// `cargo test` (the compiler evaluates the check when it generates code for the call), not by
/// `cargo check`:
///
/// ```compile_fail,E0080
/// use typenn::prelude::*;
///
/// network! {
///     /// 4 MiB of parameters.
///     pub struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
/// }
///
/// fn main() {
///     let mut rng = StdRng::seed_from_u64(0);
///     let _on_the_heap = Wide::new_boxed(&mut rng); // fine at any size
///     let _on_the_stack = Wide::new(&mut rng); // does not compile
/// }
/// ```
///
/// ```text
/// error[E0080]: evaluation panicked: `Wide` is over 1 MiB, too big to build on a thread's stack: build it on the heap with `Wide::new_boxed(&mut rng)`, `Wide::zeros_boxed()`, `with_init_boxed` or `clone_boxed()`
///  --> src/main.rs:5:16
///   |
/// 5 |     pub struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
///   |                ^^^^ evaluation of `Wide::STACK_CHECK` failed here
/// ```
///
/// The same network on the heap, and one too big for any address space, which is an error
/// rather than an abort:
///
/// ```
/// use typenn::AllocationError;
/// use typenn::prelude::*;
///
/// network! {
///     pub struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
/// }
///
/// const HUGE: usize = 1 << 28;
/// network! {
///     /// 2^56 weights: 256 PiB in `f32`.
///     pub struct Impossible(Dense<HUGE, HUGE>);
/// }
///
/// fn main() -> Result<(), AllocationError> {
///     let mut rng = StdRng::seed_from_u64(0);
///     let model = Wide::try_new_boxed(&mut rng)?;
///     let copy = model.clone_boxed();
///     assert!(*copy == *model);
///
///     let outcome = match Impossible::try_zeros_boxed() {
///         Ok(_) => String::from("allocated"),
///         Err(error) => error.to_string(),
///     };
///     let bytes = std::mem::size_of::<Impossible>();
///     let expected = format!("could not allocate {bytes} bytes for the parameters of `Impossible`");
///     assert_eq!(outcome, expected);
///     Ok(())
/// }
/// ```
///
/// # Shape errors
///
/// A width that does not match the layer before is reported by the macro, on that width:
///
/// ```compile_fail
/// use typenn::prelude::*;
///
/// network! {
///     pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>);
/// }
/// ```
///
/// ```text
/// error: layer 2 (`Dense<11, 1>`) expects 11 inputs, but layer 1 (`Dense<32, 10, Relu>`) produces 10 outputs; each layer's input width must equal the previous layer's output width
///  --> src/main.rs:4:53
///   |
/// 4 |     pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>);
///   |                                                     ^^
/// ```
///
/// When the widths are `const` items the macro cannot see their values, and the type checker
/// makes the same check, still on the width:
///
/// ```text
/// error[E0277]: this layer takes 11 inputs, but the layer before it produces 10 outputs
///  --> src/main.rs:8:61
///   |
/// 8 |     pub struct Regressor(Dense<INPUTS, HIDDEN, Relu>, Dense<WIDER, 1>);
///   |                                                             ^^^^^ expected 10 here, the previous layer's output width
///   |
///   = note: each layer's input width must equal the output width of the layer before it
/// ```
///
/// Every mistake in one declaration (a zero width, an unknown activation, an unknown layer kind,
/// ...) is reported in the same compile, each on its own token, and the struct is still declared,
/// so the rest of the program adds no errors of its own. Data of the wrong width is a type error
/// where it is used: `model.forward(&x)` with an `SVector<f32, 31>` for a network of 32 inputs says
/// ``expected `32`, found `31` ``.
///
/// # Why a struct declaration
///
/// The design card writes the network as a type, `network!< Dense<32,10,Relu>, Dense<10,1> >`.
/// Rust has no macro call with angle brackets, and typenn takes a struct declaration instead of
/// a list of layers: the network then has a name of its own (which the compiler's messages, the
/// summary and your functions' signatures use), a place for its doc comment and attributes, a
/// visibility, and field names when you want them (`model.hidden.weights`, `hidden.weight` in a
/// saved file). The card's list written as Rust allows, `network![Dense<32, 10, Relu>, Dense<10,
/// 1>]`, is one error that shows the struct to write, with your layers:
///
/// ```compile_fail
/// use typenn::prelude::*;
///
/// network![Dense<32, 10, Relu>, Dense<10, 1>];
///
/// fn main() {}
/// ```
///
/// ```text
/// error: `network!` declares a struct: write `network! { pub struct Net(Dense<32, 10, Relu>, Dense<10, 1>); }` and use `Net` as the type
///  --> src/main.rs:3:10
///   |
/// 3 | network![Dense<32, 10, Relu>, Dense<10, 1>];
///   |          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
/// ```
///
/// Written where a type goes (`type Regressor = network![...];`) it is the same error, and the
/// compiler adds a second one where `Regressor` is used: there the macro's output is the type
/// `()`, since an error cannot also be a type.
pub use nn_macros::network;

/// What most programs need: `use typenn::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "std")]
    pub use crate::{
        Adam, AdamW, Control, Dataset, EarlyStopping, EpochLog, Fit, FitOptions, Metric, Monitor,
        RmsProp, Sgd, Standardizer, Target, TargetScaler, Train, persist::Persist,
    };
    pub use crate::{
        BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Dense, Huber, Init, Mae, Mse, Network,
        Parameters, SMatrix, SVector, SoftmaxCrossEntropy, network,
    };
    nn_core::with_activations!(use_activations);
    pub use rand::{SeedableRng, rngs::StdRng};
}

#[cfg(feature = "std")]
#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

// The README's examples, run as doctests so that one that stops compiling fails the tests.
#[cfg(all(doctest, feature = "std"))]
#[doc = include_str!("../README.md")]
pub struct Readme;

/// Expands to its input when typenn has `std`, to nothing without: generated code offers heap
/// constructors only where there is a heap. The macro's features are typenn's, not the caller's.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __typenn_if_std {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// Without `std`: nothing.
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __typenn_if_std {
    ($($tokens:tt)*) => {};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::__typenn_if_std as if_std;
    pub use bytemuck::Zeroable;
    pub use nn_core::AllocationError;
    pub use nn_core::STACK_LIMIT;
    pub use nn_core::copy_tensors;
    pub use nn_core::layer::*;
    #[cfg(feature = "std")]
    pub use nn_core::try_zeroed_box;
    pub use nn_core::with_fma;
    pub use nn_core::{
        Boundary, Fits, Init, LayerSummary, Network, Parameters, Rng, SMatrix, SVector, Scalar,
        Summary, TensorInfo, window_len,
    };
    nn_core::with_activations!(use_activations);
    #[cfg(feature = "std")]
    pub use nn_core::{LoadError, Persist, SequenceNetwork};
    // The int8 networks: their layers, calibration and errors, and with `std` the `Dataset`
    // they are calibrated on and the `Vec` of `predict`.
    #[cfg(feature = "std")]
    pub use nn_core::Dataset;
    pub use nn_core::quant;
    #[cfg(feature = "std")]
    pub use std::boxed::Box;
    #[cfg(feature = "std")]
    pub use std::path::Path;
    #[cfg(feature = "std")]
    pub use std::vec::Vec;

    pub use crate::__serde_impls;
    #[cfg(feature = "serde")]
    pub use nn_core::layer::{FieldName, TensorsInPlace, TensorsRef};
    #[cfg(feature = "serde")]
    pub use serde;
}
