//! Training: `fit` learns, is reproducible, stops cleanly on a non-finite loss and refuses bad
//! settings; data errors and summaries say what they should.

use typenn::prelude::*;
use typenn::{DataError, Part, TrainError};

network! {
    /// A linear model of two inputs.
    #[derive(Clone, Debug, PartialEq)]
    struct Linear(Dense<2, 1>);
}

network! {
    /// A linear model of one input.
    #[derive(Clone, Debug, PartialEq)]
    struct Line(Dense<1, 1>);
}

network! {
    /// A small non-linear regressor.
    #[derive(Clone, Debug, PartialEq)]
    struct Small(Dense<2, 3, Tanh>, Dense<3, 1>);
}

network! {
    /// The design document's regressor.
    struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

/// `y = 0.5 x0 - 0.25 x1` on a 5 x 5 grid over [-1, 1]^2.
fn plane() -> Dataset<f32, 2, 1> {
    let grid = [-1.0, -0.5, 0.0, 0.5, 1.0];
    let inputs: Vec<[f32; 2]> = grid
        .iter()
        .flat_map(|&a| grid.iter().map(move |&b| [a, b]))
        .collect();
    let targets: Vec<[f32; 1]> = inputs.iter().map(|x| [0.5 * x[0] - 0.25 * x[1]]).collect();
    Dataset::from_rows(&inputs, &targets).expect("finite data")
}

/// Twenty samples of a smooth function, for the non-linear model.
fn curve() -> Dataset<f32, 2, 1> {
    let inputs: Vec<[f32; 2]> = (0..20)
        .map(|i| {
            let t = i as f32 / 10.0 - 1.0;
            [t, (3.0 * t).cos()]
        })
        .collect();
    let targets: Vec<[f32; 1]> = inputs.iter().map(|x| [x[0] * x[1]]).collect();
    Dataset::from_rows(&inputs, &targets).expect("finite data")
}

#[test]
fn fit_learns_a_linear_function() {
    let data = plane();
    let mut model = Linear::new(&mut StdRng::seed_from_u64(1));
    let before = model.evaluate(&data, &Mse);
    let epochs = 100;
    let options = FitOptions::new().epochs(epochs).batch_size(5).shuffle(3);
    let history = model
        .fit(&data, Mse, Sgd::new(0.1), &options)
        .expect("training succeeds");
    let after = model.evaluate(&data, &Mse);

    assert_eq!(history.loss.len(), epochs);
    assert!(history.loss.iter().all(|loss| loss.is_finite()));
    assert!(
        history.loss[epochs - 1] < history.loss[0] / 100.0,
        "{:?}",
        history.loss
    );
    // A noise-free linear target: every epoch does at least as well as the one before (up to f32
    // rounding once the loss is tiny).
    for (epoch, pair) in history.loss.windows(2).enumerate() {
        assert!(
            pair[1] <= pair[0] + 1e-9,
            "epoch {} rose from {} to {}",
            epoch + 2,
            pair[0],
            pair[1]
        );
    }
    assert!(after < 1e-4, "loss {before} before, {after} after");
    assert!(after < before);
    let layer = &model.0;
    assert!((layer.weights[(0, 0)] - 0.5).abs() < 1e-2, "{layer:?}");
    assert!((layer.weights[(0, 1)] + 0.25).abs() < 1e-2, "{layer:?}");
    assert!(layer.bias[0].abs() < 1e-2, "{layer:?}");
}

#[test]
fn fit_history_weights_each_step_by_its_batch_size() {
    // Three samples, batches of 2 then 1, learning rate 0.1, from zero weights, in f64.
    let data = Dataset::<f64, 2, 1>::from_rows(
        &[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
        &[[1.0], [2.0], [0.0]],
    )
    .expect("finite data");
    let mut model = Linear::<f64>::zeros();
    let options = FitOptions::new().epochs(1).batch_size(2).no_shuffle();
    let history = model
        .fit(&data, Mse, Sgd::new(0.1), &options)
        .expect("training succeeds");
    // Step 1 on samples 0 and 1: predictions 0 and 0, loss (1 + 4) / 2 = 2.5.
    //   dL/dp = 2 (p - y) / 2 = (-1, -2); dL/dw = -1 * (1, 0) - 2 * (0, 1) = (-1, -2); dL/db = -3.
    //   w = (0.1, 0.2), b = 0.3.
    // Step 2 on sample 2: p = 0.1 + 0.2 + 0.3 = 0.6, loss 0.36.
    //   dL/dp = 2 * 0.6 = 1.2; w = (0.1 - 0.12, 0.2 - 0.12) = (-0.02, 0.08), b = 0.3 - 0.12 = 0.18.
    // Epoch loss = (2 * 2.5 + 1 * 0.36) / 3 = 5.36 / 3.
    assert_eq!(history.loss.len(), 1);
    assert!((history.loss[0] - 5.36 / 3.0).abs() < 1e-12, "{history:?}");
    let layer = &model.0;
    assert!((layer.weights[(0, 0)] + 0.02).abs() < 1e-12, "{layer:?}");
    assert!((layer.weights[(0, 1)] - 0.08).abs() < 1e-12, "{layer:?}");
    assert!((layer.bias[0] - 0.18).abs() < 1e-12, "{layer:?}");
}

/// `Small` trained on `curve()` for three epochs of batches of 4 from the same initial weights.
fn train_small(options: FitOptions) -> Small {
    let mut model = Small::new(&mut StdRng::seed_from_u64(2));
    let options = options.epochs(3).batch_size(4);
    model
        .fit(&curve(), Mse, Sgd::new(0.05), &options)
        .expect("training succeeds");
    model
}

#[test]
fn shuffling_is_reproducible_and_depends_on_the_seed() {
    let first = train_small(FitOptions::new().shuffle(7));
    let second = train_small(FitOptions::new().shuffle(7));
    assert_eq!(first, second, "same seed, same weights");
    let other_seed = train_small(FitOptions::new().shuffle(8));
    assert_ne!(
        first, other_seed,
        "another seed visits the samples in another order"
    );
    let in_order = train_small(FitOptions::new().no_shuffle());
    assert_ne!(first, in_order, "shuffled and unshuffled orders differ");
    assert_ne!(other_seed, in_order);
    // Training moved the weights at all.
    assert_ne!(in_order, Small::new(&mut StdRng::seed_from_u64(2)));
}

/// Every parameter of `model`.
fn parameters<N: Parameters<f32>>(model: &N) -> Vec<f32> {
    (0..N::TENSORS)
        .flat_map(|t| model.tensor(t).iter().copied())
        .collect()
}

#[test]
fn diverging_training_stops_at_the_first_non_finite_loss() {
    // One sample x = 1, y = 1, three times; batches of 1 in order; learning rate 10; f32.
    // With p = w + b and error e = p - 1: dL/dw = dL/db = 2 e, so each step makes
    // p <- p - 10 * (2 e + 2 e) and e <- e - 40 e = -39 e. From zero weights e_0 = -1, so the
    // loss of global step n (counting from 1) is e_{n-1}^2 = 39^(2 (n - 1)).
    // Step 13: 39^24 = 1.5e38, below f32::MAX = 3.4e38. Step 14: |e| = 39^13 = 4.8e20 and its
    // square overflows. Global step 14 is epoch 5 (steps 13 to 15), step 2.
    let data = Dataset::<f32, 1, 1>::from_rows(&[[1.0]; 3], &[[1.0]; 3]).expect("finite data");
    let options = FitOptions::new().epochs(10).batch_size(1).no_shuffle();
    let mut model = Line::zeros();
    let error = model
        .fit(&data, Mse, Sgd::new(10.0), &options)
        .expect_err("the loss overflows");
    let TrainError::NonFiniteLoss {
        epoch,
        step,
        loss,
        history,
    } = error
    else {
        panic!("expected NonFiniteLoss, got {error:?}");
    };
    assert_eq!((epoch, step), (5, 2));
    assert!(!loss.is_finite(), "{loss}");

    // Four whole epochs; epoch k averages the losses of global steps 3k - 2 to 3k.
    assert_eq!(history.loss.len(), 4);
    for (k, &got) in history.loss.iter().enumerate() {
        let expected = (0..3)
            .map(|i| 39.0_f64.powi(2 * (3 * k as i32 + i)))
            .sum::<f64>()
            / 3.0;
        assert!(
            (got - expected).abs() <= 1e-4 * expected,
            "epoch {}: {got} vs {expected}",
            k + 1
        );
    }

    // The weights of the last finite step, 13: p_13 = 1 + e_13 = 1 + 39^13, w = b = p / 2.
    let expected = (1.0 + 39.0_f64.powi(13)) / 2.0;
    for value in parameters(&model) {
        assert!(value.is_finite());
        assert!(
            (f64::from(value) - expected).abs() <= 1e-4 * expected,
            "{value} vs {expected}"
        );
    }

    // Exactly those of a step-by-step replay, keeping a copy after each finite step.
    let mut replay = Line::zeros();
    let mut trainer = replay
        .trainer(Mse, Sgd::new(10.0))
        .expect("valid optimizer");
    let mut last_finite = replay.clone();
    let mut steps = 0;
    loop {
        let sample = steps % 3;
        let result = trainer.step(
            &mut replay,
            &data.inputs()[sample..=sample],
            &data.targets()[sample..=sample],
        );
        steps += 1;
        match result {
            Ok(_) => last_finite = replay.clone(),
            Err(TrainError::NonFiniteLoss { .. }) => break,
            Err(other) => panic!("{other:?}"),
        }
        assert!(steps < 100, "the replay never diverged");
    }
    assert_eq!(steps, 14);
    assert_eq!(replay, last_finite, "the failing step was not applied");
    assert_eq!(model, last_finite);
}

#[test]
fn a_huge_target_stops_training_at_its_batch() {
    // Sample 3's target is 1e30, whose square overflows f32. Batches of 2 in order: step 1 (samples
    // 0 and 1) is finite, step 2 (samples 2 and 3) is not.
    let data = Dataset::<f32, 1, 1>::from_rows(
        &[[1.0], [1.0], [1.0], [1.0]],
        &[[1.0], [2.0], [3.0], [1e30]],
    )
    .expect("1e30 is finite");
    let options = FitOptions::new().epochs(3).batch_size(2).no_shuffle();
    let mut model = Line::zeros();
    let error = model
        .fit(&data, Mse, Sgd::new(0.1), &options)
        .expect_err("the loss overflows");
    assert!(
        matches!(
            &error,
            TrainError::NonFiniteLoss { epoch: 1, step: 2, loss, history }
                if !loss.is_finite() && history.loss.is_empty()
        ),
        "{error:?}"
    );
    // Step 1 from zero weights: dL/dp = 2 (0 - y) / 2 = (-1, -2), so dL/dw = dL/db = -3 and
    // w = b = 0.1 * 3 = 0.3.
    assert!((model.0.weights[(0, 0)] - 0.3).abs() < 1e-6, "{model:?}");
    assert!((model.0.bias[0] - 0.3).abs() < 1e-6, "{model:?}");

    let mut replay = Line::zeros();
    let mut trainer = replay.trainer(Mse, Sgd::new(0.1)).expect("valid optimizer");
    trainer
        .step(&mut replay, &data.inputs()[..2], &data.targets()[..2])
        .expect("finite loss");
    assert_eq!(model, replay);
}

#[test]
fn bad_settings_are_refused_before_any_step() {
    let data = curve();
    let original = Small::new(&mut StdRng::seed_from_u64(4));
    let options = FitOptions::new().epochs(2);
    let bad_optimizers = [
        (Sgd::new(0.0), 0.0),
        (Sgd::new(-0.1), -0.1),
        (Sgd::new(f64::NAN), f64::NAN),
        (Sgd::new(f64::INFINITY), f64::INFINITY),
        (Sgd::new(0.1).momentum(1.0), 1.0),
    ];
    for (sgd, bad) in bad_optimizers {
        let mut model = original.clone();
        let error = model
            .fit(&data, Mse, sgd, &options)
            .expect_err("a bad optimizer setting");
        let TrainError::InvalidOption { found, .. } = error else {
            panic!("{sgd:?}: expected InvalidOption, got {error:?}");
        };
        assert!(
            found == bad || (found.is_nan() && bad.is_nan()),
            "{sgd:?}: found {found}"
        );
        assert_eq!(model, original, "{sgd:?} changed the network");
        assert!(
            matches!(
                model.trainer(Mse, sgd),
                Err(TrainError::InvalidOption { .. })
            ),
            "{sgd:?}: trainer accepted it"
        );
    }

    let mut model = original.clone();
    let error = model
        .fit(&data, Mse, Sgd::new(0.1), &options.batch_size(0))
        .expect_err("batch size 0");
    assert!(
        matches!(error, TrainError::InvalidOption { found, .. } if found == 0.0),
        "{error:?}"
    );
    assert_eq!(model, original);
}

#[test]
fn a_step_needs_one_target_per_input() {
    let data = curve();
    let original = Small::new(&mut StdRng::seed_from_u64(5));
    let mut model = original.clone();
    let mut trainer = model.trainer(Mse, Sgd::new(0.1)).expect("valid optimizer");
    assert_eq!(
        trainer.step(&mut model, &data.inputs()[..3], &data.targets()[..2]),
        Err(TrainError::BatchMismatch {
            inputs: 3,
            targets: 2
        })
    );
    assert_eq!(
        trainer.step(&mut model, &[], &[]),
        Err(TrainError::EmptyBatch)
    );
    assert_eq!(model, original);
    assert_eq!(
        model
            .gradients(&data.inputs()[..1], &data.targets()[..4], &Mse)
            .err(),
        Some(TrainError::BatchMismatch {
            inputs: 1,
            targets: 4
        })
    );
}

#[test]
fn data_errors_name_the_row_and_column() {
    let error = Dataset::<f32, 3, 1>::from_rows(
        &[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, f32::NAN, 8.0]],
        &[[0.0], [1.0], [2.0]],
    )
    .expect_err("a NaN input");
    assert!(
        matches!(
            error,
            DataError::NonFinite { part: Part::Input, row: 2, column: 1, value } if value.is_nan()
        ),
        "{error:?}"
    );

    let error =
        Dataset::<f64, 1, 2>::from_rows(&[[0.0], [1.0]], &[[0.0, 1.0], [f64::INFINITY, 2.0]])
            .expect_err("an infinite target");
    assert_eq!(
        error,
        DataError::NonFinite {
            part: Part::Target,
            row: 1,
            column: 0,
            value: f64::INFINITY
        }
    );
    let text = error.to_string();
    for piece in ["target", "row 1", "column 0", "inf"] {
        assert!(text.contains(piece), "{text:?} does not mention {piece:?}");
    }

    // Flat values: index 5 of samples of 2 is row 2, column 1.
    let error = Dataset::<f32, 2, 1>::from_flat(
        &[1.0, 2.0, 3.0, 4.0, 5.0, f32::NEG_INFINITY],
        &[1.0, 2.0, 3.0],
    )
    .expect_err("an infinite input");
    assert_eq!(
        error,
        DataError::NonFinite {
            part: Part::Input,
            row: 2,
            column: 1,
            value: f64::NEG_INFINITY
        }
    );
}

#[test]
fn summary_counts_the_design_examples_parameters() {
    // Dense<32, 10>: 32 * 10 weights + 10 biases = 330; Dense<10, 1>: 10 + 1 = 11; total 341.
    assert_eq!(Regressor::PARAMETERS, 341);
    let model = Regressor::zeros();
    let summary = model.summary();
    assert_eq!(summary.parameters(), 341);
    let text = summary.to_string();
    println!("{text}");
    let row = |kind: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|line| line.contains(kind))
            .unwrap_or_else(|| panic!("no row for {kind} in\n{text}"));
        line.split_whitespace().map(str::to_owned).collect()
    };
    // Each row ends with the output width and the parameter count.
    let first = row("Dense<32, 10, Relu>");
    assert_eq!(first[first.len() - 2..], ["10", "330"], "{text}");
    let second = row("Dense<10, 1>");
    assert_eq!(second[second.len() - 2..], ["1", "11"], "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("Total") && line.ends_with(" 341")),
        "{text}"
    );
}
