//! Criterion benchmarks of the three operations a user times: one sample's `forward`, a batch
//! forward (into a caller's buffer with a warm `Workspace`, and `forward_batch` on a static
//! matrix), and one training step (`Trainer::step`: forward, backward, plain SGD update).
//!
//! Each operation is a group, parameterised by the network's shape, from the W1 workload's
//! 32 -> 10 -> 1 to W3's 784 -> 128 -> 10 (`../shared/peers/WORKLOADS.md`), and reported in
//! samples per second. Single thread, f32. Run with `cargo bench`, or one group with
//! `cargo bench --bench network -- train_step`.
//!
//! The `conv_*` groups time the digits CNN of `examples/digits_cnn.rs` (the W9 workload's
//! network): a batch forward with a warm workspace and a plain-SGD training step at batch 32.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};
use typenn::prelude::*;
use typenn::{SplitMix64, Workspace, columns, columns_mut, flatten};

network! {
    /// W1 and W2: 32 -> 10 (ReLU) -> 1.
    struct Small(Dense<32, 10, Relu>, Dense<10, 1>);
}

network! {
    /// Between W1 and W3, square hidden layer.
    struct Medium(Dense<64, 64, Relu>, Dense<64, 10>);
}

network! {
    /// Between W1 and W3, with an activation that is not piecewise linear.
    struct Large(Dense<256, 128, Tanh>, Dense<128, 10>);
}

network! {
    /// W3: 784 -> 128 (ReLU) -> 10.
    struct Mnist(Dense<784, 128, Relu>, Dense<128, 10>);
}

network! {
    /// W9: the digits CNN, two blocks of Conv2d 3x3, BatchNorm, ReLU and MaxPool 2, then
    /// Dropout and Dense.
    #[input_shape(1, 8, 8)]
    struct DigitsCnn(
        Conv2d<1, 16, 3, 1, 1>,
        BatchNorm,
        Relu,
        MaxPool2d<2>,
        Conv2d<16, 32, 3, 1, 1>,
        BatchNorm,
        Relu,
        MaxPool2d<2>,
        Flatten,
        Dropout<25>,
        Dense<128, 10>,
    );
}

const SMALL: &str = "w1_32-10relu-1";
const MEDIUM: &str = "64-64relu-10";
const LARGE: &str = "256-128tanh-10";
const MNIST: &str = "w3_784-128relu-10";
const CNN: &str = "w9_digits_cnn";

/// The batch of the CNN's training step, as in W9.
const CNN_BATCH: usize = 32;

/// The batch of the batch-forward group.
const FORWARD_BATCH: usize = 64;

/// The batch sizes of the training-step group: W1's 1 and 32, W3's 64.
const TRAIN_BATCHES: [usize; 3] = [1, 32, 64];

/// Samples a training benchmark cycles through, so that a long run does not fit one batch
/// exactly and drive the gradients towards subnormal numbers.
const TRAIN_SAMPLES: usize = 4096;

fn single_forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward");
    group.throughput(Throughput::Elements(1));
    forward::<Small, 32, 1>(&mut group, SMALL);
    forward::<Medium, 64, 10>(&mut group, MEDIUM);
    forward::<Large, 256, 10>(&mut group, LARGE);
    forward::<Mnist, 784, 10>(&mut group, MNIST);
    group.finish();
}

fn batch_forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("forward_columns");
    group.throughput(Throughput::Elements(FORWARD_BATCH as u64));
    forward_columns::<Small, 32, 1>(&mut group, SMALL);
    forward_columns::<Medium, 64, 10>(&mut group, MEDIUM);
    forward_columns::<Large, 256, 10>(&mut group, LARGE);
    forward_columns::<Mnist, 784, 10>(&mut group, MNIST);
    group.finish();

    let mut group = c.benchmark_group("forward_batch");
    group.throughput(Throughput::Elements(FORWARD_BATCH as u64));
    forward_batch(&mut group, SMALL, Small::forward_batch::<FORWARD_BATCH>);
    forward_batch(&mut group, MEDIUM, Medium::forward_batch::<FORWARD_BATCH>);
    forward_batch(&mut group, LARGE, Large::forward_batch::<FORWARD_BATCH>);
    forward_batch(&mut group, MNIST, Mnist::forward_batch::<FORWARD_BATCH>);
    group.finish();
}

fn training_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_step");
    for batch in TRAIN_BATCHES {
        group.throughput(Throughput::Elements(batch as u64));
        train_step::<Small, 32, 1>(&mut group, SMALL, batch);
        train_step::<Medium, 64, 10>(&mut group, MEDIUM, batch);
        train_step::<Large, 256, 10>(&mut group, LARGE, batch);
        train_step::<Mnist, 784, 10>(&mut group, MNIST, batch);
    }
    group.finish();
}

fn convolutions(c: &mut Criterion) {
    let mut group = c.benchmark_group("conv_forward_columns");
    group.throughput(Throughput::Elements(FORWARD_BATCH as u64));
    forward_columns::<DigitsCnn, 64, 10>(&mut group, CNN);
    group.finish();

    let mut group = c.benchmark_group("conv_train_step");
    group.throughput(Throughput::Elements(CNN_BATCH as u64));
    train_step::<DigitsCnn, 64, 10>(&mut group, CNN, CNN_BATCH);
    group.finish();
}

/// `forward` on one sample, as the W2 workload calls it.
fn forward<N: Network<f32, IN, OUT>, const IN: usize, const OUT: usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    shape: &str,
) {
    let model = N::new_boxed(&mut StdRng::seed_from_u64(1));
    let (inputs, _) = samples::<IN, OUT>(1);
    let input = inputs[0];
    group.bench_function(BenchmarkId::from_parameter(shape), |b| {
        b.iter(|| model.forward(black_box(&input)));
    });
}

/// A batch forward into a caller's buffer, with a workspace that has already seen the batch:
/// no allocation in the loop.
fn forward_columns<N: Network<f32, IN, OUT>, const IN: usize, const OUT: usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    shape: &str,
) {
    let model = N::new_boxed(&mut StdRng::seed_from_u64(2));
    let (inputs, _) = samples::<IN, OUT>(FORWARD_BATCH);
    let mut outputs = vec![0.0_f32; OUT * FORWARD_BATCH];
    let mut workspace = Workspace::new();
    group.bench_function(BenchmarkId::new(shape, FORWARD_BATCH), |b| {
        b.iter(|| {
            model.forward_columns(
                columns(flatten(black_box(&inputs))),
                columns_mut(&mut outputs),
                &mut workspace,
            );
            black_box(&outputs);
        });
    });
}

/// `forward_batch::<B>` on a statically sized matrix, one sample per column. It is an inherent
/// method of each generated struct, so the caller passes it in.
fn forward_batch<N: Network<f32, IN, OUT>, const IN: usize, const OUT: usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    shape: &str,
    run: fn(&N, &SMatrix<f32, IN, FORWARD_BATCH>) -> SMatrix<f32, OUT, FORWARD_BATCH>,
) {
    let model = N::new_boxed(&mut StdRng::seed_from_u64(3));
    let (inputs, _) = samples::<IN, OUT>(FORWARD_BATCH);
    let matrix: Box<SMatrix<f32, IN, FORWARD_BATCH>> =
        Box::new(SMatrix::from_fn(|row, column| inputs[column][row]));
    group.bench_function(BenchmarkId::new(shape, FORWARD_BATCH), |b| {
        b.iter(|| run(&*model, black_box(&matrix)));
    });
}

/// One `Trainer::step` (MSE, plain SGD with learning rate 0.01) per iteration, on the batches
/// of a fixed data set in a fixed order, as the W1 and W3 workloads train.
fn train_step<N: Network<f32, IN, OUT>, const IN: usize, const OUT: usize>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    shape: &str,
    batch: usize,
) {
    let mut model = N::new_boxed(&mut StdRng::seed_from_u64(4));
    let mut trainer = model
        .trainer(Mse, Sgd::new(0.01))
        .expect("a learning rate of 0.01 is valid");
    let (inputs, targets) = samples::<IN, OUT>(TRAIN_SAMPLES);
    let batches: Vec<_> = inputs.chunks(batch).zip(targets.chunks(batch)).collect();
    let mut next = 0;
    group.bench_function(BenchmarkId::new(shape, batch), |b| {
        b.iter(|| {
            let (x, y) = batches[next];
            next = (next + 1) % batches.len();
            trainer
                .step(&mut *model, black_box(x), black_box(y))
                .expect("SGD at 0.01 on targets in [0, 1) keeps the loss finite")
        });
    });
}

/// `n` inputs uniform in [-1, 1) and targets uniform in [0, 1), from SplitMix64 with the
/// workloads' seed. The time of a step does not depend on the values; a fixed seed keeps the
/// work the same run after run.
fn samples<const IN: usize, const OUT: usize>(
    n: usize,
) -> (Vec<SVector<f32, IN>>, Vec<SVector<f32, OUT>>) {
    let mut rng = SplitMix64::new(0x5EED_0001);
    (0..n)
        .map(|_| {
            let x = SVector::from_fn(|_, _| 2.0 * rng.next_f32() - 1.0);
            let y = SVector::from_fn(|_, _| rng.next_f32());
            (x, y)
        })
        .unzip()
}

/// Short runs, so that `cargo bench` takes a few minutes on a shared 2-core machine; no plots.
/// Command-line options (`--measurement-time`, `--sample-size`, ...) still override these.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .without_plots()
}

criterion::criterion_group! {
    name = benches;
    config = config();
    targets = single_forward, batch_forward, training_step, convolutions
}
criterion::criterion_main!(benches);
