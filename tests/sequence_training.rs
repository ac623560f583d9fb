//! Training recurrent networks on sequences: the dataset's checks, a step with every optimizer,
//! `fit` with validation and early stopping, the finiteness guarantee, clipping by global norm
//! and truncated back-propagation through time with the state carried between windows.

use typenn::prelude::*;
use typenn::{
    DataError, NonFiniteCause, Optimizer, Part, SequenceDataset, SequenceFit, SequenceNetwork,
    SequenceTrainer, SplitMix64, TrainError,
};

network! {
    struct Echo(Gru<1, 6>, Dense<6, 1>);
}

network! {
    struct Memory(Lstm<1, 8>, Dense<8, 1>);
}

const STEPS: usize = 8;

type Sequence = SMatrix<f64, 1, STEPS>;

/// Sequences whose target is the running mean of the input's last two steps.
fn smoothing(count: usize, seed: u64) -> (Vec<Sequence>, Vec<Sequence>) {
    let mut rng = SplitMix64::new(seed);
    let inputs: Vec<Sequence> = (0..count)
        .map(|_| Sequence::from_fn(|_, _| 2.0 * f64::from(rng.next_f32()) - 1.0))
        .collect();
    let targets = inputs
        .iter()
        .map(|x| Sequence::from_fn(|_, t| (x[t] + x[t.saturating_sub(1)]) / 2.0))
        .collect();
    (inputs, targets)
}

fn network(seed: u64) -> Echo<f64> {
    let mut net = Echo::<f64>::zeros();
    net.initialize(Init::GlorotUniform, &mut StdRng::seed_from_u64(seed));
    net
}

#[test]
fn the_dataset_checks_lengths_and_values() {
    let (inputs, targets) = smoothing(3, 1);
    assert_eq!(
        SequenceDataset::new(inputs.clone(), targets[..2].to_vec()),
        Err(DataError::LengthMismatch {
            inputs: 3,
            targets: 2
        })
    );
    assert_eq!(
        SequenceDataset::<f64, STEPS, 1, 1>::new(Vec::new(), Vec::new()),
        Err(DataError::Empty)
    );
    let mut broken = targets.clone();
    broken[2][5] = f64::INFINITY;
    assert_eq!(
        SequenceDataset::new(inputs.clone(), broken),
        Err(DataError::NonFiniteStep {
            part: Part::Target,
            sequence: 2,
            step: 5,
            column: 0,
            value: f64::INFINITY
        })
    );
    // Two inputs per step: the value's step and column within it.
    let wide = vec![SMatrix::<f64, 2, 3>::from_column_slice(&[
        0.0,
        1.0,
        2.0,
        f64::NAN,
        4.0,
        5.0,
    ])];
    let error = SequenceDataset::new(wide, vec![SMatrix::<f64, 1, 3>::zeros()]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "expected finite numbers, but input sequence 0, step 1, column 1 is NaN"
    );
    assert_eq!(
        SequenceDataset::<f64, 3, 2, 1>::from_flat(&[0.0; 7], &[0.0; 3]),
        Err(DataError::PartialSample {
            part: Part::Input,
            values: 7,
            width: 6
        })
    );
    let data = SequenceDataset::new(inputs.clone(), targets).map_err(|e| e.to_string());
    assert_eq!(data.map(|d| d.inputs().to_vec()), Ok(inputs));
}

/// A step with `optimizer` is the optimizer's update on the gradients back-propagation through
/// time gives, and training with it lowers the loss.
fn trains_with<O: Optimizer<f64> + Clone>(optimizer: O) -> Result<(), TrainError> {
    let (inputs, targets) = smoothing(6, 2);
    let mut net = network(3);
    let (loss, gradients, _) = net.gradients_through_time(&inputs, &targets, &Mse);
    let mut by_hand = net.clone();
    let mut reference = optimizer.clone();
    let mut state = Optimizer::<f64>::state(&reference);
    reference.update(&mut by_hand, &gradients, &mut state);

    let mut trainer = SequenceTrainer::new(Mse, optimizer)?;
    assert_eq!(trainer.step(&mut net, &inputs, &targets)?, loss);
    assert_eq!(net, by_hand);
    let mut last = loss;
    for _ in 0..60 {
        last = trainer.step(&mut net, &inputs, &targets)?;
    }
    assert!(last < 0.5 * loss, "{loss} to {last}");
    Ok(())
}

#[test]
fn every_optimizer_trains() -> Result<(), TrainError> {
    trains_with(Sgd::new(0.5))?;
    trains_with(Sgd::new(0.2).momentum(0.9).nesterov(true))?;
    trains_with(Adam::new(0.02))?;
    trains_with(AdamW::new(0.02).weight_decay(0.01))?;
    trains_with(RmsProp::new(0.01).momentum(0.5))
}

#[test]
fn fit_validates_and_stops_early_with_the_best_weights() -> Result<(), Box<dyn std::error::Error>> {
    // Training learns the smoothing; validation wants its opposite, so the validation loss
    // rises as training goes on and early stopping keeps the first epoch.
    let (inputs, targets) = smoothing(32, 4);
    let training = SequenceDataset::new(inputs.clone(), targets.clone())?;
    let opposite = targets.iter().map(|y| -y).collect();
    let validation = SequenceDataset::new(inputs, opposite)?;
    let mut net = network(5);
    let options = FitOptions::new().epochs(30).batch_size(8).early_stopping(
        EarlyStopping::new(Monitor::ValLoss)
            .patience(2)
            .restore_best_weights(true),
    );
    let history = SequenceFit::new(&training)
        .options(options)
        .validation_data(&validation)
        .run(&mut net, Mse, Adam::new(0.02))?;
    let val_loss = history.val_loss.clone().unwrap_or_default();
    assert!(history.epochs() < 30, "{val_loss:?}");
    assert_eq!(val_loss.len(), history.loss.len());
    let best = history.best_epoch.unwrap_or(0);
    assert!(history.loss[history.epochs() - 1] < history.loss[0]);
    assert_eq!(history.epochs(), best + 2);
    // The network is the best epoch's again: its validation loss is that epoch's.
    let (loss, _, _) = net.gradients_through_time(validation.inputs(), validation.targets(), &Mse);
    assert!((loss - val_loss[best - 1]).abs() < 1e-12);
    Ok(())
}

#[test]
fn fit_refuses_what_sequences_do_not_have() -> Result<(), Box<dyn std::error::Error>> {
    let (inputs, targets) = smoothing(4, 6);
    let data = SequenceDataset::new(inputs, targets)?;
    let mut net = network(7);
    let metric = SequenceFit::new(&data)
        .options(FitOptions::new().metric(Metric::Mae))
        .run(&mut net, Mse, Sgd::new(0.1));
    assert!(matches!(metric, Err(TrainError::ConflictingOptions { .. })));
    let no_validation = SequenceFit::new(&data)
        .options(FitOptions::new().early_stopping(EarlyStopping::new(Monitor::ValLoss)))
        .run(&mut net, Mse, Sgd::new(0.1));
    assert!(matches!(
        no_validation,
        Err(TrainError::UnavailableMonitor { .. })
    ));
    let split = SequenceFit::new(&data)
        .options(FitOptions::new().epochs(2).validation_split(0.25))
        .run(&mut net, Mse, Sgd::new(0.1))?;
    assert_eq!(split.val_loss.map(|v| v.len()), Some(2));
    Ok(())
}

#[test]
fn a_step_that_would_overflow_is_refused_and_the_network_kept() -> Result<(), TrainError> {
    let mut net = Echo::new(&mut StdRng::seed_from_u64(8));
    let before = net.clone();
    let inputs = [SMatrix::<f32, 1, 4>::from_fn(|_, t| t as f32)];
    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(1e30))?;
    let error = trainer.step(&mut net, &inputs, &[SMatrix::repeat(1e15)]);
    assert!(
        matches!(
            error,
            Err(TrainError::NonFiniteParameter {
                cause: NonFiniteCause::Update,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(net, before);
    // A loss that overflows f32 is refused before anything changes.
    let error = trainer.step(&mut net, &inputs, &[SMatrix::repeat(3e38)]);
    assert!(
        matches!(error, Err(TrainError::NonFiniteLoss { .. })),
        "{error:?}"
    );
    assert_eq!(net, before);
    Ok(())
}

#[test]
fn clipping_scales_the_gradients_to_the_global_norm() -> Result<(), TrainError> {
    let (inputs, targets) = smoothing(4, 9);
    let mut net = network(10);
    let (_, gradients, _) = net.gradients_through_time(&inputs, &targets, &Mse);
    let norm = (0..<Echo<f64> as Parameters<f64>>::TENSORS)
        .flat_map(|t| gradients.tensor(t).to_vec())
        .map(|g| g * g)
        .sum::<f64>()
        .sqrt();
    let max_norm = norm / 4.0;
    let mut by_hand = net.clone();
    for t in 0..<Echo<f64> as Parameters<f64>>::TENSORS {
        for (w, g) in by_hand.tensor_mut(t).iter_mut().zip(gradients.tensor(t)) {
            // PyTorch's clip_grad_norm_: scaled by max_norm / (norm + 1e-6).
            *w -= 0.1 * g * max_norm / (norm + 1e-6);
        }
    }
    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(0.1))?.clip_norm(max_norm)?;
    trainer.step(&mut net, &inputs, &targets)?;
    for t in 0..<Echo<f64> as Parameters<f64>>::TENSORS {
        for (a, b) in net.tensor(t).iter().zip(by_hand.tensor(t)) {
            assert!((a - b).abs() < 1e-15);
        }
    }
    // Below the norm, nothing is scaled.
    let mut loose = SequenceTrainer::new(Mse, Sgd::new(0.1))?.clip_norm(norm * 2.0)?;
    let mut copy = network(10);
    loose.step(&mut copy, &inputs, &targets)?;
    assert_eq!(loose.gradients(), Some(&gradients));
    assert!(matches!(
        SequenceTrainer::<f64, EchoGradients<f64>, _, _>::new(Mse, Sgd::new(0.1))?.clip_norm(0.0),
        Err(TrainError::InvalidOption { .. })
    ));
    Ok(())
}

/// A recording whose target is its input one step earlier.
fn delayed(len: usize, seed: u64) -> Result<Dataset<f32, 1, 1>, DataError> {
    let mut rng = SplitMix64::new(seed);
    let x: Vec<[f32; 1]> = (0..len).map(|_| [2.0 * rng.next_f32() - 1.0]).collect();
    let y: Vec<[f32; 1]> = (0..len)
        .map(|t| if t == 0 { [0.0] } else { x[t - 1] })
        .collect();
    Dataset::from_rows(&x, &y)
}

#[test]
fn truncated_training_carries_the_state_across_windows() -> Result<(), Box<dyn std::error::Error>> {
    // The target is the input one step earlier. Windows of 4 steps: a window's first step can
    // only be right if the state carried from the window before holds the previous input.
    let recordings = [delayed(512, 11)?, delayed(512, 12)?];
    let mut carried = Memory::new(&mut StdRng::seed_from_u64(13));
    let mut reset = carried.clone();
    let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.01))?;
    let history = trainer.fit_truncated(&mut carried, &recordings, 4, 40)?;
    let carried_loss = history.loss[39];

    // The same windows as separate sequences, each from a zero state.
    let mut windows = Vec::new();
    let mut targets = Vec::new();
    for recording in &recordings {
        for w in 0..128 {
            let at = 4 * w;
            windows.push(SMatrix::<f32, 1, 4>::from_fn(|_, t| {
                recording.inputs()[at + t][0]
            }));
            targets.push(SMatrix::<f32, 1, 4>::from_fn(|_, t| {
                recording.targets()[at + t][0]
            }));
        }
    }
    let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.01))?;
    let mut reset_loss = 0.0;
    for _ in 0..40 {
        reset_loss = 0.0;
        for (x, y) in windows.chunks(2).zip(targets.chunks(2)) {
            reset_loss += trainer.step(&mut reset, x, y)? / 128.0;
        }
    }
    // A window's first step cannot be learnt from zero: a quarter of the steps keep about the
    // variance of the input, 1/3, so the reset loss stays near 1/12.
    println!("carried {carried_loss}, reset {reset_loss}");
    assert!(carried_loss < 0.01, "carried {carried_loss}");
    assert!(reset_loss > 0.05, "reset {reset_loss}");
    Ok(())
}

#[test]
fn one_window_over_the_whole_recording_is_one_step() -> Result<(), Box<dyn std::error::Error>> {
    let recording = delayed(16, 14)?;
    let mut a = Memory::new(&mut StdRng::seed_from_u64(15));
    let mut b = a.clone();
    let history = SequenceTrainer::new(Mse, Sgd::new(0.1))?.fit_truncated(
        &mut a,
        std::slice::from_ref(&recording),
        16,
        1,
    )?;
    let x = [SMatrix::<f32, 1, 16>::from_fn(|_, t| {
        recording.inputs()[t][0]
    })];
    let y = [SMatrix::<f32, 1, 16>::from_fn(|_, t| {
        recording.targets()[t][0]
    })];
    let loss = SequenceTrainer::new(Mse, Sgd::new(0.1))?.step(&mut b, &x, &y)?;
    assert_eq!(history.loss, vec![f64::from(loss)]);
    assert_eq!(a, b);
    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(0.1))?;
    assert!(matches!(
        trainer.fit_truncated(&mut a, std::slice::from_ref(&recording), 17, 1),
        Err(TrainError::InvalidOption {
            option: "window",
            ..
        })
    ));
    assert!(matches!(
        trainer.fit_truncated(&mut a, &[recording, delayed(15, 16)?], 4, 1),
        Err(TrainError::InvalidOption {
            option: "recording length",
            ..
        })
    ));
    Ok(())
}
