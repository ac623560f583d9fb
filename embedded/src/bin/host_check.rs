//! Checks a firmware run on the build machine: computes every output the firmware computed, for
//! the same samples with the same network, compares them with what it printed, and reads the
//! firmware's flash and static RAM from its ELF file.
//!
//! ```sh
//! host-check FIRMWARE_ELF QEMU_OUTPUT
//! ```
//!
//! Prints one line and exits with 0 when every output matches, otherwise names each mismatch
//! on standard error and exits with 1.

use std::error::Error;
use std::fmt::{self, Display};
use std::process::ExitCode;
use std::{env, fs};

use typenn_embedded::{DONE, Networks, OUTPUTS, Precision, SAMPLES, networks, run};

fn main() -> ExitCode {
    match check() {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("host-check: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What the one printed line says.
struct Summary {
    outputs: usize,
    /// The largest tolerance of any precision.
    tolerance: f32,
    /// The tags of the precisions that must match to the bit (tolerance 0).
    exact: Vec<&'static str>,
    sizes: Sizes,
}

impl Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cortex-m: {} outputs match the host within {:e}",
            self.outputs, self.tolerance
        )?;
        if !self.exact.is_empty() {
            write!(f, " ({} to the bit)", self.exact.join(", "))?;
        }
        write!(
            f,
            "; flash {} bytes, static RAM {} bytes",
            self.sizes.flash, self.sizes.static_ram
        )
    }
}

fn check() -> Result<Summary, Box<dyn Error>> {
    let mut arguments = env::args().skip(1);
    let (Some(elf_path), Some(output_path), None) =
        (arguments.next(), arguments.next(), arguments.next())
    else {
        return Err("usage: host-check FIRMWARE_ELF QEMU_OUTPUT".into());
    };
    let elf = fs::read(&elf_path).map_err(|error| format!("reading {elf_path}: {error}"))?;
    let printed = fs::read_to_string(&output_path)
        .map_err(|error| format!("reading {output_path}: {error}"))?;

    let results = parse_results(&printed)?;
    let expected = host_results(&networks()?);
    let mismatches = compare(&expected, &results);
    if !mismatches.is_empty() {
        let list: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
        return Err(format!(
            "{} of {} outputs differ from the host:\n{}",
            mismatches.len(),
            expected.len() * OUTPUTS,
            list.join("\n")
        )
        .into());
    }
    Ok(Summary {
        outputs: expected.len() * OUTPUTS,
        tolerance: Precision::ALL
            .iter()
            .map(|precision| precision.tolerance())
            .fold(0.0, f32::max),
        exact: Precision::ALL
            .iter()
            .filter(|precision| precision.tolerance() == 0.0)
            .map(|precision| precision.tag())
            .collect(),
        sizes: Sizes::of_elf32(&elf)?,
    })
}

/// One sample's outputs in one precision.
#[derive(Clone, Debug, PartialEq)]
struct SampleResult {
    precision: Precision,
    sample: usize,
    outputs: [f32; OUTPUTS],
}

/// What the firmware computes, computed here: the same quantization of the same network, and
/// every sample through both networks.
fn host_results(networks: &Networks) -> Vec<SampleResult> {
    Precision::ALL
        .iter()
        .flat_map(|&precision| {
            SAMPLES
                .iter()
                .enumerate()
                .map(move |(sample, input)| (precision, sample, input))
        })
        .map(|(precision, sample, input)| SampleResult {
            precision,
            sample,
            outputs: run(networks, precision, input),
        })
        .collect()
}

/// The result lines of a firmware run, in the format of `typenn_embedded::write_line`. Lines
/// that start with no precision's tag (QEMU's own messages) are skipped; the closing line must be
/// there and count the result lines, so that a run cut short is an error.
fn parse_results(printed: &str) -> Result<Vec<SampleResult>, String> {
    let mut results = Vec::new();
    for line in printed.lines() {
        if let Some(count) = line
            .strip_prefix(DONE)
            .and_then(|rest| rest.strip_prefix(' '))
        {
            let count: usize = count
                .trim()
                .parse()
                .map_err(|_| format!("closing line {line:?} does not end in a count"))?;
            if count != results.len() {
                return Err(format!(
                    "the firmware says it printed {count} result lines, {} arrived",
                    results.len()
                ));
            }
            return Ok(results);
        }
        if let Some(result) = parse_line(line)? {
            results.push(result);
        }
    }
    Err(format!(
        "the firmware's output has no closing \"{DONE} N\" line: it stopped early or panicked\n{printed}"
    ))
}

/// One result line, or `None` for a line that is not one.
fn parse_line(line: &str) -> Result<Option<SampleResult>, String> {
    let Some((precision, rest)) = Precision::ALL.iter().find_map(|&precision| {
        let rest = line.strip_prefix(precision.tag())?.strip_prefix(' ')?;
        Some((precision, rest))
    }) else {
        return Ok(None);
    };
    let malformed = || format!("malformed result line {line:?}");
    let (sample, bits) = rest.split_once(':').ok_or_else(malformed)?;
    let sample = sample.parse().map_err(|_| malformed())?;
    let mut outputs = [0.0; OUTPUTS];
    let mut words = bits.split_whitespace();
    for output in &mut outputs {
        let word = words.next().ok_or_else(malformed)?;
        *output = f32::from_bits(u32::from_str_radix(word, 16).map_err(|_| malformed())?);
    }
    if words.next().is_some() {
        return Err(malformed());
    }
    Ok(Some(SampleResult {
        precision,
        sample,
        outputs,
    }))
}

/// Where the firmware and the host disagree.
#[derive(Debug, PartialEq)]
enum Mismatch {
    /// The firmware printed no line for this sample.
    Missing { precision: Precision, sample: usize },
    /// The firmware printed a line the host did not expect, or one twice.
    Unexpected { precision: Precision, sample: usize },
    /// One output differs by more than the precision's tolerance (or is NaN on one side), or
    /// in its bits where the tolerance is 0.
    Differs {
        precision: Precision,
        sample: usize,
        output: usize,
        host: f32,
        target: f32,
    },
}

impl Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Missing { precision, sample } => {
                write!(
                    f,
                    "  {} sample {sample}: no line from the firmware",
                    precision.tag()
                )
            }
            Self::Unexpected { precision, sample } => {
                write!(
                    f,
                    "  {} sample {sample}: a line the host did not expect",
                    precision.tag()
                )
            }
            Self::Differs {
                precision,
                sample,
                output,
                host,
                target,
            } => write!(
                f,
                "  {} sample {sample} output {output}: host {host:e}, cortex-m {target:e} \
                 (difference {:e}, tolerance {:e})",
                precision.tag(),
                (host - target).abs(),
                precision.tolerance()
            ),
        }
    }
}

/// Every mismatch between the host's results and the firmware's, each result matched by
/// precision and sample.
fn compare(expected: &[SampleResult], printed: &[SampleResult]) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    let mut unmatched: Vec<&SampleResult> = printed.iter().collect();
    for host in expected {
        let (precision, sample) = (host.precision, host.sample);
        let Some(position) = unmatched
            .iter()
            .position(|target| target.precision == precision && target.sample == sample)
        else {
            mismatches.push(Mismatch::Missing { precision, sample });
            continue;
        };
        let target = unmatched.swap_remove(position);
        for (output, (&host, &target)) in host.outputs.iter().zip(&target.outputs).enumerate() {
            if !agrees(precision, host, target) {
                mismatches.push(Mismatch::Differs {
                    precision,
                    sample,
                    output,
                    host,
                    target,
                });
            }
        }
    }
    mismatches.extend(unmatched.iter().map(|target| Mismatch::Unexpected {
        precision: target.precision,
        sample: target.sample,
    }));
    mismatches
}

/// Whether the firmware's `target` matches the host's `host` in `precision`.
fn agrees(precision: Precision, host: f32, target: f32) -> bool {
    let tolerance = precision.tolerance();
    if tolerance == 0.0 {
        host.to_bits() == target.to_bits()
    } else {
        // False when either side is NaN, so that a NaN is a mismatch.
        (host - target).abs() <= tolerance
    }
}

/// A firmware image's footprint, summed over its sections as `size` does.
#[derive(Debug, PartialEq)]
struct Sizes {
    /// Code, constants and the initial values of `.data`: what is written to flash.
    flash: u64,
    /// `.data`, `.bss` and `.uninit`: RAM taken before the program runs. The stack is not
    /// counted; it takes what is left.
    static_ram: u64,
}

impl Sizes {
    const SHT_NOBITS: u32 = 8;
    const SHF_WRITE: u32 = 0x1;
    const SHF_ALLOC: u32 = 0x2;

    /// Reads the section headers of a little-endian 32-bit ELF file (what the Arm targets
    /// produce). Sections that are not loaded (debug information, symbols) count for nothing.
    fn of_elf32(elf: &[u8]) -> Result<Self, String> {
        if elf.get(..6) != Some(b"\x7fELF\x01\x01".as_slice()) {
            return Err("the firmware is not a little-endian 32-bit ELF file".into());
        }
        let truncated = || "the firmware's ELF file is cut short".to_string();
        let u16_at = |at: usize| -> Result<u16, String> {
            let bytes = elf.get(at..at + 2).ok_or_else(truncated)?;
            Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
        };
        let u32_at = |at: usize| -> Result<u32, String> {
            let bytes = elf.get(at..at + 4).ok_or_else(truncated)?;
            Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        };
        let table = u32_at(0x20)? as usize;
        let entry_size = usize::from(u16_at(0x2e)?);
        let entries = usize::from(u16_at(0x30)?);

        let mut sizes = Self {
            flash: 0,
            static_ram: 0,
        };
        for index in 0..entries {
            let header = table + index * entry_size;
            let kind = u32_at(header + 4)?;
            let flags = u32_at(header + 8)?;
            let size = u64::from(u32_at(header + 20)?);
            if flags & Self::SHF_ALLOC == 0 {
                continue;
            }
            let occupies_file = kind != Self::SHT_NOBITS;
            let writable = flags & Self::SHF_WRITE != 0;
            if occupies_file {
                sizes.flash += size;
            }
            if writable {
                sizes.static_ram += size;
            }
        }
        Ok(sizes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(sample: usize, outputs: [f32; OUTPUTS]) -> SampleResult {
        SampleResult {
            precision: Precision::F32,
            sample,
            outputs,
        }
    }

    #[test]
    fn a_written_line_parses_back_to_the_same_bits() {
        let outputs = [-0.104_9, 1.0e-30, f32::MIN_POSITIVE];
        let mut line = String::new();
        typenn_embedded::write_line(&mut line, Precision::F32, 7, &outputs).unwrap();
        assert_eq!(line, "f32 7: bdd6d5d0 0da24260 00800000\n");
        assert_eq!(parse_line(line.trim_end()), Ok(Some(result(7, outputs))));
    }

    #[test]
    fn output_without_the_closing_line_or_with_a_wrong_count_is_refused() {
        let lines = "f32 0: 3f800000 00000000 bf800000\n";
        assert!(parse_results(lines).is_err());
        assert!(parse_results(&format!("{lines}done 2\n")).is_err());
        let parsed = parse_results(&format!("qemu: a warning\n{lines}done 1\n"));
        assert_eq!(parsed, Ok(vec![result(0, [1.0, 0.0, -1.0])]));
    }

    #[test]
    fn a_line_with_too_few_or_too_many_outputs_is_refused() {
        assert!(parse_line("f32 0: 3f800000 00000000").is_err());
        assert!(parse_line("f32 0: 3f800000 00000000 bf800000 00000000").is_err());
        assert!(parse_line("f32 x: 3f800000 00000000 bf800000").is_err());
        assert_eq!(parse_line("fine: not a result"), Ok(None));
    }

    #[test]
    fn outputs_match_within_the_tolerance_and_not_beyond() {
        let host = [result(0, [0.5, -0.25, 0.0])];
        let close = [result(0, [0.5 + 0.9e-5, -0.25, 0.0])];
        assert_eq!(compare(&host, &close), vec![]);

        let far = [result(0, [0.5, -0.25 - 1.1e-5, f32::NAN])];
        let mismatches = compare(&host, &far);
        assert_eq!(mismatches.len(), 2);
        assert!(matches!(mismatches[0], Mismatch::Differs { output: 1, .. }));
        assert!(matches!(mismatches[1], Mismatch::Differs { output: 2, .. }));
    }

    #[test]
    fn int8_outputs_match_only_to_the_bit() {
        let int8 = |outputs| SampleResult {
            precision: Precision::Int8,
            sample: 0,
            outputs,
        };
        let host = [int8([0.5, -0.25, 0.0])];
        assert_eq!(compare(&host, &[int8([0.5, -0.25, 0.0])]), vec![]);
        let next_up = f32::from_bits(0.5_f32.to_bits() + 1);
        let mismatches = compare(&host, &[int8([next_up, -0.25, -0.0])]);
        assert_eq!(mismatches.len(), 2);
        assert!(matches!(mismatches[0], Mismatch::Differs { output: 0, .. }));
        assert!(matches!(mismatches[1], Mismatch::Differs { output: 2, .. }));
    }

    #[test]
    fn missing_repeated_and_unknown_samples_are_mismatches() {
        let host = [result(0, [0.0; 3]), result(1, [0.0; 3])];
        let printed = [
            result(0, [0.0; 3]),
            result(0, [0.0; 3]),
            result(5, [0.0; 3]),
        ];
        assert_eq!(
            compare(&host, &printed),
            vec![
                Mismatch::Missing {
                    precision: Precision::F32,
                    sample: 1
                },
                Mismatch::Unexpected {
                    precision: Precision::F32,
                    sample: 5
                },
                Mismatch::Unexpected {
                    precision: Precision::F32,
                    sample: 0
                },
            ]
        );
    }

    /// The weights as `model/write_model.py` writes them into the file the firmware's network
    /// is compiled from: row `i` holds unit `i`'s input weights.
    const HIDDEN_WEIGHTS: [[f32; 4]; 8] = [
        [-0.05, 0.31, 0.33, -0.71],
        [-0.98, -0.25, -0.45, 0.62],
        [0.38, 0.20, 0.12, 0.32],
        [-0.71, -0.12, -0.68, 0.81],
        [-0.88, 0.64, -0.85, 0.37],
        [-0.33, -0.19, 0.68, -0.96],
        [-0.88, 0.83, 0.02, -0.82],
        [0.97, 0.89, -0.77, -0.15],
    ];
    const HIDDEN_BIAS: [f32; 8] = [-0.73, -0.37, 0.24, -0.67, 0.39, -0.90, -0.66, 0.63];
    const OUTPUT_WEIGHTS: [[f32; 8]; 3] = [
        [-0.20, -0.16, 0.19, -0.05, -0.23, -0.94, 0.45, 0.93],
        [0.95, 0.33, -0.29, -0.27, 0.38, 0.35, -0.77, -0.53],
        [-0.27, 0.02, 0.62, 0.00, -0.94, 0.65, -0.14, 0.04],
    ];
    const OUTPUT_BIAS: [f32; 3] = [-0.56, -0.15, -0.22];

    /// The network written out by hand in f64: `tanh(W2 relu(W1 x + b1) + b2)`.
    fn reference(sample: &[f32; 4]) -> [f64; OUTPUTS] {
        let hidden: Vec<f64> = HIDDEN_WEIGHTS
            .iter()
            .zip(HIDDEN_BIAS)
            .map(|(row, bias)| {
                let z: f64 = row
                    .iter()
                    .zip(sample)
                    .map(|(&w, &x)| f64::from(w) * f64::from(x))
                    .sum();
                (z + f64::from(bias)).max(0.0)
            })
            .collect();
        let mut outputs = [0.0; OUTPUTS];
        for ((output, row), bias) in outputs.iter_mut().zip(OUTPUT_WEIGHTS).zip(OUTPUT_BIAS) {
            let z: f64 = row
                .iter()
                .zip(&hidden)
                .map(|(&w, &h)| f64::from(w) * h)
                .sum();
            *output = (z + f64::from(bias)).tanh();
        }
        outputs
    }

    #[test]
    fn the_compiled_in_network_holds_the_weights_of_the_script() {
        let model = typenn_embedded::networks().unwrap().f32;
        for (row, weights) in HIDDEN_WEIGHTS.iter().enumerate() {
            for (column, &weight) in weights.iter().enumerate() {
                assert_eq!(
                    model.0.weights[(row, column)],
                    weight,
                    "W1[{row}][{column}]"
                );
            }
        }
        assert_eq!(model.0.bias.as_slice(), HIDDEN_BIAS);
        for (row, weights) in OUTPUT_WEIGHTS.iter().enumerate() {
            for (column, &weight) in weights.iter().enumerate() {
                assert_eq!(
                    model.1.weights[(row, column)],
                    weight,
                    "W2[{row}][{column}]"
                );
            }
        }
        assert_eq!(model.1.bias.as_slice(), OUTPUT_BIAS);
    }

    fn host_results_in(precision: Precision) -> Vec<SampleResult> {
        let results = host_results(&networks().unwrap());
        assert_eq!(results.len(), Precision::ALL.len() * SAMPLES.len());
        results
            .into_iter()
            .filter(|result| result.precision == precision)
            .collect()
    }

    #[test]
    fn the_host_runs_the_network_the_weights_describe() {
        let results = host_results_in(Precision::F32);
        assert_eq!(results.len(), SAMPLES.len());
        for (result, sample) in results.iter().zip(&SAMPLES) {
            for (&got, want) in result.outputs.iter().zip(reference(sample)) {
                assert!((f64::from(got) - want).abs() < 1e-6, "{got} against {want}");
            }
        }
        // The first sample by hand: only hidden units 2 and 7 pass the ReLU (0.0944, 0.4697), so
        // output 0 is tanh(0.19 * 0.0944 + 0.93 * 0.4697 - 0.56) = tanh(-0.1052) = -0.1049.
        let first = results[0].outputs;
        assert!((first[0] - -0.1049).abs() < 5e-5, "{first:?}");
        assert!((first[1] - -0.4022).abs() < 5e-5, "{first:?}");
        assert!((first[2] - -0.1417).abs() < 5e-5, "{first:?}");
    }

    #[test]
    fn the_int8_network_follows_the_f32_one_on_its_output_grid() {
        let networks = networks().unwrap();
        let scale = networks.int8.output_scale();
        let exact = host_results_in(Precision::F32);
        let int8 = host_results_in(Precision::Int8);
        let mut largest = 0.0_f32;
        for (exact, int8) in exact.iter().zip(&int8) {
            for (&a, &b) in exact.outputs.iter().zip(&int8.outputs) {
                // Each int8 output is a whole number of output steps, at most 127 of them.
                let steps = b / scale;
                assert!(
                    steps.round() == steps && steps.abs() <= 127.0,
                    "{b} on {scale}"
                );
                largest = largest.max((a - b).abs());
            }
        }
        // Half an output step, plus the hidden layer's and the inputs' rounding carried
        // through: a few output steps (each about 1/127 of the outputs' calibrated range).
        assert!(largest < 4.0 * scale, "{largest} against steps of {scale}");
        assert!(
            largest > 0.0,
            "int8 outputs identical to the f32 ones: not quantized?"
        );
    }

    /// An ELF header followed by section headers `(type, flags, size)`, at offset 52.
    fn elf32(sections: &[(u32, u32, u32)]) -> Vec<u8> {
        let mut elf = vec![0_u8; 52];
        elf[..6].copy_from_slice(b"\x7fELF\x01\x01");
        elf[0x20..0x24].copy_from_slice(&52_u32.to_le_bytes());
        elf[0x2e..0x30].copy_from_slice(&40_u16.to_le_bytes());
        let count = u16::try_from(sections.len()).unwrap();
        elf[0x30..0x32].copy_from_slice(&count.to_le_bytes());
        for &(kind, flags, size) in sections {
            let mut header = [0_u8; 40];
            header[4..8].copy_from_slice(&kind.to_le_bytes());
            header[8..12].copy_from_slice(&flags.to_le_bytes());
            header[20..24].copy_from_slice(&size.to_le_bytes());
            elf.extend_from_slice(&header);
        }
        elf
    }

    #[test]
    fn sizes_sum_loaded_sections_as_size_does() {
        const PROGBITS: u32 = 1;
        const NOBITS: u32 = 8;
        const ALLOC: u32 = 0x2;
        const WRITE_ALLOC: u32 = 0x3;
        const EXEC_ALLOC: u32 = 0x6;
        let elf = elf32(&[
            (0, 0, 0),                   // the null section
            (PROGBITS, EXEC_ALLOC, 100), // .text
            (PROGBITS, ALLOC, 20),       // .rodata
            (PROGBITS, WRITE_ALLOC, 8),  // .data: in flash and in RAM
            (NOBITS, WRITE_ALLOC, 64),   // .bss
            (PROGBITS, 0, 5000),         // .debug_info: not loaded
        ]);
        assert_eq!(
            Sizes::of_elf32(&elf),
            Ok(Sizes {
                flash: 128,
                static_ram: 72
            })
        );
    }

    #[test]
    fn a_file_that_is_not_elf32_or_is_cut_short_is_refused() {
        assert!(Sizes::of_elf32(b"\x7fELF\x02\x01").is_err());
        let mut elf = elf32(&[(1, 0x2, 4)]);
        elf.truncate(60);
        assert!(Sizes::of_elf32(&elf).is_err());
    }
}
