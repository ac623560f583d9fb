//! Truncated back-propagation through time: long recordings cut into windows of fixed length,
//! trained in order with each recording's state carried from one window to the next.

use super::super::{EpochLog, History, MetricSet};
use super::{SequenceNetwork, SequenceTrainer};
use crate::{Dataset, Loss, Optimizer, Parameters, Scalar, TrainError};

impl<T: Scalar, G: Parameters<T>, L: Loss<T>, O: Optimizer<T>> SequenceTrainer<T, G, L, O> {
    /// Trains on long `recordings` (each a [`Dataset`] of time steps in order, inputs with
    /// their targets) by truncated back-propagation through time, for `epochs` passes.
    ///
    /// The recordings run side by side as one batch. Each pass cuts them into windows of
    /// `window` steps and makes one step per window, in time order; each recording's state is
    /// carried from one window into the next (zero at the start of a pass), while gradients stop
    /// at the window's start. Steps after the last whole window are not trained on.
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyBatch`] without recordings; [`TrainError::InvalidOption`] when the
    /// recordings differ in length or `window` is 0 or longer than they are; then as
    /// [`SequenceTrainer::step`].
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    /// use typenn::{SequenceTrainer, TrainError};
    ///
    /// network! {
    ///     struct Filter(Gru<1, 8>, Dense<8, 1>);
    /// }
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A one-pole low-pass filter over 2,000 samples, learnt 50 steps at a time.
    /// let x: Vec<[f32; 1]> = (0..2000).map(|i| [(i as f32 * 0.05).sin().signum()]).collect();
    /// let mut y = vec![[0.0_f32]; x.len()];
    /// for i in 1..x.len() {
    ///     y[i][0] = 0.9 * y[i - 1][0] + 0.1 * x[i][0];
    /// }
    /// let recording = Dataset::from_rows(&x, &y)?;
    /// let mut net = Filter::new(&mut StdRng::seed_from_u64(5));
    /// let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.01))?;
    /// let history = trainer.fit_truncated(&mut net, &[recording], 50, 5)?;
    /// assert!(history.loss[4] < history.loss[0]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn fit_truncated<N, const IN: usize, const OUT: usize>(
        &mut self,
        network: &mut N,
        recordings: &[Dataset<T, IN, OUT>],
        window: usize,
        epochs: usize,
    ) -> Result<History, TrainError>
    where
        N: SequenceNetwork<T, IN, OUT, Gradients = G>,
    {
        let length = recordings.first().ok_or(TrainError::EmptyBatch)?.len();
        if let Some(other) = recordings.iter().find(|r| r.len() != length) {
            return Err(TrainError::InvalidOption {
                option: "recording length",
                expected: "the same number of steps in every recording",
                found: other.len() as f64,
            });
        }
        if window == 0 || window > length {
            return Err(TrainError::InvalidOption {
                option: "window",
                expected: "at least 1 step and at most the recordings' length",
                found: window as f64,
            });
        }
        let batch = recordings.len();
        let windows = length / window;
        let mut inputs = vec![T::zero(); batch * window * IN];
        let mut targets = vec![T::zero(); batch * window * OUT];
        let mut carry = vec![T::zero(); batch * N::CARRY];
        let mut history = History::with_columns(MetricSet::EMPTY, false);
        for epoch in 1..=epochs {
            self.epoch = epoch;
            self.step = 0;
            carry.fill(T::zero());
            let mut total = 0.0;
            for w in 0..windows {
                let steps = w * window..(w + 1) * window;
                for (b, recording) in recordings.iter().enumerate() {
                    let sources = recording.inputs()[steps.clone()].iter();
                    let into = inputs[b * window * IN..][..window * IN].chunks_exact_mut(IN);
                    for (to, from) in into.zip(sources) {
                        to.copy_from_slice(from.as_slice());
                    }
                    let sources = recording.targets()[steps.clone()].iter();
                    let into = targets[b * window * OUT..][..window * OUT].chunks_exact_mut(OUT);
                    for (to, from) in into.zip(sources) {
                        to.copy_from_slice(from.as_slice());
                    }
                }
                total += self
                    .step_from(network, &inputs, &targets, window, &mut carry)?
                    .as_f64();
            }
            let learning_rate = Optimizer::<T>::learning_rate(&self.optimizer);
            history.push(&EpochLog::new(
                epoch,
                epochs,
                total / windows as f64,
                learning_rate,
            ));
        }
        Ok(history)
    }
}
