use core::marker::PhantomData;

use nalgebra::{ArrayStorage, SMatrix, SVector};
use rand::Rng;

use super::{HasGradients, Layer, Phase, ShareTape};
use crate::activation::{Activation, Identity};
use crate::init::uniform;
use crate::kernels::dispatch::{self, ROW_TILE, with_wide};
#[cfg(feature = "std")]
use crate::kernels::dispatch::{wide_affine, wide_outer, wide_outer_shares};
#[cfg(feature = "std")]
use crate::kernels::gemm::{MatrixMut, MatrixRef, gemm};
use crate::{Columns, ColumnsMut, Init, Layout, Parameters, Scalar, TensorInfo, columns};

/// Products of up to this many multiply-adds run in the small kernels.
const SMALL_PRODUCT: usize = 1 << 16;

/// The widest layer the small kernels take: their partial sums live on the stack.
const SMALL_WIDTH: usize = 256;

/// A fully connected layer: `a = f(W x + b)`.
///
/// `IN` and `OUT` are the widths, `A` the [`Activation`] `f` (identity by default) and `T` the
/// scalar type (`f32` by default), so `Dense<32, 10, Relu>` reads as "32 inputs, 10 ReLU units".
///
/// # Shapes
///
/// | value | type | layout |
/// | --- | --- | --- |
/// | input `x` | `SVector<T, IN>` | one sample |
/// | `weights` | `SMatrix<T, OUT, IN>` | row `i` holds unit `i`'s input weights (PyTorch's `weight`) |
/// | `bias` | `SVector<T, OUT>` | one per unit |
/// | output `a` | `SVector<T, OUT>` | one sample |
///
/// # Example
///
/// ```
/// use typenn::{Dense, Layer, Relu, SMatrix, SVector};
///
/// let layer = Dense::<2, 1, Relu>::from_parts(
///     SMatrix::<f32, 1, 2>::new(1.0, -1.0),
///     SVector::<f32, 1>::new(0.5),
/// );
/// assert_eq!(layer.forward(&SVector::from([3.0, 1.0])), SVector::from([2.5]));
/// assert_eq!(layer.forward(&SVector::from([0.0, 1.0])), SVector::from([0.0]));
/// ```
///
/// # Serialization
///
/// With the `serde` feature a layer is written as `{"weight": [...], "bias": [...]}`, as every
/// layer is (see `typenn::layer::serialize_tensors`): each tensor flat in its slice's order, so the
/// `OUT x IN` weight goes column by column (`w[0][0], w[1][0], ..., w[OUT-1][0], w[0][1], ...`),
/// as nalgebra writes a matrix, without dimensions. The activation is part of the type, not of
/// the data. Reading refuses a tensor of the wrong length, a non-finite number and an unknown,
/// missing or repeated name, with an error that says what it expected.
/// `Deserialize::deserialize_in_place` reads into an existing layer, writing each number where it
/// belongs.
// `Zeroable` (so that big networks are zeroed straight on the heap) is derived, not an `unsafe
// impl`: the derive proves that every field is `Zeroable`, and the bound keeps it to the
// scalars a layer is built from.
//
// Aligned to a cache line, with the weights first: when two threads share a wide layer's
// products by tiles of 64 rows, each column's rows then split on a cache-line boundary (for
// widths that are a multiple of 16), so the threads never write the same line. Without it the
// allocator's 16-byte alignment put one line of every column in both threads' tiles, and two
// threads trained W3 no faster than one on an Intel Xeon.
#[derive(Clone, Debug, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
#[repr(C, align(64))]
pub struct Dense<const IN: usize, const OUT: usize, A = Identity, T = f32> {
    /// `OUT x IN`: row `i` holds the input weights of unit `i`.
    pub weights: SMatrix<T, OUT, IN>,
    /// One bias per unit.
    pub bias: SVector<T, OUT>,
    pub(super) activation: PhantomData<A>,
}

// By hand rather than derived: the activation is a marker type, and a derive would ask it for
// `PartialEq`, which `Activation` does not require of a user's own activation.
impl<const IN: usize, const OUT: usize, A, T> PartialEq for Dense<IN, OUT, A, T>
where
    SMatrix<T, OUT, IN>: PartialEq,
    SVector<T, OUT>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.weights == other.weights && self.bias == other.bias
    }
}

/// The gradient of a loss with respect to a [`Dense`] layer's parameters, in the same shapes.
///
/// With the `serde` feature it is written and read as [`Dense`] is.
#[derive(Clone, Debug, PartialEq, bytemuck::Zeroable)]
#[zeroable(bound = "T: Scalar")]
pub struct DenseGradients<const IN: usize, const OUT: usize, T = f32> {
    /// `d loss / d weights`.
    pub weights: SMatrix<T, OUT, IN>,
    /// `d loss / d bias`.
    pub bias: SVector<T, OUT>,
}

impl<const IN: usize, const OUT: usize, A, T> Dense<IN, OUT, A, T> {
    /// Refuses zero widths when the layer is first used, for widths given by const items that
    /// the `network!` macro cannot see.
    const NONZERO_WIDTHS: () = assert!(
        IN > 0 && OUT > 0,
        "a Dense layer needs at least one input and one output"
    );

    /// A layer with the given weights and biases.
    #[must_use]
    pub const fn from_parts(weights: SMatrix<T, OUT, IN>, bias: SVector<T, OUT>) -> Self {
        let () = Self::NONZERO_WIDTHS;
        Self {
            weights,
            bias,
            activation: PhantomData,
        }
    }

    /// A layer from its weights column by column, `columns[i][o]` being the weight from input
    /// `i` to unit `o` (nalgebra's storage order), and its biases. A `const fn`, so a network
    /// can be a constant in read-only memory: what `#[weights(..)]` in `network!` emits.
    ///
    /// ```
    /// use typenn::{Dense, SVector};
    ///
    /// // W = [[1, 2], [3, 4]]: input 0's column is [1, 3], input 1's [2, 4].
    /// const LAYER: Dense<2, 2> = Dense::from_columns([[1.0, 3.0], [2.0, 4.0]], [0.5, -0.5]);
    /// assert_eq!(LAYER.weights[(0, 1)], 2.0);
    /// assert_eq!(LAYER.bias, SVector::from([0.5, -0.5]));
    /// ```
    #[must_use]
    pub const fn from_columns(columns: [[T; OUT]; IN], bias: [T; OUT]) -> Self {
        Self::from_parts(
            SMatrix::from_array_storage(ArrayStorage(columns)),
            SVector::from_array_storage(ArrayStorage([bias])),
        )
    }
}

impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Dense<IN, OUT, A, T> {
    /// Whether a batch's products go through the small kernels rather than matrixmultiply, whose
    /// packing only pays off for big products (and allocates).
    #[inline]
    fn small(batch: usize) -> bool {
        // Without `std` there is no matrixmultiply: the kernels take every batch they can hold.
        OUT <= SMALL_WIDTH && (cfg!(not(feature = "std")) || OUT * IN * batch <= SMALL_PRODUCT)
    }

    /// `z = W x + b` for a batch too big for the small kernels, through matrixmultiply.
    #[cfg(feature = "std")]
    fn large_affine(&self, input: Columns<'_, T, IN>, z: &mut [T]) {
        let batch = input.ncols();
        let shape = (OUT, IN, batch);
        if wide_affine(
            self.weights.as_slice(),
            self.bias.as_slice(),
            input.as_slice(),
            z,
            shape,
        ) {
            return;
        }
        for column in z.chunks_exact_mut(OUT) {
            column.copy_from_slice(self.bias.as_slice());
        }
        gemm(
            T::one(),
            MatrixRef::column_major(self.weights.as_slice(), OUT, IN),
            MatrixRef::column_major(input.as_slice(), IN, batch),
            T::one(),
            MatrixMut {
                data: z,
                rows: OUT,
                cols: batch,
            },
        );
    }

    /// `dW = delta x^T` and `dx = W^T delta` for a batch too big for the small kernels.
    #[cfg(feature = "std")]
    fn large_backward(
        &self,
        input: Columns<'_, T, IN>,
        delta: &[T],
        gradients: &mut DenseGradients<IN, OUT, T>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        large_outer::<T, IN, OUT>(
            T::one(),
            delta,
            input,
            gradients.weights.as_mut_slice(),
            false,
        );
        self.large_input_gradient(delta, input_gradient);
    }

    /// Plain SGD's update `W += alpha * delta x^T` for a batch too big for the small kernels.
    #[cfg(feature = "std")]
    fn large_sgd_update(&mut self, input: Columns<'_, T, IN>, delta: &[T], alpha: T) {
        large_outer::<T, IN, OUT>(alpha, delta, input, self.weights.as_mut_slice(), true);
    }

    /// `dx = W^T delta` through matrixmultiply, the transpose being the same memory read with
    /// swapped strides.
    #[cfg(feature = "std")]
    fn large_input_gradient(&self, delta: &[T], input_gradient: Option<ColumnsMut<'_, T, IN>>) {
        if let Some(mut input_gradient) = input_gradient {
            let batch = input_gradient.ncols();
            gemm(
                T::one(),
                MatrixRef::column_major(self.weights.as_slice(), OUT, IN).transpose(),
                MatrixRef::column_major(delta, OUT, batch),
                T::zero(),
                MatrixMut {
                    data: input_gradient.as_mut_slice(),
                    rows: IN,
                    cols: batch,
                },
            );
        }
    }

    /// `dx = W^T delta` for layers too wide for the small kernels, without an allocator: one
    /// transposed matrix-vector product per sample.
    #[cfg(not(feature = "std"))]
    fn large_input_gradient(&self, delta: &[T], input_gradient: Option<ColumnsMut<'_, T, IN>>) {
        if let Some(mut dx) = input_gradient {
            for (d, dx) in delta
                .chunks_exact(OUT)
                .zip(dx.as_mut_slice().chunks_exact_mut(IN))
            {
                let mut column = SVector::<T, IN>::zeros();
                column.gemv_tr(
                    T::one(),
                    &self.weights,
                    &SVector::<T, OUT>::from_column_slice(d),
                    T::zero(),
                );
                dx.copy_from_slice(column.as_slice());
            }
        }
    }

    /// Plain SGD's update for layers too wide for the small kernels, without an allocator: a
    /// rank-one update per sample.
    #[cfg(not(feature = "std"))]
    fn large_sgd_update(&mut self, input: Columns<'_, T, IN>, delta: &[T], alpha: T) {
        for (x, d) in input
            .as_slice()
            .chunks_exact(IN)
            .zip(delta.chunks_exact(OUT))
        {
            self.weights.ger(
                alpha,
                &SVector::<T, OUT>::from_column_slice(d),
                &SVector::<T, IN>::from_column_slice(x),
                T::one(),
            );
        }
    }

    /// `z = W x + b` for layers too wide for the small kernels, without an allocator: one
    /// matrix-vector product per sample.
    #[cfg(not(feature = "std"))]
    fn large_affine(&self, input: Columns<'_, T, IN>, z: &mut [T]) {
        for (x, z) in input
            .as_slice()
            .chunks_exact(IN)
            .zip(z.chunks_exact_mut(OUT))
        {
            let mut column = SVector::<T, OUT>::from_column_slice(self.bias.as_slice());
            column.gemv(
                T::one(),
                &self.weights,
                &SVector::<T, IN>::from_column_slice(x),
                T::one(),
            );
            z.copy_from_slice(column.as_slice());
        }
    }

    /// The gradients for layers too wide for the small kernels, without an allocator: a rank-one
    /// update and a transposed matrix-vector product per sample, on contiguous vectors only.
    #[cfg(not(feature = "std"))]
    fn large_backward(
        &self,
        input: Columns<'_, T, IN>,
        delta: &[T],
        gradients: &mut DenseGradients<IN, OUT, T>,
        mut input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        gradients.weights.fill(T::zero());
        let dx = input_gradient.as_mut().map(|g| g.as_mut_slice());
        let mut dx_columns = dx.map(|dx| dx.chunks_exact_mut(IN));
        for (x, d) in input
            .as_slice()
            .chunks_exact(IN)
            .zip(delta.chunks_exact(OUT))
        {
            let d = SVector::<T, OUT>::from_column_slice(d);
            gradients.weights.ger(
                T::one(),
                &d,
                &SVector::<T, IN>::from_column_slice(x),
                T::one(),
            );
            if let Some(dx) = dx_columns.as_mut().and_then(Iterator::next) {
                let mut column = SVector::<T, IN>::zeros();
                column.gemv_tr(T::one(), &self.weights, &d, T::zero());
                dx.copy_from_slice(column.as_slice());
            }
        }
    }

    /// `dx = W^T delta` for a batch of `batch` samples, when asked for: the small kernel or the
    /// large products, as [`small`](Self::small) chooses.
    #[inline]
    fn input_gradient(
        &self,
        batch: usize,
        delta: &[T],
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        if !Self::small(batch) {
            self.large_input_gradient(delta, input_gradient);
        } else if let Some(mut input_gradient) = input_gradient {
            dispatch::transposed_product::<T, IN, OUT>(
                self.weights.as_slice(),
                delta,
                input_gradient.as_mut_slice(),
            );
        }
    }

    /// `(z, a)` for one sample: the pre-activation and the output (`inference`: see
    /// `dispatch::affine_single`).
    #[inline(always)]
    fn parts(&self, input: &SVector<T, IN>, inference: bool) -> (SVector<T, OUT>, SVector<T, OUT>) {
        let mut z = self.bias;
        let mut a = self.bias;
        if OUT <= SMALL_WIDTH {
            dispatch::affine_single::<T, A, IN, OUT>(
                self.weights.as_slice(),
                self.bias.as_slice(),
                input.as_slice(),
                z.as_mut_slice(),
                a.as_mut_slice(),
                inference,
            );
        } else {
            z.gemv(T::one(), &self.weights, input, T::one());
            A::forward(OUT, z.as_slice(), a.as_mut_slice());
        }
        (z, a)
    }
}

/// The least multiply-adds a batch's update must have to be spread over threads: about 30 us
/// of one core's work, as much as a hand-off to rayon's pool costs (see `train/parallel.rs`).
#[cfg(feature = "std")]
const SPREAD_WORK: usize = 1 << 20;

#[cfg(feature = "std")]
impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Dense<IN, OUT, A, T> {
    /// Plain SGD's update `W += alpha * delta x^T` from `count` shares of a batch,
    /// spread over rayon's threads by columns of `W` (inputs), one contiguous block of columns
    /// per share: each weight is written by one thread, which adds up the samples in share
    /// order, so the result does not depend on which thread runs which block. The bias adds
    /// every delta in the same order on the calling thread, as [`Layer::update_batch`] does.
    /// Returns whether it ran: only for a batch of at least [`SPREAD_WORK`] multiply-adds.
    fn spread_sgd_update<'a>(
        &mut self,
        count: usize,
        share: &(dyn Fn(usize) -> ShareTape<'a, T> + Sync),
        alpha: T,
    ) -> bool {
        use rayon::prelude::*;

        let batch: usize = (0..count).map(|index| share(index).0.len() / IN).sum();
        if Self::small(batch) || OUT * IN * batch < SPREAD_WORK {
            return false;
        }

        let mut bias_step = SVector::<T, OUT>::zeros();
        for index in 0..count {
            add_columns(share(index).2, bias_step.as_mut_slice());
        }
        for (b, &g) in self
            .bias
            .as_mut_slice()
            .iter_mut()
            .zip(bias_step.as_slice())
        {
            *b += alpha * g;
        }
        let block = IN.div_ceil(count);
        self.weights
            .as_mut_slice()
            .par_chunks_mut(block * OUT)
            .enumerate()
            .for_each(|(part, weights)| {
                let first = part * block;
                let operands = |index: usize| {
                    let (input, _, delta) = share(index);
                    (delta, input)
                };
                if wide_outer_shares(alpha, count, &operands, weights, first, (OUT, IN)) {
                    return;
                }
                let width = weights.len() / OUT;
                for index in 0..count {
                    let (input, _, delta) = share(index);
                    let samples = input.len() / IN;
                    // The block's rows of the inputs, transposed: sample `j`'s input `first + i`
                    // is at `j * IN + first + i`.
                    let inputs = MatrixRef {
                        data: &input[first..],
                        rows: samples,
                        cols: width,
                        row_stride: IN,
                        col_stride: 1,
                    };
                    gemm(
                        alpha,
                        MatrixRef::column_major(delta, OUT, samples),
                        inputs,
                        T::one(),
                        MatrixMut {
                            data: &mut *weights,
                            rows: OUT,
                            cols: width,
                        },
                    );
                }
            });
        true
    }
}

#[cfg(not(feature = "std"))]
impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Dense<IN, OUT, A, T> {
    /// Without `std` there are no threads: the shares are applied one after another.
    #[inline(always)]
    fn spread_sgd_update<'a>(
        &mut self,
        _count: usize,
        _share: &(dyn Fn(usize) -> ShareTape<'a, T> + Sync),
        _alpha: T,
    ) -> bool {
        false
    }
}

/// Adds each column of `columns` (column-major, `sum.len()` rows) to `sum`, in column order: a
/// bias's step or gradient from a batch's deltas. Over slices, so that it is vector code (over
/// nalgebra's element iterator it was scalar code, 4% of a W3 step).
#[inline(always)]
fn add_columns<T: Scalar>(columns: &[T], sum: &mut [T]) {
    for column in columns.chunks_exact(sum.len()) {
        for (g, &d) in sum.iter_mut().zip(column) {
            *g += d;
        }
    }
}

/// `W = alpha * delta x^T`, added to what `weights` holds when `accumulate`: the AVX-512 tiles
/// where they apply, otherwise matrixmultiply with the transposed input as a strided view.
#[cfg(feature = "std")]
fn large_outer<T: Scalar, const IN: usize, const OUT: usize>(
    alpha: T,
    delta: &[T],
    input: Columns<'_, T, IN>,
    weights: &mut [T],
    accumulate: bool,
) {
    let batch = input.ncols();
    if wide_outer(
        alpha,
        delta,
        input.as_slice(),
        weights,
        accumulate,
        (OUT, IN, batch),
    ) {
        return;
    }
    gemm(
        alpha,
        MatrixRef::column_major(delta, OUT, batch),
        MatrixRef::column_major(input.as_slice(), IN, batch).transpose(),
        if accumulate { T::one() } else { T::zero() },
        MatrixMut {
            data: weights,
            rows: OUT,
            cols: IN,
        },
    );
}

impl<const IN: usize, const OUT: usize, T: Scalar> Parameters<T> for DenseGradients<IN, OUT, T> {
    const TENSORS: usize = 2;
    const PARAMETERS: usize = OUT * IN + OUT;

    #[inline]
    fn zeros() -> Self {
        Self {
            weights: SMatrix::zeros(),
            bias: SVector::zeros(),
        }
    }

    #[inline]
    fn tensor(&self, index: usize) -> &[T] {
        match index {
            0 => self.weights.as_slice(),
            1 => self.bias.as_slice(),
            _ => &[],
        }
    }

    #[inline]
    fn tensor_mut(&mut self, index: usize) -> &mut [T] {
        match index {
            0 => self.weights.as_mut_slice(),
            1 => self.bias.as_mut_slice(),
            _ => &mut [],
        }
    }

    #[inline]
    fn tensor_info(index: usize) -> Option<TensorInfo> {
        dense_tensor_info::<IN, OUT>(index)
    }
}

// Without an `Activation` bound: a network whose layer names something that is not an
// activation gets one error about that, not more from saving, loading and serde.
impl<const IN: usize, const OUT: usize, A, T: Scalar> Parameters<T> for Dense<IN, OUT, A, T> {
    const TENSORS: usize = 2;
    const PARAMETERS: usize = OUT * IN + OUT;

    fn kind() -> super::LayerKind {
        super::LayerKind::Dense {
            activation: super::type_name_of::<A>(),
        }
    }

    #[inline]
    fn zeros() -> Self {
        let () = Self::NONZERO_WIDTHS;
        Self {
            weights: SMatrix::zeros(),
            bias: SVector::zeros(),
            activation: PhantomData,
        }
    }

    #[inline]
    fn tensor(&self, index: usize) -> &[T] {
        match index {
            0 => self.weights.as_slice(),
            1 => self.bias.as_slice(),
            _ => &[],
        }
    }

    #[inline]
    fn tensor_mut(&mut self, index: usize) -> &mut [T] {
        match index {
            0 => self.weights.as_mut_slice(),
            1 => self.bias.as_mut_slice(),
            _ => &mut [],
        }
    }

    #[inline]
    fn tensor_info(index: usize) -> Option<TensorInfo> {
        dense_tensor_info::<IN, OUT>(index)
    }
}

fn dense_tensor_info<const IN: usize, const OUT: usize>(index: usize) -> Option<TensorInfo> {
    match index {
        0 => Some(TensorInfo {
            layer: "",
            name: "weight",
            shape: const { &[OUT, IN] },
            layout: Layout::ColumnMajor,
        }),
        1 => Some(TensorInfo {
            layer: "",
            name: "bias",
            shape: const { &[OUT] },
            layout: Layout::RowMajor,
        }),
        _ => None,
    }
}

impl<const IN: usize, const OUT: usize, A, T: Scalar> HasGradients<T> for Dense<IN, OUT, A, T> {
    type Gradients = DenseGradients<IN, OUT, T>;
}

impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Layer<T, IN, OUT>
    for Dense<IN, OUT, A, T>
{
    /// The pre-activation `z`.
    type Cache = SVector<T, OUT>;

    const SHARES_ROWS: bool = OUT > ROW_TILE;

    #[inline(always)]
    fn cache_len(batch: usize) -> usize {
        OUT * batch
    }

    fn initialize<R: Rng + ?Sized>(&mut self, init: Init, rng: &mut R) {
        let limit = init.limit(IN, OUT);
        // Row by row, as PyTorch and Keras lay out their weights.
        for row in 0..OUT {
            for col in 0..IN {
                self.weights[(row, col)] = T::cast_from(uniform(rng, limit));
            }
        }
        self.bias.fill(T::zero());
    }

    #[inline]
    fn forward(&self, input: &SVector<T, IN>) -> SVector<T, OUT> {
        with_wide(
            #[inline(always)]
            || self.parts(input, true).1,
        )
    }

    #[inline(always)]
    fn forward_single(
        &self,
        input: &SVector<T, IN>,
        phase: &mut Phase,
    ) -> (SVector<T, OUT>, SVector<T, OUT>) {
        self.parts(input, matches!(*phase, Phase::Inference))
    }

    #[inline(always)]
    fn backward_single(
        &self,
        input: &SVector<T, IN>,
        z: &SVector<T, OUT>,
        a: &SVector<T, OUT>,
        delta: &mut SVector<T, OUT>,
        input_gradient: bool,
    ) -> SVector<T, IN> {
        let _ = input;
        A::backward(OUT, z.as_slice(), a.as_slice(), delta.as_mut_slice());
        let mut dx = SVector::<T, IN>::zeros();
        if input_gradient {
            dispatch::transposed_product::<T, IN, OUT>(
                self.weights.as_slice(),
                delta.as_slice(),
                dx.as_mut_slice(),
            );
        }
        dx
    }

    #[inline(always)]
    fn update_single(
        &mut self,
        input: &SVector<T, IN>,
        _z: &SVector<T, OUT>,
        delta: &SVector<T, OUT>,
        learning_rate: T,
    ) {
        let alpha = -learning_rate;
        if OUT <= SMALL_WIDTH {
            dispatch::rank_one_single::<T, IN, OUT>(
                alpha,
                delta.as_slice(),
                input.as_slice(),
                self.weights.as_mut_slice(),
            );
        } else {
            self.weights.ger(alpha, delta, input, T::one());
        }
        for (b, &d) in self.bias.iter_mut().zip(delta.iter()) {
            *b += alpha * d;
        }
    }

    #[inline(always)]
    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        z: &mut [T],
        mut a: ColumnsMut<'_, T, OUT>,
        _phase: &mut Phase,
    ) {
        let batch = input.ncols();
        if Self::small(batch) {
            dispatch::affine::<T, IN, OUT>(
                self.weights.as_slice(),
                self.bias.as_slice(),
                input.as_slice(),
                z,
            );
        } else {
            self.large_affine(input, z);
        }
        A::forward(OUT, z, a.as_mut_slice());
    }

    #[inline(always)]
    fn backward_batch(
        &self,
        input: Columns<'_, T, IN>,
        z: &[T],
        a: Columns<'_, T, OUT>,
        mut delta: ColumnsMut<'_, T, OUT>,
        gradients: Option<&mut Self::Gradients>,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        let batch = input.ncols();
        A::backward(OUT, z, a.as_slice(), delta.as_mut_slice());
        let Some(gradients) = gradients else {
            self.input_gradient(batch, delta.as_slice(), input_gradient);
            return;
        };
        // db = delta summed over the batch.
        let bias_gradient = gradients.bias.as_mut_slice();
        bias_gradient.fill(T::zero());
        add_columns(delta.as_slice(), bias_gradient);
        if Self::small(batch) {
            dispatch::outer_sum::<T, IN, OUT>(
                delta.as_slice(),
                input.as_slice(),
                gradients.weights.as_mut_slice(),
            );
            self.input_gradient(batch, delta.as_slice(), input_gradient);
            return;
        }
        self.large_backward(input, delta.as_slice(), gradients, input_gradient);
    }

    #[inline(always)]
    fn update_batch(
        &mut self,
        input: Columns<'_, T, IN>,
        _z: &[T],
        delta: Columns<'_, T, OUT>,
        learning_rate: T,
    ) {
        let alpha = -learning_rate;
        // The bias moves by the summed deltas, added up first as its gradient would be.
        let mut bias_step = SVector::<T, OUT>::zeros();
        add_columns(delta.as_slice(), bias_step.as_mut_slice());
        for (b, &g) in self
            .bias
            .as_mut_slice()
            .iter_mut()
            .zip(bias_step.as_slice())
        {
            *b += alpha * g;
        }
        if Self::small(input.ncols()) {
            dispatch::outer_update::<T, IN, OUT>(
                alpha,
                delta.as_slice(),
                input.as_slice(),
                self.weights.as_mut_slice(),
            );
            return;
        }
        self.large_sgd_update(input, delta.as_slice(), alpha);
    }

    #[inline(always)]
    fn update_shares<'a>(
        &mut self,
        count: usize,
        share: &(dyn Fn(usize) -> ShareTape<'a, T> + Sync),
        learning_rate: T,
    ) {
        if count > 1 && self.spread_sgd_update(count, share, -learning_rate) {
            return;
        }
        for index in 0..count {
            let (input, cache, delta) = share(index);
            self.update_batch(columns(input), cache, columns(delta), learning_rate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Identity;

    #[test]
    fn weights_start_on_a_cache_line() {
        assert_eq!(core::mem::align_of::<Dense<784, 128>>(), 64);
        assert_eq!(core::mem::offset_of!(Dense<784, 128>, weights), 0);
        assert_eq!(
            core::mem::offset_of!(Dense<3, 2, Identity, f64>, weights),
            0
        );
        let boxed = Dense::<784, 128>::zeros_boxed();
        assert_eq!(boxed.weights.as_ptr() as usize % 64, 0);
        let copy = boxed.clone();
        assert_eq!(copy.weights.as_ptr() as usize % 64, 0);
    }

    /// A layer of `IN x OUT` with weights and a batch of `batch` inputs and deltas from a
    /// simple sequence, in `T`.
    fn spread_case<T: Scalar, const IN: usize, const OUT: usize>(
        batch: usize,
    ) -> (Dense<IN, OUT, Identity, T>, Vec<T>, Vec<T>) {
        let value = |k: usize, scale: f64| T::cast_from((k as f64 * scale).sin());
        let mut layer = Dense::<IN, OUT, Identity, T>::zeros();
        for (k, w) in layer.weights.iter_mut().enumerate() {
            *w = value(k, 0.37);
        }
        for (k, b) in layer.bias.iter_mut().enumerate() {
            *b = value(k, 1.3);
        }
        let inputs = (0..IN * batch).map(|k| value(k, 0.11)).collect();
        let deltas = (0..OUT * batch).map(|k| value(k, 0.23)).collect();
        (layer, inputs, deltas)
    }

    /// Plain SGD's update from a batch in uneven shares, spread over the threads by blocks of
    /// columns (256 inputs in three blocks of 86, 86 and 84), against the update from the
    /// whole batch at once; the f32 layer (32 units) takes the AVX-512 tiles where the CPU has
    /// them, the f64 one matrixmultiply.
    fn spread_update_matches_one_batch<T: Scalar>(tolerance: f64) {
        const IN: usize = 256;
        const OUT: usize = 32;
        // 32 x 256 x 130 = 1.06 M multiply-adds: over the least that is spread.
        let (batch, sizes) = (130, [44, 43, 43]);
        let (layer, inputs, deltas) = spread_case::<T, IN, OUT>(batch);
        let mut whole = layer.clone();
        whole.update_batch(columns(&inputs), &[], columns(&deltas), T::cast_from(0.01));
        let mut spread = layer.clone();
        let starts = [0, 44, 87, 130];
        let share = |index: usize| {
            let (start, end) = (starts[index], starts[index + 1]);
            assert_eq!(end - start, sizes[index]);
            (
                &inputs[start * IN..end * IN],
                &[][..],
                &deltas[start * OUT..end * OUT],
            )
        };
        spread.update_shares(3, &share, T::cast_from(0.01));
        // The weights moved (the largest by about 0.007), and as the whole batch moves them.
        let (mut moved, mut largest) = (0.0_f64, 0.0_f64);
        for ((w, s), before) in whole
            .weights
            .iter()
            .zip(spread.weights.iter())
            .zip(layer.weights.iter())
        {
            moved = moved.max((w.as_f64() - before.as_f64()).abs());
            largest = largest.max((w.as_f64() - s.as_f64()).abs());
        }
        assert!(moved > 1e-3, "the largest move is {moved}");
        assert!(largest <= tolerance, "weights differ by {largest:e}");
        // The bias adds the deltas in the same order either way.
        assert_eq!(whole.bias, spread.bias);
        assert_ne!(whole.bias, layer.bias);
    }

    #[test]
    fn spread_update_matches_one_batch_f32() {
        spread_update_matches_one_batch::<f32>(1e-5);
    }

    #[test]
    fn spread_update_matches_one_batch_f64() {
        spread_update_matches_one_batch::<f64>(1e-13);
    }

    /// The derived `Zeroable` is what `zeros_boxed` builds from: all-zero bytes, read as layers
    /// of zeros.
    #[test]
    fn zeroed_layers_are_zero() {
        let boxed = Dense::<3, 2, Identity, f64>::zeros_boxed();
        assert_eq!(*boxed, Dense::<3, 2, Identity, f64>::zeros());
        let gradients = DenseGradients::<2, 5, f32>::zeros_boxed();
        assert!(
            gradients
                .weights
                .iter()
                .chain(gradients.bias.iter())
                .all(|&v| v == 0.0)
        );
    }
}
