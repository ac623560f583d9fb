//! The audio of `examples/amp.rs`: plucked-string notes to learn from, the effect to learn (a
//! one-pole low-pass into a tanh soft clipper), the error-to-signal ratio, and mono WAV files in
//! and out through `hound`, with typed errors. `tests/audio.rs` includes this file too.

use std::fmt;
use std::path::Path;

/// The sample rate everything here is made at, and the one the example's model learns at.
pub const SAMPLE_RATE: u32 = 48_000;

/// The effect: a one-pole low-pass at `cutoff` Hz, then `tanh(drive * x)`. It has memory (the
/// filter's last output), so a network without state cannot learn it.
#[derive(Clone, Copy, Debug)]
pub struct Effect {
    /// The filter's cutoff in Hz.
    pub cutoff: f32,
    /// The gain before the clipper.
    pub drive: f32,
}

impl Effect {
    /// The filter's coefficient `a` in `y[n] = y[n-1] + a (x[n] - y[n-1])`: `1 - exp(-2 pi
    /// cutoff / rate)`, the impulse-invariant one-pole.
    pub fn coefficient(&self) -> f32 {
        1.0 - (-2.0 * std::f32::consts::PI * self.cutoff / SAMPLE_RATE as f32).exp()
    }

    /// The effect applied to `input`, from silence.
    pub fn apply(&self, input: &[f32]) -> Vec<f32> {
        let a = self.coefficient();
        let mut low = 0.0_f32;
        input
            .iter()
            .map(|&x| {
                low += a * (x - low);
                (self.drive * low).tanh()
            })
            .collect()
    }
}

/// SplitMix64: the examples' small seeded source of noise and notes.
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next number in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `seconds` of guitar-like audio: plucked strings (Karplus-Strong: a burst of noise circling a
/// delay line one period long, averaged and damped at each pass), one to three at a time,
/// between E2 and E5, at random loudness, peaking at 0.9.
pub fn guitar(seconds: f32, seed: u64) -> Vec<f32> {
    let length = (seconds * SAMPLE_RATE as f32) as usize;
    let mut random = SplitMix(seed);
    let mut out = vec![0.0_f32; length];
    let mut start = 0;
    while start < length {
        let notes = 1 + (random.uniform() * 3.0) as usize;
        let duration = (SAMPLE_RATE as f32 * (0.2 + 0.5 * random.uniform())) as usize;
        for _ in 0..notes {
            // E2 (82.4 Hz) and three octaves up, on the semitone grid.
            let semitone = (random.uniform() * 36.0).floor();
            let frequency = 82.41 * 2f32.powf(semitone / 12.0);
            let loudness = 0.2 + 0.8 * random.uniform();
            pluck(
                &mut out[start..],
                frequency,
                loudness,
                duration * 2,
                &mut random,
            );
        }
        start += duration;
    }
    let peak = out.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        out.iter_mut().for_each(|v| *v *= 0.9 / peak);
    }
    out
}

/// Adds one plucked string of `frequency` to `out`, ringing for at most `samples`.
fn pluck(out: &mut [f32], frequency: f32, loudness: f32, samples: usize, random: &mut SplitMix) {
    let period = ((SAMPLE_RATE as f32 / frequency).round() as usize).max(2);
    let mut line: Vec<f32> = (0..period)
        .map(|_| loudness * (2.0 * random.uniform() - 1.0))
        .collect();
    for (i, sample) in out.iter_mut().take(samples).enumerate() {
        let k = i % period;
        let next = line[(k + 1) % period];
        *sample += line[k];
        line[k] = 0.996 * 0.5 * (line[k] + next);
    }
}

/// The error-to-signal ratio `sum (target - output)^2 / sum target^2`, the figure audio-modelling
/// papers report: 0 is exact; 1 is as far off as silence.
pub fn esr(target: &[f32], output: &[f32]) -> f64 {
    let error: f64 = target
        .iter()
        .zip(output)
        .map(|(&t, &o)| f64::from(t - o).powi(2))
        .sum();
    let energy: f64 = target.iter().map(|&t| f64::from(t).powi(2)).sum();
    error / energy
}

/// What can go wrong with a WAV file.
#[derive(Debug)]
pub enum WavError {
    /// The file cannot be opened, read or written as WAV (hound's reason).
    Wav {
        /// The file.
        path: String,
        /// What hound found.
        source: hound::Error,
    },
    /// The file is WAV, in a form the example does not read.
    Unsupported {
        /// The file.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// What the file holds.
        found: String,
    },
    /// The file holds no samples.
    Empty {
        /// The file.
        path: String,
    },
    /// A float sample is NaN or infinite.
    NonFinite {
        /// The file.
        path: String,
        /// The sample's index, counting every channel.
        index: usize,
    },
}

impl fmt::Display for WavError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Wav { path, source } => write!(f, "{path}: not a WAV file we can read: {source}"),
            Self::Unsupported {
                path,
                expected,
                found,
            } => write!(f, "{path}: expected {expected}, but found {found}"),
            Self::Empty { path } => write!(f, "{path}: expected audio samples, but found none"),
            Self::NonFinite { path, index } => {
                write!(f, "{path}: sample {index} is not a finite number")
            }
        }
    }
}

impl std::error::Error for WavError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Wav { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A WAV file read as mono samples in [-1, 1] (channels averaged), with its sample rate.
#[derive(Clone, Debug, PartialEq)]
pub struct Mono {
    /// The samples.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub rate: u32,
}

/// Reads `path`: 8, 16, 24 or 32-bit integer PCM or 32-bit float, any number of channels.
pub fn read_wav(path: &Path) -> Result<Mono, WavError> {
    let name = path.display().to_string();
    let wav = |source| WavError::Wav {
        path: name.clone(),
        source,
    };
    let mut reader = hound::WavReader::open(path).map_err(wav)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(WavError::Unsupported {
            path: name,
            expected: "at least one channel",
            found: "0 channels".into(),
        });
    }
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(wav)?,
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(wav)?
        }
        (format, bits) => {
            return Err(WavError::Unsupported {
                path: name,
                expected: "8, 16, 24 or 32-bit integer samples, or 32-bit float ones",
                found: format!("{bits}-bit {format:?} samples"),
            });
        }
    };
    if let Some(index) = interleaved.iter().position(|s| !s.is_finite()) {
        return Err(WavError::NonFinite { path: name, index });
    }
    let samples: Vec<f32> = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f32>() / channels as f32)
        .collect();
    if samples.is_empty() {
        return Err(WavError::Empty { path: name });
    }
    Ok(Mono {
        samples,
        rate: spec.sample_rate,
    })
}

/// Writes `samples` to `path` as mono 32-bit float WAV at `rate`.
pub fn write_wav(path: &Path, samples: &[f32], rate: u32) -> Result<(), WavError> {
    let wav = |source| WavError::Wav {
        path: path.display().to_string(),
        source,
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(wav)?;
    for &sample in samples {
        writer.write_sample(sample).map_err(wav)?;
    }
    writer.finalize().map_err(wav)
}
