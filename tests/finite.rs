//! No training call leaves a parameter NaN or infinite, whether it returns `Ok` or `Err`, and
//! options are checked in the precision the network computes in.

use typenn::prelude::*;
use typenn::{History, NonFiniteCause, Optimizer, Parameters, Scalar, SplitMix64, TrainError};

network! {
    /// The network of the divergence sweep.
    struct Net(Dense<2, 8, Relu>, Dense<8, 1>);
}

network! {
    /// One weight and one bias, for steps worked out by hand.
    struct Line(Dense<1, 1>);
}

network! {
    /// Two one-unit layers, for an overflow in the first layer's gradient.
    struct Chain(Dense<1, 1>, Dense<1, 1>);
}

/// Every parameter, tensor by tensor.
fn parameters<T: Scalar, P: Parameters<T>>(network: &P) -> Vec<T> {
    (0..P::TENSORS)
        .flat_map(|tensor| network.tensor(tensor).to_vec())
        .collect()
}

fn all_finite<T: Scalar, P: Parameters<T>>(network: &P) -> bool {
    parameters(network).iter().all(|value| value.is_finite())
}

/// 64 samples with inputs uniform in [0, 10] and a target of their product over 10.
fn sweep_data(seed: u64) -> Dataset<f32, 2, 1> {
    let mut rng = SplitMix64::new(seed);
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..64 {
        let x = SVector::<f32, 2>::from([10.0 * rng.next_f32(), 10.0 * rng.next_f32()]);
        targets.push(SVector::<f32, 1>::from([x[0] * x[1] / 10.0]));
        inputs.push(x);
    }
    Dataset::new(inputs, targets).expect("finite data of matching lengths")
}

/// What the sweep saw, to show that it reached every path.
#[derive(Default, Debug)]
struct Outcomes {
    ok: usize,
    non_finite_loss: usize,
    refused_gradient: usize,
    refused_update: usize,
}

impl Outcomes {
    fn record(&mut self, result: &Result<History, TrainError>, label: &str) {
        match result {
            Ok(_) => self.ok += 1,
            Err(TrainError::NonFiniteLoss { .. }) => self.non_finite_loss += 1,
            Err(TrainError::NonFiniteParameter { cause, .. }) => match cause {
                NonFiniteCause::Gradient => self.refused_gradient += 1,
                NonFiniteCause::Update => self.refused_update += 1,
            },
            Err(other) => panic!("{label}: unexpected error {other:?}"),
        }
    }
}

/// The sweep of learning rates 10^0 to 10^38, batches of 1, 4 and 32, three seeds and five
/// epochs, with `optimizer(rate)`: no fit may leave a non-finite parameter.
fn sweep<O: Optimizer<f32>>(name: &str, optimizer: impl Fn(f64) -> O) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for seed in 0..3 {
        let data = sweep_data(seed);
        for exponent in 0..=38 {
            let rate = 10f64.powi(exponent);
            for batch in [1, 4, 32] {
                let label = format!("{name}, lr 1e{exponent}, batch {batch}, seed {seed}");
                let mut net = Net::new(&mut StdRng::seed_from_u64(seed));
                let options = FitOptions::new().epochs(5).batch_size(batch).shuffle(seed);
                let result = net.fit(&data, Mse, optimizer(rate), &options);
                assert!(
                    all_finite(&net),
                    "{label}: {result:?} left {:?}",
                    parameters(&net)
                );
                outcomes.record(&result, &label);
            }
        }
    }
    outcomes
}

#[test]
fn no_fit_of_the_divergence_sweep_leaves_a_non_finite_parameter() {
    let plain = sweep("Sgd", Sgd::new);
    let momentum = sweep("Sgd with momentum 0.9", |rate| Sgd::new(rate).momentum(0.9));
    let adam = sweep("Adam", Adam::new);
    let rmsprop = sweep("RmsProp", RmsProp::new);
    // Every path is reached: fits that end well, that stop on the loss, and steps refused for
    // their gradient and for their update.
    for (name, outcomes) in [("Sgd", &plain), ("momentum", &momentum)] {
        assert!(outcomes.ok > 0, "{name}: {outcomes:?}");
        assert!(outcomes.non_finite_loss > 0, "{name}: {outcomes:?}");
        assert!(
            outcomes.refused_gradient + outcomes.refused_update > 0,
            "{name}: {outcomes:?}"
        );
    }
    let refused = |o: &Outcomes| (o.refused_gradient, o.refused_update);
    let all = [&plain, &momentum, &adam, &rmsprop];
    assert!(all.iter().any(|o| refused(o).0 > 0), "{all:?}");
    assert!(all.iter().any(|o| refused(o).1 > 0), "{all:?}");
}

#[test]
fn a_refused_step_leaves_the_network_as_it_was_before_it() {
    // Step by step through the sweep's diverging runs: whenever a step fails, the network holds
    // exactly the parameters it had before that step.
    let data = sweep_data(1);
    let mut failures = 0;
    for exponent in [2, 4, 8, 16, 30, 38] {
        for batch in [1, 4, 32] {
            for momentum in [0.0, 0.9] {
                let optimizer = Sgd::new(10f64.powi(exponent)).momentum(momentum);
                let mut net = Net::new(&mut StdRng::seed_from_u64(1));
                let mut trainer = net.trainer(Mse, optimizer).expect("valid settings");
                'epochs: for _ in 0..5 {
                    for (inputs, targets) in data
                        .inputs()
                        .chunks(batch)
                        .zip(data.targets().chunks(batch))
                    {
                        let before = parameters(&net);
                        if let Err(error) = trainer.step(&mut net, inputs, targets) {
                            assert_eq!(parameters(&net), before, "1e{exponent}, {batch}: {error}");
                            failures += 1;
                            break 'epochs;
                        }
                        assert!(all_finite(&net));
                    }
                }
            }
        }
    }
    assert!(failures > 10, "only {failures} runs diverged");
}

/// `Line` with weight `w` and bias 0.
fn line(w: f32) -> Line {
    let mut net = Line::zeros();
    net.0.weights[(0, 0)] = w;
    net
}

#[test]
fn an_update_that_overflows_is_refused_and_named() {
    // x = 1e19, target 0, w = 1: the loss is 1e38 and dL/dw = 2 w x^2 = 2e38, both finite; a
    // learning rate of 10 would move w by -2e39, past f32's largest number.
    let x = [SVector::from([1e19_f32])];
    let y = [SVector::from([0.0_f32])];
    for optimizer in [Sgd::new(10.0), Sgd::new(10.0).momentum(0.5)] {
        let mut net = line(1.0);
        let mut trainer = net.trainer(Mse, optimizer).expect("valid settings");
        let error = trainer
            .step(&mut net, &x, &y)
            .expect_err("an overflowing update");
        let TrainError::NonFiniteParameter {
            epoch,
            step,
            ref tensor,
            element,
            cause,
            value,
            ..
        } = error
        else {
            panic!("expected NonFiniteParameter, got {error:?}");
        };
        assert_eq!(
            (epoch, step, tensor.as_str(), element),
            (1, 1, "0.weight", 0)
        );
        assert_eq!(cause, NonFiniteCause::Update);
        assert_eq!(value, f64::NEG_INFINITY);
        assert_eq!(parameters(&net), [1.0, 0.0]);
        assert_eq!(
            error.to_string(),
            "at epoch 1, step 1, the updated value of parameter `0.weight` (element 0) came out -inf \
             although the loss was finite; the step was not applied, training stopped and the network \
             keeps the parameters it had before the step (try a smaller learning rate or scaled inputs)"
        );
    }
}

/// x = 3e38, w1 = 1e-38, w2 = 1: the hidden value is 3, the output 3 and the loss 9, but
/// dL/dw1 = 2 * 3 * w2 * x = 1.8e39 overflows.
fn refuses_an_overflowing_gradient<O: Optimizer<f32>>(optimizer: O) {
    let mut net = Chain::zeros();
    net.0.weights[(0, 0)] = 1e-38;
    net.1.weights[(0, 0)] = 1.0;
    let before = parameters(&net);
    let mut trainer = net.trainer(Mse, optimizer).expect("valid settings");
    let error = trainer
        .step(&mut net, &[SVector::from([3e38])], &[SVector::from([0.0])])
        .expect_err("an overflowing gradient");
    assert!(
        matches!(
            &error,
            TrainError::NonFiniteParameter {
                tensor,
                element: 0,
                cause: NonFiniteCause::Gradient,
                value,
                ..
            } if tensor == "0.weight" && *value == f64::INFINITY
        ),
        "{error:?}"
    );
    assert_eq!(parameters(&net), before);
}

#[test]
fn a_gradient_that_overflows_is_refused_before_the_optimizer_sees_it() {
    refuses_an_overflowing_gradient(Sgd::new(0.1));
    refuses_an_overflowing_gradient(Sgd::new(0.1).momentum(0.9));
    refuses_an_overflowing_gradient(Adam::new(0.1));
    refuses_an_overflowing_gradient(RmsProp::new(0.1));
}

#[test]
fn fit_reports_a_refused_step_with_the_epochs_before_it() {
    // One sample the network fits well for an epoch, then one whose update overflows.
    let data = Dataset::new(
        vec![SVector::from([0.5_f32]), SVector::from([1e19_f32])],
        vec![SVector::from([0.5_f32]), SVector::from([0.0_f32])],
    )
    .expect("finite data");
    let mut net = line(1.0);
    let error = net
        .fit(
            &data,
            Mse,
            Sgd::new(10.0),
            &FitOptions::new().epochs(3).batch_size(1),
        )
        .expect_err("an overflowing update");
    let TrainError::NonFiniteParameter {
        epoch,
        step,
        history,
        ..
    } = error
    else {
        panic!("expected NonFiniteParameter, got {error:?}");
    };
    // The first sample's loss is 0 (w = 1 fits it), so w is still 1 when the second arrives.
    assert_eq!((epoch, step), (1, 2));
    assert!(history.loss.is_empty());
    assert_eq!(parameters(&net), [1.0, 0.0]);
}

#[test]
fn float_options_that_f32_cannot_hold_are_refused_before_any_step() {
    let data = sweep_data(0);
    for rate in [1e39, 1e-300] {
        let mut net = Net::new(&mut StdRng::seed_from_u64(0));
        let before = parameters(&net);
        let error = net
            .fit(&data, Mse, Sgd::new(rate), &FitOptions::new().epochs(1))
            .expect_err("a learning rate f32 cannot hold");
        assert!(
            matches!(error, TrainError::InvalidOption { option: "Sgd learning rate", found, .. } if found == rate),
            "{rate}: {error:?}"
        );
        assert_eq!(parameters(&net), before);
        // In f64 the same rates are numbers like any other.
        assert!(Optimizer::<f64>::validate(&Sgd::new(rate)).is_ok());
    }
    let huber = Huber::new(1e39).expect("a finite f64 delta");
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let error = net
        .fit(&data, huber, Sgd::new(0.01), &FitOptions::new().epochs(1))
        .expect_err("a delta f32 cannot hold");
    assert!(
        matches!(
            error,
            TrainError::InvalidOption {
                option: "Huber delta",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_callback_rate_that_f32_cannot_hold_stops_training() {
    let data = sweep_data(0);
    for bad in [1e39, 1e-300] {
        let mut net = Net::new(&mut StdRng::seed_from_u64(0));
        let mut set = |log: &EpochLog, control: &mut Control| {
            if log.epoch == 1 {
                control.set_learning_rate(bad);
            }
        };
        let error = Fit::new(&data)
            .options(FitOptions::new().epochs(3))
            .callback(&mut set)
            .run(&mut net, Mse, Sgd::new(0.01))
            .expect_err("a rate f32 cannot hold");
        assert!(
            matches!(error, TrainError::InvalidLearningRate { epoch: 1, found, .. } if found == bad),
            "{bad}: {error:?}"
        );
        assert!(all_finite(&net));
    }
}

#[test]
fn a_rate_changed_through_the_trainer_is_checked_at_the_next_step() {
    let data = sweep_data(0);
    let mut net = Net::new(&mut StdRng::seed_from_u64(0));
    let mut trainer = net.trainer(Mse, Sgd::new(0.01)).expect("valid settings");
    let (x, y) = (&data.inputs()[..4], &data.targets()[..4]);
    trainer.step(&mut net, x, y).expect("a good step");
    Optimizer::<f32>::set_learning_rate(trainer.optimizer_mut(), 1e39);
    let before = parameters(&net);
    let error = trainer
        .step(&mut net, x, y)
        .expect_err("a rate f32 cannot hold");
    assert!(
        matches!(
            error,
            TrainError::InvalidOption {
                option: "Sgd learning rate",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(parameters(&net), before);
    Optimizer::<f32>::set_learning_rate(trainer.optimizer_mut(), 0.01);
    trainer.step(&mut net, x, y).expect("a good rate again");
}

#[test]
fn a_rate_raised_through_the_trainer_gets_the_bound_of_the_new_rate() {
    // With the bound of lr 1e-20 the overflowing step of `an_update_that_overflows...` would
    // pass (its deltas and inputs are about 1e19); with lr 10's it must not.
    let x = [SVector::from([1e19_f32])];
    let y = [SVector::from([0.0_f32])];
    let mut net = line(1.0);
    let mut trainer = net.trainer(Mse, Sgd::new(1e-20)).expect("valid settings");
    // A step that fits already: nothing moves, but the trainer has worked at the tiny rate.
    trainer
        .step(&mut net, &[SVector::from([0.0])], &[SVector::from([0.0])])
        .expect("a step with no error");
    let before = parameters(&net);
    Optimizer::<f32>::set_learning_rate(trainer.optimizer_mut(), 10.0);
    let error = trainer
        .step(&mut net, &x, &y)
        .expect_err("an overflowing update");
    assert!(
        matches!(
            error,
            TrainError::NonFiniteParameter {
                cause: NonFiniteCause::Update,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(parameters(&net), before);
    assert!(all_finite(&net));
}
