//! Where each value of a tensor goes: the network's slice, the file's row-major data, and the
//! channels-last order in which Keras keeps its kernels.

use crate::Layout;

/// The N-D index, in `shape`, of the value at `position` of row-major data.
pub(super) fn unravel(shape: &[usize], position: usize) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    let mut rest = position;
    for (axis, &len) in shape.iter().enumerate().rev() {
        let len = len.max(1);
        index[axis] = rest % len;
        rest /= len;
    }
    index
}

/// The position in `layout` of the value at `position` of row-major data of `shape`.
///
/// Column-major is defined for any rank as the first dimension varying fastest; the network's
/// column-major tensors are 2-D.
pub(super) fn slice_position(shape: &[usize], layout: Layout, position: usize) -> usize {
    match layout {
        Layout::RowMajor => position,
        Layout::ColumnMajor => {
            let index = unravel(shape, position);
            let mut stride = 1;
            let mut slice = 0;
            for (&i, &len) in index.iter().zip(shape) {
                slice += i * stride;
                stride *= len;
            }
            slice
        }
    }
}

/// How a file orders a tensor's values, against PyTorch's order that the network keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileOrder {
    /// PyTorch's: the shape and row-major order of [`TensorInfo::shape`](crate::TensorInfo).
    Torch,
    /// A Keras kernel, channels last ([`keras_shape`]).
    KerasKernel,
    /// A Keras tensor of a sample's shape (LayerNormalization's `gamma` and `beta` over
    /// several axes), channels last: PyTorch's `[c, s...]` is `(s..., c)`.
    KerasSample,
    /// A Keras Dense kernel `(in, out)` after a `Flatten` of a sample of this PyTorch shape
    /// `[c, s...]`, whose inputs Keras numbers channels last, `(s..., c)`.
    KerasFlattenedKernel(&'static [usize]),
    /// A Keras recurrent cell's `kernel` (`(in, gates * H)`) or `recurrent_kernel`
    /// (`(H, gates * H)`): PyTorch's `[gates * H, columns]` transposed, gate `g` of PyTorch's
    /// order being Keras's gate `order[g]`.
    KerasGates(&'static [usize]),
    /// A Keras recurrent cell's `bias`, its gates as in [`KerasGates`](Self::KerasGates): one
    /// vector `(gates * H,)`, or with `row` one row of a GRU's `(2, 3 H)` bias (row 0 the
    /// input side's, row 1 the hidden side's).
    KerasGateBias {
        /// Keras's gate for each of PyTorch's.
        order: &'static [usize],
        /// The row of a two-row bias; `None` for a one-vector bias.
        row: Option<usize>,
    },
    /// Not in the file: the tensor is zero. Keras's LSTM and SimpleRNN have one bias where
    /// PyTorch has two, so PyTorch's hidden-side bias is zero.
    Absent,
}

/// Keras's LSTM gates i, f, c, o are PyTorch's i, f, g, o.
pub(super) const KERAS_LSTM_GATES: &[usize] = &[0, 1, 2, 3];

/// Keras's GRU gates are z, r, h; PyTorch's r, z, n: r is Keras's gate 1, z its gate 0.
pub(super) const KERAS_GRU_GATES: &[usize] = &[1, 0, 2];

/// A SimpleRNN has one gate.
pub(super) const KERAS_RNN_GATES: &[usize] = &[0];

impl FileOrder {
    /// The tensor's shape in the file, for PyTorch shape `shape`.
    pub(super) fn shape(self, shape: &[usize]) -> Vec<usize> {
        match self {
            Self::Torch => shape.to_vec(),
            Self::KerasKernel | Self::KerasFlattenedKernel(_) => keras_shape(shape),
            Self::KerasSample => keras_sample_shape(shape),
            Self::KerasGates(_) => shape.iter().rev().copied().collect(),
            Self::KerasGateBias { row: Some(_), .. } => [2].iter().chain(shape).copied().collect(),
            Self::KerasGateBias { row: None, .. } | Self::Absent => shape.to_vec(),
        }
    }

    /// The file's row-major data (in [`shape`](Self::shape)) in PyTorch's row-major order for
    /// `shape`.
    pub(super) fn to_torch(self, shape: &[usize], data: Vec<f64>) -> Vec<f64> {
        match self {
            Self::Torch => data,
            Self::KerasKernel => keras_to_torch(shape, &data),
            Self::KerasSample => keras_sample_to_torch(shape, &data),
            Self::KerasFlattenedKernel(sample) => keras_flattened_to_torch(shape, sample, &data),
            Self::KerasGates(order) => keras_gates_to_torch(shape, order, &data),
            Self::KerasGateBias { order, row } => {
                keras_gate_bias_to_torch(shape, order, row.unwrap_or(0), &data)
            }
            Self::Absent => vec![0.0; shape.iter().product()],
        }
    }
}

/// A Keras recurrent kernel's row-major data (`(columns, gates * H)`) in PyTorch's row-major
/// order for `shape` (`[gates * H, columns]`), Keras's gate `order[g]` becoming gate `g`.
pub(super) fn keras_gates_to_torch(shape: &[usize], order: &[usize], keras: &[f64]) -> Vec<f64> {
    let &[rows, columns] = shape else {
        return keras.to_vec();
    };
    let hidden = rows / order.len().max(1);
    (0..rows * columns)
        .filter_map(|position| {
            let (row, column) = (position / columns, position % columns);
            let keras_row = order.get(row / hidden.max(1))? * hidden + row % hidden.max(1);
            keras.get(column * rows + keras_row).copied()
        })
        .collect()
}

/// Row `row` of a Keras recurrent bias (`(gates * H,)`, or `(2, gates * H)` for a GRU's) in
/// PyTorch's order of gates for `shape` (`[gates * H]`).
pub(super) fn keras_gate_bias_to_torch(
    shape: &[usize],
    order: &[usize],
    row: usize,
    keras: &[f64],
) -> Vec<f64> {
    let rows: usize = shape.iter().product();
    let hidden = (rows / order.len().max(1)).max(1);
    (0..rows)
        .filter_map(|position| {
            let keras_position = order.get(position / hidden)? * hidden + position % hidden;
            keras.get(row * rows + keras_position).copied()
        })
        .collect()
}

/// The shape Keras gives a sample of PyTorch shape `shape`, channels last: `[c, l]` is
/// `(l, c)`, `[c, h, w]` is `(h, w, c)`. Vectors are the same in both.
pub(super) fn keras_sample_shape(shape: &[usize]) -> Vec<usize> {
    match shape {
        [channels, spatial @ ..] => spatial.iter().copied().chain([*channels]).collect(),
        [] => Vec::new(),
    }
}

/// A Keras sample-shaped tensor's row-major data (in [`keras_sample_shape`]`(shape)`) in
/// PyTorch's row-major order for `shape`.
pub(super) fn keras_sample_to_torch(shape: &[usize], keras: &[f64]) -> Vec<f64> {
    let len: usize = shape.iter().product();
    (0..len)
        .filter_map(|position| keras.get(keras_sample_position(shape, position)).copied())
        .collect()
}

/// The position in a channels-last sample (in [`keras_sample_shape`]`(sample)`) of the value at
/// `position` of a sample of PyTorch shape `sample`, both flat.
fn keras_sample_position(sample: &[usize], position: usize) -> usize {
    let index = unravel(sample, position);
    // [c, s...] -> [s..., c]
    let file_index = index.iter().skip(1).chain(index.first());
    file_index
        .zip(keras_sample_shape(sample))
        .fold(0, |file_position, (&i, len)| file_position * len + i)
}

/// A Keras Dense kernel's row-major data, `(in, out)`, in PyTorch's row-major `[out, in]`
/// for `shape`, where the inputs are a Keras `Flatten` of a channels-last sample of PyTorch
/// shape `sample`: PyTorch's input `p` is Keras's input [`keras_sample_position`]`(p)`.
fn keras_flattened_to_torch(shape: &[usize], sample: &[usize], keras: &[f64]) -> Vec<f64> {
    let &[out, inputs] = shape else {
        return keras_to_torch(shape, keras);
    };
    if sample.iter().product::<usize>() != inputs {
        return keras_to_torch(shape, keras);
    }
    (0..out * inputs)
        .filter_map(|position| {
            let (o, p) = (position / inputs, position % inputs);
            keras
                .get(keras_sample_position(sample, p) * out + o)
                .copied()
        })
        .collect()
}

/// The shape Keras gives a kernel of PyTorch shape `shape`, channels last:
/// `[out, in]` is `(in, out)`, `[out, in, k]` is `(k, in, out)`, `[out, in, kh, kw]` is
/// `(kh, kw, in, out)`. Tensors of rank below 2 are the same in both.
pub(super) fn keras_shape(shape: &[usize]) -> Vec<usize> {
    match shape {
        [out, input, spatial @ ..] => spatial.iter().copied().chain([*input, *out]).collect(),
        _ => shape.to_vec(),
    }
}

/// A Keras kernel's row-major data (in [`keras_shape`]`(shape)`) permuted into PyTorch's
/// row-major order for `shape`.
pub(super) fn keras_to_torch(shape: &[usize], keras: &[f64]) -> Vec<f64> {
    let [_, _, spatial @ ..] = shape else {
        return keras.to_vec();
    };
    let file_shape = keras_shape(shape);
    let len: usize = shape.iter().product();
    (0..len)
        .filter_map(|position| {
            let index = unravel(shape, position);
            // [out, in, s...] -> [s..., in, out]
            let file_index = index[2..2 + spatial.len()]
                .iter()
                .chain([&index[1], &index[0]]);
            let mut file_position = 0;
            for (&i, &len) in file_index.zip(&file_shape) {
                file_position = file_position * len + i;
            }
            keras.get(file_position).copied()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_after_a_keras_flatten_takes_its_inputs_channels_last() {
        // A (2, 1, 3) sample: Keras flattens it as (h=1, w=3, c=2), so its inputs are
        // c0w0 c1w0 c0w1 c1w1 c0w2 c1w2, where PyTorch's are c0w0 c0w1 c0w2 c1w0 c1w1 c1w2.
        // One output unit whose Keras weight for input q is q.
        let keras: Vec<f64> = (0..6).map(f64::from).collect();
        let torch = keras_flattened_to_torch(&[1, 6], &[2, 1, 3], &keras);
        assert_eq!(torch, [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]);
        // Two outputs: Keras's (in, out) rows interleave them.
        let keras: Vec<f64> = (0..12).map(f64::from).collect();
        let torch = keras_flattened_to_torch(&[2, 6], &[2, 1, 3], &keras);
        assert_eq!(
            torch,
            [0.0, 4.0, 8.0, 2.0, 6.0, 10.0, 1.0, 5.0, 9.0, 3.0, 7.0, 11.0]
        );
    }

    #[test]
    fn unravel_counts_the_last_dimension_fastest() {
        assert_eq!(unravel(&[2, 3, 4], 0), [0, 0, 0]);
        assert_eq!(unravel(&[2, 3, 4], 5), [0, 1, 1]);
        assert_eq!(unravel(&[2, 3, 4], 23), [1, 2, 3]);
        assert_eq!(unravel(&[5], 3), [3]);
    }

    #[test]
    fn column_major_positions_transpose_a_matrix() {
        // [[a, b, c], [d, e, f]] row-major is a b c d e f; column-major a d b e c f.
        let positions: Vec<usize> = (0..6)
            .map(|p| slice_position(&[2, 3], Layout::ColumnMajor, p))
            .collect();
        assert_eq!(positions, [0, 2, 4, 1, 3, 5]);
        assert_eq!(slice_position(&[2, 3], Layout::RowMajor, 4), 4);
        assert_eq!(slice_position(&[4], Layout::ColumnMajor, 3), 3);
    }

    #[test]
    fn keras_kernels_are_channels_last() {
        assert_eq!(keras_shape(&[3, 2]), [2, 3]);
        assert_eq!(keras_shape(&[4, 2, 3]), [3, 2, 4]);
        assert_eq!(keras_shape(&[4, 2, 3, 5]), [3, 5, 2, 4]);
        assert_eq!(keras_shape(&[4]), [4]);
    }

    #[test]
    fn a_keras_sample_is_channels_last() {
        assert_eq!(keras_sample_shape(&[3, 5]), [5, 3]);
        assert_eq!(keras_sample_shape(&[2, 3, 4]), [3, 4, 2]);
        assert_eq!(keras_sample_shape(&[6]), [6]);
        // PyTorch [c 2, h 2, w 3]; Keras (h, w, c) with value 100 c + 10 h + w.
        let shape = [2, 2, 3];
        let value = |c: u32, h: u32, w: u32| f64::from(100 * c + 10 * h + w);
        let keras: Vec<f64> = (0..2)
            .flat_map(|h| (0..3).flat_map(move |w| (0..2).map(move |c| value(c, h, w))))
            .collect();
        let expected: Vec<f64> = (0..2)
            .flat_map(|c| (0..2).flat_map(move |h| (0..3).map(move |w| value(c, h, w))))
            .collect();
        assert_eq!(keras_sample_to_torch(&shape, &keras), expected);
        let vector = [1.0, 2.0, 3.0];
        assert_eq!(
            FileOrder::KerasSample.to_torch(&[3], vector.to_vec()),
            vector
        );
    }

    #[test]
    fn keras_gru_gates_z_r_h_become_r_z_n() {
        // H = 1, one input: Keras's kernel (1, 3) is z, r, h = 10, 20, 30.
        let torch = keras_gates_to_torch(&[3, 1], KERAS_GRU_GATES, &[10.0, 20.0, 30.0]);
        assert_eq!(torch, [20.0, 10.0, 30.0]);
        // H = 2, two columns: Keras (2, 6), value 100 column + 10 gate + unit.
        let keras: Vec<f64> = (0..2)
            .flat_map(|c| {
                (0..3).flat_map(move |g| (0..2).map(move |j| f64::from(100 * c + 10 * g + j)))
            })
            .collect();
        let torch = keras_gates_to_torch(&[6, 2], KERAS_GRU_GATES, &keras);
        // PyTorch row (gate r = Keras 1, unit 0): columns 0 and 1.
        assert_eq!(torch[..2], [10.0, 110.0]);
        assert_eq!(torch[2..4], [11.0, 111.0]);
        assert_eq!(torch[4..6], [0.0, 100.0]);
        assert_eq!(torch[10..], [21.0, 121.0]);
        // A (2, 3) bias, H = 1: row 1 is the hidden side's.
        let bias = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(
            keras_gate_bias_to_torch(&[3], KERAS_GRU_GATES, 0, &bias),
            [2.0, 1.0, 3.0]
        );
        assert_eq!(
            keras_gate_bias_to_torch(&[3], KERAS_GRU_GATES, 1, &bias),
            [5.0, 4.0, 6.0]
        );
        let order = FileOrder::KerasGateBias {
            order: KERAS_GRU_GATES,
            row: Some(1),
        };
        assert_eq!(order.shape(&[3]), [2, 3]);
    }

    #[test]
    fn keras_lstm_kernels_keep_their_gates_and_are_transposed() {
        // H = 1, two inputs: Keras (2, 4), value 10 input + gate.
        let keras = [0.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 13.0];
        let torch = keras_gates_to_torch(&[4, 2], KERAS_LSTM_GATES, &keras);
        assert_eq!(torch, [0.0, 10.0, 1.0, 11.0, 2.0, 12.0, 3.0, 13.0]);
        assert_eq!(
            FileOrder::KerasGates(KERAS_LSTM_GATES).shape(&[4, 2]),
            [2, 4]
        );
        assert_eq!(FileOrder::Absent.to_torch(&[4], Vec::new()), [0.0; 4]);
    }

    #[test]
    fn a_dense_kernel_is_transposed() {
        // Keras (in 2, out 3): [[1, 2, 3], [4, 5, 6]], so PyTorch's [out, in] is
        // [[1, 4], [2, 5], [3, 6]].
        let torch = keras_to_torch(&[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(torch, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }

    #[test]
    fn a_conv1d_kernel_is_permuted_from_k_in_out() {
        // PyTorch [out 2, in 3, k 2]; Keras holds (k, in, out) with value 100 k + 10 in + out.
        let shape = [2, 3, 2];
        let keras: Vec<f64> = (0..2)
            .flat_map(|k| {
                (0..3).flat_map(move |i| (0..2).map(move |o| f64::from(100 * k + 10 * i + o)))
            })
            .collect();
        let torch = keras_to_torch(&shape, &keras);
        let expected: Vec<f64> = (0..2)
            .flat_map(|o| {
                (0..3).flat_map(move |i| (0..2).map(move |k| f64::from(100 * k + 10 * i + o)))
            })
            .collect();
        assert_eq!(torch, expected);
        assert_eq!(torch[..4], [0.0, 100.0, 10.0, 110.0]);
    }

    #[test]
    fn a_conv2d_kernel_is_permuted_from_kh_kw_in_out() {
        // PyTorch [out 2, in 1, kh 2, kw 3]; Keras (kh, kw, in, out), value 1000 kh + 100 kw + out.
        let shape = [2, 1, 2, 3];
        let value = |o: u32, kh: u32, kw: u32| f64::from(1000 * kh + 100 * kw + o);
        let keras: Vec<f64> = (0..2)
            .flat_map(|kh| (0..3).flat_map(move |kw| (0..2).map(move |o| value(o, kh, kw))))
            .collect();
        let expected: Vec<f64> = (0..2)
            .flat_map(|o| (0..2).flat_map(move |kh| (0..3).map(move |kw| value(o, kh, kw))))
            .collect();
        assert_eq!(keras_to_torch(&shape, &keras), expected);
    }
}
