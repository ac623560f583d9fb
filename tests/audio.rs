//! The audio helpers of `examples/amp.rs`: the effect, the error-to-signal ratio and WAV files.

#[path = "../examples/common/audio.rs"]
#[allow(dead_code)]
mod audio;

use audio::{Effect, WavError};
use std::path::PathBuf;

fn temporary(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("typenn-audio-{}-{name}", std::process::id()))
}

#[test]
fn the_effect_is_a_one_pole_low_pass_into_tanh() {
    let effect = Effect {
        cutoff: 1500.0,
        drive: 4.0,
    };
    // 1 - exp(-2 pi 1500 / 48000), worked out in f64.
    let a = 0.178_275_04_f32;
    assert!((effect.coefficient() - a).abs() < 1e-6);
    // A step of 1: the filter reaches a, then a + a (1 - a); the clipper takes tanh(4 .).
    let out = effect.apply(&[1.0, 1.0, 0.0]);
    let (first, second) = (a, a + a * (1.0 - a));
    let third = second - a * second;
    assert!((out[0] - (4.0 * first).tanh()).abs() < 1e-6);
    assert!((out[1] - (4.0 * second).tanh()).abs() < 1e-6);
    assert!((out[2] - (4.0 * third).tanh()).abs() < 1e-6);
}

#[test]
fn the_error_to_signal_ratio_is_the_error_energy_over_the_target_energy() {
    // Errors 1 and -1 against a target of energy 1 + 4 + 4 = 9.
    let esr = audio::esr(&[1.0, 2.0, -2.0], &[0.0, 2.0, -1.0]);
    assert!((esr - 2.0 / 9.0).abs() < 1e-12);
    assert_eq!(audio::esr(&[0.5, -0.5], &[0.5, -0.5]), 0.0);
}

#[test]
fn generated_guitar_peaks_at_0_9_and_is_seeded() {
    let a = audio::guitar(0.5, 3);
    assert_eq!(a.len(), 24_000);
    let peak = a.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
    assert!((peak - 0.9).abs() < 1e-6);
    assert_eq!(a, audio::guitar(0.5, 3));
    assert_ne!(a, audio::guitar(0.5, 4));
}

#[test]
fn a_written_file_reads_back_and_channels_are_averaged() {
    let path = temporary("roundtrip.wav");
    audio::write_wav(&path, &[0.5, -0.25, 1.0], 44_100).unwrap();
    let mono = audio::read_wav(&path).unwrap();
    assert_eq!(mono.samples, [0.5, -0.25, 1.0]);
    assert_eq!(mono.rate, 44_100);

    // 16-bit stereo: (16384 + -16384) / 2 and (32767 / 32768 + 0) / 2.
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for sample in [16384_i16, -16384, 32767, 0] {
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
    let mono = audio::read_wav(&path).unwrap();
    assert_eq!(mono.samples, [0.0, 32767.0 / 32768.0 / 2.0]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn broken_empty_and_non_finite_files_are_typed_errors() {
    let path = temporary("broken.wav");
    std::fs::write(&path, b"RIFF\x10\x00\x00\x00WAVEfmt not really").unwrap();
    let error = audio::read_wav(&path).unwrap_err();
    assert!(matches!(error, WavError::Wav { .. }), "{error:?}");
    assert!(error.to_string().contains("not a WAV file we can read"));

    audio::write_wav(&path, &[], 48_000).unwrap();
    let error = audio::read_wav(&path).unwrap_err();
    assert!(matches!(error, WavError::Empty { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .ends_with("expected audio samples, but found none")
    );

    audio::write_wav(&path, &[0.1, f32::NAN], 48_000).unwrap();
    let error = audio::read_wav(&path).unwrap_err();
    assert!(
        matches!(error, WavError::NonFinite { index: 1, .. }),
        "{error:?}"
    );

    let missing = temporary("missing.wav");
    assert!(matches!(
        audio::read_wav(&missing),
        Err(WavError::Wav { .. })
    ));
    std::fs::remove_file(&path).unwrap();
}
