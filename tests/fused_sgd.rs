//! Plain SGD updates each layer during back-propagation instead of writing gradient buffers
//! (`Optimizer::plain_sgd`). Here every such step is checked against the definition: the
//! gradients from `Train::gradients`, then `w <- w - lr * g` on every tensor, in f64 so that
//! the two orders of rounding agree to 1e-12.
//!
//! The shapes cover the ways a step runs: one sample on the stack, a batch through the small
//! kernels, a batch through matrixmultiply (a layer wider than 256 units), and in f32 a batch
//! through the AVX-512 products (on CPUs that have them; matrixmultiply elsewhere).

use typenn::prelude::*;
use typenn::{Loss, Network, Parameters, Trainer};

network! {
    /// Three activations and an input gradient through two boundaries.
    #[derive(Clone)]
    struct Deep(Dense<5, 7, Tanh>, Dense<7, 4, Relu>, Dense<4, 3, Sigmoid>);
}

network! {
    /// A layer too wide for the small kernels.
    #[derive(Clone)]
    struct Wide(Dense<6, 300, Tanh>, Dense<300, 2>);
}

/// Inputs and targets that exercise every unit: deterministic, spread over [-1, 1].
fn batch<const IN: usize, const OUT: usize>(
    samples: usize,
    seed: u64,
) -> (Vec<SVector<f64, IN>>, Vec<SVector<f64, OUT>>) {
    let value = |k: usize| ((k as f64 + 0.5) * (0.37 + seed as f64 * 0.11)).sin();
    let inputs = (0..samples)
        .map(|j| SVector::from_fn(|i, _| value(j * IN + i)))
        .collect();
    let targets = (0..samples)
        .map(|j| SVector::from_fn(|o, _| 0.5 * value(1000 + j * OUT + o)))
        .collect();
    (inputs, targets)
}

/// The step by definition: gradients, then `w <- w - lr * g` tensor by tensor.
fn reference_step<N: Network<f64, IN, OUT>, L: Loss<f64>, const IN: usize, const OUT: usize>(
    network: &mut N,
    inputs: &[SVector<f64, IN>],
    targets: &[SVector<f64, OUT>],
    loss: &L,
    learning_rate: f64,
) -> f64 {
    let (value, gradients) = network
        .gradients(inputs, targets, loss)
        .expect("a valid batch");
    for index in 0..N::TENSORS {
        let gradient = gradients.tensor(index);
        for (w, g) in network.tensor_mut(index).iter_mut().zip(gradient) {
            *w -= learning_rate * g;
        }
    }
    value
}

fn largest_difference<P: Parameters<f64>>(a: &P, b: &P) -> f64 {
    (0..P::TENSORS)
        .flat_map(|index| a.tensor(index).iter().zip(b.tensor(index)))
        .map(|(x, y)| (x - y).abs() / x.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Five steps of each batch size, fused and by definition, from the same start.
fn check<N, L, const IN: usize, const OUT: usize>(start: &N, loss: L, batches: &[usize])
where
    N: Network<f64, IN, OUT> + Clone,
    L: Loss<f64> + Clone,
{
    for &size in batches {
        let mut fused = start.clone();
        let mut expected = start.clone();
        let mut trainer: Trainer<f64, N::Gradients, L, Sgd> =
            Trainer::new(loss.clone(), Sgd::new(0.05)).expect("valid settings");
        for step in 0..5 {
            let (inputs, targets) = batch::<IN, OUT>(size, step);
            let value = trainer.step(&mut fused, &inputs, &targets).expect("finite");
            let reference = reference_step(&mut expected, &inputs, &targets, &loss, 0.05);
            assert!(
                (value - reference).abs() <= 1e-12 * reference.abs().max(1.0),
                "batch {size}, step {step}: loss {value} against {reference}"
            );
            let difference = largest_difference(&fused, &expected);
            assert!(
                difference < 1e-12,
                "batch {size}, step {step}: parameters differ by {difference}"
            );
            assert!(
                largest_difference(&fused, start) > 1e-6,
                "the step must move the parameters"
            );
        }
        // Plain SGD kept no gradients: they were never written.
        assert!(trainer.gradients().is_none());
    }
}

#[test]
fn fused_steps_equal_gradients_then_update_through_the_small_kernels() {
    let start = Deep::<f64>::new(&mut StdRng::seed_from_u64(7));
    check(&start, Mse, &[1, 2, 9]);
    check(&start, SoftmaxCrossEntropy, &[1, 4]);
}

#[test]
fn fused_steps_equal_gradients_then_update_through_matrixmultiply() {
    let start = Wide::<f64>::new(&mut StdRng::seed_from_u64(8));
    check(&start, Mse, &[1, 3, 40]);
}

#[test]
fn momentum_and_adam_still_keep_their_gradients() {
    let mut model = Deep::<f64>::new(&mut StdRng::seed_from_u64(9));
    let (inputs, targets) = batch::<5, 3>(4, 0);
    // Each trainer keeps the gradients of the batch at the weights before its step.
    for optimizer_is_adam in [false, true] {
        let (_, before) = model.gradients(&inputs, &targets, &Mse).expect("valid");
        let kept = if optimizer_is_adam {
            let mut adam = model.trainer(Mse, Adam::new(0.01)).expect("valid");
            adam.step(&mut model, &inputs, &targets).expect("finite");
            adam.gradients().cloned()
        } else {
            let mut momentum = model
                .trainer(Mse, Sgd::new(0.05).momentum(0.5))
                .expect("valid");
            momentum
                .step(&mut model, &inputs, &targets)
                .expect("finite");
            momentum.gradients().cloned()
        };
        let kept = kept.expect("an optimizer with state keeps the gradients");
        assert!(largest_difference(&kept, &*before) < 1e-15);
        assert!(before.0.weights.amax() > 0.0);
    }
}

network! {
    /// Big enough products (64 x 40 x 30 > 65,536) for the wide path, with 64 rows.
    #[derive(Clone)]
    struct Broad(Dense<40, 64, Relu>, Dense<64, 32, Tanh>, Dense<32, 3>);
}

/// The same parameters in f64.
fn widened<N: Parameters<f32>, M: Parameters<f64>>(network: &N) -> M {
    let mut wide = M::zeros();
    for index in 0..N::TENSORS {
        for (w, &v) in wide.tensor_mut(index).iter_mut().zip(network.tensor(index)) {
            *w = f64::from(v);
        }
    }
    wide
}

#[test]
fn f32_steps_on_big_batches_match_an_f64_reference() {
    let start = Broad::<f32>::new(&mut StdRng::seed_from_u64(10));
    for size in [30, 61] {
        let mut model = start.clone();
        let mut reference: Broad<f64> = widened(&model);
        let mut trainer = model.trainer(Mse, Sgd::new(0.05)).expect("valid settings");
        for step in 0..3 {
            let (inputs, targets) = batch::<40, 3>(size, step);
            let to_f32 = |v: &SVector<f64, 40>| v.map(|x| x as f32);
            let inputs32: Vec<_> = inputs.iter().map(to_f32).collect();
            let targets32: Vec<_> = targets.iter().map(|v| v.map(|x| x as f32)).collect();
            // The gradients path (AVX-512 or matrixmultiply, not accumulating) first.
            let (_, gradients) = model.gradients(&inputs32, &targets32, &Mse).expect("valid");
            let (_, expected) = reference.gradients(&inputs, &targets, &Mse).expect("valid");
            let widened_gradients: BroadGradients<f64> = widened(&*gradients);
            let difference = largest_difference(&widened_gradients, &*expected);
            assert!(
                difference < 1e-5,
                "batch {size}: gradients differ by {difference}"
            );
            // Then the fused step (accumulating into the weights).
            let value = trainer
                .step(&mut model, &inputs32, &targets32)
                .expect("finite");
            let reference_value = reference_step(&mut reference, &inputs, &targets, &Mse, 0.05);
            assert!((f64::from(value) - reference_value).abs() < 1e-5 * reference_value.max(1.0));
            let difference = largest_difference(&widened::<_, Broad<f64>>(&model), &reference);
            assert!(
                difference < 1e-5,
                "batch {size}, step {step}: parameters differ by {difference}"
            );
        }
    }
}
