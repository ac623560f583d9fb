//! The runtime of [typenn](https://docs.rs/typenn): layers, activations, losses, optimizers,
//! training and data. Networks are declared with the `network!` macro of the `typenn` crate,
//! which builds on the items here.
//!
//! Without its default `std` feature the crate is `#![no_std]` and needs no allocator: layers,
//! activations, losses and single-sample forward passes of stack-sized networks work on any
//! target. Training, data, files and heap-allocated networks need `std`.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod activation;
mod allocation;
mod columns;
#[cfg(feature = "std")]
mod data;
#[cfg(feature = "std")]
mod error;
mod guard;
mod init;
// The crate's only unsafe code: `kernels/mod.rs` allows it file by file.
mod kernels;
pub mod layer;
pub mod loss;
mod network;
#[cfg(feature = "std")]
pub mod optim;
mod parameters;
#[cfg(feature = "std")]
pub mod persist;
pub mod quant;
mod rng;
mod scalar;
#[cfg(feature = "std")]
mod train;
#[cfg(feature = "std")]
pub mod tune;

pub use activation::{Activation, Elementwise};
/// The built-in activations at the crate root, from the one list in `nn-activations`.
macro_rules! use_activations {
    ($($module:ident::$name:ident),* $(,)?) => {
        pub use activation::{$($name),*};
    };
}
nn_activations::with_activations!(use_activations);
pub use allocation::AllocationError;
#[doc(hidden)]
pub use allocation::STACK_LIMIT;
#[cfg(feature = "std")]
#[doc(hidden)]
pub use allocation::try_zeroed_box;
pub use columns::{Columns, ColumnsMut, Scratch, Workspace, columns, columns_mut, flatten};
#[cfg(feature = "std")]
pub use data::Dataset;
#[cfg(feature = "std")]
pub use data::{Batches, ColumnId, Standardizer, Target, TargetScaler};
#[cfg(feature = "std")]
pub use error::{CsvColumn, CsvError, CsvErrorKind};
#[cfg(feature = "std")]
pub use error::{DataError, NonFiniteCause, Part, TrainError};
#[doc(hidden)]
pub use guard::{Largest, StepLimits};
pub use init::Init;
pub use kernels::dispatch::with_fma;
// Every layer kind, its gradients and the protocol, by one glob: a new kind is re-exported
// where its file's `pub use` in `layer/mod.rs` is.
pub use layer::*;
pub use loss::{
    BinaryCrossEntropy, BinaryCrossEntropyWithLogits, ElementwiseLoss, Huber, Loss, Mae, Mse,
    SoftmaxCrossEntropy,
};
pub use network::{Boundary, Fits, Fused, LayerSummary, Network, Summary, declined};
#[doc(hidden)]
pub use nn_activations::with_activations;
#[cfg(feature = "std")]
pub use optim::{Adam, AdamW, RmsProp};
#[cfg(feature = "std")]
pub use optim::{Optimizer, Sgd};
pub use parameters::{Layout, Parameters, TensorInfo, copy_tensors};
#[cfg(feature = "std")]
pub use persist::{LoadError, LoadOptions, Persist, SaveError};
pub use quant::QuantizeError;
pub use rng::SplitMix64;
pub use scalar::Scalar;
#[cfg(feature = "std")]
pub use train::{FitOptions, History, Train, Trainer};
// Recurrent networks trained on sequences.
#[cfg(feature = "std")]
pub use train::{SequenceDataset, SequenceFit, SequenceNetwork, SequenceTrainer};
// Options, callbacks and figures of `fit`.
#[cfg(feature = "std")]
pub use train::{
    Callback, Control, EarlyStopping, EpochLog, Fit, Metric, MetricHistory, MetricValues, Mode,
    Monitor,
};

pub use nalgebra::{SMatrix, SVector};
pub use rand::Rng;
// Choosing structure and settings: k-fold cross-validation and grid search.
#[cfg(feature = "std")]
pub use tune::{
    CrossValidation, Fold, FoldError, Grid, GridSearch, Hyperparameters, KFold, TuneError,
    cross_validate, grid_search,
};
