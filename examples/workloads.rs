//! The benchmark workloads of `../shared/peers/WORKLOADS.md`, printed one line each in the
//! format every peer implementation prints, so the lines can be compared run against run:
//!
//! ```text
//! workload=<name> metric=<value> unit=<unit> [key=value ...]
//! ```
//!
//! Run with `cargo run --release --example workloads` (`-- --stream` for W4 to W7 alone,
//! `-- --train-seq` for W8 alone, `-- --cnn` for W9 alone). Single thread (trainers set to
//! one), f32, data from SplitMix64 with the workloads' seeds; batches are built before the
//! timer starts. As the PyTorch peer does, each training workload first trains a throwaway
//! network on 50 batches, untimed, so the timed loop (under 3 ms for W1) does not start on a
//! cold core.
//!
//! `W9_cnn_train_b32` is this project's own line (`benches/bench_torch_cnn.py` is its PyTorch
//! peer): the digits CNN of `examples/digits_cnn.rs` trained on N = 2048 synthetic images
//! (x ~ U[0, 1]^(1 x 8 x 8), one-hot targets of a class uniform in 0..10, SplitMix64 seed
//! `0x5EED0001 ^ 0x0009`), softmax cross-entropy, plain SGD lr 0.01, batch 32, 3 epochs, fixed
//! order, in training mode (batch statistics, dropout active); metric: trained samples per second.
//! `W9_cnn_infer_1` and `W9_cnn_infer_1_int8` then run that trained network forward one sample
//! at a time, in `f32` and quantized to int8 (calibrated on the same images), in alternating
//! rounds; metric: nanoseconds per sample in the best round, with the median and the ratio.
//!
//! `W3_train_b64_threads2` is W3 with the trainer's batches split across two threads
//! (`Trainer::set_threads(2)`), from the same initial weights as `W3_train_b64`.
//! `W3_train_b256` and `W3_train_b256_threads2` are this project's own lines: the same at batch
//! 256 on one and two threads, so that the cost of a step's hand-offs and of the data that
//! moves between the cores, which does not grow with the batch, shows beside the W3 lines.

use std::hint::black_box;
use std::time::Instant;

use typenn::prelude::*;
use typenn::{Loss, SequenceTrainer, SplitMix64, Trainer};

network! {
    /// W1 and W2: 32 -> 10 (ReLU) -> 1.
    struct Small(Dense<32, 10, Relu>, Dense<10, 1>);
}

network! {
    /// W3: 784 -> 128 (ReLU) -> 10.
    struct Mnist(Dense<784, 128, Relu>, Dense<128, 10>);
}

network! {
    /// W4: LSTM(1 -> 16) -> Dense(16 -> 1), streamed one sample at a time.
    struct Lstm16(Lstm<1, 16>, Dense<16, 1>);
}

network! {
    /// W5: GRU(1 -> 16) -> Dense(16 -> 1).
    struct Gru16(Gru<1, 16>, Dense<16, 1>);
}

network! {
    /// W6: causal Conv1D(1 -> 8, kernel 3) tanh -> Conv1D(8 -> 8, kernel 3, dilation 2) tanh
    /// -> Dense(8 -> 1), each convolution keeping its past inputs.
    struct CausalConv(
        CausalConv1d<1, 8, 3, Tanh>,
        CausalConv1d<8, 8, 3, 2, Tanh>,
        Dense<8, 1>,
    );
}

network! {
    /// W7: LSTM(1 -> 40) -> Dense(40 -> 1), the size of common guitar-amplifier models.
    struct Lstm40(Lstm<1, 40>, Dense<40, 1>);
}

network! {
    /// W9: the digits CNN, 1 x 8 x 8 -> 16 x 8 x 8 -> 16 x 4 x 4 -> 32 x 4 x 4 -> 32 x 2 x 2 -> 10.
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

const DATA_SEED: u64 = 0x5EED_0001;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|arg| arg == "--stream") {
        stream_workloads();
        return Ok(());
    }
    if std::env::args().any(|arg| arg == "--train-seq") {
        return sequence_training_workload();
    }
    if std::env::args().any(|arg| arg == "--cnn") {
        return cnn_workloads(&mut StdRng::seed_from_u64(42));
    }
    let mut rng = StdRng::seed_from_u64(42);

    let (xs, ys) = w1_data(4096);
    for batch in [1, 32] {
        let mut model = Small::new(&mut rng);
        let trainer = model.trainer(Mse, Sgd::new(0.01))?;
        let result = train(&mut model, trainer, &xs, &ys, batch, 10, 1)?;
        result.report(
            &format!("W1_train_b{batch}"),
            &format!("n=4096 epochs=10 batch={batch} lr=0.01"),
        );
    }

    {
        let model = Small::new(&mut rng);
        let x = xs[0];
        for _ in 0..10_000 {
            black_box(model.forward(black_box(&x)));
        }
        const CALLS: usize = 2_000_000;
        let timer = Timer::start();
        for _ in 0..CALLS {
            black_box(model.forward(black_box(&x)));
        }
        let (wall_s, cpu_s) = timer.stop();
        println!(
            "workload=W2_infer_1 metric={:.1} unit=ns_per_sample wall_s={wall_s:.4} cpu_s={cpu_s:.4} calls={CALLS}",
            wall_s * 1e9 / CALLS as f64
        );

        // The same network in int8, calibrated on the W1 inputs: f32 in and out, int8 inside.
        let int8 = model.quantize_inputs(&xs)?;
        for _ in 0..10_000 {
            black_box(int8.forward(black_box(&x)));
        }
        let timer = Timer::start();
        for _ in 0..CALLS {
            black_box(int8.forward(black_box(&x)));
        }
        let (wall_s, cpu_s) = timer.stop();
        println!(
            "workload=W2_infer_1_int8 metric={:.1} unit=ns_per_sample wall_s={wall_s:.4} cpu_s={cpu_s:.4} calls={CALLS} kernel={:?}",
            wall_s * 1e9 / CALLS as f64,
            typenn::quant::kernel()
        );
    }

    let (xs, ys) = w3_data(8192);
    let initial = Box::new(Mnist::new(&mut rng));
    let mut model = initial.clone();
    let trainer = model.trainer(Mse, Sgd::new(0.01))?;
    let result = train(&mut *model, trainer, &xs, &ys, 64, 2, 1)?;
    result.report("W3_train_b64", "n=8192 epochs=2 batch=64 lr=0.01");
    let mut model = initial.clone();
    let trainer = model.trainer(Mse, Sgd::new(0.01))?;
    let result = train(&mut *model, trainer, &xs, &ys, 64, 2, 2)?;
    result.report(
        "W3_train_b64_threads2",
        "n=8192 epochs=2 batch=64 lr=0.01 threads=2",
    );
    // The same at four times the batch: what a step costs two threads beyond its share of the
    // products shows against the batch's size.
    for threads in [1, 2] {
        let mut model = initial.clone();
        let trainer = model.trainer(Mse, Sgd::new(0.01))?;
        let result = train(&mut *model, trainer, &xs, &ys, 256, 2, threads)?;
        let name = if threads == 1 {
            "W3_train_b256"
        } else {
            "W3_train_b256_threads2"
        };
        result.report(
            name,
            &format!("n=8192 epochs=2 batch=256 lr=0.01 threads={threads}"),
        );
    }

    cnn_workloads(&mut rng)?;
    stream_workloads();
    sequence_training_workload()?;
    Ok(())
}

/// W9: the digits CNN trained, then run forward one sample at a time.
fn cnn_workloads(rng: &mut StdRng) -> Result<(), Box<dyn std::error::Error>> {
    let (xs, ys) = w9_data(2048);
    let mut model = DigitsCnn::new(rng);
    let trainer = model.trainer(SoftmaxCrossEntropy, Sgd::new(0.01))?;
    let result = train(&mut model, trainer, &xs, &ys, 32, 3, 1)?;
    result.report("W9_cnn_train_b32", "n=2048 epochs=3 batch=32 lr=0.01");
    cnn_inference(&model, &xs)?;
    Ok(())
}

/// W9 inference: the trained CNN on one sample at a time, in `f32` and in int8 (calibrated on
/// the W9 inputs), in alternating rounds so that both see the same load on a shared machine.
/// Each line gives the best round (the metric) and the median; the int8 line adds its ratio to
/// `f32` for both.
fn cnn_inference(model: &DigitsCnn, xs: &[SVector<f32, 64>]) -> Result<(), typenn::QuantizeError> {
    const ROUNDS: usize = 11;
    const CALLS: usize = 200;
    let int8 = model.quantize_inputs(xs)?;
    let inputs = &xs[..CALLS];
    let time = |pass: &dyn Fn()| {
        let timer = Timer::start();
        pass();
        timer.stop().0 * 1e9 / CALLS as f64
    };
    let f32_pass = || {
        for x in inputs {
            black_box(model.forward(black_box(x)));
        }
    };
    let int8_pass = || {
        for x in inputs {
            black_box(int8.forward(black_box(x)));
        }
    };
    f32_pass();
    int8_pass();
    let (mut f32_ns, mut int8_ns) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        f32_ns.push(time(&f32_pass));
        int8_ns.push(time(&int8_pass));
    }
    let best_and_median = |ns: &mut Vec<f64>| {
        ns.sort_by(f64::total_cmp);
        (ns[0], ns[ns.len() / 2])
    };
    let (f32_best, f32_median) = best_and_median(&mut f32_ns);
    let (int8_best, int8_median) = best_and_median(&mut int8_ns);
    println!(
        "workload=W9_cnn_infer_1 metric={f32_best:.1} unit=ns_per_sample median={f32_median:.1} rounds={ROUNDS} calls={CALLS}"
    );
    println!(
        "workload=W9_cnn_infer_1_int8 metric={int8_best:.1} unit=ns_per_sample median={int8_median:.1} rounds={ROUNDS} calls={CALLS} speedup_best={:.2} speedup_median={:.2} kernel={:?}",
        f32_best / int8_best,
        f32_median / int8_median,
        typenn::quant::kernel()
    );
    Ok(())
}

struct TrainResult {
    samples_per_s: f64,
    final_epoch_mean_loss: f64,
    wall_s: f64,
    cpu_s: f64,
}

impl TrainResult {
    fn report(&self, name: &str, extra: &str) {
        println!(
            "workload={name} metric={:.1} unit=samples_per_s final_epoch_mean_loss={:.6} wall_s={:.4} cpu_s={:.4} {extra}",
            self.samples_per_s, self.final_epoch_mean_loss, self.wall_s, self.cpu_s
        );
    }
}

/// Plain mini-batch SGD over the batches in a fixed order, on up to `threads` threads; only the
/// epoch loop is timed.
fn train<N, G, L, const IN: usize, const OUT: usize>(
    model: &mut N,
    mut trainer: Trainer<f32, G, L, Sgd>,
    xs: &[SVector<f32, IN>],
    ys: &[SVector<f32, OUT>],
    batch: usize,
    epochs: usize,
    threads: usize,
) -> Result<TrainResult, typenn::TrainError>
where
    N: Network<f32, IN, OUT, Gradients = G>,
    G: Parameters<f32>,
    L: Loss<f32> + Clone,
{
    let batches: Vec<_> = xs.chunks(batch).zip(ys.chunks(batch)).collect();
    // The warm-up, on its own network and trainer: the timed run starts from the same state.
    let mut warm = N::new_boxed(&mut StdRng::seed_from_u64(123));
    let mut warm_trainer = warm.trainer(trainer.loss().clone(), Sgd::new(0.01))?;
    warm_trainer.set_threads(threads)?;
    trainer.set_threads(threads)?;
    for (x, y) in batches.iter().take(50) {
        warm_trainer.step(&mut *warm, x, y)?;
    }
    let mut final_epoch_mean_loss = 0.0;
    let timer = Timer::start();
    for _ in 0..epochs {
        let mut sum = 0.0;
        for (x, y) in &batches {
            sum += f64::from(trainer.step(model, x, y)?);
        }
        final_epoch_mean_loss = sum / batches.len() as f64;
    }
    let (wall_s, cpu_s) = timer.stop();
    Ok(TrainResult {
        samples_per_s: (xs.len() * epochs) as f64 / wall_s,
        final_epoch_mean_loss,
        wall_s,
        cpu_s,
    })
}

/// W1: x ~ U[-1, 1]^32, y = mean_i sin(3 x_i).
fn w1_data(n: usize) -> (Vec<SVector<f32, 32>>, Vec<SVector<f32, 1>>) {
    let mut rng = SplitMix64::new(DATA_SEED);
    (0..n)
        .map(|_| {
            let x = SVector::<f32, 32>::from_fn(|_, _| 2.0 * rng.next_f32() - 1.0);
            let y = x.iter().map(|v| (3.0 * v).sin()).sum::<f32>() / 32.0;
            (x, SVector::from([y]))
        })
        .unzip()
}

/// W3: x ~ U[0, 1]^784, one-hot targets of a class uniform in 0..10.
fn w3_data(n: usize) -> (Vec<SVector<f32, 784>>, Vec<SVector<f32, 10>>) {
    let mut rng = SplitMix64::new(DATA_SEED ^ 0x0784);
    (0..n)
        .map(|_| {
            let x = SVector::<f32, 784>::from_fn(|_, _| rng.next_f32());
            let mut y = SVector::<f32, 10>::zeros();
            y[(rng.next_u64() % 10) as usize] = 1.0;
            (x, y)
        })
        .unzip()
}

/// W9: x ~ U[0, 1]^64 (one 8 x 8 channel), one-hot targets of a class uniform in 0..10.
fn w9_data(n: usize) -> (Vec<SVector<f32, 64>>, Vec<SVector<f32, 10>>) {
    let mut rng = SplitMix64::new(DATA_SEED ^ 0x0009);
    (0..n)
        .map(|_| {
            let x = SVector::<f32, 64>::from_fn(|_, _| rng.next_f32());
            let mut y = SVector::<f32, 10>::zeros();
            y[(rng.next_u64() % 10) as usize] = 1.0;
            (x, y)
        })
        .unzip()
}

/// Wall time and this thread's CPU time, so a run on a busy machine shows (cpu_s << wall_s).
struct Timer {
    wall: Instant,
    cpu: f64,
}

impl Timer {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: thread_cpu_s(),
        }
    }

    fn stop(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), thread_cpu_s() - self.cpu)
    }
}

/// This thread's CPU time from Linux's schedstat (NaN elsewhere).
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns * 1e-9)
}

/// W4 to W7: one audio sample per `step`, the state carried from call to call.
fn stream_workloads() {
    let audio = stream_audio();
    let mut weights = SplitMix64::new(DATA_SEED ^ 0x0044);
    macro_rules! stream {
        ($name:literal, $net:ident, $state:ident, $scale:expr) => {{
            let mut net = $net::zeros();
            fill_uniform(&mut net, $scale, &mut weights);
            let mut state = $state::zeros();
            let (wall_s, cpu_s) = time_stream(&audio, |x| net.step(&mut state, x)[0]);
            println!(
                "workload={} metric={:.3} unit=ns_per_sample framework=typenn wall_s={wall_s:.4} cpu_s={cpu_s:.4} calls={STREAM_CALLS}",
                $name,
                wall_s * 1e9 / STREAM_CALLS as f64
            );
        }};
    }
    stream!("W4_lstm16_stream", Lstm16, Lstm16State, 0.25);
    stream!("W5_gru16_stream", Gru16, Gru16State, 0.25);
    stream!("W6_conv1d_stream", CausalConv, CausalConvState, 0.25);
    stream!("W7_lstm40_stream", Lstm40, Lstm40State, 0.15);
}

/// Calls per streaming workload, after a tenth as many to warm up (as the RTNeural peer).
const STREAM_CALLS: usize = 2_000_000;

/// The streaming workloads' signal: 48,000 samples of two sines, cycled.
fn stream_audio() -> Vec<f32> {
    (0..48_000)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            0.5 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.3 * (2.0 * std::f32::consts::PI * 1375.0 * t).sin()
        })
        .collect()
}

/// Every parameter uniform in [-scale, scale].
fn fill_uniform<N: Parameters<f32>>(net: &mut N, scale: f32, rng: &mut SplitMix64) {
    for tensor in 0..N::TENSORS {
        for value in net.tensor_mut(tensor) {
            *value = scale * (2.0 * rng.next_f32() - 1.0);
        }
    }
}

/// Wall and CPU seconds of `STREAM_CALLS` calls of `step` over the signal, input and output
/// through `black_box`.
fn time_stream(audio: &[f32], mut step: impl FnMut(&SVector<f32, 1>) -> f32) -> (f64, f64) {
    let mut samples = audio.iter().cycle();
    let mut next = || SVector::from([samples.next().copied().unwrap_or(0.0)]);
    for _ in 0..STREAM_CALLS / 10 {
        black_box(step(black_box(&next())));
    }
    let timer = Timer::start();
    for _ in 0..STREAM_CALLS {
        black_box(step(black_box(&next())));
    }
    timer.stop()
}

/// W8's sequences: 128 samples each, as many as the workload trains on.
const W8_STEPS: usize = 128;

/// W8: LSTM(1 -> 16) -> Dense(16 -> 1) at every step, trained by full back-propagation through
/// time on 256 windows of the signal against `tanh(4 x)`, batch 16, MSE, plain SGD lr 0.01,
/// 2 epochs in order after one untimed warm-up epoch (as the PyTorch peer does).
fn sequence_training_workload() -> Result<(), Box<dyn std::error::Error>> {
    let audio = stream_audio();
    let inputs: Vec<SMatrix<f32, 1, W8_STEPS>> = (0..256)
        .map(|i| {
            let start = (97 * i) % 47_000;
            SMatrix::from_fn(|_, t| audio[start + t])
        })
        .collect();
    let targets: Vec<SMatrix<f32, 1, W8_STEPS>> =
        inputs.iter().map(|x| x.map(|v| (4.0 * v).tanh())).collect();
    let mut net = Lstm16::zeros();
    fill_uniform(&mut net, 0.25, &mut SplitMix64::new(DATA_SEED ^ 0x0048));
    let mut trainer = SequenceTrainer::new(Mse, Sgd::new(0.01))?;
    let mut epoch = |net: &mut Lstm16| -> Result<f64, typenn::TrainError> {
        let mut total = 0.0;
        for (x, y) in inputs.chunks(16).zip(targets.chunks(16)) {
            total += f64::from(trainer.step(net, x, y)?);
        }
        Ok(total / 16.0)
    };
    epoch(&mut net)?;
    let timer = Timer::start();
    let mut last = 0.0;
    for _ in 0..2 {
        last = epoch(&mut net)?;
    }
    let (wall_s, cpu_s) = timer.stop();
    println!(
        "workload=W8_lstm16_train_seq metric={:.0} unit=timesteps_per_s framework=typenn wall_s={wall_s:.4} cpu_s={cpu_s:.4} final_epoch_mean_loss={last:.6}",
        (2 * 256 * W8_STEPS) as f64 / wall_s
    );
    Ok(())
}
