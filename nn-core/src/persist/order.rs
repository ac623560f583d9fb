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
