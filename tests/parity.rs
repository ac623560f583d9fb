//! Trajectory parity: SGD training gives, step by step, the numbers PyTorch and Keras would.
//!
//! The reference is `tests/reference/sgd_trajectory.py`, a hand-written numpy (float64) version
//! of their semantics, which generates `tests/fixtures/sgd_trajectory.rs`: the initial
//! parameters, the data, and for each optimizer the loss of every step and the final parameters.

use std::error::Error;

use typenn::Scalar;
use typenn::prelude::*;

#[path = "fixtures/sgd_trajectory.rs"]
mod fixture;
#[path = "support/reference.rs"]
mod reference;

use reference::{Check, matrix, samples, vector};

network! {
    /// The reference network.
    struct Net(Dense<4, 5, Tanh>, Dense<5, 4, Relu>, Dense<4, 2, Sigmoid>);
}

/// The reference computes in f64; f64 should agree to about 1e-12, f32 to its rounding.
const F64_TOLERANCE: f64 = 1e-6;
const F32_TOLERANCE: f64 = 1e-4;

/// Parameters as the fixture writes them: weights `[[f64; IN]; OUT]`, row = output unit.
struct Params {
    w1: [[f64; 4]; 5],
    b1: [f64; 5],
    w2: [[f64; 5]; 4],
    b2: [f64; 4],
    w3: [[f64; 4]; 2],
    b3: [f64; 2],
}

/// One optimizer's reference run.
struct Run {
    sgd: Sgd,
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
            w3: fixture::$module::W3,
            b3: fixture::$module::B3,
        }
    };
}

macro_rules! run {
    ($module:ident) => {
        Run {
            sgd: Sgd::new(fixture::$module::LEARNING_RATE)
                .momentum(fixture::$module::MOMENTUM)
                .nesterov(fixture::$module::NESTEROV),
            losses: fixture::$module::LOSSES,
            last: params!($module),
        }
    };
}

const INITIAL: Params = params!(initial);
const PLAIN: Run = run!(plain);
const MOMENTUM: Run = run!(momentum);
const NESTEROV: Run = run!(nesterov);

impl Params {
    fn load<T: Scalar>(&self) -> Net<T> {
        let mut net = Net::<T>::zeros();
        (net.0.weights, net.0.bias) = (matrix(&self.w1), vector(&self.b1));
        (net.1.weights, net.1.bias) = (matrix(&self.w2), vector(&self.b2));
        (net.2.weights, net.2.bias) = (matrix(&self.w3), vector(&self.b3));
        net
    }

    fn compare<T: Scalar>(&self, what: &str, net: &Net<T>, check: &mut Check) {
        check.layer(format_args!("{what} layer 0"), &net.0, &self.w1, &self.b1);
        check.layer(format_args!("{what} layer 1"), &net.1, &self.w2, &self.b2);
        check.layer(format_args!("{what} layer 2"), &net.2, &self.w3, &self.b3);
    }
}

/// Trains from the reference's initial parameters with `trainer.step` and with `fit`, and checks
/// every step loss, every epoch loss and the final parameters of both.
fn trajectory<T: Scalar>(name: &str, run: &Run, tolerance: f64) -> Result<(), Box<dyn Error>> {
    let mut check = Check::new(tolerance);
    let inputs = samples::<T, 4>(&fixture::INPUTS);
    let targets = samples::<T, 2>(&fixture::TARGETS);
    let batches = inputs
        .chunks(fixture::BATCH_SIZE)
        .zip(targets.chunks(fixture::BATCH_SIZE));

    let mut stepped = INITIAL.load::<T>();
    let mut trainer = stepped.trainer(Mse, run.sgd)?;
    let mut steps = 0;
    for (step, (xs, ys)) in (0..fixture::EPOCHS)
        .flat_map(|_| batches.clone())
        .enumerate()
    {
        let loss = trainer.step(&mut stepped, xs, ys)?;
        check.value(
            format_args!("step {step} loss"),
            loss.as_f64(),
            run.losses[step],
        );
        steps += 1;
    }
    assert_eq!(steps, fixture::STEPS);
    run.last.compare("step:", &stepped, &mut check);

    let mut fitted = INITIAL.load::<T>();
    let options = FitOptions::new()
        .epochs(fixture::EPOCHS)
        .batch_size(fixture::BATCH_SIZE)
        .no_shuffle();
    let history = fitted.fit(&Dataset::new(inputs, targets)?, Mse, run.sgd, &options)?;
    assert_eq!(history.loss.len(), fixture::EPOCHS);
    let per_epoch = fixture::SAMPLES / fixture::BATCH_SIZE;
    for (epoch, (&got, losses)) in history
        .loss
        .iter()
        .zip(run.losses.chunks(per_epoch))
        .enumerate()
    {
        let want = losses.iter().sum::<f64>() / per_epoch as f64;
        check.value(format_args!("fit epoch {epoch} loss"), got, want);
    }
    run.last.compare("fit:", &fitted, &mut check);

    check.finish(name);
    Ok(())
}

#[test]
fn plain_sgd_f64() -> Result<(), Box<dyn Error>> {
    trajectory::<f64>("plain SGD, f64", &PLAIN, F64_TOLERANCE)
}

#[test]
fn momentum_f64() -> Result<(), Box<dyn Error>> {
    trajectory::<f64>("momentum, f64", &MOMENTUM, F64_TOLERANCE)
}

#[test]
fn nesterov_f64() -> Result<(), Box<dyn Error>> {
    trajectory::<f64>("Nesterov, f64", &NESTEROV, F64_TOLERANCE)
}

#[test]
fn plain_sgd_f32() -> Result<(), Box<dyn Error>> {
    trajectory::<f32>("plain SGD, f32", &PLAIN, F32_TOLERANCE)
}

#[test]
fn momentum_f32() -> Result<(), Box<dyn Error>> {
    trajectory::<f32>("momentum, f32", &MOMENTUM, F32_TOLERANCE)
}

#[test]
fn nesterov_f32() -> Result<(), Box<dyn Error>> {
    trajectory::<f32>("Nesterov, f32", &NESTEROV, F32_TOLERANCE)
}
