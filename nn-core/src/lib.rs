//! The runtime of [typenn](https://docs.rs/typenn): layers, activations, losses, optimizers,
//! training and data. Networks are declared with the `network!` macro of the `typenn` crate,
//! which builds on the items here.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod activation;
mod columns;
mod data;
mod error;
#[allow(unsafe_code)]
mod gemm;
mod init;
pub mod layer;
pub mod loss;
mod network;
pub mod optim;
mod parameters;
mod scalar;
mod train;

pub use activation::{Activation, Elementwise, Identity, LeakyRelu, Relu, Sigmoid, Softmax, Tanh};
pub use columns::{Columns, ColumnsMut, Scratch, Workspace, columns, columns_mut, flatten};
pub use data::Dataset;
pub use error::{DataError, Part, TrainError};
pub use init::Init;
pub use layer::{Dense, DenseGradients, Layer};
pub use loss::{Loss, Mse};
pub use network::{
    Boundary, Fits, LayerSummary, Network, Summary, inference_len, training_len, widest,
};
pub use optim::{Optimizer, Sgd};
pub use parameters::{Parameters, TensorInfo};
pub use scalar::Scalar;
pub use train::{FitOptions, History, Trainer};
// Options, callbacks and figures of `fit`.
pub use train::{
    Callback, Control, EarlyStopping, EpochLog, Fit, LearningRate, Metric, MetricHistory,
    MetricValues, Mode, Monitor,
};

pub use nalgebra::{SMatrix, SVector};
pub use rand::Rng;
