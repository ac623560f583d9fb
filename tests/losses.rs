//! The classification and robust losses on whole networks, in f64: the loss `gradients` reports
//! equals the loss recomputed from `predict`/`predict_proba`, every parameter's gradient agrees
//! with a central finite difference, and one training step moves every parameter by
//! `-lr * gradient` and lowers the loss.

use typenn::prelude::*;
use typenn::{Elementwise, Layer, TrainError};

#[path = "support/finite_difference.rs"]
mod finite_difference;

use finite_difference::{
    Numbers, RELATIVE, assert_mostly_significant, check_all, randomize_biases,
};

/// Every gradient checked against central differences, most of them large enough for the
/// relative comparison to apply; returns the largest relative difference.
fn checked<N, G>(label: &str, model: &mut N, analytic: &G, loss: impl Fn(&N) -> f64) -> f64
where
    N: Parameters<f64>,
    G: Parameters<f64>,
{
    let errors = check_all(label, model, analytic, loss);
    assert_mostly_significant(&errors);
    errors.relative
}

/// One SGD step with the trainer: it reports the loss before the update, moves every parameter
/// by `-lr * gradient`, and (for a small enough `lr`) lowers the loss. Returns the loss after.
fn one_step<N, L, const IN: usize, const OUT: usize>(
    model: &mut N,
    loss: L,
    xs: &[SVector<f64, IN>],
    ys: &[SVector<f64, OUT>],
) -> Result<f64, TrainError>
where
    N: Network<f64, IN, OUT> + Clone,
    L: typenn::Loss<f64> + Clone,
{
    let lr = 0.1;
    let (before, gradients) = model.gradients(xs, ys, &loss)?;
    let start = model.clone();
    let mut trainer = model.trainer(loss.clone(), Sgd::new(lr))?;
    let reported = trainer.step(model, xs, ys)?;
    assert_eq!(
        reported, before,
        "the step reports the loss before its update"
    );
    for tensor in 0..N::TENSORS {
        for ((&new, &old), &g) in model
            .tensor(tensor)
            .iter()
            .zip(start.tensor(tensor))
            .zip(gradients.tensor(tensor))
        {
            assert!(
                (new - (old - lr * g)).abs() <= 1e-15 * old.abs().max(1.0),
                "tensor {tensor}: {old} - {lr} * {g} should be {}, found {new}",
                old - lr * g
            );
        }
    }
    let (after, _) = model.gradients(xs, ys, &loss)?;
    assert!(
        after < before,
        "one step should lower the loss: {before} -> {after}"
    );
    Ok(after)
}

network! {
    /// Three classes from four features, a GELU hidden layer and linear logits.
    #[derive(Clone, Debug)]
    struct Classifier(Dense<4, 6, Gelu>, Dense<6, 3>);
}

#[test]
fn softmax_cross_entropy_classifier_gradient_and_one_step() -> Result<(), TrainError> {
    let mut model = Classifier::<f64>::new(&mut StdRng::seed_from_u64(41));
    let mut numbers = Numbers(41);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 4>> = numbers.batch(7);
    // One-hot targets, classes 0, 1, 2, 0, 1, 2, then one probability row.
    let mut ys: Vec<SVector<f64, 3>> = (0..6)
        .map(|i| SVector::from_fn(|class, _| if class == i % 3 { 1.0 } else { 0.0 }))
        .collect();
    ys.push(SVector::from([0.2, 0.5, 0.3]));

    let (loss, analytic) = model.gradients(&xs, &ys, &SoftmaxCrossEntropy)?;

    // The same loss from the predicted probabilities: -sum_i t_i ln p_i, averaged over samples.
    let probabilities = model.predict_proba(&xs);
    let logits = model.predict(&xs);
    let mut expected = 0.0;
    for ((p, t), z) in probabilities.iter().zip(&ys).zip(&logits) {
        assert!((p.sum() - 1.0).abs() < 1e-15, "probabilities {p} sum to 1");
        let e = z.map(f64::exp);
        assert!(
            (p - e / e.sum()).amax() < 1e-15,
            "{p} is the softmax of {z}"
        );
        expected -= t.dot(&p.map(f64::ln));
    }
    expected /= xs.len() as f64;
    assert!(
        (loss - expected).abs() <= 1e-14 * expected,
        "{loss} vs {expected}"
    );

    let worst = checked("Classifier", &mut model, &*analytic, |m| {
        m.gradients(&xs, &ys, &SoftmaxCrossEntropy)
            .expect("a valid batch")
            .0
    });
    assert!(worst < RELATIVE);

    let after = one_step(&mut model, SoftmaxCrossEntropy, &xs, &ys)?;
    println!("Classifier: loss {loss} -> {after} after one step");
    Ok(())
}

network! {
    /// Two independent yes/no labels from four features, a SiLU hidden layer and linear logits.
    #[derive(Clone, Debug)]
    struct Tagger(Dense<4, 5, Silu>, Dense<5, 2>);
}

#[test]
fn binary_cross_entropy_with_logits_gradient_and_one_step() -> Result<(), TrainError> {
    let mut model = Tagger::<f64>::new(&mut StdRng::seed_from_u64(43));
    let mut numbers = Numbers(43);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 4>> = numbers.batch(6);
    let ys: Vec<SVector<f64, 2>> = (0..6)
        .map(|i| SVector::from([f64::from(i % 2), f64::from(u8::from(i < 3))]))
        .collect();

    let (loss, analytic) = model.gradients(&xs, &ys, &BinaryCrossEntropyWithLogits)?;

    // The same loss from sigmoid probabilities: -(t ln p + (1 - t) ln(1 - p)), averaged over the
    // samples and the labels.
    let mut expected = 0.0;
    for (z, t) in model.predict(&xs).iter().zip(&ys) {
        for (&z, &t) in z.iter().zip(t.iter()) {
            let p = Sigmoid::apply(z);
            expected -= t * p.ln() + (1.0 - t) * (1.0 - p).ln();
        }
    }
    expected /= (xs.len() * 2) as f64;
    assert!(
        (loss - expected).abs() <= 1e-14 * expected,
        "{loss} vs {expected}"
    );

    let worst = checked("Tagger", &mut model, &*analytic, |m| {
        m.gradients(&xs, &ys, &BinaryCrossEntropyWithLogits)
            .expect("a valid batch")
            .0
    });
    assert!(worst < RELATIVE);

    let after = one_step(&mut model, BinaryCrossEntropyWithLogits, &xs, &ys)?;
    println!("Tagger: loss {loss} -> {after} after one step");
    Ok(())
}

network! {
    /// The same labels from a network that ends in a sigmoid, for the loss on probabilities.
    #[derive(Clone, Debug)]
    struct SigmoidTagger(Dense<4, 5, Elu>, Dense<5, 2, Sigmoid>);
}

#[test]
fn binary_cross_entropy_on_probabilities_gradient_and_one_step() -> Result<(), TrainError> {
    let mut model = SigmoidTagger::<f64>::new(&mut StdRng::seed_from_u64(47));
    let mut numbers = Numbers(47);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 4>> = numbers.batch(6);
    let ys: Vec<SVector<f64, 2>> = (0..6)
        .map(|i| SVector::from([f64::from(i % 2), f64::from(u8::from(i < 3))]))
        .collect();
    // Away from Elu's change of formula at 0 (smooth for alpha = 1, but checked all the same).
    let hidden: Vec<f64> = xs
        .iter()
        .flat_map(|x| <[f64; 5]>::from(model.0.weights * x + model.0.bias))
        .collect();
    assert!(hidden.iter().all(|z| z.abs() > 1e-4));

    let (loss, analytic) = model.gradients(&xs, &ys, &BinaryCrossEntropy)?;
    // The same loss through the logits loss, on the last layer's pre-activations recomputed from
    // the public fields: the clamp does not bind, so the two agree.
    let mut logits_loss = 0.0;
    for (x, t) in xs.iter().zip(&ys) {
        let z = model.1.weights * model.0.forward(x) + model.1.bias;
        for (&z, &t) in z.iter().zip(t.iter()) {
            logits_loss += z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
        }
    }
    logits_loss /= (xs.len() * 2) as f64;
    assert!(
        (loss - logits_loss).abs() <= 1e-13 * loss,
        "{loss} vs {logits_loss}"
    );

    let worst = checked("SigmoidTagger", &mut model, &*analytic, |m| {
        m.gradients(&xs, &ys, &BinaryCrossEntropy)
            .expect("a valid batch")
            .0
    });
    assert!(worst < RELATIVE);

    one_step(&mut model, BinaryCrossEntropy, &xs, &ys)?;
    Ok(())
}

network! {
    /// The other new activations, for the regression losses.
    #[derive(Clone, Debug)]
    struct Robust(Dense<3, 5, Softplus>, Dense<5, 4, Swish>, Dense<4, 2>);
}

#[test]
fn huber_and_mae_regressor_gradients_and_one_step() -> Result<(), TrainError> {
    let mut model = Robust::<f64>::new(&mut StdRng::seed_from_u64(53));
    let mut numbers = Numbers(53);
    randomize_biases(&mut model, &mut numbers);
    let xs: Vec<SVector<f64, 3>> = numbers.batch(6);
    // Targets spread to [-2, 2), so that some errors exceed Huber's delta and some do not.
    let ys: Vec<SVector<f64, 2>> = numbers.batch::<2>(6).into_iter().map(|y| y * 2.0).collect();
    let huber = Huber::new(0.5)?;
    let errors: Vec<f64> = model
        .predict(&xs)
        .iter()
        .zip(&ys)
        .flat_map(|(p, t)| <[f64; 2]>::from(p - t))
        .collect();
    // Both sides of delta, and no error at a kink of Mae (0) or near delta, where Huber's second
    // derivative jumps.
    assert!(errors.iter().any(|e| e.abs() < 0.5) && errors.iter().any(|e| e.abs() > 0.5));
    assert!(
        errors
            .iter()
            .all(|e| e.abs() > 1e-4 && (e.abs() - 0.5).abs() > 1e-4)
    );

    let (huber_loss, analytic) = model.gradients(&xs, &ys, &huber)?;
    let expected = errors
        .iter()
        .map(|e| {
            if e.abs() <= 0.5 {
                0.5 * e * e
            } else {
                0.5 * (e.abs() - 0.25)
            }
        })
        .sum::<f64>()
        / errors.len() as f64;
    assert!((huber_loss - expected).abs() <= 1e-14 * expected);
    checked("Robust/Huber", &mut model, &*analytic, |m| {
        m.gradients(&xs, &ys, &huber).expect("a valid batch").0
    });

    let (mae_loss, analytic) = model.gradients(&xs, &ys, &Mae)?;
    let expected = errors.iter().map(|e| e.abs()).sum::<f64>() / errors.len() as f64;
    assert!((mae_loss - expected).abs() <= 1e-14 * expected);
    checked("Robust/Mae", &mut model, &*analytic, |m| {
        m.gradients(&xs, &ys, &Mae).expect("a valid batch").0
    });

    one_step(&mut model.clone(), huber, &xs, &ys)?;
    one_step(&mut model, Mae, &xs, &ys)?;
    Ok(())
}
