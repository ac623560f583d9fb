use core::marker::PhantomData;

use nalgebra::{SMatrix, SVector};
use rand::Rng;

use super::Layer;
use crate::activation::{Activation, Identity};
use crate::init::uniform;
use crate::unsafe_code::{MatrixMut, MatrixRef, dispatch, gemm};
use crate::{Columns, ColumnsMut, Init, Parameters, Scalar, TensorInfo};

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
/// use nalgebra::{SMatrix, SVector};
/// use nn_core::{Dense, Layer, Relu};
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
/// With the `serde` feature a layer is written as `{"weights": [...], "bias": [...]}`, each
/// tensor as nalgebra writes a static matrix: its elements column by column (so the `OUT x IN`
/// weights go `w[0][0], w[1][0], ..., w[OUT-1][0], w[0][1], ...`), without dimensions. The
/// activation is part of the type, not of the data. Reading refuses a tensor of the wrong length,
/// a non-finite number and an unknown, missing or repeated field, with an error that says what
/// it expected. `Deserialize::deserialize_in_place` reads into an existing layer, writing each
/// number where it belongs.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(bound = "T: Scalar"))]
pub struct Dense<const IN: usize, const OUT: usize, A = Identity, T = f32> {
    /// `OUT x IN`: row `i` holds the input weights of unit `i`.
    pub weights: SMatrix<T, OUT, IN>,
    /// One bias per unit.
    pub bias: SVector<T, OUT>,
    #[cfg_attr(feature = "serde", serde(skip))]
    pub(super) activation: PhantomData<A>,
}

/// The gradient of a loss with respect to a [`Dense`] layer's parameters, in the same shapes.
///
/// With the `serde` feature it is written and read as [`Dense`] is.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(bound = "T: Scalar"))]
pub struct DenseGradients<const IN: usize, const OUT: usize, T = f32> {
    /// `d loss / d weights`.
    pub weights: SMatrix<T, OUT, IN>,
    /// `d loss / d bias`.
    pub bias: SVector<T, OUT>,
}

impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Dense<IN, OUT, A, T> {
    /// Refuses zero widths when the layer is first used, for widths given by const items that
    /// the `network!` macro cannot see.
    const NONZERO_WIDTHS: () = assert!(
        IN > 0 && OUT > 0,
        "a Dense layer needs at least one input and one output"
    );

    /// Whether a batch's products go through the small kernels rather than matrixmultiply, whose
    /// packing only pays off for big products (and allocates).
    #[inline]
    fn small(batch: usize) -> bool {
        OUT <= SMALL_WIDTH && OUT * IN * batch <= SMALL_PRODUCT
    }

    /// A layer with the given weights and biases.
    #[must_use]
    pub fn from_parts(weights: SMatrix<T, OUT, IN>, bias: SVector<T, OUT>) -> Self {
        let () = Self::NONZERO_WIDTHS;
        Self {
            weights,
            bias,
            activation: PhantomData,
        }
    }
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
        dense_tensor_info(IN, OUT, index)
    }
}

impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Parameters<T>
    for Dense<IN, OUT, A, T>
{
    const TENSORS: usize = 2;
    const PARAMETERS: usize = OUT * IN + OUT;

    #[inline]
    fn zeros() -> Self {
        Self::from_parts(SMatrix::zeros(), SVector::zeros())
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
        dense_tensor_info(IN, OUT, index)
    }
}

fn dense_tensor_info(inputs: usize, outputs: usize, index: usize) -> Option<TensorInfo> {
    match index {
        0 => Some(TensorInfo {
            layer: "",
            name: "weight",
            shape: [outputs, inputs],
        }),
        1 => Some(TensorInfo {
            layer: "",
            name: "bias",
            shape: [outputs, 1],
        }),
        _ => None,
    }
}

impl<const IN: usize, const OUT: usize, A: Activation, T: Scalar> Layer<T, IN, OUT>
    for Dense<IN, OUT, A, T>
{
    type Gradients = DenseGradients<IN, OUT, T>;

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
        let mut z = self.bias;
        if OUT <= SMALL_WIDTH {
            dispatch::affine::<T, IN, OUT>(
                self.weights.as_slice(),
                self.bias.as_slice(),
                input.as_slice(),
                z.as_mut_slice(),
            );
        } else {
            z.gemv(T::one(), &self.weights, input, T::one());
        }
        let mut a = z;
        A::forward(OUT, z.as_slice(), a.as_mut_slice());
        a
    }

    fn forward_batch(
        &self,
        input: Columns<'_, T, IN>,
        mut z: ColumnsMut<'_, T, OUT>,
        mut a: ColumnsMut<'_, T, OUT>,
    ) {
        let batch = input.ncols();
        if Self::small(batch) {
            dispatch::affine::<T, IN, OUT>(
                self.weights.as_slice(),
                self.bias.as_slice(),
                input.as_slice(),
                z.as_mut_slice(),
            );
        } else {
            for mut column in z.column_iter_mut() {
                column.copy_from(&self.bias);
            }
            // z = W x + b.
            gemm(
                T::one(),
                MatrixRef::column_major(self.weights.as_slice(), OUT, IN),
                MatrixRef::column_major(input.as_slice(), IN, batch),
                T::one(),
                MatrixMut {
                    data: z.as_mut_slice(),
                    rows: OUT,
                    cols: batch,
                },
            );
        }
        A::forward(OUT, z.as_slice(), a.as_mut_slice());
    }

    fn backward_batch(
        &self,
        input: Columns<'_, T, IN>,
        z: Columns<'_, T, OUT>,
        a: Columns<'_, T, OUT>,
        mut delta: ColumnsMut<'_, T, OUT>,
        gradients: &mut Self::Gradients,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
    ) {
        let batch = input.ncols();
        A::backward(OUT, z.as_slice(), a.as_slice(), delta.as_mut_slice());
        // db = delta summed over the batch.
        let bias_gradient = gradients.bias.as_mut_slice();
        bias_gradient.fill(T::zero());
        for column in delta.as_slice().chunks_exact(OUT) {
            for (g, &d) in bias_gradient.iter_mut().zip(column) {
                *g += d;
            }
        }
        if Self::small(batch) {
            dispatch::outer_sum::<T, IN, OUT>(
                delta.as_slice(),
                input.as_slice(),
                gradients.weights.as_mut_slice(),
            );
            if let Some(mut input_gradient) = input_gradient {
                dispatch::transposed_product::<T, IN, OUT>(
                    self.weights.as_slice(),
                    delta.as_slice(),
                    input_gradient.as_mut_slice(),
                );
            }
            return;
        }
        let delta = MatrixRef::column_major(delta.as_slice(), OUT, batch);
        // dW = delta x^T, with x^T the input's memory read transposed.
        gemm(
            T::one(),
            delta,
            MatrixRef::column_major(input.as_slice(), IN, batch).transpose(),
            T::zero(),
            MatrixMut {
                data: gradients.weights.as_mut_slice(),
                rows: OUT,
                cols: IN,
            },
        );
        // dx = W^T delta.
        if let Some(mut input_gradient) = input_gradient {
            gemm(
                T::one(),
                MatrixRef::column_major(self.weights.as_slice(), OUT, IN).transpose(),
                delta,
                T::zero(),
                MatrixMut {
                    data: input_gradient.as_mut_slice(),
                    rows: IN,
                    cols: batch,
                },
            );
        }
    }
}
