//! RTNeural's `conv1d` layers: RTNeural's own convolution test models and data
//! (tests/fixtures/rtneural_conv/, copied from RTNeural with its licence by
//! tests/reference/rtneural_conv_fixtures.py, which also records RTNeural's own outputs) load
//! into declared networks and stream the outputs TensorFlow, PyTorch and RTNeural computed for
//! them; a file whose convolution does not match the network's is an error naming the layer and
//! both shapes or settings.

use serde_json::{Value, json};
use typenn::Scalar;
use typenn::persist::RtNeuralError;
use typenn::prelude::*;

const CONV: &str = include_str!("fixtures/rtneural_conv/conv.json");
const CONV_X: &str = include_str!("fixtures/rtneural_conv/conv_x_python.csv");
const CONV_Y_TENSORFLOW: &str = include_str!("fixtures/rtneural_conv/conv_y_python.csv");
const CONV_Y_RTNEURAL: &str = include_str!("fixtures/rtneural_conv/conv_rtneural_outputs.csv");
const TORCH: &str = include_str!("fixtures/rtneural_conv/conv1d_torch.json");
const TORCH_X: &str = include_str!("fixtures/rtneural_conv/conv1d_torch_x_python.csv");
const TORCH_Y: &str = include_str!("fixtures/rtneural_conv/conv1d_torch_y_python.csv");

/// The rows of a CSV file, comma-separated numbers.
fn rows(csv: &str) -> Vec<Vec<f64>> {
    csv.lines()
        .map(|line| {
            line.split(',')
                .filter_map(|v| v.trim().parse().ok())
                .collect()
        })
        .collect()
}

/// One number per line.
fn column(csv: &str) -> Vec<f64> {
    rows(csv).into_iter().flatten().collect()
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or_default()
}

/// An RTNeural model of `layers` taking `width` inputs a step.
fn model(width: usize, layers: &[Value]) -> String {
    json!({ "in_shape": [null, null, width], "layers": layers }).to_string()
}

// conv.json is Dense(8, tanh), Conv1D(4, 3, tanh), BatchNormalization, PReLU, Conv1D(4, 1,
// tanh), Conv1D(6, 3, dilation 2, groups 2, tanh), BatchNormalization, PReLU, Dense(1,
// sigmoid). typenn has no streaming batch normalization or PReLU: the networks are the runs of
// layers between them, and the test applies those two per-channel maps itself.

network! {
    /// conv.json's layers 0 and 1.
    struct Front {
        input: Dense<1, 8, Tanh>,
        conv: CausalConv1d<8, 4, 3, Tanh>,
    }
}

network! {
    /// conv.json's layers 4 and 5.
    struct Middle {
        pointwise: CausalConv1d<4, 4, 1, Tanh>,
        dilated: CausalConv1d<4, 6, 3, 2, Tanh>,
    }
}

network! {
    /// conv.json's layer 8.
    struct Back(Dense<6, 1, Sigmoid>);
}

/// Keras's BatchNormalization at inference followed by PReLU, channel by channel, from
/// conv.json's layers `norm` and `prelu`, as RTNeural computes them.
struct NormThenPrelu {
    scale: Vec<f64>,
    shift: Vec<f64>,
    alpha: Vec<f64>,
}

impl NormThenPrelu {
    fn new(norm: &Value, prelu: &Value) -> Self {
        let vector = |value: &Value| -> Vec<f64> {
            value
                .as_array()
                .map(|items| items.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        let weights: Vec<Vec<f64>> = norm["weights"]
            .as_array()
            .map(|arrays| arrays.iter().map(vector).collect())
            .unwrap_or_default();
        let epsilon = norm["epsilon"].as_f64().unwrap_or(f64::NAN);
        // [gamma, beta, mean, variance], or [mean, variance] without center and scale.
        let (gamma, beta, mean, variance) = match weights.as_slice() {
            [gamma, beta, mean, variance] => (gamma.clone(), beta.clone(), mean, variance),
            [mean, variance] => (vec![1.0; mean.len()], vec![0.0; mean.len()], mean, variance),
            _ => panic!("conv.json's batchnorm has {} arrays", weights.len()),
        };
        let scale: Vec<f64> = (0..mean.len())
            .map(|c| gamma[c] / (variance[c] + epsilon).sqrt())
            .collect();
        let shift = (0..mean.len())
            .map(|c| beta[c] - mean[c] * scale[c])
            .collect();
        // PReLU's alpha is [[a0, a1, ...]], or [[a]] shared by every channel.
        let alpha = vector(&prelu["weights"][0][0]);
        let alpha = if alpha.len() == 1 {
            vec![alpha[0]; mean.len()]
        } else {
            alpha
        };
        assert_eq!(alpha.len(), mean.len());
        Self {
            scale,
            shift,
            alpha,
        }
    }

    fn apply<T: Scalar, const N: usize>(&self, x: &SVector<T, N>) -> SVector<T, N> {
        assert_eq!(self.scale.len(), N);
        SVector::from_fn(|c, _| {
            let y = self.scale[c] * x[c].as_f64() + self.shift[c];
            T::cast_from(if y > 0.0 { y } else { self.alpha[c] * y })
        })
    }
}

/// A grouped conv1d layer of `inputs` input channels with its groups written out as one
/// convolution whose weights between groups are zero: output group `g` reads input group `g`
/// only.
fn ungrouped(layer: &Value, inputs: usize) -> Value {
    let mut layer = layer.clone();
    let groups = layer["groups"].as_u64().unwrap_or(0) as usize;
    let kernel = layer["weights"][0].clone();
    let taps = kernel.as_array().map_or(0, Vec::len);
    let per_group_in = kernel[0].as_array().map_or(0, Vec::len);
    let outputs = kernel[0][0].as_array().map_or(0, Vec::len);
    assert_eq!((groups, per_group_in * groups), (2, inputs));
    let per_group_out = outputs / groups;
    let full: Vec<Vec<Vec<f64>>> = (0..taps)
        .map(|k| {
            (0..inputs)
                .map(|c| {
                    (0..outputs)
                        .map(|o| {
                            if c / per_group_in == o / per_group_out {
                                kernel[k][c % per_group_in][o].as_f64().unwrap_or(f64::NAN)
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    layer["weights"][0] = json!(full);
    layer["groups"] = json!(1);
    layer
}

/// conv.json as the three networks and the two maps between them.
struct Conv<T: Scalar> {
    front: Front<T>,
    first_norm: NormThenPrelu,
    middle: Middle<T>,
    second_norm: NormThenPrelu,
    back: Back<T>,
}

impl<T: Scalar> Conv<T> {
    fn load() -> Result<Self, RtNeuralError> {
        let file = parse(CONV);
        let layers = file["layers"].as_array().cloned().unwrap_or_default();
        assert_eq!(layers.len(), 9);
        let middle = [layers[4].clone(), ungrouped(&layers[5], 4)];
        Ok(Self {
            front: Front::from_rtneural_json(&model(1, &layers[0..2]))?,
            first_norm: NormThenPrelu::new(&layers[2], &layers[3]),
            middle: Middle::from_rtneural_json(&model(4, &middle))?,
            second_norm: NormThenPrelu::new(&layers[6], &layers[7]),
            back: Back::from_rtneural_json(&model(6, &layers[8..9]))?,
        })
    }

    /// Streams conv.json's input through, one output a step.
    fn outputs(&self) -> Vec<f64> {
        let mut front = FrontState::zeros();
        let mut middle = MiddleState::zeros();
        column(CONV_X)
            .iter()
            .map(|&x| {
                let h = self
                    .front
                    .step(&mut front, &SVector::from([T::cast_from(x)]));
                let h = self.first_norm.apply(&h);
                let h = self.middle.step(&mut middle, &h);
                let h = self.second_norm.apply(&h);
                self.back.forward(&h)[0].as_f64()
            })
            .collect()
    }
}

/// The largest difference between `got` and `expected`, printed for the report.
fn largest_error(label: &str, got: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(got.len(), expected.len(), "{label}");
    let largest = got
        .iter()
        .zip(expected)
        .map(|(g, e)| (g - e).abs())
        .fold(0.0, f64::max);
    println!(
        "{label}: largest difference {largest:e} over {} values",
        got.len()
    );
    largest
}

#[test]
fn rtneurals_conv_model_gives_tensorflows_and_rtneurals_outputs() -> Result<(), RtNeuralError> {
    let tensorflow = column(CONV_Y_TENSORFLOW);
    let rtneural = column(CONV_Y_RTNEURAL);
    assert_eq!((tensorflow.len(), rtneural.len()), (100, 100));
    let outputs = Conv::<f64>::load()?.outputs();
    assert!(largest_error("conv.json f64 vs RTNeural (double)", &outputs, &rtneural) < 1e-13);
    assert!(
        largest_error(
            "conv.json f64 vs TensorFlow (float32)",
            &outputs,
            &tensorflow
        ) < 1e-7
    );
    let outputs = Conv::<f32>::load()?.outputs();
    assert!(largest_error("conv.json f32 vs RTNeural (double)", &outputs, &rtneural) < 1e-6);
    assert!(
        largest_error(
            "conv.json f32 vs TensorFlow (float32)",
            &outputs,
            &tensorflow
        ) < 1e-6
    );
    Ok(())
}

network! {
    /// conv1d_torch.json: PyTorch's nn.Conv1d(1, 12, 5).
    struct Bank(CausalConv1d<1, 12, 5>);
}

/// conv1d_torch.json's state_dict as RTNeural's exporter writes the same convolution: Keras's
/// kernel `[KERNEL, in, out]` is PyTorch's weight `[out, in, KERNEL]` with its axes reversed.
fn torch_as_rtneural() -> String {
    let state = parse(TORCH);
    let weight = &state["weight"];
    let kernel: Vec<Vec<Vec<f64>>> = (0..5)
        .map(|k| {
            vec![
                (0..12)
                    .map(|o| weight[o][0][k].as_f64().unwrap_or(f64::NAN))
                    .collect(),
            ]
        })
        .collect();
    let layer = json!({
        "type": "conv1d", "activation": "", "shape": [null, null, 12],
        "kernel_size": [5], "dilation": [1], "groups": 1,
        "weights": [kernel, state["bias"]],
    });
    model(1, &[layer])
}

#[test]
fn rtneurals_pytorch_convolution_gives_pytorchs_outputs() -> Result<(), RtNeuralError> {
    // PyTorch's "valid" outputs: row o holds channel o for the windows ending at steps 4 to 999.
    let torch = rows(TORCH_Y);
    assert_eq!((torch.len(), torch[0].len()), (12, 996));
    let expected: Vec<f64> = (0..996)
        .flat_map(|t| torch.iter().map(move |row| row[t]))
        .collect();
    let run = |bank: &Bank<f64>| -> Vec<f64> {
        let mut state = BankState::zeros();
        let ys: Vec<SVector<f64, 12>> = column(TORCH_X)
            .iter()
            .map(|&x| bank.step(&mut state, &SVector::from([x])))
            .collect();
        ys[4..].iter().flat_map(|y| y.iter().copied()).collect()
    };
    let bank = Bank::<f64>::from_rtneural_json(&torch_as_rtneural())?;
    assert!(
        largest_error(
            "conv1d_torch.json f64 vs PyTorch (float64)",
            &run(&bank),
            &expected
        ) < 1e-13
    );
    // The taps the other way round compute something else: the order is what the test checks.
    let mut reversed = bank.clone();
    reversed.0.weight.reverse();
    assert!(largest_error("reversed taps", &run(&reversed), &expected) > 0.1);
    Ok(())
}

/// Loads `json` into a fresh `N`, checks that the network is unchanged, returns the error.
fn refusal<N: Persist<f64> + Parameters<f64> + PartialEq + core::fmt::Debug>(
    json: &str,
) -> RtNeuralError {
    let mut network = N::zeros();
    let error = network.load_rtneural_json(json).err();
    assert_eq!(network, N::zeros(), "the network was written to");
    let Some(error) = error else {
        panic!("the file was accepted");
    };
    println!("{error}");
    error
}

/// conv.json's first two layers, the model `Front` takes.
fn front_json() -> Value {
    let file = parse(CONV);
    let layers = file["layers"].as_array().cloned().unwrap_or_default();
    parse(&model(1, &layers[0..2]))
}

network! {
    /// A kernel of 5 taps where the file's has 3.
    struct LongKernel {
        input: Dense<1, 8, Tanh>,
        conv: CausalConv1d<8, 4, 5, Tanh>,
    }
}

network! {
    /// Dilation 2 where the file's is 1.
    struct Dilated {
        input: Dense<1, 8, Tanh>,
        conv: CausalConv1d<8, 4, 3, 2, Tanh>,
    }
}

network! {
    /// Five output channels where the file has 4.
    struct FiveOut {
        input: Dense<1, 8, Tanh>,
        conv: CausalConv1d<8, 5, 3, Tanh>,
    }
}

network! {
    /// A convolution of two input channels where the file's model takes one.
    struct TwoIn(CausalConv1d<2, 12, 5>);
}

#[test]
fn a_convolution_of_another_kernel_size_or_dilation_is_named() {
    let json = front_json().to_string();
    let error = refusal::<LongKernel<f64>>(&json);
    assert!(
        matches!(
            error,
            RtNeuralError::WrongSetting {
                index: 1,
                field: "conv",
                setting: "kernel_size",
                expected: 5,
                found: 3
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected `kernel_size` 5 in layer 1 of the file (`conv1d`, for the network's `conv`), \
         but found 3"
    );
    let error = refusal::<Dilated<f64>>(&json);
    assert!(
        matches!(
            error,
            RtNeuralError::WrongSetting {
                index: 1,
                field: "conv",
                setting: "dilation",
                expected: 2,
                found: 1
            }
        ),
        "{error:?}"
    );
    // conv.json's own grouped convolution, as the file has it.
    let file = parse(CONV);
    let layers = file["layers"].as_array().cloned().unwrap_or_default();
    let error = refusal::<Middle<f64>>(&model(4, &layers[4..6]));
    assert!(
        matches!(
            error,
            RtNeuralError::WrongSetting {
                index: 1,
                field: "dilated",
                setting: "groups",
                expected: 1,
                found: 2
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_convolution_of_other_channels_names_both_shapes() {
    let error = refusal::<FiveOut<f64>>(&front_json().to_string());
    assert!(
        matches!(&error, RtNeuralError::WrongShape { index: 1, kind, field: "conv", tensor: "shape", expected, found }
            if kind == "conv1d" && expected == &[5] && found == &[4]),
        "{error:?}"
    );
    let error = refusal::<TwoIn<f64>>(&torch_as_rtneural());
    assert!(
        matches!(&error, RtNeuralError::WrongShape { index: 0, tensor: "in_shape", expected, found, .. }
            if expected == &[2] && found == &[1]),
        "{error:?}"
    );
    // A kernel of 2 taps under a `kernel_size` of 3.
    let mut json = front_json();
    if let Some(taps) = json["layers"][1]["weights"][0].as_array_mut() {
        taps.pop();
    }
    let error = refusal::<Front<f64>>(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::WrongShape { index: 1, tensor: "kernel", expected, found, .. }
            if expected == &[3, 8, 4] && found == &[2, 8, 4]),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected `kernel` of shape [3, 8, 4] in layer 1 of the file (`conv1d`, for the \
         network's `conv`), but found shape [2, 8, 4]"
    );
}

#[test]
fn a_convolution_without_its_bias_or_settings_is_refused() {
    // RTNeural's reader needs the bias (`weights.at(1)`) and the settings.
    let mut json = front_json();
    if let Some(weights) = json["layers"][1]["weights"].as_array_mut() {
        weights.truncate(1);
    }
    let error = refusal::<Front<f64>>(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::WrongShape { index: 1, tensor: "weights", expected, found, .. }
            if expected == &[2] && found == &[1]),
        "{error:?}"
    );
    let mut json = front_json();
    if let Some(layer) = json["layers"][1].as_object_mut() {
        layer.remove("dilation");
    }
    let error = refusal::<Front<f64>>(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::Format { at, .. } if at == "layers[1].dilation"),
        "{error:?}"
    );
    // A missing `groups` is 1, as RTNeural reads it, and a bare number is read as a tuple is.
    let mut json = front_json();
    json["layers"][1]["kernel_size"] = json!(3);
    if let Some(layer) = json["layers"][1].as_object_mut() {
        layer.remove("groups");
    }
    assert!(Front::<f64>::from_rtneural_json(&json.to_string()).is_ok());
}

network! {
    /// The convolution's tanh as a layer of its own.
    struct SeparateTanh {
        input: Dense<1, 8, Tanh>,
        conv: CausalConv1d<8, 4, 3>,
        squash: Tanh,
    }
}

network! {
    /// Relu where the file's convolution has tanh.
    struct ReluConv {
        input: Dense<1, 8, Tanh>,
        conv: CausalConv1d<8, 4, 3, Relu>,
    }
}

#[test]
fn a_convolutions_activation_is_the_layers_or_the_next() -> Result<(), RtNeuralError> {
    let json = front_json().to_string();
    let together = Front::<f64>::from_rtneural_json(&json)?;
    let separate = SeparateTanh::<f64>::from_rtneural_json(&json)?;
    assert_eq!(separate.conv.weight, together.conv.weight);
    assert_eq!(separate.conv.bias, together.conv.bias);
    let error = refusal::<ReluConv<f64>>(&json);
    assert_eq!(
        error.to_string(),
        "expected a `relu` activation layer for the network's `conv`, but layer 1 of the file \
         is a `tanh` activation layer"
    );
    // Without an activation on either side, the file's tanh is a layer more.
    let mut json = front_json();
    json["layers"][1]["activation"] = json!("");
    let error = refusal::<Front<f64>>(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::MissingLayer { field: "conv", expected } if expected == "`tanh` activation"),
        "{error:?}"
    );
    Ok(())
}
