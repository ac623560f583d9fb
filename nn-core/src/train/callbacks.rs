//! Callbacks: code run at the end of each epoch, which can stop training or change the learning
//! rate.

use super::EpochLog;

/// Code that `fit` runs at the end of every epoch, after the epoch's figures are known.
///
/// A callback reads the figures in `log` and steers training through `control`: it can stop
/// training or set the learning rate of the following epochs. Callbacks run in the order they
/// were added, each seeing the learning rate as the previous ones left it; early stopping
/// decides after all of them.
///
/// Any `FnMut(&EpochLog, &mut Control)` closure is a callback; a type implementing the trait keeps
/// its own state, which the caller can read after `fit` since callbacks are lent, not given.
///
/// # Example
///
/// ```
/// use typenn::{Callback, Control, EpochLog};
///
/// /// Halves the learning rate whenever the loss went up.
/// struct HalveOnPlateau {
///     last: f64,
///     halvings: usize,
/// }
///
/// impl Callback for HalveOnPlateau {
///     fn on_epoch_end(&mut self, log: &EpochLog, control: &mut Control) {
///         if log.loss > self.last {
///             control.scale_learning_rate(0.5);
///             self.halvings += 1;
///         }
///         self.last = log.loss;
///     }
/// }
///
/// let mut schedule = HalveOnPlateau { last: f64::INFINITY, halvings: 0 };
/// let mut control = Control::new(0.1);
/// schedule.on_epoch_end(&EpochLog::new(1, 10, 0.5, 0.1), &mut control);
/// schedule.on_epoch_end(&EpochLog::new(2, 10, 0.7, 0.1), &mut control);
/// assert_eq!((control.learning_rate(), schedule.halvings), (0.05, 1));
/// ```
pub trait Callback {
    /// Called once the figures of epoch `log.epoch` are known.
    fn on_epoch_end(&mut self, log: &EpochLog, control: &mut Control);
}

impl<F: FnMut(&EpochLog, &mut Control)> Callback for F {
    #[inline]
    fn on_epoch_end(&mut self, log: &EpochLog, control: &mut Control) {
        self(log, control);
    }
}

/// What a [`Callback`] can change: whether training goes on, and the learning rate of the
/// epochs that follow.
///
/// A learning rate set here is checked when the callbacks are done: it must be finite and above
/// 0, or `fit` ends with [`TrainError::InvalidLearningRate`](crate::TrainError::InvalidLearningRate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Control {
    learning_rate: f64,
    stop: bool,
}

impl Control {
    /// Control over a training whose learning rate is `learning_rate`, not stopping.
    #[must_use]
    pub const fn new(learning_rate: f64) -> Self {
        Self {
            learning_rate,
            stop: false,
        }
    }

    /// The learning rate the next epoch will use, as set so far.
    #[inline]
    #[must_use]
    pub const fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Sets the learning rate of the following epochs.
    #[inline]
    pub const fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// Multiplies the learning rate of the following epochs by `factor`.
    #[inline]
    pub fn scale_learning_rate(&mut self, factor: f64) {
        self.learning_rate *= factor;
    }

    /// Ends training after this epoch.
    #[inline]
    pub const fn stop_training(&mut self) {
        self.stop = true;
    }

    /// Whether training ends after this epoch.
    #[inline]
    #[must_use]
    pub const fn is_stopping(&self) -> bool {
        self.stop
    }
}
