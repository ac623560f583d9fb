//! Data-parallel training: a thread count gives the same bits run after run, one thread gives
//! the numbers training gave before threads, two threads agree with one to rounding, and a
//! refused step leaves the network as it was.

use typenn::prelude::*;
use typenn::{
    Optimizer, Parameters, SplitMix64, TrainError, Workspace, columns, columns_mut, flatten,
};

network! {
    /// 19,466 parameters: a batch of 128 splits in two shares of over a million parameters
    /// times samples, the least a share is given, and a batch of 192 in three.
    struct Wide(Dense<64, 256, Relu>, Dense<256, 10>);
}

network! {
    /// W3's shape in f32 (784 -> 128 Relu -> 10): a batch of 192 splits in two or three, and
    /// the first layer's update (over 19 M multiply-adds) is spread over the threads, through
    /// the AVX-512 tiles of 16 units on CPUs that have them.
    struct Digits(Dense<784, 128, Relu>, Dense<128, 10>);
}

fn digits(samples: usize) -> (Vec<SVector<f32, 784>>, Vec<SVector<f32, 10>>) {
    let mut rng = SplitMix64::new(7);
    let inputs: Vec<SVector<f32, 784>> = (0..samples)
        .map(|_| SVector::from_fn(|_, _| rng.next_f32()))
        .collect();
    let targets = inputs
        .iter()
        .map(|x| SVector::from_fn(|j, _| x[j * 70] - x[j * 70 + 3]))
        .collect();
    (inputs, targets)
}

fn data(samples: usize) -> Dataset<f64, 64, 10> {
    let mut rng = SplitMix64::new(11);
    let inputs: Vec<[f64; 64]> = (0..samples)
        .map(|_| core::array::from_fn(|_| f64::from(rng.next_f32()) - 0.5))
        .collect();
    let targets: Vec<[f64; 10]> = inputs
        .iter()
        .map(|x| core::array::from_fn(|j| (x[j] * 3.0).sin() + x[j + 10]))
        .collect();
    Dataset::from_rows(&inputs, &targets).expect("as many targets as inputs")
}

/// FNV-1a over the bits of every parameter, tensor by tensor.
fn fingerprint<P: Parameters<f64>>(parameters: &P) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for tensor in 0..P::TENSORS {
        for value in parameters.tensor(tensor) {
            hash = (hash ^ value.to_bits()).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The largest difference between two networks' parameters, relative to the largest parameter.
fn relative_difference<P: Parameters<f64>>(a: &P, b: &P) -> f64 {
    let (mut difference, mut largest) = (0.0_f64, 0.0_f64);
    for tensor in 0..P::TENSORS {
        for (x, y) in a.tensor(tensor).iter().zip(b.tensor(tensor)) {
            difference = difference.max((x - y).abs());
            largest = largest.max(x.abs());
        }
    }
    difference / largest
}

fn trained(optimizer: impl Optimizer<f64>, threads: usize) -> Box<Wide<f64>> {
    trained_in_batches(optimizer, threads, 128)
}

/// Boxed: a test holds four of these (150 KiB each). By value, at opt-level 0, that test took
/// 2.1 to 2.4 MB of stack, past the test thread's 2 MiB.
fn trained_in_batches(
    optimizer: impl Optimizer<f64>,
    threads: usize,
    batch: usize,
) -> Box<Wide<f64>> {
    let mut model = Wide::<f64>::new_boxed(&mut StdRng::seed_from_u64(5));
    let options = FitOptions::new()
        .epochs(2)
        .batch_size(batch)
        .threads(threads);
    model
        .fit(&data(512), Mse, optimizer, &options)
        .expect("a finite training");
    model
}

#[test]
fn one_thread_trains_to_the_numbers_of_training_without_threads() {
    // Fingerprints of the same training by the code before threads existed (the same
    // program against that revision, which has no thread option).
    assert_eq!(
        fingerprint(&*trained(Sgd::new(0.05), 1)),
        SGD_BEFORE_THREADS
    );
    assert_eq!(
        fingerprint(&*trained(Adam::new(0.001), 1)),
        ADAM_BEFORE_THREADS
    );
}

const SGD_BEFORE_THREADS: u64 = 0x14d4_ad0a_cc24_5903;
const ADAM_BEFORE_THREADS: u64 = 0x03f2_8394_ac7e_3196;

#[test]
fn a_thread_count_repeats_bit_for_bit() {
    // Batches of 192: two threads split them in two shares, three in three.
    let two = trained_in_batches(Sgd::new(0.05), 2, 192);
    let three = trained_in_batches(Sgd::new(0.05), 3, 192);
    assert_ne!(
        fingerprint(&*two),
        fingerprint(&*three),
        "three shares, not two"
    );
    for threads in [2, 3] {
        let first = trained_in_batches(Sgd::new(0.05), threads, 192);
        let second = trained_in_batches(Sgd::new(0.05), threads, 192);
        assert_eq!(
            fingerprint(&*first),
            fingerprint(&*second),
            "{threads} threads"
        );
        let first = trained_in_batches(Adam::new(0.001), threads, 192);
        let second = trained_in_batches(Adam::new(0.001), threads, 192);
        assert_eq!(
            fingerprint(&*first),
            fingerprint(&*second),
            "{threads} threads, Adam"
        );
    }
}

#[test]
fn two_threads_agree_with_one_to_rounding() {
    for (one, two) in [
        (trained(Sgd::new(0.05), 1), trained(Sgd::new(0.05), 2)),
        (trained(Adam::new(0.001), 1), trained(Adam::new(0.001), 2)),
    ] {
        // Not the same bits, which shows the batches were split...
        assert_ne!(fingerprint(&*one), fingerprint(&*two));
        // ...but the same training: 8 steps of sums ordered differently, each rounding
        // at about 1e-16 relative.
        let difference = relative_difference(&*one, &*two);
        assert!(difference < 1e-12, "relative difference {difference:e}");
    }
}

#[test]
fn a_step_the_threads_cannot_keep_finite_leaves_the_network_unchanged() {
    let data = data(128);
    for threads in [1, 2] {
        let mut model = Wide::<f64>::new(&mut StdRng::seed_from_u64(5));
        // Inputs of 1e200 make squared errors overflow to infinity: the loss is not finite.
        let huge: Vec<_> = data.inputs().iter().map(|x| x * 1e200).collect();
        let before = fingerprint(&model);
        let mut trainer = model.trainer(Mse, Sgd::new(0.05)).expect("valid settings");
        trainer.set_threads(threads).expect("at least one thread");
        let error = trainer.step(&mut model, &huge, data.targets());
        assert!(
            matches!(error, Err(TrainError::NonFiniteLoss { .. })),
            "{threads} threads: {error:?}"
        );
        assert_eq!(fingerprint(&model), before, "{threads} threads");

        // Inputs of 1e100 keep the loss finite (1e200) but a learning rate of 1e200 takes
        // the weights past f64's largest number: the update is refused.
        let large: Vec<_> = data.inputs().iter().map(|x| x * 1e100).collect();
        let mut trainer = model.trainer(Mse, Sgd::new(1e200)).expect("valid settings");
        trainer.set_threads(threads).expect("at least one thread");
        let error = trainer.step(&mut model, &large, data.targets());
        assert!(
            matches!(error, Err(TrainError::NonFiniteParameter { .. })),
            "{threads} threads: {error:?}"
        );
        assert_eq!(fingerprint(&model), before, "{threads} threads");
        // The same with Adam, whose updates are checked against a copy of the parameters.
        let mut trainer = model
            .trainer(Mse, Adam::new(0.001))
            .expect("valid settings");
        trainer.set_threads(threads).expect("at least one thread");
        let error = trainer.step(&mut model, &huge, data.targets());
        assert!(error.is_err(), "{threads} threads, Adam: {error:?}");
        assert_eq!(fingerprint(&model), before, "{threads} threads, Adam");
    }
}

#[test]
fn zero_threads_is_refused_before_any_step() {
    let mut model = Wide::<f64>::new(&mut StdRng::seed_from_u64(5));
    let before = fingerprint(&model);
    let error = model.fit(
        &data(128),
        Mse,
        Sgd::new(0.05),
        &FitOptions::new().threads(0),
    );
    assert!(matches!(
        error,
        Err(TrainError::InvalidOption {
            option: "threads",
            ..
        })
    ));
    assert_eq!(fingerprint(&model), before);
}

#[test]
fn predictions_and_evaluation_do_not_depend_on_the_threads() {
    // 2,048 samples: eight batches of 256, over 3 M parameters times samples per share of
    // two, so spread over the cores of a machine that has several.
    let data = data(2048);
    let model = Wide::<f64>::new(&mut StdRng::seed_from_u64(5));
    let predictions = model.predict(data.inputs());
    // As one thread computes them: batch after batch of 256 through one workspace.
    let mut expected = vec![0.0; 10 * 2048];
    let mut workspace = Workspace::new();
    for (inputs, outputs) in data.inputs().chunks(256).zip(expected.chunks_mut(10 * 256)) {
        model.forward_columns(
            columns(flatten(inputs)),
            columns_mut(outputs),
            &mut workspace,
        );
    }
    assert_eq!(flatten(&predictions), &expected[..]);
    // The loss added batch by batch in order, as one thread adds it.
    let mut total = 0.0;
    for (inputs, targets) in data.inputs().chunks(256).zip(data.targets().chunks(256)) {
        let batch = Dataset::new(inputs.to_vec(), targets.to_vec()).expect("a batch");
        total += model.evaluate(&batch, &Mse) * inputs.len() as f64;
    }
    assert_eq!(model.evaluate(&data, &Mse), total / 2048.0);
}

#[test]
fn a_split_plain_sgd_step_in_f32_agrees_with_one_thread() {
    let (inputs, targets) = digits(192);
    let start = Digits::<f32>::new_boxed(&mut StdRng::seed_from_u64(3));
    let mut one = start.clone();
    let mut trainer = one.trainer(Mse, Sgd::new(0.5)).expect("valid settings");
    let expected = trainer
        .step(&mut *one, &inputs, &targets)
        .expect("a finite step");
    // How far the step moved the weights, the yardstick for the threads' rounding.
    let moved = largest_difference(&*start, &*one);
    assert!(moved > 1e-3, "the step moved the weights by {moved:e}");
    for threads in [2, 3] {
        let mut split = start.clone();
        let mut trainer = split.trainer(Mse, Sgd::new(0.5)).expect("valid settings");
        trainer.set_threads(threads).expect("at least one thread");
        let loss = trainer
            .step(&mut *split, &inputs, &targets)
            .expect("a finite step");
        assert!(
            (loss - expected).abs() <= 1e-6 * expected,
            "{threads} threads: loss {loss} against {expected}"
        );
        // f32 rounding of sums of 192 products, against a move of over 1e-3.
        let difference = largest_difference(&*one, &*split);
        assert!(
            difference < 1e-3 * moved,
            "{threads} threads: {difference:e} against a move of {moved:e}"
        );
        // The same count again gives the same bits.
        let mut again = start.clone();
        let mut trainer = again.trainer(Mse, Sgd::new(0.5)).expect("valid settings");
        trainer.set_threads(threads).expect("at least one thread");
        trainer
            .step(&mut *again, &inputs, &targets)
            .expect("a finite step");
        assert!(*again == *split, "{threads} threads, twice");
    }
}

network! {
    /// A wide layer whose units are not a multiple of 16 (784 -> 100 Relu -> 10).
    struct Odd(Dense<784, 100, Relu>, Dense<100, 10>);
}

/// Four plain-SGD steps of 64 samples from `start` on 2 and 3 threads give the losses and the
/// parameters of one thread, to the bit.
fn same_steps_on_any_threads<N>(
    start: &N,
    inputs: &[SVector<f32, 784>],
    targets: &[SVector<f32, 10>],
) where
    N: Network<f32, 784, 10> + Clone + PartialEq + core::fmt::Debug,
{
    let steps = |threads: usize| {
        let mut model = start.clone();
        let mut trainer = model.trainer(Mse, Sgd::new(0.1)).expect("valid settings");
        trainer.set_threads(threads).expect("at least one thread");
        let losses: Vec<f32> = inputs
            .chunks(64)
            .zip(targets.chunks(64))
            .map(|(x, y)| trainer.step(&mut model, x, y).expect("a finite step"))
            .collect();
        (model, losses)
    };
    let (one, losses) = steps(1);
    assert!(largest_difference(start, &one) > 1e-3);
    for threads in [2, 3] {
        let (shared, shared_losses) = steps(threads);
        assert_eq!(shared_losses, losses, "{threads} threads");
        assert!(shared == one, "{threads} threads");
    }
}

/// The largest difference between two f32 networks' parameters.
fn largest_difference<P: Parameters<f32>>(a: &P, b: &P) -> f32 {
    let mut difference = 0.0_f32;
    for tensor in 0..P::TENSORS {
        for (x, y) in a.tensor(tensor).iter().zip(b.tensor(tensor)) {
            difference = difference.max((x - y).abs());
        }
    }
    difference
}

#[test]
fn split_steps_meter_the_training_metrics() {
    let history = |threads| {
        let mut model = Wide::<f64>::new(&mut StdRng::seed_from_u64(5));
        let options = FitOptions::new()
            .epochs(2)
            .batch_size(128)
            .metrics(&[Metric::Mae])
            .threads(threads);
        model
            .fit(&data(512), Mse, Sgd::new(0.05), &options)
            .expect("a finite training")
    };
    let (one, two) = (history(1), history(2));
    for (one, two) in one.metrics[0].values.iter().zip(&two.metrics[0].values) {
        assert!(one.is_finite() && *one > 0.1, "{one}");
        assert!((one - two).abs() < 1e-12 * one, "{one} against {two}");
    }
    for (one, two) in one.loss.iter().zip(&two.loss) {
        assert!((one - two).abs() < 1e-12 * one, "{one} against {two}");
    }
    assert_eq!(two.metrics[0].values.len(), 2);
}

/// On CPUs with AVX-512, plain SGD in f32 shares the products of W3's first layer (128 units)
/// out among the threads by rows, each thread computing whole tiles as one thread would: every
/// thread count gives one thread's bits, step after step and through `fit`. (Elsewhere the
/// batch is split instead, which the tests above hold to rounding.)
#[test]
fn plain_sgd_shared_by_rows_gives_the_bits_of_one_thread() {
    if !(cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("avx512f")) {
        return;
    }
    let (inputs, targets) = digits(256);
    let start = Digits::<f32>::new_boxed(&mut StdRng::seed_from_u64(7));
    same_steps_on_any_threads(&*start, &inputs, &targets);
    // 100 units: a full tile of 64 rows and one of 36, whose last vector is masked.
    let odd = Odd::new_boxed(&mut StdRng::seed_from_u64(8));
    same_steps_on_any_threads(&*odd, &inputs, &targets);
    let data = Dataset::new(inputs, targets).expect("a finite dataset");
    let fitted = |threads: usize| {
        let mut model = start.clone();
        let options = FitOptions::new().epochs(2).batch_size(64).threads(threads);
        let history = model
            .fit(&data, Mse, Sgd::new(0.1), &options)
            .expect("a finite training");
        (model, history.loss)
    };
    let (one, loss) = fitted(1);
    let (two, two_loss) = fitted(2);
    assert_eq!(two_loss, loss);
    assert!(*two == *one);
}
