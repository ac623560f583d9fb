//! RTNeural's JSON model format: a model written by RTNeural's own Python exporter loads into
//! the declared network and gives the outputs RTNeural's own reader and layers give
//! (tests/reference/rtneural_export.py runs tests/reference/rtneural_driver.cpp), and a file
//! that does not match the network is an error naming the layer.

use typenn::Scalar;
use typenn::persist::RtNeuralError;
use typenn::prelude::*;

const MODEL: &str = include_str!("fixtures/rtneural_model.json");
const INPUTS: &str = include_str!("fixtures/rtneural_inputs.csv");
const OUTPUTS: &str = include_str!("fixtures/rtneural_outputs.csv");
const KERAS_OUTPUTS: &str = include_str!("fixtures/rtneural_keras_outputs.csv");

network! {
    /// The exported Keras model: Dense(4, tanh), GRU(6), LSTM(5), Dense(3, relu),
    /// Activation(sigmoid), Dense(2).
    struct Amp {
        input: Dense<2, 4, Tanh>,
        gru: Gru<4, 6>,
        lstm: Lstm<6, 5>,
        hidden: Dense<5, 3, Relu>,
        squash: Sigmoid,
        out: Dense<3, 2>,
    }
}

/// One time step per line, comma-separated.
fn rows(csv: &str) -> Vec<Vec<f64>> {
    csv.lines()
        .map(|line| line.split(',').filter_map(|v| v.parse().ok()).collect())
        .collect()
}

/// The largest difference from `expected` over the stream, printed for the report.
fn largest_error<T: Scalar>(label: &str, model: &Amp<T>, expected: &str) -> f64 {
    let mut state = AmpState::zeros();
    let mut largest = 0.0_f64;
    let expected = rows(expected);
    let inputs = rows(INPUTS);
    assert_eq!((inputs.len(), expected.len()), (24, 24));
    for (x, want) in inputs.iter().zip(&expected) {
        let y = model.step(&mut state, &SVector::from_fn(|i, _| T::cast_from(x[i])));
        assert_eq!(want.len(), 2);
        for (got, want) in y.iter().zip(want) {
            largest = largest.max((got.as_f64() - want).abs());
        }
    }
    println!("{label}: largest difference {largest:e}");
    largest
}

#[test]
fn an_rtneural_model_gives_rtneurals_outputs_in_f64() -> Result<(), RtNeuralError> {
    let model = Amp::<f64>::from_rtneural_json(MODEL)?;
    assert!(largest_error("RTNeural f64", &model, OUTPUTS) < 1e-12);
    Ok(())
}

#[test]
fn an_rtneural_model_gives_rtneurals_and_keras_outputs_in_f32() -> Result<(), RtNeuralError> {
    let model: Amp = Amp::from_rtneural_json(MODEL)?;
    assert!(largest_error("RTNeural f32", &model, OUTPUTS) < 1e-5);
    assert!(largest_error("Keras f32", &model, KERAS_OUTPUTS) < 1e-5);
    Ok(())
}

#[test]
fn open_reads_a_file_and_names_a_missing_one() -> Result<(), RtNeuralError> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rtneural_model.json"
    );
    let model = Amp::<f64>::open_rtneural(path)?;
    assert_eq!(model, Amp::<f64>::from_rtneural_json(MODEL)?);
    let error = Amp::<f64>::open_rtneural("no/such/model.json").err();
    assert!(matches!(error, Some(RtNeuralError::Io { .. })), "{error:?}");
    Ok(())
}

/// The fixture as JSON, to be edited into a broken file.
fn model_json() -> serde_json::Value {
    serde_json::from_str(MODEL).unwrap_or_default()
}

/// Loads `json` into a fresh `Amp`, checks that the network is unchanged, returns the error.
fn refusal(json: &str) -> RtNeuralError {
    let mut model = Amp::<f64>::zeros();
    let error = model.load_rtneural_json(json).err();
    assert_eq!(model, Amp::<f64>::zeros(), "the network was written to");
    let Some(error) = error else {
        panic!("the file was accepted");
    };
    println!("{error}");
    error
}

#[test]
fn a_weight_of_the_wrong_shape_names_the_layer_and_both_shapes() {
    let mut json = model_json();
    // The GRU's recurrent kernel loses a row: (5, 18) where (6, 18) is needed.
    if let Some(rows) = json["layers"][1]["weights"][1].as_array_mut() {
        rows.pop();
    }
    let error = refusal(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::WrongShape { index: 1, kind, field: "gru", tensor: "recurrent_kernel", expected, found }
            if kind == "gru" && expected == &[6, 18] && found == &[5, 18]),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected `recurrent_kernel` of shape [6, 18] in layer 1 of the file (`gru`, for the \
         network's `gru`), but found shape [5, 18]"
    );
}

network! {
    /// The GRU one unit wider than the file's.
    struct WideGru {
        input: Dense<2, 4, Tanh>,
        gru: Gru<4, 7>,
        lstm: Lstm<7, 5>,
        hidden: Dense<5, 3, Relu>,
        squash: Sigmoid,
        out: Dense<3, 2>,
    }
}

#[test]
fn a_layer_of_another_width_is_refused() {
    let error = WideGru::<f64>::from_rtneural_json(MODEL).err();
    assert!(
        matches!(&error, Some(RtNeuralError::WrongShape { index: 1, field: "gru", tensor: "shape", expected, found, .. })
            if expected == &[7] && found == &[6]),
        "{error:?}"
    );
}

network! {
    /// One Dense more than the file.
    struct Longer {
        input: Dense<2, 4, Tanh>,
        gru: Gru<4, 6>,
        lstm: Lstm<6, 5>,
        hidden: Dense<5, 3, Relu>,
        squash: Sigmoid,
        out: Dense<3, 2>,
        more: Dense<2, 2>,
    }
}

#[test]
fn a_layer_missing_from_the_file_is_named() {
    let error = Longer::<f64>::from_rtneural_json(MODEL).err();
    assert!(
        matches!(&error, Some(RtNeuralError::MissingLayer { field: "more", expected }) if expected == "dense"),
        "{error:?}"
    );
}

network! {
    /// The file without its last Dense.
    struct Shorter {
        input: Dense<2, 4, Tanh>,
        gru: Gru<4, 6>,
        lstm: Lstm<6, 5>,
        hidden: Dense<5, 3, Relu>,
        squash: Sigmoid,
    }
}

#[test]
fn a_layer_the_network_does_not_have_is_named() {
    let error = Shorter::<f64>::from_rtneural_json(MODEL).err();
    assert!(
        matches!(&error, Some(RtNeuralError::ExtraLayer { index: 5, found }) if found == "dense"),
        "{error:?}"
    );
}

network! {
    /// An LSTM where the file has its GRU.
    struct LstmFirst {
        input: Dense<2, 4, Tanh>,
        gru: Lstm<4, 6>,
        lstm: Lstm<6, 5>,
        hidden: Dense<5, 3, Relu>,
        squash: Sigmoid,
        out: Dense<3, 2>,
    }
}

network! {
    /// Tanh where the file's dense layer has relu.
    struct TanhHidden {
        input: Dense<2, 4, Tanh>,
        gru: Gru<4, 6>,
        lstm: Lstm<6, 5>,
        hidden: Dense<5, 3, Tanh>,
        squash: Sigmoid,
        out: Dense<3, 2>,
    }
}

#[test]
fn a_layer_of_another_kind_is_named() {
    let error = LstmFirst::<f64>::from_rtneural_json(MODEL).err();
    assert!(
        matches!(&error, Some(RtNeuralError::WrongKind { index: 1, found, field: "gru", expected })
            if found == "gru" && expected == "lstm"),
        "{error:?}"
    );
    // An activation is a layer in RTNeural: the dense layer's relu is not the network's tanh.
    let error = TanhHidden::<f64>::from_rtneural_json(MODEL).err();
    let message = error.as_ref().map(ToString::to_string).unwrap_or_default();
    assert!(
        matches!(
            &error,
            Some(RtNeuralError::WrongKind {
                index: 3,
                field: "hidden",
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(
        message,
        "expected a `tanh` activation layer for the network's `hidden`, but layer 3 of the file \
         is a `relu` activation layer"
    );
}

network! {
    /// A simple RNN: RTNeural's format has none.
    struct Simple {
        cell: Rnn<2, 4>,
        out: Dense<4, 2>,
    }
}

#[test]
fn a_network_layer_rtneural_cannot_hold_is_refused() {
    let error = Simple::<f64>::from_rtneural_json(MODEL).err();
    assert!(
        matches!(
            error,
            Some(RtNeuralError::UnsupportedLayer { field: "cell" })
        ),
        "{error:?}"
    );
}

#[test]
fn malformed_json_is_refused() {
    let error = refusal(&MODEL[..MODEL.len() / 2]);
    assert!(matches!(error, RtNeuralError::Json(_)), "{error:?}");
    let error = refusal(r#"{"in_shape": [null, 2], "layers": 3}"#);
    assert!(
        matches!(&error, RtNeuralError::Format { at, .. } if at == "layers"),
        "{error:?}"
    );
    let mut json = model_json();
    json["layers"][2]["weights"][2][0] = serde_json::Value::String("0.5".to_owned());
    let error = refusal(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::Format { at, .. } if at == "layers[2].weights (bias)"),
        "{error:?}"
    );
}

#[test]
fn a_non_finite_weight_as_python_writes_it_is_named() {
    // Python's json.dump writes a NaN weight as a bare `NaN`.
    let mut json = model_json();
    json["layers"][2]["weights"][0][1][3] = serde_json::Value::String("@".to_owned());
    let text = json.to_string().replace("\"@\"", "NaN");
    let error = refusal(&text);
    assert!(
        matches!(&error, RtNeuralError::NonFinite { index: 2, field: "lstm", tensor: "kernel", position, value }
            if position == &[1, 3] && value.is_nan()),
        "{error:?}"
    );
    let text = json.to_string().replace("\"@\"", "-Infinity");
    assert!(matches!(
        refusal(&text),
        RtNeuralError::NonFinite { value, .. } if value == f64::NEG_INFINITY
    ));
}

#[test]
fn weightless_unknown_layers_are_skipped_as_rtneural_skips_them() -> Result<(), RtNeuralError> {
    // The exporter writes Keras's Dropout as `unknown` with no weights.
    let mut json = model_json();
    let dropout = serde_json::json!({"type": "unknown", "activation": "", "shape": [null, null, 4], "weights": []});
    if let Some(layers) = json["layers"].as_array_mut() {
        layers.insert(1, dropout);
    }
    let model = Amp::<f64>::from_rtneural_json(&json.to_string())?;
    assert_eq!(model, Amp::<f64>::from_rtneural_json(MODEL)?);
    // A layer RTNeural reads and this reader does not is named where the network differs.
    json["layers"][1]["type"] = "conv2d".into();
    let error = refusal(&json.to_string());
    assert_eq!(
        error.to_string(),
        "expected a gru layer for the network's `gru`, but layer 1 of the file is a `conv2d` layer"
    );
    // A conv1d, which this reader reads, where the network has its GRU.
    json["layers"][1]["type"] = "conv1d".into();
    let error = refusal(&json.to_string());
    assert_eq!(
        error.to_string(),
        "expected a gru layer for the network's `gru`, but layer 1 of the file is a conv1d layer"
    );
    Ok(())
}

#[test]
fn a_time_distributed_dense_and_a_dense_without_bias_load() -> Result<(), RtNeuralError> {
    let mut json = model_json();
    // Keras's TimeDistributed(Dense(..)), and a last Dense with `use_bias=False`.
    json["layers"][0]["type"] = "time-distributed-dense".into();
    if let Some(weights) = json["layers"][5]["weights"].as_array_mut() {
        weights.truncate(1);
    }
    let model = Amp::<f64>::from_rtneural_json(&json.to_string())?;
    let full = Amp::<f64>::from_rtneural_json(MODEL)?;
    assert_eq!(model.input, full.input);
    assert_eq!(model.out.weights, full.out.weights);
    assert_eq!(model.out.bias, SVector::<f64, 2>::zeros());
    assert_ne!(full.out.bias, SVector::<f64, 2>::zeros());
    // Three arrays for a dense layer is one too many.
    if let Some(weights) = json["layers"][0]["weights"].as_array_mut() {
        weights.push(serde_json::json!([0.0]));
    }
    let error = refusal(&json.to_string());
    assert!(
        matches!(&error, RtNeuralError::WrongShape { index: 0, tensor: "weights", expected, found, .. }
            if expected == &[2] && found == &[3]),
        "{error:?}"
    );
    Ok(())
}
