//! How `examples/digits_cnn.rs` trains its network, chosen by 5-fold cross-validation inside
//! the 1437 training images: the test images are not read.
//!
//! ```sh
//! cargo run --release --example digits_cnn_protocol    # about two minutes
//! ```
//!
//! Each fold (every fifth training image, the rows being in shuffled order already) is scored
//! by networks trained on the other four, for seeds 0 to 3 (initial weights, shuffling and
//! dropout), in four ways:
//!
//! - **early-stopped**: `digits.rs`'s training, early stopping on the last fifth of what it
//!   trains on, with the best epoch's weights kept;
//! - **refit, same epochs**: that run's best epoch count, then a fresh network from the same
//!   seed trained for that many epochs on all the images the first run had (held-out part
//!   included);
//! - **refit, 1.25 x epochs** (what `digits_cnn.rs` does): the same, for 1.25 times the best
//!   epoch count, the images of the second run over those of the first;
//! - **ensemble**: the early-stopped networks of the four seeds, their probabilities averaged.
//!
//! It prints each way's errors over the 1437 images (per seed) and its mean log loss.

mod common;
#[path = "common/digits.rs"]
// The CNN and its training: the MLP is the other digits examples'.
#[allow(dead_code)]
mod digits;

use digits::DigitsCnn;
use typenn::prelude::*;

type Digits = Dataset<f32, 64, 10>;

/// Folds of the cross-validation.
const FOLDS: usize = 5;
/// Seeds of every way of training.
const SEEDS: [u64; 4] = [0, 1, 2, 3];

/// Each sample's probabilities (`predict_proba`: the softmax of the logits), in `f64`.
fn probabilities(model: &DigitsCnn, data: &Digits) -> Vec<[f64; 10]> {
    model
        .predict_proba(data.inputs())
        .iter()
        .map(|p| core::array::from_fn(|k| f64::from(p[k])))
        .collect()
}

/// Errors and summed log loss of `probabilities` on `data`.
#[derive(Clone, Copy, Default)]
struct Score {
    errors: usize,
    log_loss: f64,
}

impl Score {
    fn of(probabilities: &[[f64; 10]], data: &Digits) -> Self {
        let mut score = Self::default();
        for (p, target) in probabilities.iter().zip(data.targets()) {
            let class = target.imax();
            if (0..10).any(|k| p[k] > p[class]) {
                score.errors += 1;
            }
            score.log_loss -= p[class].max(1e-12).ln();
        }
        score
    }

    fn add(&mut self, other: Self) {
        self.errors += other.errors;
        self.log_loss += other.log_loss;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (train, _) = digits::load()?;
    let samples = train.len();
    let ways = [
        "early-stopped",
        "refit, same epochs",
        "refit, 1.25 x epochs",
        "ensemble of the seeds",
    ];
    let mut totals = [Score::default(); 4];
    for fold in 0..FOLDS {
        let (kept, held): (Vec<usize>, Vec<usize>) = (0..samples).partition(|i| i % FOLDS != fold);
        let (kept, held) = (train.subset(&kept)?, train.subset(&held)?);
        let mut ensemble = vec![[0.0; 10]; held.len()];
        for seed in SEEDS {
            let training = digits::train_cnn_from(&kept, seed)?;
            let best = training
                .search
                .best_epoch
                .unwrap_or(training.search.epochs());
            let (same_epochs, _) = digits::train_cnn_for(&kept, seed, best)?;
            let early = probabilities(&training.early_stopped, &held);
            for (sum, p) in ensemble.iter_mut().zip(&early) {
                for (s, p) in sum.iter_mut().zip(p) {
                    *s += p / SEEDS.len() as f64;
                }
            }
            let scores = [
                Score::of(&early, &held),
                Score::of(&probabilities(&same_epochs, &held), &held),
                Score::of(&probabilities(&training.model, &held), &held),
            ];
            println!(
                "fold {fold}, seed {seed}: best epoch {best}; errors: early-stopped {}, refit \
                 same epochs {}, refit 1.25 x {}",
                scores[0].errors, scores[1].errors, scores[2].errors
            );
            for (total, score) in totals.iter_mut().zip(scores) {
                total.add(score);
            }
        }
        let ensemble = Score::of(&ensemble, &held);
        println!("fold {fold}: ensemble errors {}", ensemble.errors);
        // Counted once per seed, as the others are.
        for _ in SEEDS {
            totals[3].add(ensemble);
        }
    }
    println!("\n| way | errors per seed (of {samples}) | mean log loss |\n| --- | ---: | ---: |");
    let runs = SEEDS.len() as f64;
    for (way, total) in ways.iter().zip(totals) {
        println!(
            "| {way} | {:.2} | {:.4} |",
            total.errors as f64 / runs,
            total.log_loss / (runs * samples as f64)
        );
    }
    Ok(())
}
