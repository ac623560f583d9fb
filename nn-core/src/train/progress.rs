//! Reporting epochs as Keras does, when `FitOptions::verbose` asks for it.
//!
//! With the `progress` feature and a terminal on standard error, each epoch is an `indicatif`
//! bar that fills as the batches go; otherwise the same line is printed once the epoch ends.
//! When not verbose, every call here is a check of one flag.

use core::fmt::Write as _;

use super::EpochLog;

/// The reporter of one `fit`.
#[derive(Debug)]
pub(crate) struct Progress {
    verbose: bool,
    epochs: usize,
    samples: usize,
    #[cfg(feature = "progress")]
    bar: Option<bar::Bar>,
}

impl Progress {
    pub(crate) const fn new(verbose: bool, epochs: usize, samples: usize) -> Self {
        Self {
            verbose,
            epochs,
            samples,
            #[cfg(feature = "progress")]
            bar: None,
        }
    }

    /// An epoch begins.
    #[inline]
    pub(crate) fn start(&mut self, epoch: usize) {
        #[cfg(feature = "progress")]
        if self.verbose {
            self.bar = bar::Bar::start(epoch, self.epochs, self.samples);
        }
        #[cfg(not(feature = "progress"))]
        let _ = epoch;
    }

    /// `seen` samples of the epoch are done, with a running mean loss of `loss`.
    #[inline]
    pub(crate) fn advance(&self, seen: usize, loss: f64) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.advance(seen, loss);
        }
        #[cfg(not(feature = "progress"))]
        let _ = (seen, loss);
    }

    /// The epoch ended with figures `log`.
    pub(crate) fn finish(&mut self, log: &EpochLog) {
        if !self.verbose {
            return;
        }
        #[cfg(feature = "progress")]
        if let Some(bar) = self.bar.take() {
            bar.finish(log);
            return;
        }
        eprintln!("{}", line(log, self.samples, self.epochs));
    }
}

/// The whole line of an epoch: `Epoch 3/10 [====] 128/128 - loss: 0.0123 - val_loss: 0.0145`.
pub(crate) fn line(log: &EpochLog, samples: usize, epochs: usize) -> String {
    format!(
        "Epoch {}/{epochs} [{}] {samples}/{samples}{}",
        log.epoch,
        "=".repeat(BAR_WIDTH),
        figures(log)
    )
}

/// The figures of an epoch in Keras's order: loss, metrics, validation loss, validation metrics.
pub(crate) fn figures(log: &EpochLog) -> String {
    let mut text = String::new();
    let mut add = |name: &str, prefix: &str, value: f64| {
        let _ = write!(text, " - {prefix}{name}: {}", Value(value));
    };
    add("loss", "", log.loss);
    for (metric, value) in log.metrics.iter() {
        add(metric.name(), "", value);
    }
    if let Some(value) = log.val_loss {
        add("loss", "val_", value);
    }
    for (metric, value) in log.val_metrics.iter() {
        add(metric.name(), "val_", value);
    }
    text
}

const BAR_WIDTH: usize = 30;

/// A figure as Keras prints it: 4 decimals, or 4 significant digits in scientific notation when
/// it is below 1e-3 in size.
struct Value(f64);

impl core::fmt::Display for Value {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self(value) = *self;
        if value == 0.0 || value.abs() > 1e-3 || !value.is_finite() {
            write!(f, "{value:.4}")
        } else {
            write!(f, "{value:.4e}")
        }
    }
}

#[cfg(feature = "progress")]
mod bar {
    use core::fmt;
    use std::io::IsTerminal as _;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use indicatif::{ProgressBar, ProgressState, ProgressStyle};

    use super::{BAR_WIDTH, EpochLog, Value, figures};

    /// One epoch's bar, and the running loss it shows, shared with its drawing thread as bits.
    #[derive(Debug)]
    pub(super) struct Bar {
        bar: ProgressBar,
        loss: Arc<AtomicU64>,
    }

    impl Bar {
        /// A bar for `epoch`, or none when standard error is not a terminal (the plain line is
        /// printed instead).
        pub(super) fn start(epoch: usize, epochs: usize, samples: usize) -> Option<Self> {
            if !std::io::stderr().is_terminal() {
                return None;
            }
            let loss = Arc::new(AtomicU64::new(f64::NAN.to_bits()));
            let shown = Arc::clone(&loss);
            let style = ProgressStyle::with_template(&format!(
                "Epoch {{prefix}} [{{bar:{BAR_WIDTH}}}] {{pos}}/{{len}} - loss: {{loss}}"
            ))
            .ok()?
            .progress_chars("=>.")
            .with_key(
                "loss",
                move |_: &ProgressState, out: &mut dyn fmt::Write| {
                    let _ = write!(
                        out,
                        "{}",
                        Value(f64::from_bits(shown.load(Ordering::Relaxed)))
                    );
                },
            );
            let bar = ProgressBar::new(samples as u64)
                .with_style(style)
                .with_prefix(format!("{epoch}/{epochs}"));
            Some(Self { bar, loss })
        }

        #[inline]
        pub(super) fn advance(&self, seen: usize, loss: f64) {
            self.loss.store(loss.to_bits(), Ordering::Relaxed);
            self.bar.set_position(seen as u64);
        }

        /// Replaces the running loss by the epoch's figures and leaves the line on screen.
        pub(super) fn finish(self, log: &EpochLog) {
            if let Ok(style) = ProgressStyle::with_template(&format!(
                "Epoch {{prefix}} [{{bar:{BAR_WIDTH}}}] {{pos}}/{{len}}{{msg}}"
            )) {
                self.bar.set_style(style.progress_chars("=>."));
            }
            self.bar.finish_with_message(figures(log));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    #[test]
    fn lines_read_like_keras() {
        let mut log = EpochLog::new(3, 10, 0.012_34, 0.1);
        assert_eq!(
            line(&log, 128, 10),
            format!("Epoch 3/10 [{}] 128/128 - loss: 0.0123", "=".repeat(30))
        );
        log.val_loss = Some(0.000_145_67);
        log.metrics.set(Metric::Rmse, 0.5);
        log.metrics.set(Metric::Accuracy, 0.75);
        log.val_metrics.set(Metric::Accuracy, 1.0);
        assert_eq!(
            figures(&log),
            " - loss: 0.0123 - accuracy: 0.7500 - rmse: 0.5000 - val_loss: 1.4567e-4 - val_accuracy: 1.0000"
        );
        assert_eq!(Value(f64::NAN).to_string(), "NaN");
        assert_eq!(Value(0.0).to_string(), "0.0000");
    }
}
