//! Which calls allocate: single-sample `forward`, `forward_batch`, a batch forward into a
//! caller's buffer and a training step (forward, backward, update) allocate nothing once their
//! workspace has seen the largest batch; a step split across threads allocates only, now and
//! then, a block of the thread pool's job queue, and a step shared by rows among a trainer's
//! threads nothing once they are started. Counted per thread by a global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use typenn::prelude::*;
use typenn::{Workspace, columns, columns_mut};

/// The system allocator, counting this thread's allocations.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialized thread local, which neither allocates nor re-enters the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations `work` makes on this thread.
fn allocations(work: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    work();
    ALLOCATIONS.with(Cell::get) - before
}

network! {
    /// The W1 workload's network.
    struct Small(Dense<32, 10, Relu>, Dense<10, 1>);
}

fn batch(samples: usize) -> (Vec<SVector<f32, 32>>, Vec<SVector<f32, 1>>) {
    let inputs: Vec<_> = (0..samples)
        .map(|s| SVector::from_fn(|i, _| ((i + s) % 7) as f32 / 7.0 - 0.5))
        .collect();
    let targets = inputs
        .iter()
        .map(|x: &SVector<f32, 32>| SVector::from([x.sum() / 32.0]))
        .collect();
    (inputs, targets)
}

#[test]
fn inference_does_not_allocate() {
    let model = Small::new(&mut StdRng::seed_from_u64(1));
    let (inputs, _) = batch(64);
    let matrix = SMatrix::<f32, 32, 8>::from_fn(|i, j| (i * j) as f32 / 256.0);
    let mut outputs = vec![0.0_f32; 64];
    let mut workspace = Workspace::new();
    model.forward_columns(
        columns(typenn::flatten(&inputs)),
        columns_mut(&mut outputs),
        &mut workspace,
    );

    assert_eq!(
        allocations(|| {
            std::hint::black_box(model.forward(&inputs[0]));
        }),
        0
    );
    assert_eq!(
        allocations(|| {
            std::hint::black_box(model.forward_batch(&matrix));
        }),
        0
    );
    let count = allocations(|| {
        model.forward_columns(
            columns(typenn::flatten(&inputs)),
            columns_mut(&mut outputs),
            &mut workspace,
        );
    });
    assert_eq!(
        count, 0,
        "a batch forward into a caller's buffer, with a warm workspace"
    );
}

#[test]
fn a_training_step_does_not_allocate() {
    let mut model = Small::new(&mut StdRng::seed_from_u64(2));
    let (inputs, targets) = batch(32);
    for optimizer in [Sgd::new(0.01), Sgd::new(0.01).momentum(0.9).nesterov(true)] {
        let mut trainer = model.trainer(Mse, optimizer).expect("valid settings");
        trainer
            .step(&mut model, &inputs, &targets)
            .expect("a finite loss");
        let count = allocations(|| {
            for (x, y) in inputs.chunks(8).zip(targets.chunks(8)) {
                trainer.step(&mut model, x, y).expect("a finite loss");
            }
            trainer
                .step(&mut model, &inputs, &targets)
                .expect("a finite loss");
        });
        assert_eq!(count, 0, "steps after the first, with {optimizer:?}");
    }
}

network! {
    /// 17,409 parameters: a batch of 128 is split in two shares of over a million parameters
    /// times samples, the least a share is given.
    struct Wide(Dense<32, 512, Relu>, Dense<512, 1>);
}

/// Whether the CPU runs wide f32 products in register tiles (AVX-512, or AVX2 and FMA); where it
/// does not, they go to matrixmultiply, which allocates its packing buffers at every call.
fn register_tiles() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            || (std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A 512-unit layer's batch products run in register tiles that read the weights in place, so
/// on one thread a step allocates nothing after the first, with every optimizer.
#[test]
fn a_wide_layer_step_allocates_nothing_where_register_tiles_run() {
    if !register_tiles() {
        return;
    }
    let mut model = Wide::new(&mut StdRng::seed_from_u64(2));
    let (inputs, targets) = batch(128);
    for optimizer in [Sgd::new(0.01), Sgd::new(0.01).momentum(0.9)] {
        let mut trainer = model.trainer(Mse, optimizer).expect("valid settings");
        trainer
            .step(&mut model, &inputs, &targets)
            .expect("a finite loss");
        let count = allocations(|| {
            for _ in 0..10 {
                trainer
                    .step(&mut model, &inputs, &targets)
                    .expect("a finite loss");
            }
        });
        assert_eq!(count, 0, "allocations in 10 wide steps with {optimizer:?}");
    }
}

/// Plain SGD with register tiles shares the 512-unit layer's products out by rows among the
/// trainer's own threads: once the first step has started them, a step allocates nothing.
#[test]
fn a_step_shared_by_rows_allocates_nothing_once_the_team_is_started() {
    if !register_tiles() {
        return;
    }
    let mut model = Wide::new(&mut StdRng::seed_from_u64(2));
    let (inputs, targets) = batch(128);
    let mut trainer = model.trainer(Mse, Sgd::new(0.01)).expect("valid settings");
    trainer.set_threads(2).expect("two threads");
    trainer
        .step(&mut model, &inputs, &targets)
        .expect("a finite loss");
    let count = allocations(|| {
        for _ in 0..100 {
            trainer
                .step(&mut model, &inputs, &targets)
                .expect("a finite loss");
        }
    });
    assert_eq!(count, 0, "allocations in 100 steps shared by rows");
}

#[test]
fn a_threaded_step_allocates_only_blocks_of_the_pools_queue() {
    let mut model = Wide::new(&mut StdRng::seed_from_u64(2));
    let (inputs, targets) = batch(128);
    for optimizer in [Sgd::new(0.01), Sgd::new(0.01).momentum(0.9)] {
        let mut trainer = model.trainer(Mse, optimizer).expect("valid settings");
        trainer.set_threads(2).expect("two threads");
        trainer
            .step(&mut model, &inputs, &targets)
            .expect("a finite loss");
        const STEPS: usize = 126;
        let count = allocations(|| {
            for _ in 0..STEPS {
                trainer
                    .step(&mut model, &inputs, &targets)
                    .expect("a finite loss");
            }
        });
        // With momentum, each step hands the pool two jobs (the shares, then the sum of the
        // 16,384 weights of the first layer), and its queue takes a block of 63 jobs at a time.
        // Plain SGD shares rows where the CPU has AVX-512 (above), and allocates less.
        assert!(
            count <= 2 * STEPS / 63 + 1,
            "{count} allocations in {STEPS} threaded steps with {optimizer:?}"
        );
    }
}

#[test]
fn single_sample_plain_sgd_never_allocates_even_on_the_first_step() {
    let mut model = Small::new(&mut StdRng::seed_from_u64(3));
    let (inputs, targets) = batch(16);
    let mut trainer = model.trainer(Mse, Sgd::new(0.01)).expect("valid settings");
    let count = allocations(|| {
        for (x, y) in inputs.chunks(1).zip(targets.chunks(1)) {
            trainer.step(&mut model, x, y).expect("a finite loss");
        }
    });
    assert_eq!(count, 0);
}

#[test]
fn the_counter_sees_allocations() {
    assert_eq!(allocations(|| drop(std::hint::black_box(vec![1u8; 16]))), 1);
}

network! {
    /// Every 1-d layer kind: a strided, padded, dilated convolution, BatchNorm over its
    /// channels, an activation layer, both 1-d pools, dropout, LayerNorm and Flatten.
    #[input_shape(2, 16)]
    struct Sequence(
        Conv1d<2, 3, 3, 2, 1, 2, Tanh>,
        BatchNorm,
        Relu,
        MaxPool1d<2>,
        AvgPool1d<3, 2, 1>,
        Dropout<20>,
        LayerNorm,
        Flatten,
        Dense<6, 2>,
    );
}

network! {
    /// Every 2-d layer kind: a padded convolution, BatchNorm over its channels, an activation
    /// layer, both 2-d pools, dropout, LayerNorm and global average pooling.
    #[input_shape(2, 8, 8)]
    struct Image(
        Conv2d<2, 3, 3, 1, 1>,
        BatchNorm,
        Tanh,
        MaxPool2d<2>,
        AvgPool2d<2, 1>,
        Dropout<20>,
        LayerNorm,
        GlobalAvgPool,
        Dense<3, 2>,
    );
}

network! {
    /// BatchNorm over a Dense layer's features, with dropout after it.
    struct Features(Dense<4, 6>, BatchNorm, Relu, Dropout<25>, Dense<6, 2>);
}

/// `samples` inputs of width `IN` and targets of width `OUT`, varied and in [-0.5, 0.5).
fn data<const IN: usize, const OUT: usize>(
    samples: usize,
) -> (Vec<SVector<f32, IN>>, Vec<SVector<f32, OUT>>) {
    let value = |s: usize, i: usize| ((7 * s + 3 * i) % 11) as f32 / 11.0 - 0.5;
    let inputs = (0..samples)
        .map(|s| SVector::from_fn(|i, _| value(s, i)))
        .collect();
    let targets = (0..samples)
        .map(|s| SVector::from_fn(|i, _| value(s + 1, i)))
        .collect();
    (inputs, targets)
}

network! {
    /// A small CNN: convolutions keep their patch matrices in the workspace, not on the heap.
    #[input_shape(1, 8, 8)]
    struct Cnn(
        Conv2d<1, 4, 3, 1, 1>,
        BatchNorm,
        Relu,
        MaxPool2d<2>,
        Conv2d<4, 8, 3, 1, 1>,
        Relu,
        Flatten,
        Dropout<25>,
        Dense<128, 10>,
    );
}

fn images(samples: usize) -> (Vec<SVector<f32, 64>>, Vec<SVector<f32, 10>>) {
    let inputs: Vec<_> = (0..samples)
        .map(|s| SVector::from_fn(|i, _| ((i * 3 + s) % 11) as f32 / 11.0))
        .collect();
    let targets = (0..samples)
        .map(|s| SVector::from_fn(|i, _| f32::from(u8::from(i == s % 10))))
        .collect();
    (inputs, targets)
}

/// Inference (one sample, a batch matrix, a batch into a caller's buffer) and warm training
/// steps (plain SGD, fused, on batches and on single samples; SGD with momentum, which goes
/// through the gradients) of `model` allocate nothing.
fn assert_no_allocation<N, const IN: usize, const OUT: usize>(label: &str, mut model: N)
where
    N: typenn::Network<f32, IN, OUT>,
{
    let (inputs, targets) = data::<IN, OUT>(16);
    let matrix = SMatrix::<f32, IN, 4>::from_fn(|i, j| ((i + 5 * j) % 9) as f32 / 9.0 - 0.5);
    let mut outputs = vec![0.0_f32; OUT * inputs.len()];
    let mut workspace = Workspace::new();
    let mut batch_forward = |model: &N| {
        model.forward_columns(
            columns(typenn::flatten(&inputs)),
            columns_mut(&mut outputs),
            &mut workspace,
        );
    };
    batch_forward(&model);
    let count = allocations(|| {
        std::hint::black_box(model.forward(&inputs[0]));
    });
    assert_eq!(count, 0, "{label}: forward");
    let count = allocations(|| {
        std::hint::black_box(model.forward_batch(&matrix));
    });
    assert_eq!(count, 0, "{label}: forward_batch");
    let count = allocations(|| batch_forward(&model));
    assert_eq!(count, 0, "{label}: forward_columns with a warm workspace");

    for optimizer in [Sgd::new(0.01), Sgd::new(0.01).momentum(0.9)] {
        let mut trainer = model.trainer(Mse, optimizer).expect("valid settings");
        trainer
            .step(&mut model, &inputs, &targets)
            .expect("a finite loss");
        let count = allocations(|| {
            for (x, y) in inputs.chunks(4).zip(targets.chunks(4)) {
                trainer.step(&mut model, x, y).expect("a finite loss");
            }
            trainer
                .step(&mut model, &inputs, &targets)
                .expect("a finite loss");
        });
        assert_eq!(
            count, 0,
            "{label}: batch steps after the first, {optimizer:?}"
        );
        let count = allocations(|| {
            for (x, y) in inputs.chunks(1).zip(targets.chunks(1)).take(4) {
                trainer.step(&mut model, x, y).expect("a finite loss");
            }
        });
        assert_eq!(count, 0, "{label}: single-sample steps, {optimizer:?}");
    }
}

#[test]
fn every_layer_kind_runs_and_trains_without_allocating() {
    assert_no_allocation("Sequence", Sequence::new(&mut StdRng::seed_from_u64(4)));
    assert_no_allocation("Image", Image::new(&mut StdRng::seed_from_u64(5)));
    assert_no_allocation("Features", Features::new(&mut StdRng::seed_from_u64(6)));
}

network! {
    /// The W4 and W5 workloads' networks, with every kind of cell.
    struct Streams(Lstm<1, 16>, Gru<16, 8>, Rnn<8, 4>, Dense<4, 1>);
}

#[test]
fn a_time_step_allocates_nothing() {
    let net = Streams::new(&mut StdRng::seed_from_u64(4));
    let mut state = StreamsState::zeros();
    let x = SVector::from([0.25]);
    let _ = net.step(&mut state, &x);
    let mut y = SVector::zeros();
    assert_eq!(
        allocations(|| {
            for _ in 0..100 {
                y = net.step(&mut state, &x);
            }
            state.reset();
        }),
        0
    );
    assert!(y[0].is_finite());
}

network! {
    /// The W6 workload's network: causal convolutions keep their past inputs in their state.
    struct CausalStream(
        CausalConv1d<1, 8, 3, Tanh>,
        CausalConv1d<8, 8, 3, 2, Tanh>,
        Dense<8, 1>,
    );
}

#[test]
fn a_causal_convolution_step_allocates_nothing_from_the_first() {
    let net = CausalStream::new(&mut StdRng::seed_from_u64(6));
    let mut state = CausalStreamState::zeros();
    let mut y = SVector::zeros();
    assert_eq!(
        allocations(|| {
            for t in 0..100 {
                y = net.step(&mut state, &SVector::from([(t as f32 * 0.1).sin()]));
            }
            state.reset();
        }),
        0
    );
    assert!(y[0].is_finite() && y[0] != 0.0);
}

#[test]
fn convolutions_allocate_nothing_in_a_warm_batch_forward_or_training_step() {
    let mut model = Cnn::new(&mut StdRng::seed_from_u64(4));
    let (inputs, targets) = images(32);
    let mut outputs = vec![0.0_f32; 10 * 32];
    let mut workspace = Workspace::new();
    let forward = |model: &Cnn, outputs: &mut [f32], workspace: &mut Workspace<f32>| {
        model.forward_columns(
            columns(typenn::flatten(&inputs)),
            columns_mut(outputs),
            workspace,
        );
    };
    forward(&model, &mut outputs, &mut workspace);
    let count = allocations(|| forward(&model, &mut outputs, &mut workspace));
    assert_eq!(count, 0, "a batch forward with a warm workspace");

    let mut sgd = model
        .trainer(SoftmaxCrossEntropy, Sgd::new(0.01))
        .expect("valid settings");
    let mut adam = model
        .trainer(SoftmaxCrossEntropy, Adam::new(0.001))
        .expect("valid settings");
    sgd.step(&mut model, &inputs, &targets)
        .expect("a finite loss");
    adam.step(&mut model, &inputs, &targets)
        .expect("a finite loss");
    let count = allocations(|| {
        sgd.step(&mut model, &inputs, &targets)
            .expect("a finite loss");
        adam.step(&mut model, &inputs, &targets)
            .expect("a finite loss");
    });
    assert_eq!(count, 0, "plain SGD and Adam steps after the first");
}
