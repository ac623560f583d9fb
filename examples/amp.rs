//! Learns an audio effect with memory, as amplifier-modelling plug-ins do, then streams audio
//! through it one sample at a time.
//!
//! ```sh
//! cargo run --release --example amp                                  # train, test, time it
//! cargo run --release --example amp -- --plot amp.svg                # and draw 20 ms of it
//! cargo run --release --example amp -- --input in.wav --output out.wav   # your own recording
//! ```
//!
//! The effect is a one-pole low-pass at 1.5 kHz into a tanh soft clipper with a drive of 4
//! (`examples/common/audio.rs`): the filter's memory is what a network without state cannot
//! learn. The audio is generated: plucked strings (Karplus-Strong), one to three at a time,
//! from E2 to E5. A `Gru<1, 16>` and a `Dense<16, 1>` learn it from eight recordings of two
//! seconds, by truncated back-propagation through time (windows of 128 samples, each
//! recording's state carried from window to window), with Adam and gradients clipped to norm 1.
//! The test is two seconds of other notes, streamed from silence with `step`: the example
//! prints its error-to-signal ratio (ESR, the figure audio-modelling papers report) and the
//! real-time factor at 48 kHz (the time a second of audio takes, in seconds).

#[path = "common/audio.rs"]
mod audio;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use audio::{Effect, SAMPLE_RATE};
use plotters::prelude::*;
use typenn::prelude::*;
use typenn::{Dataset, SequenceTrainer};

network! {
    /// One sample in, one out; sixteen numbers of memory.
    pub struct Amp(Gru<1, 16>, Dense<16, 1>);
}

/// What the example is asked to do.
struct Arguments {
    plot: Option<PathBuf>,
    input: Option<PathBuf>,
    output: Option<PathBuf>,
}

fn arguments() -> Result<Arguments, Box<dyn Error>> {
    let mut parsed = Arguments {
        plot: None,
        input: None,
        output: None,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let slot = match argument.as_str() {
            "--plot" => &mut parsed.plot,
            "--input" => &mut parsed.input,
            "--output" => &mut parsed.output,
            other => {
                return Err(format!(
                    "expected --plot FILE, --input FILE or --output FILE, but found `{other}`"
                )
                .into());
            }
        };
        match arguments.next() {
            Some(file) if !file.starts_with("--") => *slot = Some(PathBuf::from(file)),
            _ => return Err(format!("expected a file name after `{argument}`").into()),
        }
    }
    if parsed.input.is_some() != parsed.output.is_some() {
        return Err("expected --input and --output together".into());
    }
    Ok(parsed)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    let arguments = arguments()?;
    // The user's recording first, so that a file it cannot read stops the example before the
    // training.
    let recording = match &arguments.input {
        Some(input) => Some(audio::read_wav(input)?),
        None => None,
    };
    let effect = Effect {
        cutoff: 1500.0,
        drive: 4.0,
    };

    // Eight recordings of two seconds to learn from, each with the effect's output.
    let recordings = (0..8)
        .map(|k| {
            let x = audio::guitar(2.0, 100 + k);
            let y = effect.apply(&x);
            Dataset::from_flat(&x, &y)
        })
        .collect::<Result<Vec<Dataset<f32, 1, 1>>, _>>()?;

    let mut amp = Amp::new(&mut StdRng::seed_from_u64(0));
    let mut trainer = SequenceTrainer::new(Mse, Adam::new(0.005))?.clip_norm(1.0)?;
    let started = Instant::now();
    let epochs = 15;
    let history = trainer.fit_truncated(&mut amp, &recordings, 128, epochs)?;
    let trained = started.elapsed();
    for (epoch, loss) in history.loss.iter().enumerate() {
        println!("epoch {:>2}: training loss {loss:.6}", epoch + 1);
    }
    println!(
        "trained on {} s of audio x {epochs} epochs in {:.1} s",
        2 * recordings.len(),
        trained.as_secs_f64()
    );

    // Two seconds of other notes, streamed from silence.
    let test = audio::guitar(2.0, 7);
    let target = effect.apply(&test);
    let started = Instant::now();
    let output = stream(&amp, &test);
    let elapsed = started.elapsed().as_secs_f64();
    let seconds = test.len() as f64 / f64::from(SAMPLE_RATE);
    println!(
        "test ESR: {:.2e} (the effect's input as the guess: {:.3})",
        audio::esr(&target, &output),
        audio::esr(&target, &test)
    );
    println!(
        "real-time factor at 48 kHz: {:.5} ({:.1} ns a sample, {:.0}x faster than real time)",
        elapsed / seconds,
        elapsed * 1e9 / test.len() as f64,
        seconds / elapsed
    );

    if let Some(path) = &arguments.plot {
        plot(path, &test, &target, &output)?;
        println!("plot: {}", path.display());
    }
    if let (Some(recording), Some(input), Some(output)) =
        (recording, &arguments.input, &arguments.output)
    {
        if recording.rate != SAMPLE_RATE {
            println!(
                "note: {} is at {} Hz; the model learnt the effect at {SAMPLE_RATE} Hz, so its \
                 filter sounds at another cutoff",
                input.display(),
                recording.rate
            );
        }
        let processed = stream(&amp, &recording.samples);
        audio::write_wav(output, &processed, recording.rate)?;
        println!(
            "{} -> {}: {} samples",
            input.display(),
            output.display(),
            processed.len()
        );
    }
    Ok(())
}

/// `input` through `amp` one sample at a time, from silence, as an audio callback would.
fn stream(amp: &Amp, input: &[f32]) -> Vec<f32> {
    let mut state = AmpState::zeros();
    input
        .iter()
        .map(|&x| amp.step(&mut state, &SVector::from([x]))[0])
        .collect()
}

/// Draws 20 ms of the test (input, target and the network's output) into an SVG file.
fn plot(path: &Path, input: &[f32], target: &[f32], output: &[f32]) -> Result<(), Box<dyn Error>> {
    let start = SAMPLE_RATE as usize / 2;
    let window = start..start + SAMPLE_RATE as usize / 50;
    let milliseconds = |i: usize| (i - start) as f64 * 1000.0 / f64::from(SAMPLE_RATE);
    let series = |values: &[f32]| -> Vec<(f64, f64)> {
        window
            .clone()
            .map(|i| (milliseconds(i), f64::from(values[i])))
            .collect()
    };
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "low-pass + tanh clipper: target and GRU",
            ("sans-serif", 24),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..20.0, -1.1..1.1)?;
    chart
        .configure_mesh()
        .x_desc("ms")
        .y_desc("amplitude")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (values, colour, label) in [
        (input, BLACK.mix(0.3), "input"),
        (target, BLUE.mix(1.0), "target"),
        (output, RED.mix(1.0), "GRU"),
    ] {
        chart
            .draw_series(LineSeries::new(series(values), colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
