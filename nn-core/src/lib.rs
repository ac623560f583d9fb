//! The runtime of [typenn](https://docs.rs/typenn): layers, activations, losses, optimizers,
//! training and data. Networks are declared with the `network!` macro of the `typenn` crate,
//! which builds on the items here.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod activation;
mod columns;
mod data;
mod error;
mod init;
mod kernels;
pub mod layer;
pub mod loss;
mod network;
pub mod optim;
mod parameters;
pub mod persist;
mod rng;
mod scalar;
mod train;
pub mod tune;
#[allow(unsafe_code)]
mod unsafe_code;

pub use activation::{
    Activation, Elementwise, Elu, Gelu, Identity, LeakyRelu, Relu, Sigmoid, Silu, Softmax,
    Softplus, Swish, Tanh,
};
pub use columns::{Columns, ColumnsMut, Scratch, Workspace, columns, columns_mut, flatten};
pub use data::Dataset;
pub use data::{Batches, ColumnId, Standardizer, Target, TargetScaler};
pub use error::{CsvColumn, CsvError, CsvErrorKind};
pub use error::{DataError, Part, TrainError};
pub use init::Init;
pub use layer::{Dense, DenseGradients, Layer};
pub use loss::{
    BinaryCrossEntropy, BinaryCrossEntropyWithLogits, Huber, Loss, Mae, Mse, SoftmaxCrossEntropy,
};
pub use network::{
    Boundary, Fits, LayerSummary, Network, Summary, inference_len, training_len, widest,
};
pub use optim::{Adam, AdamW, RmsProp};
pub use optim::{Optimizer, Sgd};
pub use parameters::{Parameters, TensorInfo};
pub use persist::{LoadError, LoadOptions, Persist, SaveError};
pub use scalar::Scalar;
pub use train::{FitOptions, History, Trainer};
pub use unsafe_code::dispatch::with_fma;
// Options, callbacks and figures of `fit`.
pub use train::{
    Callback, Control, EarlyStopping, EpochLog, Fit, Metric, MetricHistory, MetricValues, Mode,
    Monitor,
};

pub use nalgebra::{SMatrix, SVector};
pub use rand::Rng;
// Choosing structure and settings: k-fold cross-validation and grid search.
pub use tune::{
    CrossValidation, Fold, FoldError, Grid, GridSearch, Hyperparameters, KFold, TuneError,
    cross_validate, grid_search,
};
