//! Shared by the examples: `--plot FILE` on the command line, and the training and validation
//! loss of a [`History`] drawn as an SVG line chart with `plotters`.
//!
//! Kept out of `common/mod.rs` (which `tests/data.rs` also includes) so that only the examples
//! compile the plotting code; an example includes it with `#[path = "common/plot.rs"] mod plot;`.

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use typenn::History;

/// The file named by `--plot FILE` among the program's arguments, if any.
pub fn plot_argument() -> Result<Option<PathBuf>, Box<dyn Error>> {
    parse_plot_argument(std::env::args().skip(1))
}

/// The file named by `--plot FILE` in `arguments` (the program's name left out).
pub fn parse_plot_argument(
    mut arguments: impl Iterator<Item = String>,
) -> Result<Option<PathBuf>, Box<dyn Error>> {
    let mut path = None;
    while let Some(argument) = arguments.next() {
        if argument == "--plot" {
            match arguments.next() {
                Some(file) if !file.starts_with("--") => path = Some(PathBuf::from(file)),
                _ => return Err("expected a file name after `--plot`, but found none".into()),
            }
        }
    }
    Ok(path)
}

/// Draws the training loss and, when there is one, the validation loss of every epoch of
/// `history` into an SVG file at `path`, with the best epoch marked when early stopping chose
/// one. The loss axis is logarithmic when the losses span more than a factor of 10 (the first
/// epochs' losses would flatten the rest on a linear one), linear from 0 otherwise.
pub fn loss_curves(path: &Path, title: &str, history: &History) -> Result<(), Box<dyn Error>> {
    let epochs = history.epochs();
    if epochs == 0 {
        return Err("expected at least one epoch to plot, but the history is empty".into());
    }
    let points = |losses: &[f64]| -> Vec<(f64, f64)> {
        losses
            .iter()
            .enumerate()
            .map(|(index, &loss)| ((index + 1) as f64, loss))
            .collect()
    };
    let curves = Curves {
        title,
        train: points(&history.loss),
        validation: history.val_loss.as_deref().map(points),
        best_epoch: history.best_epoch,
        // One epoch still gets an x axis of some width.
        last_epoch: (epochs as f64).max(2.0),
    };
    let (lowest, highest) = curves
        .train
        .iter()
        .chain(curves.validation.iter().flatten())
        .map(|&(_, loss)| loss)
        .filter(|&loss| loss.is_finite() && loss > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(low, high), loss| {
            (low.min(loss), high.max(loss))
        });

    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    if highest > 10.0 * lowest {
        let (bottom, top) = (lowest * 0.8, highest * 1.25);
        curves.draw(
            &root,
            (bottom..top).log_scale(),
            (bottom, top),
            "loss (log scale)",
        )?;
    } else {
        let top = if highest > 0.0 { highest * 1.05 } else { 1.0 };
        curves.draw(&root, 0.0..top, (0.0, top), "loss")?;
    }
    root.present()?;
    Ok(())
}

/// What `loss_curves` draws: points are (epoch, loss), epochs counting from 1.
struct Curves<'a> {
    title: &'a str,
    train: Vec<(f64, f64)>,
    validation: Option<Vec<(f64, f64)>>,
    best_epoch: Option<usize>,
    last_epoch: f64,
}

impl Curves<'_> {
    /// Draws the curves on `root` with the loss axis `y`, which spans `(bottom, top)`.
    fn draw<Y>(
        self,
        root: &DrawingArea<SVGBackend<'_>, Shift>,
        y: Y,
        (bottom, top): (f64, f64),
        y_description: &str,
    ) -> Result<(), Box<dyn Error>>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1.0..self.last_epoch, y)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|epoch| format!("{epoch:.0}"))
            .y_desc(y_description)
            .y_labels(12)
            .y_label_formatter(&|&loss| short(loss))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;

        chart
            .draw_series(LineSeries::new(self.train, BLUE.stroke_width(2)))?
            .label("training loss")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        if let Some(validation) = self.validation {
            chart
                .draw_series(LineSeries::new(validation, RED.stroke_width(2)))?
                .label("validation loss")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        if let Some(best) = self.best_epoch {
            let grey = BLACK.mix(0.5);
            chart
                .draw_series(DashedLineSeries::new(
                    [(best as f64, bottom), (best as f64, top)],
                    6,
                    4,
                    grey.into(),
                ))?
                .label(format!("best epoch ({best})"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], grey));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()?;
        Ok(())
    }
}

/// `value` with three significant digits at most and no trailing zeros: 0.6, not 0.6000000001.
fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return value.to_string();
    }
    let decimals = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}
