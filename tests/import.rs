//! Weights trained elsewhere, loaded into typenn, give the outputs they gave there.
//!
//! The fixtures come from `tests/reference/export_pytorch.py` (an `nn.Sequential` of Linear,
//! ReLU, Linear, Tanh, Linear, so the linear layers are modules 0, 2 and 4) and
//! `tests/reference/export_keras.py` (Keras 3 `Dense` layers named `dense` and `dense_1`, whose
//! kernels are stored `(in, out)`), each trained on iris and saved with the logits it produced
//! for five rows; and `tests/reference/keras_conv_norm.py`, Keras models of Conv2D with
//! BatchNormalization or LayerNormalization and Dense, channels-last, with the outputs
//! `model.predict` gave.

use typenn::persist::{LoadError, LoadOptions};
use typenn::prelude::*;

#[path = "fixtures/pytorch_iris_outputs.rs"]
mod pytorch;

#[path = "fixtures/keras_iris_outputs.rs"]
mod keras;

#[allow(dead_code)]
mod keras_conv {
    include!("fixtures/keras_conv_norm_outputs.rs");
}

network! {
    /// PyTorch's `nn.Sequential(Linear(4, 8), ReLU(), Linear(8, 8), Tanh(), Linear(8, 3))`.
    #[derive(Debug)]
    struct TorchIris(Dense<4, 8, Relu>, Dense<8, 8, Tanh>, Dense<8, 3>);
}

network! {
    /// Keras's `Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3)])`.
    #[derive(Debug)]
    struct KerasIris(Dense<4, 8, Relu>, Dense<8, 3>);
}

network! {
    /// Keras's `Sequential([Input((6, 6, 2)), Conv2D(3, 3), BatchNormalization(), tanh,
    /// GlobalAveragePooling2D(), Dense(4), BatchNormalization(), relu, Dense(2)])`, over
    /// typenn's (C, H, W) samples.
    #[input_shape(2, 6, 6)]
    struct KerasConvBn(
        Conv2d<2, 3, 3>,
        BatchNorm,
        Tanh,
        GlobalAvgPool,
        Dense<3, 4>,
        BatchNorm,
        Relu,
        Dense<4, 2>,
    );
}

network! {
    /// Keras's `Sequential([Input((6, 6, 2)), Conv2D(3, 2), LayerNormalization(axis=[1, 2, 3]),
    /// tanh, GlobalAveragePooling2D(), Dense(2)])`, over typenn's (C, H, W) samples.
    #[input_shape(2, 6, 6)]
    struct KerasConvLn(Conv2d<2, 3, 2>, LayerNorm, Tanh, GlobalAvgPool, Dense<3, 2>);
}

network! {
    /// Keras's `Sequential([Input((6, 6, 2)), Conv2D(3, 3), tanh, Flatten(), Dropout(0.25),
    /// Dense(2)])`, over typenn's (C, H, W) samples.
    #[input_shape(2, 6, 6)]
    struct KerasConvFlatten(Conv2d<2, 3, 3>, Tanh, Flatten, Dropout<25>, Dense<48, 2>);
}

const PYTORCH_F32: &[u8] = include_bytes!("fixtures/pytorch_iris.safetensors");
const PYTORCH_F64: &[u8] = include_bytes!("fixtures/pytorch_iris_f64.safetensors");
const KERAS_F32: &[u8] = include_bytes!("fixtures/keras_iris.safetensors");

/// `|found - expected| <= tolerance * max(1, |expected|)` for every output.
fn assert_close<T: typenn::Scalar, const W: usize>(
    found: &SVector<T, W>,
    expected: &[T; W],
    tolerance: f64,
) {
    for (i, (&f, &e)) in found.iter().zip(expected).enumerate() {
        let (f, e) = (f.as_f64(), e.as_f64());
        assert!(
            (f - e).abs() <= tolerance * e.abs().max(1.0),
            "output {i}: typenn {f}, reference {e}"
        );
    }
}

#[test]
fn pytorch_sequential_f32_reproduces_torch_outputs() -> Result<(), LoadError> {
    let mut model = TorchIris::zeros();
    model.load_safetensors(
        PYTORCH_F32,
        &LoadOptions::new().sequential_indices(&[0, 2, 4]),
    )?;
    for (input, expected) in pytorch::INPUTS.iter().zip(&pytorch::OUTPUTS) {
        assert_close(&model.forward(&SVector::from(*input)), expected, 1e-5);
    }
    Ok(())
}

#[test]
fn pytorch_sequential_f64_reproduces_torch_outputs() -> Result<(), LoadError> {
    let mut model = TorchIris::<f64>::zeros();
    model.load_safetensors(
        PYTORCH_F64,
        &LoadOptions::new().sequential_indices(&[0, 2, 4]),
    )?;
    for (input, expected) in pytorch::INPUTS_F64.iter().zip(&pytorch::OUTPUTS_F64) {
        assert_close(&model.forward(&SVector::from(*input)), expected, 1e-12);
    }
    Ok(())
}

#[test]
fn keras_dense_kernels_are_transposed_on_import() -> Result<(), LoadError> {
    let mut model = KerasIris::zeros();
    model.load_safetensors(
        KERAS_F32,
        &LoadOptions::new().keras_layers(&["dense", "dense_1"]),
    )?;
    for (input, expected) in keras::INPUTS.iter().zip(&keras::OUTPUTS) {
        assert_close(&model.forward(&SVector::from(*input)), expected, 1e-5);
    }
    // Classes by argmax agree with the labels except on row 133, which both models get wrong.
    let predicted: Vec<usize> = keras::INPUTS
        .iter()
        .map(|x| model.forward(&SVector::from(*x)).argmax().0)
        .collect();
    assert_eq!(predicted, [0, 1, 1, 2, 1]);
    Ok(())
}

/// A Conv2D kernel `(kh, kw, in, out)` and a Dense kernel `(in, out)` are permuted into
/// PyTorch's order, and BatchNormalization's `gamma`, `beta`, `moving_mean` and
/// `moving_variance` are read as `weight`, `bias`, `running_mean` and `running_var`. Keras is
/// channels-last for inputs too: the script transposed each (H, W, C) sample to (C, H, W), so
/// `INPUTS[n][(c * 6 + h) * 6 + w]` is Keras's `x[n, h, w, c]`; the outputs are
/// `model.predict`'s, in inference, from the moving statistics.
#[test]
fn keras_conv2d_batch_norm_and_dense_give_keras_predictions() -> Result<(), LoadError> {
    let mut model = KerasConvBn::zeros();
    let layers = [
        "conv2d",
        "batch_normalization",
        "dense",
        "batch_normalization_1",
        "dense_1",
    ];
    model.load_safetensors(
        include_bytes!("fixtures/keras_conv_bn.safetensors"),
        &LoadOptions::new().keras_layers(&layers),
    )?;
    assert!(
        model.1.running_var.iter().all(|&v| v != 1.0),
        "moving_variance read"
    );
    for (input, expected) in keras_conv::conv_bn::INPUTS
        .iter()
        .zip(&keras_conv::conv_bn::OUTPUTS)
    {
        let x = SVector::<f32, 72>::from_fn(|i, _| input[i] as f32);
        let expected = expected.map(|value| value as f32);
        assert_close(&model.forward(&x), &expected, 1e-5);
    }
    Ok(())
}

/// LayerNormalization over a whole (H, W, C) sample keeps `gamma` and `beta` as (5, 5, 3),
/// channels last; typenn's `LayerNorm` (PyTorch's) keeps them as (3, 5, 5), so they are
/// permuted on the way in as the input is (see above).
#[test]
fn keras_layer_normalization_over_a_sample_is_permuted_to_channels_first() -> Result<(), LoadError>
{
    let mut model = KerasConvLn::zeros();
    model.load_safetensors(
        include_bytes!("fixtures/keras_conv_ln.safetensors"),
        &LoadOptions::new().keras_layers(&["conv2d", "layer_normalization", "dense"]),
    )?;
    for (input, expected) in keras_conv::conv_ln::INPUTS
        .iter()
        .zip(&keras_conv::conv_ln::OUTPUTS)
    {
        let x = SVector::<f32, 72>::from_fn(|i, _| input[i] as f32);
        let expected = expected.map(|value| value as f32);
        assert_close(&model.forward(&x), &expected, 1e-5);
    }
    Ok(())
}

/// Keras's `Flatten` numbers the (4, 4, 3) channels-last output (h, w, c), typenn's the
/// (3, 4, 4) output (c, h, w): the Dense kernel's rows are permuted on the way in, through the
/// flattened shape the network reports for that weight.
#[test]
fn a_dense_kernel_after_a_keras_flatten_takes_its_inputs_channels_last() -> Result<(), LoadError> {
    assert_eq!(
        <KerasConvFlatten as typenn::Parameters<f32>>::flattened_input(2),
        [3, 4, 4]
    );
    assert!(<KerasConvFlatten as typenn::Parameters<f32>>::flattened_input(0).is_empty());
    let mut model = KerasConvFlatten::zeros();
    model.load_safetensors(
        include_bytes!("fixtures/keras_conv_flatten.safetensors"),
        &LoadOptions::new().keras_layers(&["conv2d", "dense"]),
    )?;
    for (input, expected) in keras_conv::conv_flatten::INPUTS
        .iter()
        .zip(&keras_conv::conv_flatten::OUTPUTS)
    {
        let x = SVector::<f32, 72>::from_fn(|i, _| input[i] as f32);
        let expected = expected.map(|value| value as f32);
        assert_close(&model.forward(&x), &expected, 1e-5);
    }
    Ok(())
}

#[test]
fn the_reference_inputs_are_the_iris_rows_they_name() {
    let csv = std::fs::read_to_string("examples/data/iris.csv").expect("the bundled iris data");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    for (fixture_rows, inputs, labels) in [
        (pytorch::ROWS, pytorch::INPUTS, pytorch::LABELS),
        (keras::ROWS, keras::INPUTS, keras::LABELS),
    ] {
        for ((&row, input), &label) in fixture_rows.iter().zip(&inputs).zip(&labels) {
            let fields: Vec<f32> = rows[row]
                .split(',')
                .map(|field| field.parse().expect("a number"))
                .collect();
            assert_eq!(&fields[..4], input, "row {row}");
            assert_eq!(fields[4] as usize, label, "row {row}");
        }
    }
}

#[test]
fn mistaken_mappings_are_typed_errors_and_leave_the_network_alone() {
    let mut model = KerasIris::zeros();
    // PyTorch's names are not Keras's.
    let error = model.load_safetensors(
        PYTORCH_F32,
        &LoadOptions::new().keras_layers(&["dense", "dense_1"]),
    );
    assert!(
        matches!(error, Err(LoadError::MissingTensor { .. })),
        "{error:?}"
    );
    // Keras kernels read as PyTorch weights have their dimensions swapped.
    let error = model.load_safetensors(
        KERAS_F32,
        &LoadOptions::new().rename(|name| {
            name.replacen("0.", "dense.", 1)
                .replacen("1.", "dense_1.", 1)
                .replace("weight", "kernel")
        }),
    );
    match error {
        Err(LoadError::WrongShape {
            expected, found, ..
        }) => assert_eq!((expected, found), (vec![8, 4], vec![4, 8])),
        other => panic!("expected a shape error, got {other:?}"),
    }
    // One name per layer.
    let error = model.load_safetensors(KERAS_F32, &LoadOptions::new().keras_layers(&["dense"]));
    assert!(
        matches!(
            error,
            Err(LoadError::IndexCount {
                layers: 2,
                indices: 1
            })
        ),
        "{error:?}"
    );
    assert!(
        model
            .0
            .weights
            .iter()
            .chain(model.1.weights.iter())
            .all(|&w| w == 0.0)
    );
}
