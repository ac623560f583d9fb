//! Trajectory parity for Adam, AdamW and RMSprop: training gives, step by step, the numbers
//! PyTorch's update rules give, including after the learning rate is changed between epochs.
//!
//! The reference is `tests/reference/optimizer_trajectories.py`, a hand-written numpy (float64)
//! version of `torch.optim.Adam`, `AdamW` and `RMSprop`, which generates
//! `tests/fixtures/optimizer_trajectories.rs`: the initial parameters, the data, and for each run
//! its settings, the learning rate of each epoch, the loss of every step and the final
//! parameters.

use std::error::Error;

use typenn::prelude::*;
use typenn::{Optimizer, Scalar};

#[path = "fixtures/optimizer_trajectories.rs"]
mod fixture;
#[path = "support/reference.rs"]
mod reference;

use reference::{Check, matrix, samples, vector};

network! {
    /// The reference network.
    struct Net(Dense<3, 4, Tanh>, Dense<4, 2>);
}

/// The reference computes in f64; f64 should agree to about 1e-12, f32 to its rounding.
const F64_TOLERANCE: f64 = 1e-6;
const F32_TOLERANCE: f64 = 1e-4;

/// Parameters as the fixture writes them: weights `[[f64; IN]; OUT]`, row = output unit.
struct Params {
    w1: [[f64; 3]; 4],
    b1: [f64; 4],
    w2: [[f64; 4]; 2],
    b2: [f64; 2],
}

/// One reference run, apart from the optimizer's settings.
struct Run {
    learning_rates: [f64; fixture::EPOCHS],
    losses: [f64; fixture::STEPS],
    last: Params,
}

macro_rules! params {
    ($module:ident) => {
        Params {
            w1: fixture::$module::W1,
            b1: fixture::$module::B1,
            w2: fixture::$module::W2,
            b2: fixture::$module::B2,
        }
    };
}

macro_rules! run {
    ($module:ident) => {
        Run {
            learning_rates: fixture::$module::LEARNING_RATES,
            losses: fixture::$module::LOSSES,
            last: params!($module),
        }
    };
}

/// The optimizer a run's settings describe, built with every setting given explicitly.
macro_rules! adam {
    ($module:ident) => {
        Adam::new(fixture::$module::LEARNING_RATES[0])
            .betas(fixture::$module::BETA1, fixture::$module::BETA2)
            .epsilon(fixture::$module::EPSILON)
    };
}

macro_rules! adamw {
    ($module:ident) => {
        AdamW::new(fixture::$module::LEARNING_RATES[0])
            .betas(fixture::$module::BETA1, fixture::$module::BETA2)
            .epsilon(fixture::$module::EPSILON)
            .weight_decay(fixture::$module::WEIGHT_DECAY)
    };
}

macro_rules! rmsprop {
    ($module:ident) => {
        RmsProp::new(fixture::$module::LEARNING_RATES[0])
            .alpha(fixture::$module::ALPHA)
            .epsilon(fixture::$module::EPSILON)
            .momentum(fixture::$module::MOMENTUM)
            .centered(fixture::$module::CENTERED)
    };
}

const INITIAL: Params = params!(initial);

impl Params {
    fn load<T: Scalar>(&self) -> Net<T> {
        let mut net = Net::<T>::zeros();
        (net.0.weights, net.0.bias) = (matrix(&self.w1), vector(&self.b1));
        (net.1.weights, net.1.bias) = (matrix(&self.w2), vector(&self.b2));
        net
    }

    fn compare<T: Scalar>(&self, what: &str, net: &Net<T>, check: &mut Check) {
        check.layer(format_args!("{what} layer 0"), &net.0, &self.w1, &self.b1);
        check.layer(format_args!("{what} layer 1"), &net.1, &self.w2, &self.b2);
    }
}

/// Trains from the reference's initial parameters twice, once with `trainer.step` and once with
/// `fit`, setting each epoch's learning rate through [`Optimizer::set_learning_rate`] before its
/// first step, and checks every step loss, every epoch loss and the final parameters of both.
fn trajectory<T: Scalar, O: Optimizer<T> + Clone>(
    name: &str,
    optimizer: O,
    run: &Run,
    tolerance: f64,
) -> Result<(), Box<dyn Error>> {
    let mut check = Check::new(tolerance);
    let inputs = samples::<T, 3>(&fixture::INPUTS);
    let targets = samples::<T, 2>(&fixture::TARGETS);
    let per_epoch = fixture::SAMPLES / fixture::BATCH_SIZE;

    let mut stepped = INITIAL.load::<T>();
    let mut trainer = stepped.trainer(Mse, optimizer.clone())?;
    let batches = inputs
        .chunks(fixture::BATCH_SIZE)
        .zip(targets.chunks(fixture::BATCH_SIZE));
    let mut step = 0;
    for &learning_rate in &run.learning_rates {
        trainer.optimizer_mut().set_learning_rate(learning_rate);
        assert_eq!(trainer.optimizer().learning_rate(), learning_rate);
        for (xs, ys) in batches.clone() {
            let loss = trainer.step(&mut stepped, xs, ys)?;
            check.value(
                format_args!("step {step} loss"),
                loss.as_f64(),
                run.losses[step],
            );
            step += 1;
        }
    }
    assert_eq!(step, fixture::STEPS);
    run.last.compare("step:", &stepped, &mut check);

    // One `fit` call per epoch, as a callback changing the rate between epochs would see it: the
    // trainer keeps the optimizer's state from one call to the next.
    let data = Dataset::new(inputs, targets)?;
    assert_eq!(data.len(), fixture::SAMPLES);
    let options = FitOptions::new()
        .epochs(1)
        .batch_size(fixture::BATCH_SIZE)
        .no_shuffle();
    let mut fitted = INITIAL.load::<T>();
    let mut trainer = fitted.trainer(Mse, optimizer)?;
    for (epoch, (&learning_rate, losses)) in run
        .learning_rates
        .iter()
        .zip(run.losses.chunks(per_epoch))
        .enumerate()
    {
        trainer.optimizer_mut().set_learning_rate(learning_rate);
        let history = trainer.fit(&mut fitted, &data, &options)?;
        assert_eq!(history.loss.len(), 1);
        let want = losses.iter().sum::<f64>() / per_epoch as f64;
        check.value(
            format_args!("fit epoch {epoch} loss"),
            history.loss[0],
            want,
        );
    }
    run.last.compare("fit:", &fitted, &mut check);

    check.finish(name);
    Ok(())
}

/// The `default()` of each optimizer is PyTorch's, as the reference script states it.
#[test]
fn defaults_are_pytorchs() {
    assert_eq!(Adam::default(), adam!(adam_defaults));
    assert_eq!(AdamW::default(), adamw!(adamw_defaults));
    assert_eq!(RmsProp::default(), rmsprop!(rmsprop_defaults));
}

/// The settings of every reference run pass validation.
#[test]
fn reference_settings_validate() -> Result<(), Box<dyn Error>> {
    Optimizer::<f64>::validate(&adam!(adam))?;
    Optimizer::<f64>::validate(&adamw!(adamw))?;
    Optimizer::<f64>::validate(&rmsprop!(rmsprop_momentum))?;
    Optimizer::<f64>::validate(&rmsprop!(rmsprop_centered))?;
    Ok(())
}

/// A learning rate set out of range is refused when training starts, naming the setting.
#[test]
fn an_invalid_rate_is_reported_before_training() {
    let net = INITIAL.load::<f32>();
    let mut adam = Adam::default();
    Optimizer::<f32>::set_learning_rate(&mut adam, -1.0);
    let error = net.trainer(Mse, adam).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some(
            "Adam learning rate must be a finite number above 0 (in f32: from about 1.2e-38 to 3.4e38), but is -1"
        )
    );
}

macro_rules! trajectory_tests {
    ($($f64_test:ident, $f32_test:ident: $label:literal, $optimizer:expr, $run:ident;)*) => {$(
        #[test]
        fn $f64_test() -> Result<(), Box<dyn Error>> {
            trajectory::<f64, _>(concat!($label, ", f64"), $optimizer, &run!($run), F64_TOLERANCE)
        }

        #[test]
        fn $f32_test() -> Result<(), Box<dyn Error>> {
            trajectory::<f32, _>(concat!($label, ", f32"), $optimizer, &run!($run), F32_TOLERANCE)
        }
    )*};
}

trajectory_tests! {
    adam_defaults_f64, adam_defaults_f32: "Adam defaults", Adam::default(), adam_defaults;
    adam_scheduled_f64, adam_scheduled_f32: "Adam, scheduled", adam!(adam), adam;
    adamw_defaults_f64, adamw_defaults_f32: "AdamW defaults", AdamW::default(), adamw_defaults;
    adamw_scheduled_f64, adamw_scheduled_f32: "AdamW, scheduled", adamw!(adamw), adamw;
    rmsprop_defaults_f64, rmsprop_defaults_f32:
        "RMSprop defaults", RmsProp::default(), rmsprop_defaults;
    rmsprop_momentum_f64, rmsprop_momentum_f32:
        "RMSprop momentum, scheduled", rmsprop!(rmsprop_momentum), rmsprop_momentum;
    rmsprop_centered_f64, rmsprop_centered_f32:
        "RMSprop centered", rmsprop!(rmsprop_centered), rmsprop_centered;
}
