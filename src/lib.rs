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
#![forbid(unsafe_code)]

mod serde_impls;

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
}

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

    pub use crate::__serde_impls;
    #[cfg(feature = "serde")]
    pub use nn_core::layer::{FieldName, InPlace};
    #[cfg(feature = "serde")]
    pub use serde;
}
