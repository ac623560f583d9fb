//! Central finite differences for the gradient tests: numbers fixed by a seed, and a check of
//! every parameter's analytic gradient against the difference quotient of the loss.
#![allow(dead_code, reason = "each test file uses a part")]

use typenn::{Mse, Network, Parameters, SVector, Train};

/// Step of the central difference: its truncation error is about `H^2 = 1e-12` relative, its
/// rounding error about `1e-16 * loss / H = 1e-10 * loss`.
pub const H: f64 = 1e-6;
pub const RELATIVE: f64 = 1e-6;
pub const ABSOLUTE: f64 = 1e-9;
/// Numbers in [-1, 1) fixed by a seed (SplitMix64): inputs and targets the test controls.
pub struct Numbers(pub u64);

impl Numbers {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1_u64 << 53) as f64 * 2.0 - 1.0
    }

    pub fn vector<const N: usize>(&mut self) -> SVector<f64, N> {
        SVector::from_fn(|_, _| self.next())
    }

    pub fn batch<const N: usize>(&mut self, len: usize) -> Vec<SVector<f64, N>> {
        (0..len).map(|_| self.vector()).collect()
    }
}

/// Gives every bias tensor non-zero values in [-0.5, 0.5), so that bias gradients matter.
pub fn randomize_biases<N: Parameters<f64>>(model: &mut N, numbers: &mut Numbers) {
    for tensor in 0..N::TENSORS {
        if N::tensor_info(tensor).is_some_and(|info| info.name == "bias") {
            for value in model.tensor_mut(tensor) {
                *value = 0.5 * numbers.next();
            }
        }
    }
}

/// What the check saw, for the report.
#[derive(Debug, Default)]
pub struct Errors {
    /// Largest `|analytic - numeric| / max(|analytic|, |numeric|)` over the gradients above
    /// `ABSOLUTE / RELATIVE`, where the relative bound is the one that applies.
    pub relative: f64,
    /// Largest `|analytic - numeric|` over all gradients.
    pub absolute: f64,
    /// How many gradients were above `ABSOLUTE` (not zero, as a dead ReLU unit's are).
    pub significant: usize,
    /// How many parameters were checked.
    pub checked: usize,
}

/// Compares every gradient in `analytic` with the central difference of `loss` over the
/// corresponding parameter of `model`, panicking with the tensor and element that disagrees.
pub fn check_all<N, G>(label: &str, model: &mut N, analytic: &G, loss: impl Fn(&N) -> f64) -> Errors
where
    N: Parameters<f64>,
    G: Parameters<f64>,
{
    assert_eq!(G::TENSORS, N::TENSORS, "{label}: gradient tensors");
    let mut errors = Errors::default();
    for tensor in 0..N::TENSORS {
        let info = N::tensor_info(tensor).expect("every tensor below TENSORS has info");
        let len = info.len();
        assert_eq!(model.tensor(tensor).len(), len, "{label}: {info:?}");
        assert_eq!(analytic.tensor(tensor).len(), len, "{label}: {info:?}");
        for index in 0..len {
            let original = model.tensor(tensor)[index];
            model.tensor_mut(tensor)[index] = original + H;
            let plus = loss(model);
            model.tensor_mut(tensor)[index] = original - H;
            let minus = loss(model);
            model.tensor_mut(tensor)[index] = original;
            let numeric = (plus - minus) / (2.0 * H);
            let gradient = analytic.tensor(tensor)[index];
            let difference = (gradient - numeric).abs();
            let scale = gradient.abs().max(numeric.abs());
            assert!(
                difference <= (RELATIVE * scale).max(ABSOLUTE),
                "{label}: layer {:?} {} of shape {:?} ({:?}), slice index {index}: \
                 analytic {gradient:e}, numeric {numeric:e}, difference {difference:e}",
                info.layer,
                info.name,
                info.shape,
                info.layout,
            );
            errors.absolute = errors.absolute.max(difference);
            if scale > ABSOLUTE {
                errors.significant += 1;
            }
            if RELATIVE * scale > ABSOLUTE {
                errors.relative = errors.relative.max(difference / scale);
            }
            errors.checked += 1;
        }
    }
    assert_eq!(errors.checked, N::PARAMETERS, "{label}: parameters checked");
    println!("{label}: {errors:?}");
    errors
}

/// Most gradients must be above the absolute floor (few dead ReLU units), or the comparison
/// would say little.
pub fn assert_mostly_significant(errors: &Errors) {
    assert!(
        errors.significant * 10 >= errors.checked * 8,
        "only {} of {} gradients above {ABSOLUTE:e}; choose other seeds",
        errors.significant,
        errors.checked
    );
}

/// The batch loss as `gradients` reports it (mean squared error).
pub fn batch_loss<N: Network<f64, IN, OUT>, const IN: usize, const OUT: usize>(
    model: &N,
    xs: &[SVector<f64, IN>],
    ys: &[SVector<f64, OUT>],
) -> f64 {
    model.gradients(xs, ys, &Mse).expect("a valid batch").0
}

/// One plain SGD step by hand from `gradients`: `w <- w - rate * dw`, to compare with the
/// trainer's fused step.
pub fn sgd_by_hand<N: Network<f64, IN, OUT>, const IN: usize, const OUT: usize>(
    model: &mut N,
    xs: &[SVector<f64, IN>],
    ys: &[SVector<f64, OUT>],
    rate: f64,
) {
    let (_, gradients) = model.gradients(xs, ys, &Mse).expect("a valid batch");
    for tensor in 0..N::TENSORS {
        let step: Vec<f64> = gradients.tensor(tensor).to_vec();
        for (w, g) in model.tensor_mut(tensor).iter_mut().zip(step) {
            *w -= rate * g;
        }
    }
}
