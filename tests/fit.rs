//! `fit`'s Keras options: validation split and data, metrics, early stopping, callbacks, the full
//! history and typed errors for bad options. Expected numbers are derived by hand in comments
//! (all models here are linear, in f64, so every figure is a short formula).

use typenn::prelude::*;
use typenn::{Callback, MetricValues, TrainError};

network! {
    /// p = w x + b.
    #[derive(Clone, Debug, PartialEq)]
    struct Line(Dense<1, 1>);
}

network! {
    /// Three linear scores of two inputs.
    #[derive(Clone, Debug, PartialEq)]
    struct Scores(Dense<2, 3>);
}

network! {
    /// A small non-linear model of two outputs.
    #[derive(Clone, Debug, PartialEq)]
    struct Small(Dense<2, 4, Tanh>, Dense<4, 2>);
}

/// A dataset of one input and one target per sample.
fn line_data(x: &[f64], y: &[f64]) -> Dataset<f64, 1, 1> {
    Dataset::from_flat(x, y).expect("finite data")
}

/// `w` and `b` of a line.
fn line_parameters(line: &Line<f64>) -> (f64, f64) {
    (line.0.weights[(0, 0)], line.0.bias[0])
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

fn close_all(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (index, (&g, &w)) in got.iter().zip(want).enumerate() {
        close(g, w, &format!("{what}[{index}]"));
    }
}

/// Twelve samples of a smooth function of two inputs, two outputs.
fn curve() -> Dataset<f64, 2, 2> {
    let inputs: Vec<[f64; 2]> = (0..12)
        .map(|i| {
            let t = f64::from(i) / 6.0 - 1.0;
            [t, (2.0 * t).sin()]
        })
        .collect();
    let targets: Vec<[f64; 2]> = inputs
        .iter()
        .map(|x| [x[0] * x[1], (x[0] > 0.0).into()])
        .collect();
    Dataset::from_rows(&inputs, &targets).expect("finite data")
}

// ---------------------------------------------------------------------------------------------
// Validation split

#[test]
fn validation_split_holds_out_the_last_samples() {
    // 8 samples, split 0.25: floor(8 * 0.75) = 6 train (0..6), samples 6 and 7 validate.
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let y = [1.0, -1.0, 2.0, 0.0, 3.0, 1.0, 10.0, -4.0];
    let data = line_data(&x, &y);
    let lr: f64 = 0.01;
    // One step on the 6 training samples from zero weights: every error is e_i = -y_i.
    // loss = mean(y_i^2) = (1 + 1 + 4 + 0 + 9 + 1) / 6 = 16 / 6.
    // dL/dw = 2/6 sum(e_i x_i) = -(1 - 2 + 6 + 0 + 15 + 6) / 3 = -26 / 3,
    // dL/db = 2/6 sum(e_i) = -(1 - 1 + 2 + 0 + 3 + 1) / 3 = -2.
    let (w, b) = (lr * 26.0 / 3.0, lr * 2.0);
    // val_loss = mean over samples 6, 7 of (w x + b - y)^2.
    let val_loss = ((w * 7.0 + b - 10.0).powi(2) + (w * 8.0 + b + 4.0).powi(2)) / 2.0;

    for options in [
        FitOptions::new().no_shuffle(),
        // Shuffling happens after the split: the one batch holds the same 6 samples.
        FitOptions::new().shuffle(11),
    ] {
        let options = options.epochs(1).batch_size(6).validation_split(0.25);
        let mut model = Line::<f64>::zeros();
        let history = model
            .fit(&data, Mse, Sgd::new(lr), &options)
            .expect("valid options");
        close(history.loss[0], 16.0 / 6.0, "epoch 1 loss");
        let (got_w, got_b) = line_parameters(&model);
        close(got_w, w, "w");
        close(got_b, b, "b");
        let got = history.val_loss.expect("validation data")[0];
        close(got, val_loss, "val_loss");
    }
}

#[test]
fn validation_split_rounds_the_training_part_down() {
    // 5 samples, split 0.5: floor(2.5) = 2 train. From zero weights the first epoch's loss is
    // the mean square of the first two targets, and the validation loss of the three others is
    // taken after one step on them.
    let data = line_data(&[1.0, 1.0, 1.0, 1.0, 1.0], &[1.0, 3.0, 0.0, 0.0, 6.0]);
    let options = FitOptions::new()
        .epochs(1)
        .batch_size(8)
        .no_shuffle()
        .validation_split(0.5);
    let mut model = Line::<f64>::zeros();
    let history = model
        .fit(&data, Mse, Sgd::new(0.125), &options)
        .expect("valid options");
    close(history.loss[0], 5.0, "loss");
    // dL/dw = dL/db = (2 / 2) (-1 - 3) = -4: w = b = 0.5, p = 1 for every x = 1.
    // val_loss = ((1 - 0)^2 + (1 - 0)^2 + (1 - 6)^2) / 3 = 9.
    close(history.val_loss.expect("validation")[0], 9.0, "val_loss");
}

#[test]
fn a_shuffled_split_trains_exactly_as_the_training_part_alone() {
    // With shuffling and batches of 1, the order matters: training on the split must be the
    // same run as training on the first 6 samples only, and validation must be `evaluate` on
    // the last 2.
    let x = [0.5, -1.0, 2.0, 1.5, -0.5, 1.0, 3.0, -2.0];
    let y = [1.0, -1.5, 2.5, 2.0, 0.0, 1.5, 100.0, -100.0];
    let data = line_data(&x, &y);
    let options = FitOptions::new().epochs(3).batch_size(1).shuffle(5);
    let mut split = Line::<f64>::zeros();
    let history = split
        .fit(&data, Mse, Sgd::new(0.05), &options.validation_split(0.25))
        .expect("valid options");

    let mut alone = Line::<f64>::zeros();
    let alone_history = alone
        .fit(&line_data(&x[..6], &y[..6]), Mse, Sgd::new(0.05), &options)
        .expect("valid options");
    assert_eq!(split, alone);
    assert_eq!(history.loss, alone_history.loss);
    let held_out = line_data(&x[6..], &y[6..]);
    assert_eq!(
        history.val_loss.expect("validation").last(),
        Some(&split.evaluate(&held_out, &Mse))
    );
}

#[test]
fn validation_data_is_evaluated_after_each_epoch() {
    // One sample x = 1, y = 1, batches of 1, lr 0.125: p <- p - 0.125 * 4 (p - 1), so the error
    // halves each step: p = 0.5, 0.75, 0.875 after epochs 1, 2, 3.
    let data = line_data(&[1.0], &[1.0]);
    let validation = line_data(&[1.0, 1.0], &[0.0, 2.0]);
    let mut model = Line::<f64>::zeros();
    let history = Fit::new(&data)
        .options(FitOptions::new().epochs(3).batch_size(1))
        .validation_data(&validation)
        .run(&mut model, Mse, Sgd::new(0.125))
        .expect("valid options");
    // val_loss = (p^2 + (p - 2)^2) / 2.
    let val = |p: f64| (p * p + (p - 2.0) * (p - 2.0)) / 2.0;
    close_all(
        history.val_loss.as_deref().expect("validation"),
        &[val(0.5), val(0.75), val(0.875)],
        "val_loss",
    );
    close_all(&history.loss, &[1.0, 0.25, 0.0625], "loss");
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// Scores `(x0, x1, -x0 - x1)`.
fn scores() -> Scores<f64> {
    let mut model = Scores::<f64>::zeros();
    model.0.weights = SMatrix::from([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]]);
    model
}

/// Four samples: argmaxes 0, 1, 2, 0 (a tie between 0 and 1), classes 0, 2, 2, 1.
fn classes() -> Dataset<f64, 2, 3> {
    Dataset::from_rows(
        &[[2.0, 1.0], [0.0, 1.0], [-1.0, -2.0], [1.0, 1.0]],
        &[
            [1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0],
            [0.0, 1.0, 0.0],
        ],
    )
    .expect("finite data")
}

#[test]
fn metrics_of_a_fixed_classifier() {
    let model = scores();
    let data = classes();
    assert_eq!(
        model.forward(&SVector::from([2.0, 1.0])),
        SVector::from([2.0, 1.0, -3.0])
    );
    // Right, wrong, right, wrong (the tie goes to the first class).
    assert_eq!(Metric::Accuracy.evaluate(&model, &data), 0.5);
    // Errors (1, 1, -3), (0, 1, -2), (-1, -2, 2), (1, 0, -2): |e| sums to 16 and e^2 to 30
    // over 12 values.
    close(Metric::Mae.evaluate(&model, &data), 16.0 / 12.0, "mae");
    close(Metric::Rmse.evaluate(&model, &data), 2.5_f64.sqrt(), "rmse");
    close(model.evaluate(&data, &Mse), 2.5, "mse");
}

#[test]
fn validation_metrics_are_those_of_the_network_after_the_epoch() {
    let data = curve();
    let validation = classes_for_small();
    let mut model = Small::<f64>::new(&mut StdRng::seed_from_u64(3));
    let options = FitOptions::new().epochs(2).batch_size(5).metrics(&[
        Metric::Rmse,
        Metric::Accuracy,
        Metric::Mae,
    ]);
    let history = Fit::new(&data)
        .options(options)
        .validation_data(&validation)
        .run(&mut model, Mse, Sgd::new(0.1))
        .expect("valid options");
    for metric in [Metric::Accuracy, Metric::Mae, Metric::Rmse] {
        assert_eq!(
            history.val_metric(metric).and_then(<[f64]>::last),
            Some(&metric.evaluate(&model, &validation)),
            "{metric}"
        );
    }
    assert_eq!(
        history.val_loss.as_deref().and_then(<[f64]>::last),
        Some(&model.evaluate(&validation, &Mse))
    );
}

fn classes_for_small() -> Dataset<f64, 2, 2> {
    Dataset::from_rows(
        &[[0.5, 0.2], [-0.5, 0.9], [0.1, -0.3]],
        &[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]],
    )
    .expect("finite data")
}

#[test]
fn training_metrics_are_taken_from_each_step_before_its_update() {
    // x = (1, 2, 1, 3), y = (1, 0, 0, 1), batches of 2 in order, lr 0.25, from zero weights.
    // Step 1 (samples 0, 1): p = (0, 0), e = (-1, 0), loss 1/2; dL/dw = -1, dL/db = -1, so
    //   w = b = 0.25.
    // Step 2 (samples 2, 3): p = (0.5, 1.0), e = (0.5, 0), loss 1/8.
    // Epoch: loss (2 * 1/2 + 2 * 1/8) / 4 = 5/16; mae (1 + 0 + 0.5 + 0) / 4 = 3/8;
    // rmse sqrt((1 + 0.25) / 4) = sqrt(5/16); accuracy: p above 0.5 is class 1, so classes
    // (0, 0, 0, 1) against (1, 0, 0, 1): 3/4.
    let data = line_data(&[1.0, 2.0, 1.0, 3.0], &[1.0, 0.0, 0.0, 1.0]);
    let options = FitOptions::new()
        .epochs(1)
        .batch_size(2)
        .no_shuffle()
        .metric(Metric::Accuracy)
        .metric(Metric::Mae)
        .metric(Metric::Rmse);
    let mut model = Line::<f64>::zeros();
    let history = model
        .fit(&data, Mse, Sgd::new(0.25), &options)
        .expect("valid options");
    assert_eq!(history.loss, [5.0 / 16.0]);
    assert_eq!(history.metric(Metric::Accuracy), Some(&[0.75][..]));
    assert_eq!(history.metric(Metric::Mae), Some(&[0.375][..]));
    assert_eq!(
        history.metric(Metric::Rmse),
        Some(&[(5.0_f64 / 16.0).sqrt()][..])
    );
    // After the epoch the network fits differently: the figures were not taken at its end.
    assert_ne!(Metric::Mae.evaluate(&model, &data), 0.375);
    assert!(history.val_metrics.is_empty() && history.val_loss.is_none());
}

#[test]
fn rmse_is_the_root_of_the_mse_loss_over_uneven_batches() {
    // Keras's RootMeanSquaredError pools the squared errors of the epoch, so with the Mse loss
    // it is the square root of the epoch's loss whatever the batch sizes (12 = 5 + 5 + 2).
    let mut model = Small::<f64>::new(&mut StdRng::seed_from_u64(9));
    let options = FitOptions::new()
        .epochs(4)
        .batch_size(5)
        .shuffle(2)
        .metric(Metric::Rmse);
    let history = model
        .fit(&curve(), Mse, Sgd::new(0.2), &options)
        .expect("valid options");
    let rmse = history.metric(Metric::Rmse).expect("asked for");
    let roots: Vec<f64> = history.loss.iter().map(|loss| loss.sqrt()).collect();
    close_all(rmse, &roots, "rmse vs sqrt(loss)");
}

#[test]
fn metrics_do_not_change_training() {
    let options = FitOptions::new().epochs(3).batch_size(4).shuffle(1);
    let start = Small::<f64>::new(&mut StdRng::seed_from_u64(4));
    let (mut plain, mut measured) = (start.clone(), start);
    let plain_history = plain
        .fit(&curve(), Mse, Sgd::new(0.1), &options)
        .expect("valid options");
    let measured_history = measured
        .fit(
            &curve(),
            Mse,
            Sgd::new(0.1),
            &options
                .metrics(&[Metric::Accuracy, Metric::Mae, Metric::Rmse])
                .verbose(true),
        )
        .expect("valid options");
    assert_eq!(plain, measured);
    assert_eq!(plain_history.loss, measured_history.loss);
}

// ---------------------------------------------------------------------------------------------
// Early stopping

/// One training sample x = 1, y = 1 and lr 0.375: each step moves p by -0.375 * 4 (p - 1), so
/// the error e = p - 1 goes -1, 0.5, -0.25, 0.125, -0.0625, 0.03125, ... and p after epoch k is
/// 1.5, 0.75, 1.125, 0.9375, 1.03125, 0.984375, ...
/// Against the validation sample y = 0.8, val_loss = (p - 0.8)^2:
/// 0.49, 0.0025, 0.105625, 0.01890625, 0.0534765625, 0.034...: best at epoch 2.
fn overshooting(options: FitOptions) -> (Line<f64>, Result<typenn::History, TrainError>) {
    let data = line_data(&[1.0], &[1.0]);
    let validation = line_data(&[1.0], &[0.8]);
    let mut model = Line::<f64>::zeros();
    let result = Fit::new(&data)
        .options(options.batch_size(1))
        .validation_data(&validation)
        .run(&mut model, Mse, Sgd::new(0.375));
    (model, result)
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    let stop = EarlyStopping::new(Monitor::ValLoss).patience(3);
    let (model, history) = overshooting(FitOptions::new().epochs(20).early_stopping(stop));
    let history = history.expect("valid options");
    // Epochs 3, 4 and 5 do not improve on epoch 2: training stops after epoch 5.
    close_all(
        history.val_loss.as_deref().expect("validation"),
        &[0.49, 0.0025, 0.105625, 0.01890625, 0.0534765625],
        "val_loss",
    );
    assert_eq!(history.epochs(), 5);
    assert_eq!(history.best_epoch, Some(2));
    // Not restoring: the network keeps epoch 5's p = 1.03125, split evenly as w = b.
    assert_eq!(line_parameters(&model), (0.515625, 0.515625));

    // Patience 1: epoch 3 is the first without improvement and stops.
    let (_, history) = overshooting(
        FitOptions::new()
            .epochs(20)
            .early_stopping(stop.patience(1)),
    );
    assert_eq!(history.expect("valid options").epochs(), 3);

    // min_delta 0.5 on the training loss, e^2 = 1, 0.25, 0.0625, ...: epoch 2 beats 1 by 0.75,
    // epoch 3 beats 2 by only 0.1875, epoch 4 by less: with patience 2 training stops at 4.
    let on_loss = EarlyStopping::new(Monitor::Loss).patience(2).min_delta(0.5);
    let (_, history) = overshooting(FitOptions::new().epochs(20).early_stopping(on_loss));
    let history = history.expect("valid options");
    assert_eq!((history.epochs(), history.best_epoch), (4, Some(2)));
}

#[test]
fn restore_best_weights_restores_the_best_epoch_exactly() {
    let stop = EarlyStopping::new(Monitor::ValLoss)
        .patience(3)
        .restore_best_weights(true);
    let (restored, history) = overshooting(FitOptions::new().epochs(20).early_stopping(stop));
    assert_eq!(history.expect("valid options").epochs(), 5);
    // Epoch 2's p = 0.75, so w = b = 0.375.
    assert_eq!(line_parameters(&restored), (0.375, 0.375));
    // Bit for bit the network of a run of exactly 2 epochs.
    let (two_epochs, _) = overshooting(FitOptions::new().epochs(2));
    assert_eq!(restored, two_epochs);
}

#[test]
fn restore_best_weights_also_applies_when_all_epochs_run() {
    // 4 epochs, patience 10: never stops early, but epoch 2 was best.
    let stop = EarlyStopping::new(Monitor::ValLoss)
        .patience(10)
        .restore_best_weights(true);
    let (restored, history) = overshooting(FitOptions::new().epochs(4).early_stopping(stop));
    let history = history.expect("valid options");
    assert_eq!((history.epochs(), history.best_epoch), (4, Some(2)));
    assert_eq!(line_parameters(&restored), (0.375, 0.375));
}

#[test]
fn early_stopping_on_accuracy_waits_for_it_to_rise() {
    // One sample x = y = 1, lr 0.125: the error halves each step, p = 0.5, 0.75, 0.875, ...
    // Against a validation target of 1 (class 1), p = 0.5 is not above 0.5: val_accuracy is
    // 0, 1, 1, 1, ... It rises at epoch 2, then stays flat: patience 2 stops after epoch 4.
    // (Were accuracy minimized, epoch 1 would be best and epoch 3 would stop.)
    let data = line_data(&[1.0], &[1.0]);
    let validation = line_data(&[1.0], &[1.0]);
    let stop = EarlyStopping::new(Monitor::ValMetric(Metric::Accuracy))
        .patience(2)
        .restore_best_weights(true);
    let mut model = Line::<f64>::zeros();
    let history = Fit::new(&data)
        .options(
            FitOptions::new()
                .epochs(10)
                .batch_size(1)
                .metric(Metric::Accuracy)
                .early_stopping(stop),
        )
        .validation_data(&validation)
        .run(&mut model, Mse, Sgd::new(0.125))
        .expect("valid options");
    assert_eq!(
        history.val_metric(Metric::Accuracy),
        Some(&[0.0, 1.0, 1.0, 1.0][..])
    );
    assert_eq!(history.best_epoch, Some(2));
    // Epoch 2's p = 0.75.
    assert_eq!(line_parameters(&model), (0.375, 0.375));
}

// ---------------------------------------------------------------------------------------------
// Callbacks

#[test]
fn a_callback_halving_the_learning_rate_changes_the_trajectory() {
    // One sample x = 1, y = 1, batches of 1: e <- (1 - 4 lr) e from e = -1.
    // lr 0.1, 0.05, 0.025, 0.0125: e = -0.6, -0.48, -0.432, -0.4104; losses are the squares of
    // the errors before each epoch: 1, 0.36, 0.2304, 0.186624.
    let data = line_data(&[1.0], &[1.0]);
    let options = FitOptions::new().epochs(4).batch_size(1);
    let mut seen = Vec::new();
    let mut halve = |log: &EpochLog, control: &mut Control| {
        seen.push((log.epoch, log.epochs, log.loss, log.learning_rate));
        control.scale_learning_rate(0.5);
    };
    let mut model = Line::<f64>::zeros();
    let history = Fit::new(&data)
        .options(options)
        .callback(&mut halve)
        .run(&mut model, Mse, Sgd::new(0.1))
        .expect("valid options");
    close_all(&history.loss, &[1.0, 0.36, 0.2304, 0.186624], "loss");
    close_all(
        &history.learning_rate,
        &[0.1, 0.05, 0.025, 0.0125],
        "learning rate",
    );
    let (w, b) = line_parameters(&model);
    close(w, (1.0 - 0.4104) / 2.0, "w");
    close(b, (1.0 - 0.4104) / 2.0, "b");
    let epochs: Vec<(usize, usize)> = seen.iter().map(|s| (s.0, s.1)).collect();
    assert_eq!(epochs, [(1, 4), (2, 4), (3, 4), (4, 4)]);
    assert_eq!(seen[1].2, history.loss[1]);
    assert_eq!(seen[2].3, history.learning_rate[2]);

    // Without it: e <- 0.6 e, losses 1, 0.36, 0.1296, 0.046656.
    let mut constant = Line::<f64>::zeros();
    let history = constant
        .fit(&data, Mse, Sgd::new(0.1), &options)
        .expect("valid options");
    close_all(&history.loss, &[1.0, 0.36, 0.1296, 0.046656], "loss");
}

/// Stops training once the loss is below a threshold; remembers the epochs it saw.
struct StopBelow {
    threshold: f64,
    epochs: Vec<usize>,
}

impl Callback for StopBelow {
    fn on_epoch_end(&mut self, log: &EpochLog, control: &mut Control) {
        self.epochs.push(log.epoch);
        if log.loss < self.threshold {
            control.stop_training();
        }
    }
}

#[test]
fn callbacks_run_in_order_and_can_stop_training() {
    // One sample x = y = 1, e <- (1 - 4 lr) e. Epoch 1 at lr 0.375 gives e = 0.5; the first
    // callback then sets lr 0.0625, so e <- 0.75 e: 0.375, 0.28125. Losses are the squares of
    // the errors before each epoch: 1, 0.25, 0.140625, 0.0791015625, the first below 0.1 at
    // epoch 4, where the second callback stops training. The third sees the rate the first set.
    let data = line_data(&[1.0], &[1.0]);
    let mut stop = StopBelow {
        threshold: 0.1,
        epochs: Vec::new(),
    };
    let mut rates = Vec::new();
    let mut set = |_: &EpochLog, control: &mut Control| control.set_learning_rate(0.0625);
    let mut read = |_: &EpochLog, control: &mut Control| rates.push(control.learning_rate());
    let history = Fit::new(&data)
        .options(FitOptions::new().epochs(10).batch_size(1))
        .callback(&mut set)
        .callback(&mut stop)
        .callback(&mut read)
        .run(&mut Line::<f64>::zeros(), Mse, Sgd::new(0.375))
        .expect("valid options");
    assert_eq!(history.loss, [1.0, 0.25, 0.140625, 0.0791015625]);
    assert_eq!(history.learning_rate, [0.375, 0.0625, 0.0625, 0.0625]);
    assert_eq!(stop.epochs, [1, 2, 3, 4]);
    assert_eq!(rates, [0.0625; 4]);
}

#[test]
fn a_trainer_goes_on_with_its_momentum() {
    // Two runs of one epoch on one trainer are one run of two epochs: the velocity carries over.
    let data = curve();
    let options = FitOptions::new().batch_size(5).no_shuffle();
    let start = Small::<f64>::new(&mut StdRng::seed_from_u64(6));
    let mut once = start.clone();
    let history = once
        .fit(&data, Mse, Sgd::new(0.1).momentum(0.9), &options.epochs(2))
        .expect("valid options");

    let mut twice = start;
    let mut trainer = twice
        .trainer(Mse, Sgd::new(0.1).momentum(0.9))
        .expect("valid optimizer");
    let mut losses = Vec::new();
    for _ in 0..2 {
        let run = Fit::new(&data)
            .options(options.epochs(1))
            .run_with(&mut trainer, &mut twice)
            .expect("valid options");
        losses.extend(run.loss);
    }
    assert_eq!(once, twice);
    assert_eq!(history.loss, losses);
}

// ---------------------------------------------------------------------------------------------
// History

#[test]
fn history_has_every_figure_for_every_epoch() {
    let data = curve();
    let mut model = Small::<f64>::new(&mut StdRng::seed_from_u64(8));
    let options = FitOptions::new()
        .epochs(4)
        .batch_size(3)
        .validation_split(0.25)
        .metrics(&[Metric::Mae, Metric::Accuracy, Metric::Rmse]);
    let history = model
        .fit(&data, Mse, Sgd::new(0.05), &options)
        .expect("valid options");
    assert_eq!(history.epochs(), 4);
    assert_eq!(history.learning_rate, [0.05; 4]);
    assert_eq!(history.val_loss.as_ref().map(Vec::len), Some(4));
    assert_eq!(history.best_epoch, None);
    for figures in [&history.metrics, &history.val_metrics] {
        let metrics: Vec<Metric> = figures.iter().map(|column| column.metric).collect();
        assert_eq!(metrics, [Metric::Accuracy, Metric::Mae, Metric::Rmse]);
        assert!(figures.iter().all(|column| column.values.len() == 4));
    }
    for epoch in 1..=4 {
        let log = history.epoch(epoch).expect("completed");
        let index = epoch - 1;
        assert_eq!(log.loss, history.loss[index]);
        assert_eq!(
            log.val_loss,
            Some(history.val_loss.as_ref().expect("validation")[index])
        );
        for metric in [Metric::Accuracy, Metric::Mae, Metric::Rmse] {
            assert_eq!(
                log.metrics.get(metric),
                history.metric(metric).map(|v| v[index])
            );
            assert_eq!(
                log.get(Monitor::ValMetric(metric)),
                history.get(Monitor::ValMetric(metric)).map(|v| v[index])
            );
        }
        assert!(log.val_loss.is_some_and(f64::is_finite));
    }
    assert_eq!(history.epoch(5), None);
    assert_eq!(history.epoch(0), None);
    // The last validation figures are those of the trained network on the last quarter.
    let held_out = Dataset::new(data.inputs()[9..].to_vec(), data.targets()[9..].to_vec())
        .expect("finite data");
    assert_eq!(
        history.val_loss.as_deref().and_then(<[f64]>::last),
        Some(&model.evaluate(&held_out, &Mse))
    );
    assert_eq!(
        history.val_metric(Metric::Mae).and_then(<[f64]>::last),
        Some(&Metric::Mae.evaluate(&model, &held_out))
    );
}

#[test]
fn a_non_finite_loss_keeps_the_whole_history_so_far() {
    // Two samples x = y = 1, split 0.5: one trains, one validates. lr 10 diverges: e <- -39 e
    // from e = -1, and step k's loss is e^2 = 39^(2 (k - 1)), which overflows f64 (1.8e308) first
    // when 2 (k - 1) log10(39) = 3.18 (k - 1) > 308.25: k - 1 = 97, so at epoch 98 (one step per
    // epoch), after 97 complete epochs.
    let data = line_data(&[1.0, 1.0], &[1.0, 1.0]);
    let options = FitOptions::new()
        .epochs(200)
        .batch_size(1)
        .validation_split(0.5)
        .metric(Metric::Mae);
    let mut model = Line::<f64>::zeros();
    let error = model
        .fit(&data, Mse, Sgd::new(10.0), &options)
        .expect_err("diverges");
    let TrainError::NonFiniteLoss {
        epoch,
        step,
        history,
        ..
    } = error
    else {
        panic!("expected NonFiniteLoss, got {error:?}");
    };
    assert_eq!((epoch, step), (98, 1));
    assert_eq!(history.epochs(), 97);
    assert_eq!(history.val_loss.as_ref().map(Vec::len), Some(97));
    assert_eq!(history.metric(Metric::Mae).map(<[f64]>::len), Some(97));
    assert_eq!(history.val_metric(Metric::Mae).map(<[f64]>::len), Some(97));
    assert_eq!(history.learning_rate.len(), 97);
    // Mae of the one training step of epoch k is |e_(k-1)| = 39^(k - 1).
    close(
        history.metric(Metric::Mae).expect("asked for")[3],
        39.0_f64.powi(3),
        "mae of epoch 4",
    );
}

// ---------------------------------------------------------------------------------------------
// Invalid options

fn fit_error(data: &Dataset<f64, 1, 1>, options: FitOptions) -> TrainError {
    let mut model = Line::<f64>::zeros();
    model.0.weights[(0, 0)] = 0.5;
    let before = model.clone();
    let error = model
        .fit(data, Mse, Sgd::new(0.1), &options)
        .expect_err("invalid options");
    assert_eq!(model, before, "{error}: the network changed");
    error
}

#[test]
fn bad_validation_splits_are_refused() {
    let data = line_data(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0]);
    for split in [0.0, 1.0, -0.25, 1.5, f64::NAN, f64::INFINITY] {
        let error = fit_error(&data, FitOptions::new().validation_split(split));
        let TrainError::InvalidOption { option, found, .. } = error else {
            panic!("{split}: expected InvalidOption, got {error:?}");
        };
        assert_eq!(option, "validation split");
        assert!(
            found == split || (found.is_nan() && split.is_nan()),
            "{found}"
        );
    }
    // 2 samples, split 0.9: floor(2 * 0.1) = 0 left to train on.
    let two = line_data(&[1.0, 2.0], &[1.0, 2.0]);
    let error = fit_error(&two, FitOptions::new().validation_split(0.9));
    assert_eq!(
        error,
        TrainError::EmptySplit {
            split: 0.9,
            samples: 2,
            training: 0,
            validation: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "a validation split must leave at least one sample for training and one for validation, \
         but 0.9 of 2 samples leaves 0 for training and 2 for validation"
    );
    // 1 - 1e-17 rounds to 1: every sample trains, none validates.
    let error = fit_error(&data, FitOptions::new().validation_split(1e-17));
    assert!(
        matches!(
            error,
            TrainError::EmptySplit {
                training: 4,
                validation: 0,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_split_and_validation_data_together_are_refused() {
    let data = line_data(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0]);
    let mut model = Line::<f64>::zeros();
    let error = Fit::new(&data)
        .options(FitOptions::new().validation_split(0.5))
        .validation_data(&data)
        .run(&mut model, Mse, Sgd::new(0.1))
        .expect_err("conflicting options");
    assert!(
        matches!(error, TrainError::ConflictingOptions { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "expected either a validation split or validation data, but both were given"
    );
    assert_eq!(model, Line::<f64>::zeros());
}

#[test]
fn early_stopping_on_a_figure_not_computed_is_refused() {
    let data = line_data(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 3.0, 4.0]);
    let error = fit_error(
        &data,
        FitOptions::new().early_stopping(EarlyStopping::new(Monitor::ValLoss)),
    );
    assert!(
        matches!(
            error,
            TrainError::UnavailableMonitor {
                monitor: Monitor::ValLoss,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("early stopping monitors val_loss, which needs validation data")
    );

    let error = fit_error(
        &data,
        FitOptions::new()
            .validation_split(0.5)
            .metric(Metric::Rmse)
            .early_stopping(EarlyStopping::new(Monitor::ValMetric(Metric::Mae))),
    );
    assert!(
        matches!(
            error,
            TrainError::UnavailableMonitor {
                monitor: Monitor::ValMetric(Metric::Mae),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("val_mae"), "{error}");
}

#[test]
fn a_bad_min_delta_is_refused() {
    let data = line_data(&[1.0, 2.0], &[1.0, 2.0]);
    for delta in [-0.1, f64::NAN, f64::INFINITY] {
        let stop = EarlyStopping::new(Monitor::Loss).min_delta(delta);
        let error = fit_error(&data, FitOptions::new().early_stopping(stop));
        assert!(
            matches!(
                error,
                TrainError::InvalidOption { option: "early stopping min_delta", found, .. }
                    if found == delta || (found.is_nan() && delta.is_nan())
            ),
            "{error:?}"
        );
    }
}

#[test]
fn a_callback_setting_a_bad_learning_rate_stops_with_an_error() {
    let data = line_data(&[1.0], &[1.0]);
    for bad in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let mut model = Line::<f64>::zeros();
        let mut set = |log: &EpochLog, control: &mut Control| {
            if log.epoch == 2 {
                control.set_learning_rate(bad);
            }
        };
        let error = Fit::new(&data)
            .options(FitOptions::new().epochs(5).batch_size(1))
            .callback(&mut set)
            .run(&mut model, Mse, Sgd::new(0.125))
            .expect_err("a bad learning rate");
        let TrainError::InvalidLearningRate {
            epoch,
            found,
            history,
        } = error
        else {
            panic!("{bad}: expected InvalidLearningRate, got {error:?}");
        };
        assert_eq!(epoch, 2);
        assert!(found == bad || (found.is_nan() && bad.is_nan()));
        assert_eq!(history.loss, [1.0, 0.25]);
        // The weights of epoch 2: p = 0.75.
        assert_eq!(line_parameters(&model), (0.375, 0.375));
    }
}

#[test]
fn epoch_logs_answer_for_every_monitor() {
    let mut log = EpochLog::new(1, 1, 0.5, 0.1);
    log.val_loss = Some(0.25);
    let mut values = MetricValues::default();
    values.set(Metric::Accuracy, 0.75);
    log.val_metrics = values;
    assert_eq!(log.get(Monitor::Loss), Some(0.5));
    assert_eq!(log.get(Monitor::ValLoss), Some(0.25));
    assert_eq!(log.get(Monitor::ValMetric(Metric::Accuracy)), Some(0.75));
    assert_eq!(log.get(Monitor::Metric(Metric::Accuracy)), None);
}
