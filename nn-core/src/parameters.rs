//! Access to a model's parameter tensors as flat slices, for optimizers and persistence.

#[cfg(feature = "std")]
use crate::AllocationError;
use crate::Scalar;

/// How a tensor's flat slice orders its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// PyTorch's contiguous order: the last dimension varies fastest.
    RowMajor,
    /// The first dimension varies fastest: a 2-D `[rows, columns]` tensor held column by column,
    /// as nalgebra stores a matrix (Dense's weights), or a `CausalConv1d`'s `[out, in, k]`
    /// kernel held one `out` column per input channel and tap.
    ColumnMajor,
}

/// What a tensor is, for summaries, weight files and serde.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The field of the layer that holds the tensor (`"0"`, `"hidden"`); empty for a lone layer.
    pub layer: &'static str,
    /// The tensor's name inside its layer, as PyTorch names it: `"weight"`, `"bias"`,
    /// `"running_mean"`.
    pub name: &'static str,
    /// The shape in PyTorch's order: `[out, in]` for a Dense weight, `[out]` for a bias,
    /// `[out, in, k]` for a Conv1d kernel, `[out, in, kh, kw]` for a Conv2d kernel, `[c]` for a
    /// BatchNorm vector.
    pub shape: &'static [usize],
    /// How the slice orders the values of that shape.
    pub layout: Layout,
}

impl TensorInfo {
    /// How many values the tensor holds: the product of its shape.
    #[inline]
    #[must_use]
    pub const fn len(&self) -> usize {
        let mut len = 1;
        let mut axis = 0;
        while axis < self.shape.len() {
            len *= self.shape[axis];
            axis += 1;
        }
        len
    }

    /// Whether the tensor holds no value.
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The network's name for the tensor, as weight files and errors give it: `0.weight`,
    /// `hidden.bias`, or the bare tensor name (`weight`) for a lone layer.
    #[cfg(feature = "std")]
    #[must_use]
    pub fn full_name(&self) -> String {
        if self.layer.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}.{}", self.layer, self.name)
        }
    }
}

/// A fixed list of parameter tensors, each seen as a flat slice.
///
/// Implemented by layers, by their gradients, and by every `network!` struct (which lists its
/// layers' tensors in order). Optimizers walk tensor `0..TENSORS` of the parameters, the
/// gradients and their own state side by side, so all three must list the same shapes.
///
/// Each tensor's [`TensorInfo`] gives its PyTorch shape and the order of its slice: Dense's
/// weight matrix is [`Layout::ColumnMajor`] (nalgebra's layout: the `in` columns of `out` values
/// one after the other), every other tensor [`Layout::RowMajor`].
///
/// Every implementor is [`bytemuck::Zeroable`], so that [`Parameters::zeros_boxed`] can build a
/// big network directly on the heap.
pub trait Parameters<T: Scalar>: bytemuck::Zeroable {
    /// How many tensors there are.
    const TENSORS: usize;

    /// How many scalars there are in all tensors together.
    const PARAMETERS: usize;

    /// A value whose every tensor is zero.
    #[must_use]
    fn zeros() -> Self
    where
        Self: Sized;

    /// A value whose every tensor is zero, allocated on the heap without passing through the
    /// stack: for networks too big for a thread's stack.
    ///
    /// When the allocator cannot give the memory the process aborts with "memory allocation of
    /// N bytes failed", as `Box::new` does; [`try_zeros_boxed`](Self::try_zeros_boxed) returns
    /// an error instead.
    #[cfg(feature = "std")]
    #[must_use]
    fn zeros_boxed() -> Box<Self>
    where
        Self: Sized,
    {
        crate::allocation::zeroed_box()
    }

    /// As [`zeros_boxed`](Self::zeros_boxed), or an error when the allocator cannot give the
    /// memory.
    ///
    /// # Errors
    ///
    /// [`AllocationError`] with the number of bytes asked for.
    #[cfg(feature = "std")]
    fn try_zeros_boxed() -> Result<Box<Self>, AllocationError>
    where
        Self: Sized,
    {
        crate::allocation::try_zeroed_box(core::any::type_name::<Self>())
    }

    /// Tensor `index`; empty when `index >= TENSORS`.
    #[must_use]
    fn tensor(&self, index: usize) -> &[T];

    /// Tensor `index`, mutably; empty when `index >= TENSORS`.
    #[must_use]
    fn tensor_mut(&mut self, index: usize) -> &mut [T];

    /// The name and shape of tensor `index`, or `None` when `index >= TENSORS`.
    #[must_use]
    fn tensor_info(index: usize) -> Option<TensorInfo>;

    /// For a Dense weight whose inputs are a `Flatten` of a `(C, L)` or `(C, H, W)` output:
    /// that shape, so that an importer can read a kernel whose inputs another framework
    /// flattened in another order (Keras, channels last). Empty for any other tensor.
    /// The layer's kind, for importers of other frameworks' model files.
    #[doc(hidden)]
    #[must_use]
    fn kind() -> crate::layer::LayerKind {
        crate::layer::LayerKind::Other
    }

    /// Calls `visit` with each layer in declaration order, the ones without tensors too: for
    /// a network, its fields; for a layer, itself.
    #[doc(hidden)]
    fn visit_layers(visit: &mut dyn FnMut(crate::layer::LayerOf)) {
        visit(crate::layer::LayerOf {
            field: "",
            kind: Self::kind(),
            tensors: Self::TENSORS,
        });
    }

    #[doc(hidden)]
    #[must_use]
    fn flattened_input(index: usize) -> &'static [usize] {
        let _ = index;
        &[]
    }

    /// How many non-trainable tensors (buffers, such as running statistics) there are: saved and
    /// loaded with the parameters, never touched by an optimizer. None unless a layer has them.
    const BUFFERS: usize = 0;

    /// Buffer `index`; empty when `index >= BUFFERS`.
    #[must_use]
    fn buffer(&self, index: usize) -> &[T] {
        let _ = index;
        &[]
    }

    /// Buffer `index`, mutably; empty when `index >= BUFFERS`.
    #[must_use]
    fn buffer_mut(&mut self, index: usize) -> &mut [T] {
        let _ = index;
        &mut []
    }

    /// The name and shape of buffer `index`, or `None` when `index >= BUFFERS`.
    #[must_use]
    fn buffer_info(index: usize) -> Option<TensorInfo> {
        let _ = index;
        None
    }
}

/// Copies every tensor and buffer of `source` into `target`, in place: the `network!` macro's
/// `clone_from`, which builds no network on the stack.
#[doc(hidden)]
#[inline]
pub fn copy_tensors<T: Scalar, P: Parameters<T>>(target: &mut P, source: &P) {
    for index in 0..P::TENSORS {
        target
            .tensor_mut(index)
            .copy_from_slice(source.tensor(index));
    }
    for index in 0..P::BUFFERS {
        target
            .buffer_mut(index)
            .copy_from_slice(source.buffer(index));
    }
}
