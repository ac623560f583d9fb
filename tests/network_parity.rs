//! Whole networks of the layers beyond Dense against PyTorch: the forward pass in inference
//! (running statistics) and in training (batch statistics), the gradient of every parameter and
//! of the input, and 4 plain SGD steps with every parameter and BatchNorm's running statistics
//! after each step, then inference from the running statistics those steps left.
//!
//! `tests/reference/network_parity.py` builds each network as an `nn.Sequential` of the same
//! layers, so that PyTorch's `state_dict` names are typenn's, and writes the starting
//! `state_dict` with `safetensors.torch.save_file`: the networks here are loaded from those
//! files as they are. Dropout is left out of the trajectories (its mask is typenn's own random
//! draw); two more networks, with LayerNorm and Dropout, are imported and run in inference.
//! Every network is saved again here under PyTorch's names, dtypes and shapes.
//!
//! Between them the networks have Conv1d and Conv2d (stride, padding and dilation),
//! MaxPool1d, AvgPool1d, MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten, activation layers, and
//! BatchNorm over a convolution's channels (1-d and 2-d) and over a Dense layer's features.

#[path = "support/reference.rs"]
mod reference;

#[allow(dead_code)]
mod fixture {
    include!("fixtures/network_parity.rs");
}

use std::collections::BTreeMap;
use std::fmt::Display;

use reference::Check;
use typenn::layer::Stack;
use typenn::persist::Persist;
use typenn::prelude::*;
use typenn::{
    Columns, ColumnsMut, Layout, Loss, Network, Parameters, Phase, Scalar, TensorInfo, Workspace,
};
use typenn::{columns, columns_mut, flatten};

network! {
    /// (2, 16) -> Conv1d (stride 2, padding 1, dilation 2) -> (3, 7) -> BatchNorm over the
    /// channels -> Tanh -> MaxPool1d of 2 -> (3, 3) -> AvgPool1d of 3, stride 2, padding 1 ->
    /// (3, 2) -> Flatten -> 6 -> Dense -> 4 -> BatchNorm over the features -> Sigmoid -> 2.
    #[input_shape(2, 16)]
    struct Sequence(
        Conv1d<2, 3, 3, 2, 1, 2>,
        BatchNorm,
        Tanh,
        MaxPool1d<2>,
        AvgPool1d<3, 2, 1>,
        Flatten,
        Dense<6, 4>,
        BatchNorm,
        Sigmoid,
        Dense<4, 2>,
    );
}

network! {
    /// (2, 12, 12) -> Conv2d (stride 2, padding 1, dilation 2) -> (3, 5, 5) -> BatchNorm ->
    /// Tanh -> MaxPool2d of 2, stride 1 -> (3, 4, 4) -> AvgPool2d of 3, stride 2, padding 1 ->
    /// (3, 2, 2) -> GlobalAvgPool -> 3 -> Dense -> 2.
    #[input_shape(2, 12, 12)]
    struct Image(
        Conv2d<2, 3, 3, 2, 1, 2>,
        BatchNorm,
        Tanh,
        MaxPool2d<2, 1>,
        AvgPool2d<3, 2, 1>,
        GlobalAvgPool,
        Dense<3, 2>,
    );
}

network! {
    /// (2, 7) -> Conv1d -> (3, 5) -> LayerNorm over (3, 5) -> Dropout -> Tanh -> Flatten ->
    /// Dense -> 2.
    #[input_shape(2, 7)]
    struct Normed1d(Conv1d<2, 3, 3>, LayerNorm, Dropout<30>, Tanh, Flatten, Dense<15, 2>);
}

network! {
    /// (1, 5, 5) -> Conv2d -> (2, 3, 3) -> LayerNorm over (2, 3, 3) -> Dropout ->
    /// GlobalAvgPool -> Dense -> 1.
    #[input_shape(1, 5, 5)]
    struct Normed2d(Conv2d<1, 2, 3>, LayerNorm, Dropout<30>, GlobalAvgPool, Dense<2, 1>);
}

const SEQUENCE: &[u8] = include_bytes!("fixtures/network_parity_sequence.safetensors");
const IMAGE: &[u8] = include_bytes!("fixtures/network_parity_image.safetensors");
const SEQUENCE_F32: &[u8] = include_bytes!("fixtures/network_parity_sequence_f32.safetensors");
const NORMED_1D: &[u8] = include_bytes!("fixtures/network_parity_normed_1d.safetensors");
const NORMED_2D: &[u8] = include_bytes!("fixtures/network_parity_normed_2d.safetensors");

/// The check against PyTorch, and the worst relative error of each kind of figure (forward,
/// gradient, trajectory) for each tensor, printed at the end for the record.
struct Parity {
    check: Check,
    worst: BTreeMap<(&'static str, String), f64>,
}

impl Parity {
    fn new(tolerance: f64) -> Self {
        Self {
            check: Check::new(tolerance),
            worst: BTreeMap::new(),
        }
    }

    /// Checks one value; `kind` and `tensor` say where its error is counted.
    fn value(&mut self, kind: &'static str, tensor: &str, what: impl Display, got: f64, want: f64) {
        let error = (got - want).abs() / want.abs().max(1e-3);
        let worst = self.worst.entry((kind, tensor.to_owned())).or_insert(0.0);
        *worst = worst.max(error);
        self.check.value(what, got, want);
    }

    fn finish(self, name: &str) {
        for ((kind, tensor), error) in &self.worst {
            println!("{name}: {kind:>10} {tensor:<20} worst relative error {error:.2e}");
        }
        self.check.finish(name);
    }
}

/// One network's figures from the fixture.
struct Reference<'a, const IN: usize, const OUT: usize> {
    inputs: &'a [[f64; IN]; 5],
    targets: &'a [[f64; OUT]; 5],
    eval_before: &'a [[f64; OUT]; 5],
    training_outputs: &'a [[f64; OUT]; 5],
    loss: f64,
    gradients: &'a [(&'a str, &'a [f64])],
    input_gradient: &'a [[f64; IN]; 5],
    losses: &'a [f64; 4],
    steps: &'a [&'a [(&'a str, &'a [f64])]; 4],
    eval_after: &'a [[f64; OUT]; 5],
}

macro_rules! reference {
    ($case:ident) => {
        Reference {
            inputs: &fixture::$case::INPUTS,
            targets: &fixture::$case::TARGETS,
            eval_before: &fixture::$case::EVAL_BEFORE,
            training_outputs: &fixture::$case::TRAINING_OUTPUTS,
            loss: fixture::$case::LOSS,
            gradients: fixture::$case::GRADIENTS,
            input_gradient: &fixture::$case::INPUT_GRADIENT,
            losses: &fixture::$case::LOSSES,
            steps: &fixture::$case::STEPS,
            eval_after: &fixture::$case::EVAL_AFTER,
        }
    };
}

/// Position in the network's slice of the value at `position` of PyTorch's row-major data.
fn slice_position(info: &TensorInfo, position: usize) -> usize {
    match (info.layout, info.shape) {
        (Layout::ColumnMajor, &[rows, cols]) => (position % cols) * rows + position / cols,
        _ => position,
    }
}

/// Compares `got` (a tensor of the network, laid out as `info` says) with PyTorch's tensor of
/// the same name in `want`.
fn compare_tensor<T: Scalar>(
    check: &mut Parity,
    kind: &'static str,
    what: &str,
    info: &TensorInfo,
    got: &[T],
    want: &[(&str, &[f64])],
) {
    let name = info.full_name();
    let Some((_, values)) = want.iter().find(|(key, _)| *key == name) else {
        panic!("{what}: PyTorch has no tensor {name}");
    };
    assert_eq!(got.len(), values.len(), "{what}: {name}");
    for (position, &value) in values.iter().enumerate() {
        let found = got[slice_position(info, position)].as_f64();
        check.value(
            kind,
            &name,
            format_args!("{what} {name}[{position}]"),
            found,
            value,
        );
    }
}

/// Every parameter and buffer of `model` against `want`, which must hold nothing else.
fn compare_state<T: Scalar, N: Parameters<T>>(
    check: &mut Parity,
    what: &str,
    model: &N,
    want: &[(&str, &[f64])],
) {
    assert_eq!(N::TENSORS + N::BUFFERS, want.len(), "{what}: tensor count");
    for index in 0..N::TENSORS {
        let info = N::tensor_info(index).expect("a tensor below TENSORS");
        compare_tensor(check, "trajectory", what, &info, model.tensor(index), want);
    }
    for index in 0..N::BUFFERS {
        let info = N::buffer_info(index).expect("a buffer below BUFFERS");
        compare_tensor(check, "trajectory", what, &info, model.buffer(index), want);
    }
}

fn compare_rows<T: Scalar, const W: usize>(
    check: &mut Parity,
    kind: &'static str,
    what: &'static str,
    got: &[T],
    want: &[[f64; W]],
) {
    assert_eq!(got.len(), W * want.len(), "{what}");
    for (s, (row, want)) in got.chunks_exact(W).zip(want).enumerate() {
        for (i, (&a, &b)) in row.iter().zip(want).enumerate() {
            check.value(
                kind,
                what,
                format_args!("{what} sample {s}[{i}]"),
                a.as_f64(),
                b,
            );
        }
    }
}

/// The training-mode pass of `gradients` (dropout seeded with 0, batch statistics), keeping
/// what `gradients` does not return: the outputs and the gradient with respect to the input.
fn training_pass<T: Scalar, N: Network<T, IN, OUT>, const IN: usize, const OUT: usize>(
    model: &N,
    xs: &[SVector<T, IN>],
    ys: &[SVector<T, OUT>],
) -> (Vec<T>, Vec<T>) {
    let batch = xs.len();
    let mut workspace = Workspace::new();
    let mut scratch = workspace.take(<N::Layers<'_> as Stack<T, IN, OUT>>::scratch_len(
        batch, true,
    ));
    let mut outputs = Vec::new();
    let mut finish = |output: Columns<'_, T, OUT>, gradient: ColumnsMut<'_, T, OUT>| {
        outputs = output.as_slice().to_vec();
        let _ = Mse.loss_and_gradient(output, columns(flatten(ys)), gradient);
    };
    let mut input_gradient = vec![T::zero(); IN * batch];
    let _ = model.layers().train_batch(
        columns(flatten(xs)),
        &mut scratch,
        &mut Phase::training(0),
        None,
        Some(columns_mut(&mut input_gradient)),
        &mut finish,
    );
    (outputs, input_gradient)
}

/// How close typenn must come to PyTorch.
struct Tolerance {
    /// Relative error (against `max(|PyTorch's value|, 1e-3)`) of every figure.
    relative: f64,
    /// Tensors whose gradient is zero in exact arithmetic: the bias of a layer that BatchNorm
    /// follows, which the batch mean takes away. Both sides hold rounding noise, so those are
    /// checked to be below `noise` rather than against each other.
    zero_gradients: &'static [&'static str],
    noise: f64,
}

/// Each value of `got` and of PyTorch's tensor of the same name is at most `noise`.
fn assert_rounding_noise<T: Scalar>(
    info: &TensorInfo,
    got: &[T],
    want: &[(&str, &[f64])],
    noise: f64,
) {
    let name = info.full_name();
    let values = want.iter().find(|(key, _)| *key == name).map(|(_, v)| *v);
    let values = values.unwrap_or_else(|| panic!("PyTorch has no tensor {name}"));
    assert_eq!(got.len(), values.len(), "{name}");
    for (i, (&a, &b)) in got.iter().zip(values).enumerate() {
        assert!(
            a.as_f64().abs() <= noise && b.abs() <= noise,
            "gradient {name}[{i}]: typenn {a:?}, PyTorch {b:e}, expected both at most {noise:e}"
        );
    }
}

/// The whole comparison for a network loaded from PyTorch's starting `state_dict`.
fn check_against_pytorch<T, N, const IN: usize, const OUT: usize>(
    name: &str,
    start: &[u8],
    reference: &Reference<'_, IN, OUT>,
    tolerance: &Tolerance,
) -> Result<(), Box<dyn std::error::Error>>
where
    T: Scalar,
    N: Network<T, IN, OUT> + Persist<T>,
{
    let mut model = N::from_safetensors_bytes(start)?;
    let xs: Vec<SVector<T, IN>> = reference::samples(reference.inputs);
    let ys: Vec<SVector<T, OUT>> = reference::samples(reference.targets);
    let mut check = Parity::new(tolerance.relative);

    let inferred: Vec<T> = xs
        .iter()
        .flat_map(|x| model.forward(x).as_slice().to_vec())
        .collect();
    compare_rows(
        &mut check,
        "forward",
        "inference before training",
        &inferred,
        reference.eval_before,
    );

    let (loss, gradients) = model.gradients(&xs, &ys, &Mse)?;
    check.value("forward", "loss", "loss", loss.as_f64(), reference.loss);
    for index in 0..<N::Gradients as Parameters<T>>::TENSORS {
        let info = <N::Gradients as Parameters<T>>::tensor_info(index).ok_or("no gradient info")?;
        let got = gradients.tensor(index);
        if tolerance
            .zero_gradients
            .contains(&info.full_name().as_str())
        {
            assert_rounding_noise(&info, got, reference.gradients, tolerance.noise);
        } else {
            compare_tensor(
                &mut check,
                "gradient",
                "gradient",
                &info,
                got,
                reference.gradients,
            );
        }
    }
    assert_eq!(
        N::TENSORS,
        reference.gradients.len(),
        "{name}: gradient count"
    );
    let (outputs, input_gradient) = training_pass(&model, &xs, &ys);
    compare_rows(
        &mut check,
        "forward",
        "training output",
        &outputs,
        reference.training_outputs,
    );
    compare_rows(
        &mut check,
        "gradient",
        "input gradient",
        &input_gradient,
        reference.input_gradient,
    );

    let mut trainer = model.trainer(Mse, Sgd::new(fixture::LEARNING_RATE))?;
    for (step, (&want, state)) in reference.losses.iter().zip(reference.steps).enumerate() {
        let loss = trainer.step(&mut model, &xs, &ys)?;
        check.value(
            "trajectory",
            "loss",
            format_args!("loss before step {step}"),
            loss.as_f64(),
            want,
        );
        compare_state(&mut check, &format!("after step {step}"), &model, state);
    }
    let inferred: Vec<T> = xs
        .iter()
        .flat_map(|x| model.forward(x).as_slice().to_vec())
        .collect();
    compare_rows(
        &mut check,
        "trajectory",
        "inference after training",
        &inferred,
        reference.eval_after,
    );
    check.finish(name);
    Ok(())
}

#[test]
fn a_1d_network_matches_pytorch_in_f64() -> Result<(), Box<dyn std::error::Error>> {
    check_against_pytorch::<f64, Sequence<f64>, 32, 2>(
        "Sequence (f64) against PyTorch",
        SEQUENCE,
        &reference!(sequence),
        &Tolerance {
            relative: 1e-12,
            zero_gradients: &["0.bias", "6.bias"],
            noise: 1e-14,
        },
    )
}

#[test]
fn a_2d_network_matches_pytorch_in_f64() -> Result<(), Box<dyn std::error::Error>> {
    check_against_pytorch::<f64, Image<f64>, 288, 2>(
        "Image (f64) against PyTorch",
        IMAGE,
        &reference!(image),
        &Tolerance {
            relative: 1e-12,
            zero_gradients: &["0.bias"],
            noise: 1e-14,
        },
    )
}

/// PyTorch's float32 run from the same start rounded to float32: both sum in another order,
/// and dividing by a batch's standard deviation magnifies the rounding.
#[test]
fn the_1d_network_matches_pytorch_in_f32() -> Result<(), Box<dyn std::error::Error>> {
    check_against_pytorch::<f32, Sequence<f32>, 32, 2>(
        "Sequence (f32) against PyTorch",
        SEQUENCE_F32,
        &reference!(sequence_f32),
        &Tolerance {
            relative: 1e-4,
            zero_gradients: &["0.bias", "6.bias"],
            noise: 1e-6,
        },
    )
}

/// LayerNorm over (C, L) and over (C, H, W), and Dropout at its own index, as `nn.Sequential`
/// numbers it, from PyTorch's `state_dict` files: inference (dropout the identity) gives the
/// outputs of PyTorch's eval mode.
#[test]
fn layer_norm_and_dropout_networks_import_from_pytorch() -> Result<(), Box<dyn std::error::Error>> {
    fn outputs<N: Network<f64, IN, OUT>, const IN: usize, const OUT: usize>(
        model: &N,
        inputs: &[[f64; IN]],
    ) -> Vec<f64> {
        let xs: Vec<SVector<f64, IN>> = reference::samples(inputs);
        xs.iter()
            .flat_map(|x| model.forward(x).as_slice().to_vec())
            .collect()
    }
    let mut check = Parity::new(1e-12);
    let model = Normed1d::<f64>::from_safetensors_bytes(NORMED_1D)?;
    let got = outputs(&model, &fixture::normed_1d::INPUTS);
    compare_rows(
        &mut check,
        "forward",
        "Normed1d",
        &got,
        &fixture::normed_1d::EVAL,
    );
    let model = Normed2d::<f64>::from_safetensors_bytes(NORMED_2D)?;
    let got = outputs(&model, &fixture::normed_2d::INPUTS);
    compare_rows(
        &mut check,
        "forward",
        "Normed2d",
        &got,
        &fixture::normed_2d::EVAL,
    );
    check.finish("LayerNorm and Dropout imported from PyTorch");
    Ok(())
}

/// Name, dtype and shape of every tensor in a safetensors file but PyTorch's
/// `num_batches_tracked`, which typenn ignores and does not write.
fn header_tensors(bytes: &[u8]) -> BTreeMap<String, (String, Vec<usize>)> {
    let len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + len]).expect("a JSON header");
    let entries = header.as_object().expect("a JSON object");
    entries
        .iter()
        .filter(|(name, _)| *name != "__metadata__" && !name.ends_with("num_batches_tracked"))
        .map(|(name, entry)| {
            let dtype = entry["dtype"].as_str().expect("a dtype").to_owned();
            let shape = entry["shape"].as_array().expect("a shape");
            let shape = shape.iter().map(|d| d.as_u64().expect("a length") as usize);
            (name.clone(), (dtype, shape.collect()))
        })
        .collect()
}

/// typenn writes what PyTorch's `state_dict` holds, under the same names, dtypes and shapes,
/// for every layer kind here: Conv1d, Conv2d, BatchNorm over channels and features, LayerNorm
/// over (C, L) and (C, H, W), Dense, and the layers without tensors in between.
#[test]
fn networks_save_under_the_names_and_shapes_of_pytorchs_state_dict()
-> Result<(), Box<dyn std::error::Error>> {
    fn same<N: Persist<T>, T: Scalar>(torch: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
        let ours = N::from_safetensors_bytes(torch)?.to_safetensors_bytes()?;
        let (ours, torch) = (header_tensors(&ours), header_tensors(torch));
        assert!(torch.len() >= 4, "{torch:?}");
        assert_eq!(ours, torch);
        Ok(())
    }
    same::<Sequence<f64>, f64>(SEQUENCE)?;
    same::<Image<f64>, f64>(IMAGE)?;
    same::<Sequence<f32>, f32>(SEQUENCE_F32)?;
    same::<Normed1d<f64>, f64>(NORMED_1D)?;
    same::<Normed2d<f64>, f64>(NORMED_2D)
}
