//! What every `network!` struct is: the trait generic code (training, evaluation) is written
//! against.

use core::fmt;

use nalgebra::SVector;
use rand::Rng;

#[cfg(feature = "std")]
use crate::AllocationError;
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

/// [`Fused::Declined`], out of line: marked cold so that the compiler lays out a fused pass with
/// the update, the path every healthy step takes, straight after the check.
#[doc(hidden)]
#[cold]
#[inline(never)]
#[must_use]
pub fn declined<T>(loss: T) -> Option<Fused<T>> {
    Some(Fused::Declined(loss))
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
/// Implemented by the `network!` macro; the provided methods (`new`, `with_init`, `summary`)
/// are written once here and monomorphized for each network. Training and evaluation on data
/// (`fit`, `evaluate`, `predict`, `gradients`, `trainer`) are the [`Train`](crate::Train)
/// extension trait's, which every network implements.
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
    /// [`Trainer`](crate::Trainer) calls this for an optimizer whose
    /// [`Optimizer::plain_sgd`](crate::Optimizer::plain_sgd) is set.
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

    /// A Keras-style table of the layers, their output widths and parameter counts.
    #[must_use]
    fn summary() -> Summary {
        Summary {
            name: Self::NAME,
            layers: Self::LAYERS,
        }
    }
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
