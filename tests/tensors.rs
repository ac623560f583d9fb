//! Tensors of any rank and non-trainable buffers, saved and loaded by their `TensorInfo`s: a
//! test-only layer with a Conv1d-shaped `[out, in, k]` kernel (row-major, PyTorch's order), a
//! bias, and BatchNorm-like running statistics as buffers.

use typenn::persist::{self, LoadError, LoadOptions, Persist, SaveError};
use typenn::{Layout, Parameters, TensorInfo};

#[path = "support/safetensors.rs"]
mod support;

use support::{f64_tensor, file, header};

/// A kernel of `O` outputs, `I` inputs and width `K`, with a bias and two buffers.
#[derive(Clone, Debug, PartialEq)]
struct Kernel<const O: usize, const I: usize, const K: usize> {
    weight: [[[f64; K]; I]; O],
    bias: [f64; O],
    running_mean: [f64; O],
    running_var: [f64; O],
}

// SAFETY: arrays of f64, for which all-zero bytes are 0.0.
unsafe impl<const O: usize, const I: usize, const K: usize> bytemuck::Zeroable for Kernel<O, I, K> {}

const fn info(name: &'static str, shape: &'static [usize]) -> TensorInfo {
    TensorInfo {
        layer: "",
        name,
        shape,
        layout: Layout::RowMajor,
    }
}

impl<const O: usize, const I: usize, const K: usize> Parameters<f64> for Kernel<O, I, K> {
    const TENSORS: usize = 2;
    const PARAMETERS: usize = O * I * K + O;
    const BUFFERS: usize = 2;

    fn zeros() -> Self {
        Self {
            weight: [[[0.0; K]; I]; O],
            bias: [0.0; O],
            running_mean: [0.0; O],
            running_var: [0.0; O],
        }
    }

    fn tensor(&self, index: usize) -> &[f64] {
        match index {
            0 => self.weight.as_flattened().as_flattened(),
            1 => &self.bias,
            _ => &[],
        }
    }

    fn tensor_mut(&mut self, index: usize) -> &mut [f64] {
        match index {
            0 => self.weight.as_flattened_mut().as_flattened_mut(),
            1 => &mut self.bias,
            _ => &mut [],
        }
    }

    fn tensor_info(index: usize) -> Option<TensorInfo> {
        match index {
            0 => Some(info("weight", const { &[O, I, K] })),
            1 => Some(info("bias", const { &[O] })),
            _ => None,
        }
    }

    fn buffer(&self, index: usize) -> &[f64] {
        match index {
            0 => &self.running_mean,
            1 => &self.running_var,
            _ => &[],
        }
    }

    fn buffer_mut(&mut self, index: usize) -> &mut [f64] {
        match index {
            0 => &mut self.running_mean,
            1 => &mut self.running_var,
            _ => &mut [],
        }
    }

    fn buffer_info(index: usize) -> Option<TensorInfo> {
        match index {
            0 => Some(info("running_mean", const { &[O] })),
            1 => Some(info("running_var", const { &[O] })),
            _ => None,
        }
    }
}

#[cfg(feature = "serde")]
impl<const O: usize, const I: usize, const K: usize> serde::Serialize for Kernel<O, I, K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        typenn::layer::serialize_tensors(self, serializer)
    }
}

#[cfg(feature = "serde")]
impl<'de, const O: usize, const I: usize, const K: usize> serde::Deserialize<'de>
    for Kernel<O, I, K>
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut layer = <Self as Parameters<f64>>::zeros();
        typenn::layer::deserialize_tensors_in_place(deserializer, &mut layer)?;
        Ok(layer)
    }
}

/// Two kernels as a network's fields `0` and `1` would list them.
#[derive(Clone, Debug, PartialEq)]
struct Pair(Kernel<2, 3, 2>, Kernel<1, 2, 3>);

// SAFETY: two `Zeroable` fields.
unsafe impl bytemuck::Zeroable for Pair {}

type First = Kernel<2, 3, 2>;
type Second = Kernel<1, 2, 3>;

impl Parameters<f64> for Pair {
    const TENSORS: usize = 4;
    const PARAMETERS: usize = First::PARAMETERS + Second::PARAMETERS;
    const BUFFERS: usize = 4;

    fn zeros() -> Self {
        Self(First::zeros(), Second::zeros())
    }

    fn tensor(&self, index: usize) -> &[f64] {
        if index < 2 {
            self.0.tensor(index)
        } else {
            self.1.tensor(index - 2)
        }
    }

    fn tensor_mut(&mut self, index: usize) -> &mut [f64] {
        if index < 2 {
            self.0.tensor_mut(index)
        } else {
            self.1.tensor_mut(index - 2)
        }
    }

    fn tensor_info(index: usize) -> Option<TensorInfo> {
        if index < 2 {
            First::tensor_info(index).map(|info| TensorInfo { layer: "0", ..info })
        } else {
            Second::tensor_info(index - 2).map(|info| TensorInfo { layer: "1", ..info })
        }
    }

    fn buffer(&self, index: usize) -> &[f64] {
        if index < 2 {
            self.0.buffer(index)
        } else {
            self.1.buffer(index - 2)
        }
    }

    fn buffer_mut(&mut self, index: usize) -> &mut [f64] {
        if index < 2 {
            self.0.buffer_mut(index)
        } else {
            self.1.buffer_mut(index - 2)
        }
    }

    fn buffer_info(index: usize) -> Option<TensorInfo> {
        if index < 2 {
            First::buffer_info(index).map(|info| TensorInfo { layer: "0", ..info })
        } else {
            Second::buffer_info(index - 2).map(|info| TensorInfo { layer: "1", ..info })
        }
    }
}

/// `weight[o][i][k] = 100 o + 10 i + k`, which names its own place.
fn kernel() -> First {
    let mut layer = First::zeros();
    for (o, rows) in layer.weight.iter_mut().enumerate() {
        for (i, row) in rows.iter_mut().enumerate() {
            for (k, value) in row.iter_mut().enumerate() {
                *value = (100 * o + 10 * i + k) as f64;
            }
        }
    }
    layer.bias = [0.5, -0.5];
    layer.running_mean = [1.25, -2.0];
    layer.running_var = [0.75, 3.0];
    layer
}

/// The kernel's values in PyTorch's row-major order, written out by hand.
const ROW_MAJOR: [f64; 12] = [
    0.0, 1.0, 10.0, 11.0, 20.0, 21.0, 100.0, 101.0, 110.0, 111.0, 120.0, 121.0,
];

/// A lone kernel's file: its tensors as PyTorch's `state_dict` would hold them.
fn kernel_file(weight: &[f64], running_var_shape: &[usize], extra: bool) -> Vec<u8> {
    let mut tensors = vec![
        f64_tensor("weight", &[2, 3, 2], weight),
        f64_tensor("bias", &[2], &[0.5, -0.5]),
        f64_tensor("running_mean", &[2], &[1.25, -2.0]),
        f64_tensor("running_var", running_var_shape, &[0.75, 3.0]),
    ];
    if extra {
        tensors.push(support::Tensor {
            name: "num_batches_tracked",
            dtype: "I64",
            shape: &[],
            data: 17_i64.to_le_bytes().to_vec(),
        });
    }
    file(&tensors)
}

#[test]
fn a_3d_row_major_kernel_loads_in_pytorch_order_and_round_trips()
-> Result<(), Box<dyn std::error::Error>> {
    assert_eq!(kernel().weight.as_flattened().as_flattened(), ROW_MAJOR);
    let loaded = First::from_safetensors_bytes(&kernel_file(&ROW_MAJOR, &[2], false))?;
    assert_eq!(loaded, kernel());

    let bytes = kernel().to_safetensors_bytes()?;
    let text = header(&bytes);
    assert!(
        text.contains(r#""weight":{"dtype":"F64","shape":[2,3,2]"#),
        "{text}"
    );
    assert!(
        text.contains(r#""running_var":{"dtype":"F64","shape":[2]"#),
        "{text}"
    );
    assert_eq!(First::from_safetensors_bytes(&bytes)?, kernel());
    Ok(())
}

#[test]
fn num_batches_tracked_is_ignored_on_load_and_never_written()
-> Result<(), Box<dyn std::error::Error>> {
    let loaded = First::from_safetensors_bytes(&kernel_file(&ROW_MAJOR, &[2], true))?;
    assert_eq!(loaded, kernel());
    let bytes = kernel().to_safetensors_bytes()?;
    assert!(!header(&bytes).contains("num_batches_tracked"));
    Ok(())
}

#[test]
fn buffers_are_checked_as_parameters_are() {
    let mut layer = kernel();
    let wrong_shape = kernel_file(&ROW_MAJOR, &[1, 2], false);
    let error = layer
        .load_safetensors(&wrong_shape, &LoadOptions::new())
        .expect_err("a [1, 2] running_var");
    assert_eq!(
        error.to_string(),
        "expected tensor `running_var` of shape [2], but found shape [1, 2]"
    );

    let missing = file(&[
        f64_tensor("weight", &[2, 3, 2], &ROW_MAJOR),
        f64_tensor("bias", &[2], &[0.5, -0.5]),
        f64_tensor("running_var", &[2], &[0.75, 3.0]),
    ]);
    let error = First::from_safetensors_bytes(&missing).expect_err("no running_mean");
    assert!(
        matches!(&error, LoadError::MissingTensor { tensor, .. } if tensor == "running_mean"),
        "{error}"
    );

    let nan = file(&[
        f64_tensor("weight", &[2, 3, 2], &ROW_MAJOR),
        f64_tensor("bias", &[2], &[0.5, -0.5]),
        f64_tensor("running_mean", &[2], &[1.25, -2.0]),
        f64_tensor("running_var", &[2], &[0.75, f64::NAN]),
    ]);
    let error = layer
        .load_safetensors(&nan, &LoadOptions::new())
        .expect_err("a NaN variance");
    assert_eq!(
        error.to_string(),
        "expected finite numbers, but tensor `running_var` holds NaN at index [1]"
    );
    assert_eq!(layer, kernel(), "a refused file left the layer as it was");
}

#[test]
fn non_finite_values_are_located_by_their_n_d_index() {
    // Position 7 of the row-major [2, 3, 2] data is [1, 0, 1].
    let mut weight = ROW_MAJOR;
    weight[7] = f64::INFINITY;
    let error = First::from_safetensors_bytes(&kernel_file(&weight, &[2], false))
        .expect_err("an infinite weight");
    assert!(
        matches!(&error, LoadError::NonFinite { index, .. } if index == &[1, 0, 1]),
        "{error}"
    );

    let mut layer = kernel();
    layer.weight[1][2][0] = f64::NEG_INFINITY;
    let error = persist::to_bytes(&layer).expect_err("an infinite weight");
    assert!(
        matches!(&error, SaveError::NonFinite { tensor, index, .. } if tensor == "weight" && index == &[1, 2, 0]),
        "{error}"
    );
    layer.weight[1][2][0] = 0.0;
    layer.running_mean[1] = f64::NAN;
    let error = persist::to_bytes(&layer).expect_err("a NaN buffer");
    assert_eq!(
        error.to_string(),
        "expected finite parameters, but tensor `running_mean` holds NaN at index [1]"
    );
}

#[test]
fn a_layers_buffers_follow_its_parameters_under_its_own_names()
-> Result<(), Box<dyn std::error::Error>> {
    let mut pair = Pair::zeros();
    pair.0 = kernel();
    pair.1.weight[0][1][2] = 7.0;
    pair.1.running_var = [2.5];
    let bytes = pair.to_safetensors_bytes()?;
    let text = header(&bytes);
    for name in [
        "0.weight",
        "0.bias",
        "0.running_mean",
        "0.running_var",
        "1.weight",
        "1.running_var",
    ] {
        assert!(text.contains(&format!("\"{name}\"")), "{name} in {text}");
    }
    assert_eq!(Pair::from_safetensors_bytes(&bytes)?, pair);

    // Checked in the file's order: layer 0's buffers before layer 1's weight.
    let partial = file(&[
        f64_tensor("0.weight", &[2, 3, 2], &ROW_MAJOR),
        f64_tensor("0.bias", &[2], &[0.5, -0.5]),
    ]);
    let error = Pair::from_safetensors_bytes(&partial).expect_err("most tensors missing");
    assert!(
        matches!(&error, LoadError::MissingTensor { tensor, .. } if tensor == "0.running_mean"),
        "{error}"
    );

    // PyTorch's module indices rename buffers too.
    let renamed = file(&[
        f64_tensor("0.weight", &[2, 3, 2], &ROW_MAJOR),
        f64_tensor("0.bias", &[2], &[0.5, -0.5]),
        f64_tensor("0.running_mean", &[2], &[1.25, -2.0]),
        f64_tensor("0.running_var", &[2], &[0.75, 3.0]),
        f64_tensor("0.num_batches_tracked", &[], &[17.0]),
        f64_tensor("3.weight", &[1, 2, 3], &[0.0, 0.0, 0.0, 0.0, 0.0, 7.0]),
        f64_tensor("3.bias", &[1], &[0.0]),
        f64_tensor("3.running_mean", &[1], &[0.0]),
        f64_tensor("3.running_var", &[1], &[2.5]),
    ]);
    let mut loaded = Pair::zeros();
    loaded.load_safetensors(&renamed, &LoadOptions::new().sequential_indices(&[0, 3]))?;
    assert_eq!(loaded, pair);
    Ok(())
}

#[test]
fn a_keras_conv1d_kernel_is_permuted_from_k_in_out_and_buffers_take_keras_names()
-> Result<(), Box<dyn std::error::Error>> {
    // Keras keeps the kernel (k 2, in 3, out 2); the value names its PyTorch place.
    let keras: Vec<f64> = (0..2)
        .flat_map(|k| (0..3).flat_map(move |i| (0..2).map(move |o| (100 * o + 10 * i + k) as f64)))
        .collect();
    let bytes = file(&[
        f64_tensor("conv1d.kernel", &[2, 3, 2], &keras),
        f64_tensor("conv1d.bias", &[2], &[0.5, -0.5]),
        f64_tensor("conv1d.moving_mean", &[2], &[1.25, -2.0]),
        f64_tensor("conv1d.moving_variance", &[2], &[0.75, 3.0]),
    ]);
    let mut layer = First::zeros();
    layer.load_safetensors(&bytes, &LoadOptions::new().keras_layers(&["conv1d"]))?;
    assert_eq!(layer, kernel());
    Ok(())
}

#[cfg(feature = "serde")]
mod serde_format {
    use serde::Deserialize;
    use serde::de::value::{Error as ValueError, MapDeserializer};

    use super::{First, ROW_MAJOR, kernel};

    #[test]
    fn a_3d_kernel_and_its_buffers_are_written_by_name_row_major() -> Result<(), serde_json::Error>
    {
        let json = serde_json::to_string(&kernel())?;
        assert_eq!(
            json,
            r#"{"weight":[0.0,1.0,10.0,11.0,20.0,21.0,100.0,101.0,110.0,111.0,120.0,121.0],"bias":[0.5,-0.5],"running_mean":[1.25,-2.0],"running_var":[0.75,3.0]}"#
        );
        assert_eq!(serde_json::from_str::<First>(&json)?, kernel());
        Ok(())
    }

    fn read(fields: Vec<(&'static str, Vec<f64>)>) -> Result<First, String> {
        First::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn reading_says_what_was_expected() {
        let mut weight = ROW_MAJOR.to_vec();
        weight[7] = f64::NAN;
        let fields = vec![
            ("weight", weight),
            ("bias", vec![0.0; 2]),
            ("running_mean", vec![0.0; 2]),
            ("running_var", vec![0.0; 2]),
        ];
        assert_eq!(
            read(fields),
            Err(
                "weight[7] (at [1, 0, 1]) is not finite: found NaN, expected a finite number"
                    .to_owned()
            )
        );
        let short = vec![("weight", vec![0.0; 11])];
        assert_eq!(
            read(short),
            Err(
                "invalid length 11, expected 12 numbers for the 2 x 3 x 2 weight, row-major"
                    .to_owned()
            )
        );
        let no_buffer = vec![
            ("weight", ROW_MAJOR.to_vec()),
            ("bias", vec![0.0; 2]),
            ("running_mean", vec![0.0; 2]),
        ];
        assert_eq!(
            read(no_buffer),
            Err("missing field `running_var`".to_owned())
        );
        let typo = vec![("running_variance", vec![0.0; 2])];
        assert_eq!(
            read(typo),
            Err(
                "unknown field `running_variance`, expected one of `weight`, `bias`, \
                 `running_mean`, `running_var`"
                    .to_owned()
            )
        );
        let twice = vec![
            ("running_mean", vec![0.0; 2]),
            ("running_mean", vec![0.0; 2]),
        ];
        assert_eq!(
            read(twice),
            Err("duplicate field `running_mean`".to_owned())
        );
    }
}
