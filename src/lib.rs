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
#![forbid(unsafe_code)]

/// Weights in and out as safetensors: [`Persist`] methods on every network, free functions,
/// [`LoadOptions`] and the errors.
pub use nn_core::persist::{self, LoadError, LoadOptions, Persist, SaveError};
pub use nn_core::{
    Activation, Columns, ColumnsMut, DataError, Dataset, Dense, DenseGradients, Elementwise,
    FitOptions, History, Identity, Init, Layer, LayerSummary, LeakyRelu, Loss, Mse, Network,
    Optimizer, Parameters, Part, Relu, Scalar, Sgd, Sigmoid, Softmax, Summary, Tanh, TensorInfo,
    TrainError, Trainer, Workspace, activation, columns, columns_mut, flatten, layer, loss, optim,
};
pub use nn_core::{Adam, AdamW, RmsProp};
pub use nn_core::{
    Batches, ColumnId, CsvColumn, CsvError, CsvErrorKind, Standardizer, Target, TargetScaler,
};
pub use nn_core::{
    BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Elu, Gelu, Huber, Mae, Silu,
    SoftmaxCrossEntropy, Softplus, Swish,
};
pub use nn_core::{SMatrix, SVector};
// What `fit` takes and reports beyond the loss: validation, metrics, early stopping, callbacks.
/// Choosing structure and settings: k-fold cross-validation and grid search.
pub use nn_core::tune::{self, TuneError};
pub use nn_core::{
    Callback, Control, EarlyStopping, EpochLog, Fit, Metric, MetricHistory, MetricValues, Mode,
    Monitor,
};
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
    pub use crate::persist::Persist;
    pub use crate::{Adam, AdamW, RmsProp};
    pub use crate::{
        BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Elu, Gelu, Huber, Mae, Silu,
        SoftmaxCrossEntropy, Softplus, Swish,
    };
    pub use crate::{
        Dataset, Dense, FitOptions, Identity, Init, LeakyRelu, Mse, Network, Parameters, Relu,
        SMatrix, SVector, Sgd, Sigmoid, Softmax, Tanh, network,
    };
    pub use crate::{Standardizer, Target, TargetScaler};
    pub use rand::{SeedableRng, rngs::StdRng};
    // Options and callbacks of `fit`.
    pub use crate::{Control, EarlyStopping, EpochLog, Fit, Metric, Monitor};
}

#[doc = include_str!("../docs/guide.md")]
pub mod guide {}

#[doc(hidden)]
pub mod __private {
    pub use bytemuck::Zeroable;
    pub use nn_core::with_fma;
    pub use nn_core::{
        Boundary, Columns, ColumnsMut, Dense, DenseGradients, Fits, Identity, Init, Layer,
        LayerSummary, LeakyRelu, Loss, Network, Parameters, Relu, Rng, SMatrix, SVector, Scalar,
        Sigmoid, Softmax, Summary, Tanh, TensorInfo, Workspace, columns, columns_mut,
        inference_len, training_len, widest,
    };
    pub use nn_core::{Elu, Gelu, Silu, Softplus, Swish};
}
