//! What every `network!` struct is: the trait generic code (training, evaluation) is written
//! against.

use core::fmt;

use nalgebra::SVector;
use rand::Rng;

#[cfg(feature = "std")]
use crate::AllocationError;
#[cfg(feature = "std")]
use crate::train::{Evaluator, MetricSet};
#[cfg(feature = "std")]
use crate::{
    Activation, Dataset, Optimizer, Sigmoid, Softmax, TrainError, Trainer, columns, columns_mut,
    flatten,
};
use crate::{Columns, ColumnsMut, Init, Loss, Parameters, Scalar, StepLimits, Workspace};

/// What a fused plain-SGD pass did ([`Network::sgd_single`], [`Network::sgd_batch`]).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fused<T> {
    /// The step was applied; the loss before it.
    Applied(T),
    /// Nothing was changed: the loss (given) is not finite, or the update could not be shown
    /// to keep every parameter finite.
    Declined(T),
}

/// One row of a network's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSummary {
    /// The field that holds the layer (`"0"`, `"hidden"`).
    pub field: &'static str,
    /// The layer's type as declared (`"Dense<32, 10, Relu>"`).
    pub kind: &'static str,
    /// Output width per sample.
    pub outputs: usize,
    /// Number of parameters.
    pub parameters: usize,
}

/// A network of fixed shape taking `IN` numbers per sample and producing `OUT`.
///
/// Implemented by the `network!` macro; the provided methods (`fit`, `evaluate`, `predict`,
/// `gradients`, `summary`) are written once here and monomorphized for each network.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network from {IN} inputs to {OUT} outputs per sample",
    label = "these values have {IN} inputs and {OUT} outputs per sample",
    note = "a network's input and output widths are part of its type: compare the data's widths with the first layer's inputs and the last layer's outputs",
    note = "a boxed network (`Box<{Self}>` from `new_boxed`) is passed as `&mut *network`"
)]
pub trait Network<T: Scalar, const IN: usize, const OUT: usize>: Parameters<T> + Sized {
    /// The gradients of all parameters, one field per layer.
    type Gradients: Parameters<T> + Clone + fmt::Debug;

    /// The struct's name.
    const NAME: &'static str;

    /// The layers in order.
    const LAYERS: &'static [LayerSummary];

    /// Widths at each layer boundary: the input width, then each layer's output width.
    const WIDTHS: &'static [usize];

    /// A network with Glorot-uniform weights and zero biases (Keras's default), drawn from `rng`.
    ///
    /// It is built on the stack: for a `network!` struct over 1 MiB the call does not compile,
    /// and [`new_boxed`](Self::new_boxed) builds it on the heap.
    #[must_use]
    fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_init(Init::GlorotUniform, rng)
    }

    /// A network with weights drawn from `rng` as `init` says, and zero biases.
    ///
    /// As [`new`](Self::new), it does not compile for a `network!` struct over 1 MiB: use
    /// [`with_init_boxed`](Self::with_init_boxed).
    #[must_use]
    fn with_init<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Self {
        let mut network = Self::zeros();
        network.initialize(init, rng);
        network
    }

    #[cfg(feature = "std")]
    /// As [`Network::new`], on the heap without passing through the stack: for big networks.
    #[must_use]
    fn new_boxed<R: Rng + ?Sized>(rng: &mut R) -> Box<Self> {
        Self::with_init_boxed(Init::GlorotUniform, rng)
    }

    #[cfg(feature = "std")]
    /// As [`Network::with_init`], on the heap without passing through the stack.
    #[must_use]
    fn with_init_boxed<R: Rng + ?Sized>(init: Init, rng: &mut R) -> Box<Self> {
        let mut network = Self::zeros_boxed();
        network.initialize(init, rng);
        network
    }

    #[cfg(feature = "std")]
    /// As [`Network::new_boxed`], or an error when the allocator cannot give the memory.
    ///
    /// # Errors
    ///
    /// [`AllocationError`] with the number of bytes asked for.
    fn try_new_boxed<R: Rng + ?Sized>(rng: &mut R) -> Result<Box<Self>, AllocationError> {
        Self::try_with_init_boxed(Init::GlorotUniform, rng)
    }

    #[cfg(feature = "std")]
    /// As [`Network::with_init_boxed`], or an error when the allocator cannot give the memory.
    ///
    /// # Errors
    ///
    /// [`AllocationError`] with the number of bytes asked for.
    fn try_with_init_boxed<R: Rng + ?Sized>(
        init: Init,
        rng: &mut R,
    ) -> Result<Box<Self>, AllocationError> {
        let mut network = Self::try_zeros_boxed()?;
        network.initialize(init, rng);
        Ok(network)
    }

    /// Draws fresh parameters for every layer.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);

    /// Output for one sample.
    #[must_use]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT>;

    /// Outputs for a batch (one sample per column) into `output`, which must have as many
    /// columns as `input`.
    fn forward_columns(
        &self,
        input: Columns<'_, T, IN>,
        output: ColumnsMut<'_, T, OUT>,
        workspace: &mut Workspace<T>,
    );

    /// Back-propagation: the loss of a batch, with the gradient of every parameter written to
    /// `gradients`. `targets` must have as many columns as `input`.
    fn loss_and_gradients<L: Loss<T>>(
        &self,
        input: Columns<'_, T, IN>,
        targets: Columns<'_, T, OUT>,
        loss: &L,
        gradients: &mut Self::Gradients,
        workspace: &mut Workspace<T>,
    ) -> T;

    /// One training step of plain SGD (`w <- w - learning_rate * dw`) on one sample, with each
    /// layer's update taken straight from back-propagation: no gradient buffers, and every
    /// value on the stack. `None` when the network has no such path (training then computes the
    /// gradients and updates from them, to the same effect).
    ///
    /// The step is applied only when its loss is finite and every layer's update is known to
    /// keep its parameters finite (its deltas and inputs are below `limits`); otherwise nothing is
    /// changed and the result is [`Fused::Declined`], for training to take the checked path.
    ///
    /// [`Trainer`] calls this for an optimizer whose [`Optimizer::plain_sgd`] is set.
    #[doc(hidden)]
    fn sgd_single<L: Loss<T>>(
        &mut self,
        input: &SVector<T, IN>,
        target: &SVector<T, OUT>,
        loss: &L,
        learning_rate: T,
        limits: &StepLimits<T>,
    ) -> Option<Fused<T>> {
        let _ = (input, target, loss, learning_rate, limits);
        None
    }

    /// As [`sgd_single`](Self::sgd_single) for a batch (one sample per column of `input` and
    /// `targets`), with scratch memory from `workspace`.
    #[doc(hidden)]
    fn sgd_batch<L: Loss<T>>(
        &mut self,
        input: Columns<'_, T, IN>,
        targets: Columns<'_, T, OUT>,
        loss: &L,
        learning_rate: T,
        limits: &StepLimits<T>,
        workspace: &mut Workspace<T>,
    ) -> Option<Fused<T>> {
        let _ = (input, targets, loss, learning_rate, limits, workspace);
        None
    }

    #[cfg(feature = "std")]
    /// The loss of a batch and the gradient of every parameter: one backward pass, for learning
    /// and for checking gradients. Training uses a [`Trainer`], which reuses its buffers.
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyBatch`] or [`TrainError::BatchMismatch`].
    fn gradients<L: Loss<T>>(
        &self,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
        loss: &L,
    ) -> Result<(T, Box<Self::Gradients>), TrainError> {
        check_batch(inputs.len(), targets.len())?;
        let mut gradients = Self::Gradients::zeros_boxed();
        let value = self.loss_and_gradients(
            columns(flatten(inputs)),
            columns(flatten(targets)),
            loss,
            &mut gradients,
            &mut Workspace::new(),
        );
        Ok((value, gradients))
    }

    #[cfg(feature = "std")]
    /// Outputs for many samples.
    #[must_use]
    fn predict(&self, inputs: &[SVector<T, IN>]) -> Vec<SVector<T, OUT>> {
        let mut outputs = vec![SVector::<T, OUT>::zeros(); inputs.len()];
        let mut workspace = Workspace::new();
        for (input, output) in inputs
            .chunks(EVALUATION_BATCH)
            .zip(outputs.chunks_mut(EVALUATION_BATCH))
        {
            let output: &mut [T] = bytemuck::cast_slice_mut(output);
            self.forward_columns(columns(flatten(input)), columns_mut(output), &mut workspace);
        }
        outputs
    }

    #[cfg(feature = "std")]
    /// Class probabilities for many samples, for a classifier whose last layer is linear (its
    /// outputs are logits):
    ///
    /// - with several outputs, the softmax of each sample's outputs, as for a network trained
    ///   with [`SoftmaxCrossEntropy`](crate::SoftmaxCrossEntropy); each vector sums to 1;
    /// - with one output, the sigmoid of it: the probability of the positive class, as for a
    ///   binary classifier trained with
    ///   [`BinaryCrossEntropyWithLogits`](crate::BinaryCrossEntropyWithLogits) (a softmax over
    ///   one number would always be 1).
    ///
    /// A network that already ends in [`Softmax`] or [`Sigmoid`](crate::Sigmoid) gives
    /// probabilities from [`predict`](Self::predict); this would apply it a second time.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     /// Three classes; its last layer is linear, so its outputs are logits.
    ///     struct Classifier(Dense<3, 3>);
    /// }
    ///
    /// // Identity weights and zero biases, so that the logits are the inputs, plain to see.
    /// let mut model = Classifier::<f64>::zeros();
    /// model.0.weights = SMatrix::identity();
    /// let logits = [SVector::from([0.0, 0.0, 0.0]), SVector::from([2.0, 1.0, 2.0])];
    /// let probabilities = model.predict_proba(&logits);
    /// assert_eq!(probabilities[0], SVector::from([1.0 / 3.0; 3]));
    /// // e^2, e and e^2 over their sum 2 e^2 + e.
    /// let e = 1.0_f64.exp();
    /// let expected = SVector::from([e / (2.0 * e + 1.0), 1.0 / (2.0 * e + 1.0), e / (2.0 * e + 1.0)]);
    /// assert!((probabilities[1] - expected).amax() < 1e-15);
    ///
    /// network! {
    ///     /// Two classes with one logit, that of the positive class.
    ///     struct Binary(Dense<1, 1>);
    /// }
    ///
    /// let mut binary = Binary::<f64>::zeros();
    /// binary.0.weights[(0, 0)] = 1.0;
    /// // The sigmoid: 1 / (1 + e^0) and 1 / (1 + e^-ln 3) = 3/4.
    /// let p = binary.predict_proba(&[SVector::from([0.0]), SVector::from([3.0_f64.ln()])]);
    /// assert_eq!(p[0], SVector::from([0.5]));
    /// assert!((p[1][0] - 0.75).abs() < 1e-15);
    /// ```
    #[must_use]
    fn predict_proba(&self, inputs: &[SVector<T, IN>]) -> Vec<SVector<T, OUT>> {
        let mut outputs = self.predict(inputs);
        for output in &mut outputs {
            let logits = *output;
            if OUT == 1 {
                <Sigmoid as Activation>::forward(OUT, logits.as_slice(), output.as_mut_slice());
            } else {
                <Softmax as Activation>::forward(OUT, logits.as_slice(), output.as_mut_slice());
            }
        }
        outputs
    }

    #[cfg(feature = "std")]
    /// The mean loss over a dataset.
    #[must_use]
    fn evaluate<L: Loss<T>>(&self, data: &Dataset<T, IN, OUT>, loss: &L) -> f64 {
        let (loss, _) = Evaluator::new().run(
            self,
            data.inputs(),
            data.targets(),
            Some(loss),
            MetricSet::EMPTY,
        );
        loss
    }

    #[cfg(feature = "std")]
    /// A trainer that remembers the optimizer's state between steps: for custom training loops.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] when the optimizer's settings are out of range.
    fn trainer<L: Loss<T>, O: Optimizer<T>>(
        &self,
        loss: L,
        optimizer: O,
    ) -> Result<Trainer<T, Self::Gradients, L, O>, TrainError> {
        Trainer::new(loss, optimizer)
    }

    #[cfg(feature = "std")]
    /// Trains on `data` as Keras's `fit` does and returns the figures of each epoch.
    ///
    /// `options` sets the epochs, batches, shuffling, validation split, metrics, early stopping
    /// and reporting. For validation data of its own or callbacks, use a [`Fit`](crate::Fit),
    /// of which this is the shorthand.
    ///
    /// # Errors
    ///
    /// As [`Fit::run`](crate::Fit::run): [`TrainError::InvalidOption`] and the other option
    /// errors before any step (the network is untouched), and [`TrainError::NonFiniteLoss`] or
    /// [`TrainError::NonFiniteParameter`] if the loss stops being a number or a step would make
    /// a parameter NaN or infinite, in which case the network keeps the parameters it had
    /// before that step.
    fn fit<L: Loss<T>, O: Optimizer<T>>(
        &mut self,
        data: &Dataset<T, IN, OUT>,
        loss: L,
        optimizer: O,
        options: &crate::FitOptions,
    ) -> Result<crate::History, TrainError> {
        crate::Fit::new(data)
            .options(*options)
            .run(self, loss, optimizer)
    }

    /// A Keras-style table of the layers, their output widths and parameter counts.
    #[must_use]
    fn summary() -> Summary {
        Summary {
            name: Self::NAME,
            layers: Self::LAYERS,
        }
    }
}

/// How many samples `predict` and `evaluate` push through at once.
#[cfg(feature = "std")]
pub(crate) const EVALUATION_BATCH: usize = 256;

#[cfg(feature = "std")]
pub(crate) fn check_batch(inputs: usize, targets: usize) -> Result<(), TrainError> {
    if inputs != targets {
        return Err(TrainError::BatchMismatch { inputs, targets });
    }
    if inputs == 0 {
        return Err(TrainError::EmptyBatch);
    }
    Ok(())
}

/// Scratch length for a training pass of `batch` samples through layers of `widths`: a
/// pre-activation and an activation buffer per layer, and two gradient buffers as wide as the
/// widest layer output.
#[inline]
#[must_use]
pub fn training_len(widths: &[usize], batch: usize) -> usize {
    inference_len(widths, batch) + 2 * widest(widths) * batch
}

/// The widest layer output among `widths` (all but the first, the input width).
#[inline]
#[must_use]
pub fn widest(widths: &[usize]) -> usize {
    widths
        .get(1..)
        .unwrap_or(&[])
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
}

/// Scratch length for a forward pass of `batch` samples through layers of `widths`.
#[inline]
#[must_use]
pub fn inference_len(widths: &[usize], batch: usize) -> usize {
    2 * widths.get(1..).unwrap_or(&[]).iter().sum::<usize>() * batch
}

/// A network's layers as a table, printed like Keras's `model.summary()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The network's name.
    pub name: &'static str,
    /// Its layers in order.
    pub layers: &'static [LayerSummary],
}

impl Summary {
    /// The total number of parameters.
    #[must_use]
    pub fn parameters(&self) -> usize {
        self.layers.iter().map(|layer| layer.parameters).sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // "field (kind)", padded to the widest name, without allocating.
        let name_width = |layer: &LayerSummary| layer.field.len() + layer.kind.len() + 3;
        let width = self
            .layers
            .iter()
            .map(name_width)
            .chain([12])
            .max()
            .unwrap_or(0);
        let rule = |f: &mut fmt::Formatter<'_>| {
            for _ in 0..width + 26 {
                f.write_str("-")?;
            }
            f.write_str("\n")
        };
        writeln!(f, "Model: \"{}\"", self.name)?;
        rule(f)?;
        writeln!(
            f,
            "{:<width$}  {:>12}  {:>10}",
            "Layer (type)", "Output width", "Param #"
        )?;
        rule(f)?;
        for layer in self.layers {
            let padding = width - name_width(layer);
            writeln!(
                f,
                "{} ({}){:padding$}  {:>12}  {:>10}",
                layer.field, layer.kind, "", layer.outputs, layer.parameters
            )?;
        }
        rule(f)?;
        write!(f, "Total params: {}", self.parameters())
    }
}

/// Proof that a layer boundary lines up: implemented only for `Fits<N, N>`, so a layer of `TO`
/// inputs after a layer of `FROM` outputs is a compile error on the layer's width.
#[diagnostic::on_unimplemented(
    message = "this layer takes {TO} inputs, but the layer before it produces {FROM} outputs",
    label = "expected {FROM} here, the previous layer's output width",
    note = "each layer's input width must equal the output width of the layer before it"
)]
pub trait Fits<const FROM: usize, const TO: usize> {
    /// The same sample, seen at the next layer's width.
    fn vector<T: Scalar>(value: SVector<T, FROM>) -> SVector<T, TO>;
    /// The same batch, seen at the next layer's width.
    fn columns<T: Scalar>(value: Columns<'_, T, FROM>) -> Columns<'_, T, TO>;
    /// A gradient at the next layer's input, seen at the previous layer's output width.
    fn back<T: Scalar>(value: SVector<T, TO>) -> SVector<T, FROM>;
}

/// The one type that implements [`Fits`].
#[derive(Debug)]
pub enum Boundary {}

impl<const N: usize> Fits<N, N> for Boundary {
    #[inline(always)]
    fn vector<T: Scalar>(value: SVector<T, N>) -> SVector<T, N> {
        value
    }

    #[inline(always)]
    fn columns<T: Scalar>(value: Columns<'_, T, N>) -> Columns<'_, T, N> {
        value
    }

    #[inline(always)]
    fn back<T: Scalar>(value: SVector<T, N>) -> SVector<T, N> {
        value
    }
}
