//! Networks with big layers are built, trained, evaluated, saved and loaded on threads with the
//! default 2 MiB stack, in debug and release builds: their parameters, gradients and optimizer
//! state live on the heap without passing through the stack.

use std::thread;

use typenn::prelude::*;
use typenn::{LoadOptions, Parameters, persist};

network! {
    /// The W3 workload's shape: 100 K parameters, 400 KB in f32.
    struct Mnist(Dense<784, 128, Relu>, Dense<128, 10>);
}

network! {
    /// 1 M parameters: 4 MiB in f32, twice the stack of a spawned thread.
    struct Wide(Dense<1024, 1024, Relu>, Dense<1024, 10>);
}

/// Runs `work` on a thread with exactly 2 MiB of stack.
fn on_small_stack(work: impl FnOnce() + Send + 'static) {
    thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(work)
        .expect("spawning a thread")
        .join()
        .expect("the thread panicked (a stack overflow aborts the process instead)");
}

fn one_hot_data<const IN: usize>(samples: usize) -> Dataset<f32, IN, 10> {
    let inputs = (0..samples)
        .map(|s| SVector::<f32, IN>::from_fn(|i, _| ((i * 7 + s * 3) % 11) as f32 / 11.0))
        .collect();
    let targets = (0..samples)
        .map(|s| {
            let mut y = SVector::<f32, 10>::zeros();
            y[s % 10] = 1.0;
            y
        })
        .collect();
    Dataset::new(inputs, targets).expect("generated data are valid")
}

#[test]
fn mnist_sized_network_trains_and_saves_on_a_2_mib_stack() {
    on_small_stack(|| {
        let mut rng = StdRng::seed_from_u64(3);
        let mut model = Mnist::new_boxed(&mut rng);
        let data = one_hot_data::<784>(64);
        let before = model.evaluate(&data, &Mse);
        let options = FitOptions::new().epochs(3).batch_size(16);
        let history = model
            .fit(&data, Mse, Sgd::new(0.05).momentum(0.9), &options)
            .expect("training");
        assert_eq!(history.loss.len(), 3);
        let after = model.evaluate(&data, &Mse);
        assert!(after < before, "loss went from {before} to {after}");
        assert!(model.0.weights.iter().all(|w| w.is_finite()));
        saved_and_loaded_on_the_heap(&*model);
    });
}

/// Saves `network` to a file, loads it into a boxed network and checks every parameter.
fn saved_and_loaded_on_the_heap<N: Parameters<f32>>(network: &N) {
    let path = std::env::temp_dir().join(format!(
        "typenn-big-{}-{:?}.safetensors",
        std::process::id(),
        thread::current().id()
    ));
    persist::save(network, &path).expect("saving");
    let loaded: Box<N> = persist::open_boxed(&path, &LoadOptions::new()).expect("loading");
    std::fs::remove_file(&path).expect("removing the file");
    for index in 0..N::TENSORS {
        assert_eq!(
            loaded.tensor(index),
            network.tensor(index),
            "tensor {index}"
        );
    }
    let bytes = persist::to_bytes(network).expect("encoding");
    let mut again = N::zeros_boxed();
    again
        .load_safetensors(&bytes, &LoadOptions::new())
        .expect("loading in place");
    assert_eq!(again.tensor(0), network.tensor(0));
}

#[test]
fn four_mib_network_trains_and_saves_on_a_2_mib_stack() {
    on_small_stack(|| {
        let mut rng = StdRng::seed_from_u64(4);
        let mut model = Wide::new_boxed(&mut rng);
        let data = one_hot_data::<1024>(20);
        let (_, gradients) = model
            .gradients(data.inputs(), data.targets(), &Mse)
            .expect("a valid batch");
        assert!(gradients.0.weights.iter().any(|g| *g != 0.0));
        let mut trainer = model
            .trainer(Mse, Sgd::new(0.01).momentum(0.9))
            .expect("valid settings");
        let first = trainer
            .step(&mut *model, data.inputs(), data.targets())
            .expect("a finite loss");
        let mut last = first;
        for _ in 0..3 {
            last = trainer
                .step(&mut *model, data.inputs(), data.targets())
                .expect("a finite loss");
        }
        assert!(last < first, "loss went from {first} to {last}");
        // A copy on the heap, equal and separate.
        let mut copy = model.clone_boxed();
        assert_eq!(*copy, *model);
        copy.1.bias[0] += 1.0;
        assert_ne!(*copy, *model);
        copy.clone_from(&model);
        assert_eq!(*copy, *model);
        let zeros = Wide::zeros_boxed();
        assert_eq!(
            zeros.forward(&data.inputs()[0]),
            SVector::<f32, 10>::zeros()
        );
        saved_and_loaded_on_the_heap(&*model);
    });
}
