//! What every `network!` struct is: the trait generic code (training, evaluation) is written
//! against.

use core::fmt;

use nalgebra::{SMatrix, SVector};
use rand::Rng;

#[cfg(feature = "std")]
use crate::AllocationError;
use crate::kernels::dispatch::with_wide;
use crate::layer::{Phase, Stack, StackMut};
use crate::{
    Columns, ColumnsMut, Init, Loss, Parameters, Scalar, StepLimits, Workspace, columns,
    columns_mut, with_fma,
};

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
pub fn declined<T>(loss: T) -> Fused<T> {
    Fused::Declined(loss)
}

/// One row of a network's summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSummary {
    /// The field that holds the layer (`"0"`, `"hidden"`).
    pub field: &'static str,
    /// The layer's type as declared (`"Dense<32, 10, Relu>"`).
    pub kind: &'static str,
    /// Output width per sample: how many numbers.
    pub outputs: usize,
    /// Output shape per sample, as the summary prints it: `10`, or `8 x 14` for 8 channels of
    /// 14.
    pub shape: &'static str,
    /// Number of parameters.
    pub parameters: usize,
}

/// A network of fixed shape taking `IN` numbers per sample and producing `OUT`.
///
/// Implemented by the `network!` macro; the provided methods (`new`, `with_init`, `summary`)
/// are written once here and monomorphized for each network. Training and evaluation on data
/// (`fit`, `evaluate`, `predict`, `gradients`, `trainer`) are the [`Train`](crate::Train)
/// extension trait's, which every network implements.
///
/// A network is `Sync` and its gradients `Send + Sync` (plain numbers, which every layer is),
/// so that the threads of a training step can read the network together and each fill
/// gradients of their own.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network from {IN} inputs to {OUT} outputs per sample",
    label = "these values have {IN} inputs and {OUT} outputs per sample",
    note = "a network's input and output widths are part of its type: compare the data's widths with the first layer's inputs and the last layer's outputs",
    note = "a boxed network (`Box<{Self}>` from `new_boxed`) is passed as `&mut *network`"
)]
pub trait Network<T: Scalar, const IN: usize, const OUT: usize>:
    Parameters<T> + Sized + Sync
{
    /// The gradients of all parameters, one field per layer.
    type Gradients: Parameters<T> + Clone + fmt::Debug + Send + Sync;

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

    /// The layers lent out as a chain, which the passes below walk.
    #[doc(hidden)]
    type Layers<'a>: Stack<T, IN, OUT>
    where
        Self: 'a;

    /// The layers lent out mutably, for training's updates (and read by the threads of a
    /// split step together, before the update).
    #[doc(hidden)]
    type LayersMut<'a>: StackMut<T, IN, OUT> + Sync
    where
        Self: 'a;

    /// The chain of the layers.
    #[doc(hidden)]
    fn layers(&self) -> Self::Layers<'_>;

    /// The chain of the layers, mutably.
    #[doc(hidden)]
    fn layers_mut(&mut self) -> Self::LayersMut<'_>;

    /// Each layer's gradients, where [`layers`](Self::layers)' backward pass writes them.
    #[doc(hidden)]
    fn gradient_slots<'a, 'g>(
        gradients: &'g mut Self::Gradients,
    ) -> <Self::Layers<'a> as Stack<T, IN, OUT>>::Gradients<'g>
    where
        Self: 'a;

    /// Each layer's gradients, where [`layers_mut`](Self::layers_mut)' backward pass writes
    /// them.
    #[doc(hidden)]
    fn gradient_slots_mut<'a, 'g>(
        gradients: &'g mut Self::Gradients,
    ) -> <Self::LayersMut<'a> as Stack<T, IN, OUT>>::Gradients<'g>
    where
        Self: 'a;

    /// Draws fresh parameters for every layer.
    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R);

    /// Output for one sample, in inference.
    #[must_use]
    #[inline]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
        with_wide(
            #[inline(always)]
            || self.layers().forward(input),
        )
    }

    /// Outputs for a batch of `B` samples, one per column, in inference.
    #[must_use]
    fn forward_batch<const B: usize>(&self, inputs: &SMatrix<T, IN, B>) -> SMatrix<T, OUT, B> {
        with_fma(
            #[inline(always)]
            || {
                let layers = self.layers();
                let mut outputs = SMatrix::<T, OUT, B>::zeros();
                // Each column through the single-sample passes, inside this one function
                // compiled for fused multiply-add.
                for (column, output) in inputs
                    .as_slice()
                    .chunks_exact(IN)
                    .zip(outputs.as_mut_slice().chunks_exact_mut(OUT))
                {
                    let x = layers.forward(&SVector::<T, IN>::from_column_slice(column));
                    output.copy_from_slice(x.as_slice());
                }
                outputs
            },
        )
    }

    /// Outputs for a batch (one sample per column) into `output`, which must have as many
    /// columns as `input`, in inference.
    fn forward_columns(
        &self,
        input: Columns<'_, T, IN>,
        output: ColumnsMut<'_, T, OUT>,
        workspace: &mut Workspace<T>,
    ) {
        let batch = input.ncols();
        let mut scratch = workspace.take(Self::Layers::scratch_len(batch, false));
        self.layers().infer_batch(input, &mut scratch, output);
    }

    /// Back-propagation in `phase`: the loss of a batch, with the gradient of every parameter
    /// written to `gradients`. `targets` must have as many columns as `input`. The network is
    /// not changed (non-trainable state such as running statistics included).
    fn loss_and_gradients<L: Loss<T>>(
        &self,
        input: Columns<'_, T, IN>,
        targets: Columns<'_, T, OUT>,
        loss: &L,
        gradients: &mut Self::Gradients,
        workspace: &mut Workspace<T>,
        phase: &mut Phase,
    ) -> T {
        let batch = input.ncols();
        let mut scratch = workspace.take(Self::Layers::scratch_len(batch, true));
        let mut value = T::zero();
        let mut finish = |output: Columns<'_, T, OUT>, gradient: ColumnsMut<'_, T, OUT>| {
            value = loss.loss_and_gradient(output, targets, gradient);
        };
        let slots = Self::gradient_slots(gradients);
        let _tape =
            self.layers()
                .train_batch(input, &mut scratch, phase, Some(slots), None, &mut finish);
        value
    }

    /// As [`loss_and_gradients`](Self::loss_and_gradients) for a training step: the layers'
    /// non-trainable state (running statistics) is updated from the batch too.
    #[doc(hidden)]
    fn train_gradients<L: Loss<T>>(
        &mut self,
        input: Columns<'_, T, IN>,
        targets: Columns<'_, T, OUT>,
        loss: &L,
        gradients: &mut Self::Gradients,
        workspace: &mut Workspace<T>,
        phase: &mut Phase,
    ) -> T {
        let batch = input.ncols();
        let mut scratch = workspace.take(Self::LayersMut::scratch_len(batch, true));
        let mut value = T::zero();
        let mut finish = |output: Columns<'_, T, OUT>, gradient: ColumnsMut<'_, T, OUT>| {
            value = loss.loss_and_gradient(output, targets, gradient);
        };
        let slots = Self::gradient_slots_mut(gradients);
        let mut layers = self.layers_mut();
        let tape = layers.train_batch(input, &mut scratch, phase, Some(slots), None, &mut finish);
        layers.update_buffers(batch, &tape);
        value
    }

    /// One training step of plain SGD (`w <- w - learning_rate * dw`) on one sample, with each
    /// layer's update taken straight from back-propagation: no gradient buffers, and every
    /// value on the stack.
    ///
    /// The step is applied only when its loss is finite and every layer's update is known to
    /// keep its parameters finite (its deltas and inputs are below `limits`); otherwise nothing is
    /// changed and the result is [`Fused::Declined`], for training to take the checked path.
    ///
    /// [`Trainer`](crate::Trainer) calls this for an optimizer whose
    /// [`Optimizer::plain_sgd`](crate::Optimizer::plain_sgd) is set.
    #[doc(hidden)]
    #[inline(always)]
    fn sgd_single<L: Loss<T>>(
        &mut self,
        input: &SVector<T, IN>,
        target: &SVector<T, OUT>,
        loss: &L,
        learning_rate: T,
        limits: &StepLimits<T>,
        phase: &mut Phase,
    ) -> Fused<T> {
        let mut layers = self.layers_mut();
        let (trace, output) = layers.trace(input, phase);
        let mut delta = SVector::<T, OUT>::zeros();
        let value = loss.loss_and_gradient(
            columns::<T, OUT>(output.as_slice()),
            columns::<T, OUT>(target.as_slice()),
            columns_mut::<T, OUT>(delta.as_mut_slice()),
        );
        if !value.as_f64().is_finite() {
            return Fused::Declined(value);
        }
        let (_, deltas) = layers.backward(input, &trace, delta, false);
        let mut largest = limits.start();
        Self::LayersMut::bound_single(input, &trace, &deltas, &mut largest);
        if !limits.admit(&largest) {
            return declined(value);
        }
        layers.update_single(input, &trace, &deltas, learning_rate);
        layers.update_buffers_single(&trace);
        Fused::Applied(value)
    }

    /// As [`sgd_single`](Self::sgd_single) for a batch (one sample per column of `input` and
    /// `targets`), with scratch memory from `workspace`. Non-trainable state is updated with
    /// the step.
    #[doc(hidden)]
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn sgd_batch<L: Loss<T>>(
        &mut self,
        input: Columns<'_, T, IN>,
        targets: Columns<'_, T, OUT>,
        loss: &L,
        learning_rate: T,
        limits: &StepLimits<T>,
        workspace: &mut Workspace<T>,
        phase: &mut Phase,
    ) -> Fused<T> {
        let batch = input.ncols();
        let mut scratch = workspace.take(Self::LayersMut::scratch_len(batch, true));
        let mut value = T::zero();
        let mut finish = |output: Columns<'_, T, OUT>, gradient: ColumnsMut<'_, T, OUT>| {
            value = loss.loss_and_gradient(output, targets, gradient);
        };
        let mut layers = self.layers_mut();
        let tape = layers.train_batch(input, &mut scratch, phase, None, None, &mut finish);
        if !value.as_f64().is_finite() {
            return Fused::Declined(value);
        }
        let mut largest = limits.start();
        Self::LayersMut::bound_batch(input.as_slice(), &tape, &mut largest);
        if !limits.admit(&largest) {
            return declined(value);
        }
        layers.update_batch(input, &tape, learning_rate);
        layers.update_buffers(batch, &tape);
        Fused::Applied(value)
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
            "Layer (type)", "Output shape", "Param #"
        )?;
        rule(f)?;
        for layer in self.layers {
            let padding = width - name_width(layer);
            writeln!(
                f,
                "{} ({}){:padding$}  {:>12}  {:>10}",
                layer.field, layer.kind, "", layer.shape, layer.parameters
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
