//! The `serde` feature: networks, their gradients and layers written as JSON and read back.
//!
//! Run with `cargo test --test serde --features serde` (or `--all-features`).
#![cfg(feature = "serde")]

use serde::Deserialize;
use serde::de::value::{Error as ValueError, MapDeserializer, SeqDeserializer};
use typenn::prelude::*;
use typenn::{Parameters, Scalar};

network! {
    #[derive(Debug, PartialEq)]
    pub struct Regressor(Dense<3, 4, Relu>, Dense<4, 2, Tanh>, Dense<2, 1>);
}

network! {
    #[derive(Debug, PartialEq)]
    pub struct Classifier { hidden: Dense<2, 3, Tanh>, output: Dense<3, 2, Sigmoid> }
}

network! {
    #[derive(Debug, PartialEq)]
    struct Tiny(Dense<3, 2, Relu>, Dense<2, 1>);
}

type Result<T = (), E = serde_json::Error> = std::result::Result<T, E>;

/// Every parameter set to a distinct value that uses the whole mantissa, with the extremes of the
/// type among them: what a round trip through text could get wrong.
fn fill<T: Scalar, P: Parameters<T>>(parameters: &mut P, extremes: &[T]) {
    let mut count = 0_usize;
    for tensor in 0..P::TENSORS {
        for value in parameters.tensor_mut(tensor) {
            *value = match extremes.get(count) {
                Some(extreme) => *extreme,
                None => T::cast_from((count as f64 * 0.739_085_133_215_160_6).sin() * 3.0),
            };
            count += 1;
        }
    }
    assert_eq!(count, P::PARAMETERS);
}

fn as_f64s<T: Scalar, P: Parameters<T>>(parameters: &P) -> Vec<f64> {
    (0..P::TENSORS)
        .flat_map(|tensor| parameters.tensor(tensor).iter().map(|value| value.as_f64()))
        .collect()
}

/// Equal bit for bit: `==` would take -0.0 for 0.0.
fn assert_same<T: Scalar, P: Parameters<T>>(read: &P, written: &P) {
    let (read, written) = (as_f64s(read), as_f64s(written));
    assert_eq!(read.len(), written.len());
    for (index, (r, w)) in read.iter().zip(&written).enumerate() {
        assert_eq!(
            r.to_bits(),
            w.to_bits(),
            "parameter {index}: read {r}, wrote {w}"
        );
    }
}

const F32_EXTREMES: [f32; 6] = [
    f32::MAX,
    f32::MIN_POSITIVE,
    1.0e-45,
    -0.0,
    f32::EPSILON,
    -1.0e30,
];
const F64_EXTREMES: [f64; 6] = [
    f64::MAX,
    f64::MIN_POSITIVE,
    5.0e-324,
    -0.0,
    f64::EPSILON,
    -1.0e300,
];

#[test]
fn tuple_network_round_trips_exactly_in_f32_and_f64() -> Result {
    let mut model = Regressor::zeros();
    fill(&mut model, &F32_EXTREMES);
    let json = serde_json::to_string(&model)?;
    let read: Regressor = serde_json::from_str(&json)?;
    assert_same(&read, &model);
    assert_eq!(read, model);

    let mut model = Regressor::<f64>::zeros();
    fill(&mut model, &F64_EXTREMES);
    let json = serde_json::to_string_pretty(&model)?;
    let read: Regressor<f64> = serde_json::from_str(&json)?;
    assert_same(&read, &model);
    Ok(())
}

#[test]
fn named_network_round_trips_exactly_in_f32_and_f64() -> Result {
    let mut model = Classifier::zeros();
    fill(&mut model, &F32_EXTREMES);
    let read: Classifier = serde_json::from_str(&serde_json::to_string(&model)?)?;
    assert_same(&read, &model);

    let mut model = Classifier::<f64>::zeros();
    fill(&mut model, &F64_EXTREMES);
    let read: Classifier<f64> = serde_json::from_str(&serde_json::to_string(&model)?)?;
    assert_same(&read, &model);
    Ok(())
}

#[test]
fn gradients_round_trip_exactly() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = StdRng::seed_from_u64(7);
    let model = Classifier::<f64>::new(&mut rng);
    let xs = [SVector::from([0.5, -1.0]), SVector::from([2.0, 0.25])];
    let ys = [SVector::from([1.0, 0.0]), SVector::from([0.0, 1.0])];
    let (_, gradients) = model.gradients(&xs, &ys, &Mse)?;
    let json = serde_json::to_string(&*gradients)?;
    let read: ClassifierGradients<f64> = serde_json::from_str(&json)?;
    assert_same(&read, &*gradients);
    assert!(json.starts_with(r#"{"hidden":{"weight":["#), "{json}");

    let mut gradients = RegressorGradients::<f32>::zeros();
    fill(&mut gradients, &F32_EXTREMES);
    let read: RegressorGradients = serde_json::from_str(&serde_json::to_string(&gradients)?)?;
    assert_same(&read, &gradients);
    Ok(())
}

#[test]
fn a_layer_is_written_as_its_weight_column_by_column_then_bias() -> Result {
    // Unit 0's weights are [1, 2, 3], unit 1's [4, 5, 6]: written column by column.
    let model = Tiny(
        Dense::from_parts(
            SMatrix::<f32, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
            SVector::from([0.5, -1.0]),
        ),
        Dense::from_parts(
            SMatrix::<f32, 1, 2>::new(0.25, -2.0),
            SVector::from([0.125]),
        ),
    );
    assert_eq!(
        serde_json::to_string(&model)?,
        r#"[{"weight":[1.0,4.0,2.0,5.0,3.0,6.0],"bias":[0.5,-1.0]},{"weight":[0.25,-2.0],"bias":[0.125]}]"#
    );

    let mut classifier = Classifier::<f64>::zeros();
    classifier.output.bias = SVector::from([1.5, -0.5]);
    assert_eq!(
        serde_json::to_string(&classifier)?,
        r#"{"hidden":{"weight":[0.0,0.0,0.0,0.0,0.0,0.0],"bias":[0.0,0.0,0.0]},"output":{"weight":[0.0,0.0,0.0,0.0,0.0,0.0],"bias":[1.5,-0.5]}}"#
    );
    Ok(())
}

#[test]
fn hand_written_json_loads_into_the_expected_weights() -> Result {
    let model: Tiny = serde_json::from_str(
        r#"[
            {"weight": [1, 2, 3, 4, 5, 6], "bias": [0.5, -1]},
            {"weight": [0.25, -2], "bias": [0.125]}
        ]"#,
    )?;
    // Column-major: the first two numbers are column 0, so W = [[1, 3, 5], [2, 4, 6]].
    let expected = SMatrix::<f32, 2, 3>::new(1.0, 3.0, 5.0, 2.0, 4.0, 6.0);
    assert_eq!(model.0.weights, expected);
    assert_eq!(model.0.weights[(0, 1)], 3.0);
    assert_eq!(model.0.weights[(1, 0)], 2.0);
    assert_eq!(model.0.bias, SVector::from([0.5, -1.0]));
    assert_eq!(model.1.weights, SMatrix::<f32, 1, 2>::new(0.25, -2.0));
    assert_eq!(model.1.bias, SVector::from([0.125]));
    // By hand, x = [1, -1, 2]: z = [1 - 3 + 10 + 0.5, 2 - 4 + 12 - 1] = [8.5, 9], ReLU keeps it;
    // y = 0.25 * 8.5 - 2 * 9 + 0.125 = -15.75.
    assert_eq!(
        model.forward(&SVector::from([1.0, -1.0, 2.0])),
        SVector::from([-15.75])
    );

    let classifier: Classifier<f64> = serde_json::from_str(
        r#"{
            "output": {"weight": [1, 2, 3, 4, 5, 6], "bias": [0, 0]},
            "hidden": {"weight": [-1, -2, -3, -4, -5, -6], "bias": [0, 0, 0.75]}
        }"#,
    )?;
    // A 3 x 2 matrix: columns [-1, -2, -3] and [-4, -5, -6].
    assert_eq!(
        classifier.hidden.weights,
        SMatrix::<f64, 3, 2>::new(-1.0, -4.0, -2.0, -5.0, -3.0, -6.0)
    );
    assert_eq!(classifier.hidden.bias, SVector::from([0.0, 0.0, 0.75]));
    assert_eq!(
        classifier.output.weights,
        SMatrix::<f64, 2, 3>::new(1.0, 3.0, 5.0, 2.0, 4.0, 6.0)
    );
    // A named network may also be given as its layers in order, as serde reads any struct.
    let positional: Classifier<f64> = serde_json::from_str(
        r#"[
            {"weight": [-1, -2, -3, -4, -5, -6], "bias": [0, 0, 0.75]},
            {"weight": [1, 2, 3, 4, 5, 6], "bias": [0, 0]}
        ]"#,
    )?;
    assert_eq!(positional, classifier);
    Ok(())
}

/// The error's message, without serde_json's " at line L column C".
fn message<N: std::fmt::Debug>(read: Result<N>) -> String {
    match read {
        Ok(network) => panic!("expected an error, read {network:?}"),
        Err(error) => {
            let message = error.to_string();
            match message.rfind(" at line ") {
                Some(end) => message[..end].to_owned(),
                None => message,
            }
        }
    }
}

const LAYER_0: &str = r#"{"weight": [1, 2, 3, 4, 5, 6], "bias": [0, 0]}"#;
const LAYER_1: &str = r#"{"weight": [0.25, -2], "bias": [0.125]}"#;

#[test]
fn a_tensor_of_the_wrong_length_is_an_error_saying_what_was_expected() {
    let short = format!(r#"[{{"weight": [1, 2, 3, 4, 5], "bias": [0, 0]}}, {LAYER_1}]"#);
    assert_eq!(
        message(serde_json::from_str::<Tiny>(&short)),
        "invalid length 5, expected 6 numbers for the 2 x 3 weight, column by column"
    );
    let long = format!(r#"[{{"weight": [1, 2, 3, 4, 5, 6, 7], "bias": [0, 0]}}, {LAYER_1}]"#);
    assert_eq!(
        message(serde_json::from_str::<Tiny>(&long)),
        "invalid length 7, expected 6 numbers for the 2 x 3 weight, column by column"
    );
    let bias =
        r#"[{"weight": [1, 2, 3, 4, 5, 6], "bias": [0, 0]}, {"weight": [0.25, -2], "bias": []}]"#;
    assert_eq!(
        message(serde_json::from_str::<Tiny>(bias)),
        "invalid length 0, expected 1 numbers for the bias"
    );
}

#[test]
fn the_wrong_number_of_layers_is_an_error() {
    assert_eq!(
        message(serde_json::from_str::<Tiny>(&format!("[{LAYER_0}]"))),
        "invalid length 1, expected a Tiny of 2 layers"
    );
    let three = format!("[{LAYER_0}, {LAYER_1}, {LAYER_1}]");
    // serde_json's own message for a surplus element of a sequence.
    assert_eq!(
        message(serde_json::from_str::<Tiny>(&three)),
        "trailing characters"
    );
}

const HIDDEN: &str = r#"{"weight": [0.5, 0, 0, 0.5, 0, 0], "bias": [0, 0, 0.75]}"#;
const OUTPUT: &str = r#"{"weight": [1, 2, 3, 4, 5, 6], "bias": [0, 0]}"#;

#[test]
fn a_wrong_field_name_is_an_error() {
    let layer_typo = format!(
        r#"{{"hidden": {HIDDEN}, "output": {{"weights": [1, 2, 3, 4, 5, 6], "bias": [0, 0]}}}}"#
    );
    assert_eq!(
        message(serde_json::from_str::<Classifier>(&layer_typo)),
        "unknown field `weights`, expected `weight` or `bias`"
    );
    let network_typo = format!(r#"{{"hiden": {HIDDEN}, "output": {OUTPUT}}}"#);
    assert_eq!(
        message(serde_json::from_str::<Classifier>(&network_typo)),
        "unknown field `hiden`, expected `hidden` or `output`"
    );
    let gradients_typo = format!(r#"{{"hidden": {HIDDEN}, "outputs": {OUTPUT}}}"#);
    assert_eq!(
        message(serde_json::from_str::<ClassifierGradients>(&gradients_typo)),
        "unknown field `outputs`, expected `hidden` or `output`"
    );
    assert_eq!(
        message(serde_json::from_str::<Classifier>(&format!(
            r#"{{"hidden": {HIDDEN}}}"#
        ))),
        "missing field `output`"
    );
    assert_eq!(
        message(serde_json::from_str::<Classifier>(&format!(
            r#"{{"hidden": {HIDDEN}, "hidden": {HIDDEN}, "output": {OUTPUT}}}"#
        ))),
        "duplicate field `hidden`"
    );
}

/// A layer as a format that, unlike JSON, can hold any `f32`.
fn layer(weights: Vec<f32>, bias: Vec<f32>) -> Layer {
    MapDeserializer::new([("weight", weights), ("bias", bias)].into_iter())
}

type Layer =
    MapDeserializer<'static, std::array::IntoIter<(&'static str, Vec<f32>), 2>, ValueError>;

#[test]
fn a_non_finite_number_is_an_error_saying_where_it_is() {
    let layers = vec![
        layer(vec![1.0, 2.0, 3.0, 4.0, f32::INFINITY, 6.0], vec![0.0, 0.0]),
        layer(vec![0.25, -2.0], vec![0.125]),
    ];
    let read = <Tiny>::deserialize(SeqDeserializer::new(layers.into_iter()));
    assert_eq!(
        read.map_err(|error| error.to_string()),
        Err(
            "weight[4] (row 0, column 2) is not finite: found inf, expected a finite number"
                .to_owned()
        )
    );

    let fields = [
        ("hidden", layer(vec![0.0; 6], vec![0.0; 3])),
        ("output", layer(vec![0.0; 6], vec![0.0, f32::NAN])),
    ];
    let read = <ClassifierGradients>::deserialize(MapDeserializer::new(fields.into_iter()));
    assert_eq!(
        read.map_err(|error| error.to_string()),
        Err("bias[1] is not finite: found NaN, expected a finite number".to_owned())
    );

    // JSON has no infinity, and serde_json refuses a number beyond the type's range itself.
    let overflow = format!(r#"[{{"weight": [1, 2, 3, 4, 1e39, 6], "bias": [0, 0]}}, {LAYER_1}]"#);
    assert_eq!(
        message(serde_json::from_str::<Tiny>(&overflow)),
        "number out of range"
    );
    // It writes NaN as null, which does not read back as a number.
    let mut model = Tiny::zeros();
    model.1.bias[0] = f32::NAN;
    let json = serde_json::to_string(&model).expect("serde_json writes NaN as null");
    assert!(json.ends_with(r#""bias":[null]}]"#), "{json}");
    assert_eq!(
        message(serde_json::from_str::<Tiny>(&json)),
        "invalid type: null, expected f32"
    );
}

mod mine {
    use typenn::Scalar;

    /// An activation of the test's own: `z / 2`.
    #[derive(Clone, Copy, Default, Debug, PartialEq)]
    pub struct Halve;

    impl typenn::Elementwise for Halve {
        const NAME: &'static str = "Halve";

        fn apply<T: Scalar>(z: T) -> T {
            z * T::cast_from(0.5)
        }

        fn derivative<T: Scalar>(_: T, _: T) -> T {
            T::cast_from(0.5)
        }
    }
}

#[test]
fn a_network_in_a_function_with_its_own_activation_and_a_raw_field_name() -> Result {
    network! {
        #[derive(Debug, PartialEq)]
        struct Local { r#type: Dense<2, 1, mine::Halve> }
    }

    // A raw identifier's name is written without `r#`, as serde_derive does.
    let model: Local = serde_json::from_str(r#"{"type": {"weight": [2, 4], "bias": [1]}}"#)?;
    // (2 * 1 + 4 * 0.5 + 1) / 2 = 2.5
    assert_eq!(
        model.forward(&SVector::from([1.0, 0.5])),
        SVector::from([2.5])
    );
    assert_eq!(
        serde_json::to_string(&model)?,
        r#"{"type":{"weight":[2.0,4.0],"bias":[1.0]}}"#
    );
    Ok(())
}

network! {
    /// 100 K parameters, 400 KB in f32.
    struct Mnist(Dense<784, 128, Relu>, Dense<128, 10>);
}

network! {
    /// 1 M parameters: 4 MiB in f32, twice the stack of a spawned thread.
    struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
}

/// Runs `work` on a thread with exactly 2 MiB of stack.
fn on_small_stack(work: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(work)
        .expect("spawning a thread")
        .join()
        .expect("the thread panicked (a stack overflow aborts the process instead)");
}

#[test]
fn an_mnist_sized_network_is_read_on_a_2_mib_stack() {
    let mut model = Mnist::zeros_boxed();
    fill(&mut *model, &F32_EXTREMES);
    let json = serde_json::to_string(&*model).expect("writing");
    on_small_stack(move || {
        let read: Mnist = serde_json::from_str(&json).expect("reading");
        assert_same(&read, &*model);
    });
}

#[test]
fn a_network_bigger_than_the_stack_is_read_in_place() {
    let mut model = Wide::zeros_boxed();
    fill(&mut *model, &F32_EXTREMES);
    let json = serde_json::to_string(&*model).expect("writing");
    on_small_stack(move || {
        let mut read = Wide::zeros_boxed();
        let mut deserializer = serde_json::Deserializer::from_str(&json);
        Deserialize::deserialize_in_place(&mut deserializer, &mut *read).expect("reading");
        deserializer.end().expect("nothing after the network");
        assert_same(&*read, &*model);
    });
}

#[test]
fn history_round_trips_with_every_figure() -> Result<(), Box<dyn std::error::Error>> {
    let data = Dataset::<f64, 1, 1>::from_rows(
        &[[0.0], [1.0], [2.0], [3.0], [4.0]],
        &[[1.0], [3.0], [5.0], [7.0], [9.0]],
    )?;
    network! {
        struct Line(Dense<1, 1>);
    }
    let mut model = Line::<f64>::zeros();
    let options = FitOptions::new()
        .epochs(3)
        .batch_size(2)
        .validation_split(0.4)
        .metric(Metric::Mae);
    let history = model.fit(&data, Mse, Sgd::new(0.01), &options)?;
    let json = serde_json::to_string(&history)?;
    assert!(
        json.contains("\"val_loss\"") && json.contains("\"Mae\""),
        "{json}"
    );
    let back: typenn::History = serde_json::from_str(&json)?;
    assert_eq!(back, history);
    Ok(())
}
