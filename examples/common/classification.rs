//! What the classification examples print: every epoch's figures, where training stopped, and
//! the test accuracy.

use std::time::Duration;

use typenn::History;
use typenn::prelude::*;

/// Loss and accuracy on the training and validation data for every epoch, then the epoch whose
/// weights were kept.
pub fn print_history(history: &History, elapsed: Duration) {
    let accuracy = history.metric(Metric::Accuracy).unwrap_or_default();
    let val_accuracy = history.val_metric(Metric::Accuracy).unwrap_or_default();
    let val_loss = history.val_loss.as_deref().unwrap_or_default();
    for (epoch, loss) in history.loss.iter().enumerate() {
        println!(
            "epoch {:>3} - loss: {loss:.4} - accuracy: {:.4} - val_loss: {:.4} - val_accuracy: {:.4}",
            epoch + 1,
            accuracy[epoch],
            val_loss[epoch],
            val_accuracy[epoch],
        );
    }
    let best = history.best_epoch.unwrap_or(history.epochs());
    println!(
        "\nstopped after {} epochs in {:.3} s; kept the weights of epoch {best} (val_loss {:.4})",
        history.epochs(),
        elapsed.as_secs_f64(),
        val_loss[best - 1]
    );
}

/// The fraction of `test` whose largest output is the target's class, printed and returned.
pub fn print_test_accuracy<N, const IN: usize, const OUT: usize>(
    model: &N,
    test: &Dataset<f32, IN, OUT>,
) -> f64
where
    N: Network<f32, IN, OUT>,
{
    let correct = model
        .predict(test.inputs())
        .iter()
        .zip(test.targets())
        .filter(|(logits, target)| logits.imax() == target.imax())
        .count();
    let accuracy = correct as f64 / test.len() as f64;
    println!("test accuracy: {correct}/{} = {accuracy:.4}", test.len());
    accuracy
}
