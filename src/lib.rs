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
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = StdRng::seed_from_u64(42);
//! let model = Regressor::new(&mut rng);
//! let y = model.forward(&SVector::from([0.5; 32]));
//! assert_eq!(y.len(), 1);
//! assert_eq!(Regressor::PARAMETERS, 32 * 10 + 10 + 10 + 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `serde` (off by default): `Serialize` and `Deserialize` for every `network!` struct, its
//!   gradients struct, and the layers. A network is written as its layers (by field name, or as a
//!   sequence for a tuple struct), a layer as `{"weights": [...], "bias": [...]}` with each
//!   tensor's numbers column by column, as nalgebra writes a matrix. Reading refuses a tensor of
//!   the wrong length, an unknown, missing or repeated field and a non-finite number with an
//!   error that says what it expected. A network too big for the stack is read into
//!   `zeros_boxed()` with serde's `Deserialize::deserialize_in_place` (after an error it holds
//!   part of the input). serde_json reads `f64` exactly only with its `float_roundtrip` feature.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

mod serde_impls;

// Everywhere, `#![no_std]` and without an allocator: networks, layers, activations, losses.
pub use nn_core::{
    Activation, BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Columns, ColumnsMut, Dense,
    DenseGradients, Elementwise, ElementwiseLoss, Elu, Gelu, Huber, Identity, Init, Layer,
    LayerSummary, LeakyRelu, Loss, Mae, Mse, Network, Parameters, Relu, SMatrix, SVector, Scalar,
    Sigmoid, Silu, Softmax, SoftmaxCrossEntropy, Softplus, Summary, Swish, Tanh, TensorInfo,
    Workspace, activation, columns, columns_mut, flatten, layer, loss,
};

// With `std`: training, data and files. These re-exports carry no `///` comment: rustdoc
// would put it in front of the doc of every item the line names, so that `LoadError`'s summary
// would be the module's sentence. Each item (and each module) shows its own doc.
#[cfg(feature = "std")]
pub use nn_core::{
    Adam, AdamW, Batches, ColumnId, CsvColumn, CsvError, CsvErrorKind, DataError, Dataset,
    FitOptions, History, Optimizer, Part, RmsProp, Sgd, SplitMix64, Standardizer, Target,
    TargetScaler, TrainError, Trainer, optim,
};
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
/// The input is a struct declaration whose fields are layers. Widths are literals or `const`
/// items; each layer must take as many inputs as the previous one produces, or the program does
/// not compile.
pub use nn_macros::network;

/// What most programs need: `use typenn::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "std")]
    pub use crate::{
        Adam, AdamW, Control, Dataset, EarlyStopping, EpochLog, Fit, FitOptions, Metric, Monitor,
        RmsProp, Sgd, Standardizer, Target, TargetScaler, persist::Persist,
    };
    pub use crate::{
        BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Dense, Elu, Gelu, Huber, Identity, Init,
        LeakyRelu, Mae, Mse, Network, Parameters, Relu, SMatrix, SVector, Sigmoid, Silu, Softmax,
        SoftmaxCrossEntropy, Softplus, Swish, Tanh, network,
    };
    pub use rand::{SeedableRng, rngs::StdRng};
}

#[cfg(feature = "std")]
#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

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
    pub use nn_core::with_fma;
    pub use nn_core::{
        Boundary, Columns, ColumnsMut, Dense, DenseGradients, Fits, Identity, Init, Layer,
        LayerSummary, LeakyRelu, Loss, Network, Parameters, Relu, Rng, SMatrix, SVector, Scalar,
        Sigmoid, Softmax, Summary, Tanh, TensorInfo, Workspace, columns, columns_mut,
        inference_len, training_len, widest,
    };
    pub use nn_core::{Elu, Gelu, Silu, Softplus, Swish};
    #[cfg(feature = "std")]
    pub use std::boxed::Box;

    pub use crate::__serde_impls;
    #[cfg(feature = "serde")]
    pub use nn_core::layer::{FieldName, InPlace};
    #[cfg(feature = "serde")]
    pub use serde;
}
