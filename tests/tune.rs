//! Cross-validation and grid search: folds partition the samples (hand-checked, and pinned to
//! `tests/reference/kfold_splits.py`, which implements the specification in Python), scores of
//! models whose predictions are short formulas match hand computations, searches pick the
//! candidate the hand computation says, failures are recorded, and bad settings are typed errors.

use typenn::prelude::*;
use typenn::{
    CrossValidation, FoldError, Grid, GridSearch, Hyperparameters, KFold, Mode, TrainError,
    TuneError, cross_validate, grid_search,
};

network! {
    /// p = w x + b.
    struct Line(Dense<1, 1>);
}

network! {
    /// A sigmoid output: every prediction is between 0 and 1.
    struct Capped(Dense<1, 1, Sigmoid>);
}

network! {
    /// A small non-linear model.
    struct Small(Dense<1, 4, Tanh>, Dense<4, 1>);
}

/// Ten samples: input i, target i, for i in 0..10.
fn ten() -> Dataset<f64, 1, 1> {
    let values: Vec<f64> = (0..10).map(f64::from).collect();
    Dataset::from_flat(&values, &values).expect("finite data")
}

/// Four samples with targets 1, 2, 3 and 6 (mean 3, population variance 14 / 4 = 3.5).
fn four() -> Dataset<f64, 1, 1> {
    Dataset::from_flat(&[0.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 6.0]).expect("finite data")
}

fn mean_target(data: &Dataset<f64, 1, 1>) -> f64 {
    data.targets().iter().map(|t| t[0]).sum::<f64>() / data.len() as f64
}

/// Mean squared error of predicting `prediction` for every sample.
fn squared_error(prediction: f64, data: &Dataset<f64, 1, 1>) -> f64 {
    let errors = data.targets().iter().map(|t| (t[0] - prediction).powi(2));
    errors.sum::<f64>() / data.len() as f64
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn ten_samples_in_three_folds() {
    let folds = KFold::new(3, 0).splits(10).unwrap();
    let validation: Vec<&[usize]> = folds.iter().map(|f| f.validation.as_slice()).collect();
    // python3 tests/reference/kfold_splits.py: samples 10, folds 3, seed 0.
    assert_eq!(validation, [&[2, 3, 6, 9][..], &[1, 4, 8], &[0, 5, 7]]);
    // Each training part is the other two folds.
    assert_eq!(folds[0].train, [0, 1, 4, 5, 7, 8]);
    assert_eq!(folds[1].train, [0, 2, 3, 5, 6, 7, 9]);
    assert_eq!(folds[2].train, [1, 2, 3, 4, 6, 8, 9]);
}

#[test]
fn folds_partition_the_samples_for_every_size() {
    for samples in 2..=30 {
        for folds in 2..=samples.min(10) {
            let splits = KFold::new(folds, 5).splits(samples).unwrap();
            assert_eq!(splits.len(), folds);
            let mut times_validated = vec![0; samples];
            for fold in &splits {
                for &i in &fold.validation {
                    times_validated[i] += 1;
                    assert!(!fold.train.contains(&i), "{i} trains and validates");
                }
                assert_eq!(fold.train.len() + fold.validation.len(), samples);
            }
            assert!(
                times_validated.iter().all(|&n| n == 1),
                "{times_validated:?}"
            );
            // sklearn's sizes: the first `samples % folds` folds get one more.
            let sizes: Vec<usize> = splits.iter().map(|f| f.validation.len()).collect();
            let expected: Vec<usize> = (0..folds)
                .map(|k| samples / folds + usize::from(k < samples % folds))
                .collect();
            assert_eq!(sizes, expected);
        }
    }
}

#[test]
fn the_seed_fixes_the_folds() {
    assert_eq!(KFold::new(3, 0).splits(10), KFold::new(3, 0).splits(10));
    let other = KFold::new(3, 1).splits(10).unwrap();
    let validation: Vec<&[usize]> = other.iter().map(|f| f.validation.as_slice()).collect();
    // python3 tests/reference/kfold_splits.py: samples 10, folds 3, seed 1.
    assert_eq!(validation, [&[1, 2, 4, 8][..], &[0, 3, 9], &[5, 6, 7]]);
}

#[test]
fn each_fold_trains_on_the_rest_and_validates_on_itself() {
    // Scores are the validation fold's size; the training closure records what it saw.
    let mut trained_on = Vec::new();
    let cv = cross_validate(
        &ten(),
        &KFold::new(3, 0),
        |train| {
            trained_on.push(train.len());
            Ok(())
        },
        |_, validation| validation.len() as f64,
    )
    .unwrap();
    assert_eq!(trained_on, [6, 7, 7]);
    assert_eq!(cv.scores, [4.0, 3.0, 3.0]);
    // Mean 10/3; deviations 2/3, -1/3, -1/3: variance (4 + 1 + 1) / 9 / 3 = 2/9.
    assert!(close(cv.mean, 10.0 / 3.0));
    assert!(close(cv.std, 2.0_f64.sqrt() / 3.0));
}

#[test]
fn mean_predictor_by_hand() {
    // The model predicts its training targets' mean; the score is the mean absolute error.
    // Targets are 0..10 (sum 45). With seed 0 the folds validate on {2,3,6,9}, {1,4,8}, {0,5,7}:
    // fold 1 trains on sum 25 / 6 samples = 25/6 and misses by 13/6, 7/6, 11/6, 29/6: 60/6/4 = 5/2;
    // fold 2 trains on 32/7 and misses by 25/7, 4/7, 24/7: 53/21;
    // fold 3 trains on 33/7 and misses by 33/7, 2/7, 16/7: 51/21.
    let absolute_error = |prediction: &f64, data: &Dataset<f64, 1, 1>| {
        let errors = data.targets().iter().map(|t| (t[0] - prediction).abs());
        errors.sum::<f64>() / data.len() as f64
    };
    let cv = cross_validate(
        &ten(),
        &KFold::new(3, 0),
        |train| Ok(mean_target(train)),
        absolute_error,
    )
    .unwrap();
    let expected = [5.0 / 2.0, 53.0 / 21.0, 51.0 / 21.0];
    assert_eq!(cv.scores.len(), 3);
    for (score, expected) in cv.scores.iter().zip(expected) {
        assert!(close(*score, expected), "{score} != {expected}");
    }
    // (105/42 + 106/42 + 102/42) / 3 = 313/126.
    assert!(close(cv.mean, 313.0 / 126.0));
    let variance = expected
        .iter()
        .map(|s| (s - 313.0 / 126.0).powi(2))
        .sum::<f64>()
        / 3.0;
    assert!(close(cv.std, variance.sqrt()));
}

#[test]
fn leave_one_out_by_hand() {
    // With one fold per sample the folds are the samples, whatever the shuffle: leaving out 1, 2,
    // 3 or 6 the others' mean is 11/3, 10/3, 3 or 2, which misses by 8/3, 4/3, 0 or 4.
    let cv = cross_validate(
        &four(),
        &KFold::new(4, 9),
        |train| Ok(mean_target(train)),
        |prediction, validation| squared_error(*prediction, validation),
    )
    .unwrap();
    let mut scores = cv.scores.clone();
    scores.sort_by(f64::total_cmp);
    let expected = [0.0, 16.0 / 9.0, 64.0 / 9.0, 16.0];
    assert!(
        scores.iter().zip(expected).all(|(s, e)| close(*s, e)),
        "{scores:?}"
    );
    assert!(close(cv.mean, 56.0 / 9.0));
}

#[test]
fn grid_search_picks_the_hand_computed_best() {
    // A constant prediction c, left one out at a time: the mean of the folds' squared errors is
    // the mean of (y - c)^2 over all samples, 3.5 + (c - 3)^2: 12.5, 4.5, 3.5625 and 52.5.
    let search = |mode| {
        grid_search(
            &four(),
            &KFold::new(4, 0),
            [0.0, 2.0, 3.25, 10.0],
            mode,
            |c, _| Ok(*c),
            |c, validation| squared_error(*c, validation),
        )
        .unwrap()
    };
    let lowest = search(Mode::Min);
    let means: Vec<f64> = lowest
        .candidates()
        .iter()
        .map(|(_, cv)| cv.as_ref().unwrap().mean)
        .collect();
    let expected = [12.5, 4.5, 3.5625, 52.5];
    assert!(
        means.iter().zip(expected).all(|(m, e)| close(*m, e)),
        "{means:?}"
    );
    assert_eq!(lowest.best_index(), Some(2));
    assert_eq!(lowest.best().map(|(c, _)| *c), Some(3.25));
    assert_eq!(search(Mode::Max).best().map(|(c, _)| *c), Some(10.0));
}

/// A model of a fraction of the training mean; the fraction is a setting of the user's type.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shrink {
    fraction: f64,
}

#[test]
fn candidates_of_a_users_type() {
    // Leave-one-out squared errors (see leave_one_out_by_hand): fraction 1 gives 56/9; fraction
    // 0 predicts 0, so the mean of y^2 = (1 + 4 + 9 + 36) / 4 = 12.5.
    let search = grid_search(
        &four(),
        &KFold::new(4, 3),
        vec![Shrink { fraction: 0.0 }, Shrink { fraction: 1.0 }],
        Mode::Min,
        |shrink, train| Ok(shrink.fraction * mean_target(train)),
        |prediction, validation| squared_error(*prediction, validation),
    )
    .unwrap();
    let (best, cv) = search.best().unwrap();
    assert_eq!(best.fraction, 1.0);
    assert!(close(cv.mean, 56.0 / 9.0));
    let zero = search.candidates()[0].1.as_ref().unwrap();
    assert!(close(zero.mean, 12.5));
}

/// y = 2 x + 1 on x in [-1, 1].
fn line_data() -> Dataset<f64, 1, 1> {
    let x: Vec<f64> = (0..12).map(|i| f64::from(i) / 5.5 - 1.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 2.0 * x + 1.0).collect();
    Dataset::from_flat(&x, &y).expect("finite data")
}

/// The cross-validated mean squared error of network `N`: one monomorphized call per type.
fn cv_mse<N: Network<f64, 1, 1>>(
    data: &Dataset<f64, 1, 1>,
    settings: &Hyperparameters,
) -> Result<CrossValidation, TuneError> {
    cross_validate(
        data,
        &KFold::new(3, 0),
        |fold| {
            let mut network = N::new(&mut StdRng::seed_from_u64(1));
            network.fit(
                fold,
                Mse,
                Sgd::new(settings.learning_rate),
                &settings.options,
            )?;
            Ok(network)
        },
        |network, validation| network.evaluate(validation, &Mse),
    )
}

#[test]
fn grid_search_records_failed_candidates_and_picks_among_the_rest() {
    let grid = Grid::new(
        [-0.1, 1.0e3, 0.1],
        FitOptions::new().batch_size(4).shuffle(0),
    )
    .epochs([300]);
    let search = grid_search(
        &line_data(),
        &KFold::new(3, 0),
        &grid,
        Mode::Min,
        |settings, fold| {
            let mut line = Line::<f64>::zeros();
            line.fit(
                fold,
                Mse,
                Sgd::new(settings.learning_rate),
                &settings.options,
            )?;
            Ok(line)
        },
        |line, validation| line.evaluate(validation, &Mse),
    )
    .unwrap();
    let results: Vec<&Result<CrossValidation, TuneError>> =
        search.candidates().iter().map(|(_, r)| r).collect();
    // A negative learning rate is refused before the first step, in the first fold.
    assert!(
        matches!(
            results[0],
            Err(TuneError::Fold {
                fold: 1,
                folds: 3,
                source: FoldError::Train(TrainError::InvalidOption { .. })
            })
        ),
        "{:?}",
        results[0]
    );
    // A learning rate of 1000 makes the loss overflow.
    assert!(
        matches!(
            results[1],
            Err(TuneError::Fold {
                fold: 1,
                source: FoldError::Train(TrainError::NonFiniteLoss { .. }),
                ..
            })
        ),
        "{:?}",
        results[1]
    );
    // A linear model fits a line: the validation error goes to 0.
    let (best, cv) = search.best().unwrap();
    assert_eq!(best.learning_rate, 0.1);
    assert!(cv.mean < 1e-10, "{cv}");
    assert_eq!(search.best_index(), Some(2));
}

#[test]
fn architectures_compared_by_one_generic_call_per_type() {
    // Targets 10..=20: a sigmoid output below 1 misses every one by more than 9, so its mean
    // squared error is above 81 in every fold, while a line fits them exactly.
    let x: Vec<f64> = (0..9).map(|i| f64::from(i) / 4.0 - 1.0).collect();
    let y: Vec<f64> = x.iter().map(|x| 5.0 * x + 15.0).collect();
    let data = Dataset::from_flat(&x, &y).unwrap();
    let settings = Hyperparameters {
        learning_rate: 0.1,
        options: FitOptions::new().epochs(400).batch_size(3).shuffle(0),
    };
    let capped = cv_mse::<Capped<f64>>(&data, &settings).unwrap();
    assert!(capped.scores.iter().all(|&s| s > 81.0), "{capped:?}");
    let comparison = GridSearch::from_results(
        [
            ("capped", Ok(capped)),
            ("line", cv_mse::<Line<f64>>(&data, &settings)),
            ("small", cv_mse::<Small<f64>>(&data, &settings)),
        ],
        Mode::Min,
    )
    .unwrap();
    let (name, cv) = comparison.best().unwrap();
    assert_eq!(*name, "line", "{comparison}");
    assert!(cv.mean < 1e-6, "{cv}");
}

#[test]
fn training_is_repeatable_across_runs() {
    let settings = Hyperparameters {
        learning_rate: 0.05,
        options: FitOptions::new().epochs(20).batch_size(4).shuffle(3),
    };
    let first = cv_mse::<Small<f64>>(&line_data(), &settings).unwrap();
    let second = cv_mse::<Small<f64>>(&line_data(), &settings).unwrap();
    assert_eq!(first, second);
    assert!(first.scores.iter().all(|s| s.is_finite()));
}

#[test]
fn preprocessing_errors_in_a_fold_are_reported_with_the_fold() {
    // The closure's `?` turns a DataError into a FoldError; the fold is named.
    let error = cross_validate(
        &ten(),
        &KFold::new(2, 0),
        |train| {
            let empty = train.subset(&[])?;
            Ok(empty.len())
        },
        |_, _| 0.0,
    )
    .unwrap_err();
    assert_eq!(
        error,
        TuneError::Fold {
            fold: 1,
            folds: 2,
            source: FoldError::Data(typenn::DataError::Empty)
        }
    );
    assert_eq!(
        error.to_string(),
        "in fold 1 of 2: the dataset is empty: expected at least one sample"
    );
}

#[test]
fn bad_settings_are_typed_errors_before_any_training() {
    let mut calls = 0;
    let mut run = |kfold: KFold| {
        cross_validate(
            &ten(),
            &kfold,
            |_| {
                calls += 1;
                Ok(())
            },
            |_, _| 0.0,
        )
    };
    assert_eq!(
        run(KFold::new(1, 0)),
        Err(TuneError::TooFewFolds { folds: 1 })
    );
    assert_eq!(
        run(KFold::new(0, 0)),
        Err(TuneError::TooFewFolds { folds: 0 })
    );
    let too_many = run(KFold::new(11, 0)).unwrap_err();
    assert_eq!(
        too_many,
        TuneError::TooManyFolds {
            folds: 11,
            samples: 10
        }
    );
    assert_eq!(
        too_many.to_string(),
        "expected at most one fold per sample, but found 11 folds for 10 samples"
    );
    // One fold per sample is the most there can be.
    assert!(run(KFold::new(10, 0)).is_ok());
    assert_eq!(calls, 10);

    let mut calls = 0;
    let mut search = |candidates: Vec<f64>, kfold: KFold| {
        grid_search(
            &ten(),
            &kfold,
            candidates,
            Mode::Min,
            |c, _| {
                calls += 1;
                Ok(*c)
            },
            |c, validation| squared_error(*c, validation),
        )
    };
    assert_eq!(
        search(Vec::new(), KFold::new(3, 0)),
        Err(TuneError::EmptyGrid)
    );
    assert_eq!(
        search(vec![1.0], KFold::new(1, 0)),
        Err(TuneError::TooFewFolds { folds: 1 })
    );
    assert_eq!(calls, 0);
    // A grid with an empty axis has no candidates.
    let empty = Grid::new([0.1], FitOptions::new()).batch_sizes([]);
    let result = grid_search(
        &ten(),
        &KFold::new(3, 0),
        &empty,
        Mode::Min,
        |_, _| Ok(()),
        |_, _| 0.0,
    );
    assert_eq!(result, Err(TuneError::EmptyGrid));
    assert_eq!(
        TuneError::EmptyGrid.to_string(),
        "expected at least one candidate to search, but the grid is empty"
    );
}
