//! A deterministic mutation fuzzer for the safetensors loader.
//!
//! Each iteration takes a valid file (written by typenn, or by numpy in `tests/fixtures/`),
//! applies one to four mutations drawn from a SplitMix64 stream (bit flips, byte writes,
//! truncations, appended, deleted and repeated bytes, header-length changes, and edits of the
//! JSON header: dtype strings, shapes, data offsets, tensor names, metadata, brackets and
//! quotes, plus NaN and infinity bit patterns in the data), and loads the result into an `f32`
//! tuple network and an `f64` named one, with strict and with lenient options. It fails if the
//! loader panics, if a load succeeds with a non-finite parameter, or if a failed load changes
//! the network; a failing input is written to the test's temporary directory and its iteration
//! printed. At the end every kind of outcome (success and each error) must have been reached,
//! so the mutations keep getting past the parser.
//!
//! Defaults: 100 000 iterations (a few seconds with the test profile's `opt-level = 1`) from
//! seed 0. Run longer, or elsewhere, with
//!
//! ```sh
//! TYPENN_FUZZ_ITERATIONS=5000000 TYPENN_FUZZ_SEED=7 cargo test --release --test fuzz_loader -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use typenn::persist::{Dtype, SafeTensorError};
use typenn::prelude::*;
use typenn::{LoadError, LoadOptions, Scalar, SplitMix64};

network! {
    /// `nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))`.
    struct Seq(Dense<3, 4, Relu>, Dense<4, 2>);
}

network! {
    /// Named layers in f64.
    struct Named {
        hidden: Dense<2, 3, Tanh>,
        output: Dense<3, 1, Sigmoid>,
    }
}

const DEFAULT_ITERATIONS: u64 = 100_000;

/// Entries to insert at the front of a header: metadata, well-formed or not, and extra tensors.
const METADATA: [&[u8]; 5] = [
    br#""__metadata__":{"format":"pt"},"#,
    br#""__metadata__":{"format":1},"#,
    br#""__metadata__":[],"#,
    br#""extra":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#,
    br#""0.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#,
];

/// Dtype strings to write into headers: the loader's own, other real ones, and nonsense.
const DTYPES: [&str; 18] = [
    "F32", "F64", "F16", "BF16", "I8", "U8", "BOOL", "F4", "F6_E2M3", "F8_E4M3", "I32", "U32",
    "I64", "U64", "C64", "f32", "", "F32\u{0}",
];

/// Tensor names for generated files: both networks' own, PyTorch's with a skipped index, others.
const NAMES: [&str; 12] = [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "2.weight",
    "2.bias",
    "hidden.weight",
    "hidden.bias",
    "output.weight",
    "output.bias",
    "weight",
    "net.0.weight",
];

/// Numbers to write into shapes, offsets and the length field.
const NUMBERS: [&str; 14] = [
    "0",
    "1",
    "2",
    "3",
    "4",
    "8",
    "16",
    "2305843009213693951",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "1.5",
    "1e3",
];

/// Draws for the fuzzer from typenn's own SplitMix64 stream.
trait Draw {
    /// Uniform in `0..n` (`n > 0`), near enough for fuzzing.
    fn below(&mut self, n: usize) -> usize;
    /// One of `items`.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T;
}

impl Draw for SplitMix64 {
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A network with every parameter drawn from U(-1, 1).
fn random<T: Scalar, N: Parameters<T>>(rng: &mut SplitMix64) -> N {
    let mut network = N::zeros();
    for i in 0..N::TENSORS {
        for value in network.tensor_mut(i) {
            *value = T::cast_from((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0);
        }
    }
    network
}

fn values<T: Scalar, N: Parameters<T>>(network: &N) -> Vec<f64> {
    (0..N::TENSORS)
        .flat_map(|i| {
            network
                .tensor(i)
                .iter()
                .map(|v| v.as_f64())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The header (as bytes) and the data of a file, if its length field fits.
fn split(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let len = usize::try_from(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)).ok()?;
    let end = len.checked_add(8)?;
    Some((bytes.get(8..end)?.to_vec(), bytes.get(end..)?.to_vec()))
}

fn join(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(data);
    bytes
}

/// Byte ranges of every match of `needle` in `haystack`.
fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at)
        .collect()
}

/// Replaces the bracketed list after one randomly chosen `key` with `replacement(old)`.
fn edit_list(
    rng: &mut SplitMix64,
    header: &mut Vec<u8>,
    key: &[u8],
    replacement: impl Fn(&mut SplitMix64, &str) -> String,
) -> bool {
    let sites = find_all(header, key);
    if sites.is_empty() {
        return false;
    }
    let start = *rng.pick(&sites) + key.len();
    let Some(close) = header[start..].iter().position(|&b| b == b']') else {
        return false;
    };
    let old = String::from_utf8_lossy(&header[start..start + close]).into_owned();
    let new = replacement(rng, &old);
    header.splice(start..start + close, new.into_bytes());
    true
}

/// A new comma-separated list of numbers from `old`'s.
fn mutate_numbers(rng: &mut SplitMix64, old: &str) -> String {
    let mut parts: Vec<String> = old.split(',').map(str::to_owned).collect();
    match rng.below(6) {
        0 => parts.reverse(),
        1 => parts.push((*rng.pick(&NUMBERS)).to_owned()),
        2 => {
            parts.pop();
        }
        3 => {
            let at = rng.below(parts.len());
            parts[at] = (*rng.pick(&NUMBERS)).to_owned();
        }
        4 => {
            let at = rng.below(parts.len());
            let delta = rng.below(17) as i64 - 8;
            let value: i64 = parts[at].parse().unwrap_or(0);
            parts[at] = value.saturating_add(delta).to_string();
        }
        _ => parts.clear(),
    }
    parts.join(",")
}

/// One mutation of `bytes`, in place.
fn mutate(rng: &mut SplitMix64, bytes: &mut Vec<u8>) {
    let kind = rng.below(14);
    if kind >= 7
        && let Some((mut header, mut data)) = split(bytes)
        && edit_header(rng, kind, &mut header, &mut data)
    {
        // Usually keep the length field honest, so that the edit reaches the JSON parser.
        let mut joined = join(&header, &data);
        if rng.below(5) == 0 {
            joined[..8].copy_from_slice(&bytes[..8]);
        }
        *bytes = joined;
        return;
    }
    mutate_bytes(rng, kind % 7, bytes);
}

/// Edits of the header or the data; `false` when nothing applied.
fn edit_header(rng: &mut SplitMix64, kind: usize, header: &mut Vec<u8>, data: &mut [u8]) -> bool {
    match kind {
        7 => {
            // A dtype string.
            let sites = [find_all(header, b"\"F32\""), find_all(header, b"\"F64\"")].concat();
            if sites.is_empty() {
                return false;
            }
            let at = *rng.pick(&sites);
            let new = format!("\"{}\"", rng.pick(&DTYPES));
            header.splice(at..at + 5, new.into_bytes());
            true
        }
        8 => edit_list(rng, header, b"\"shape\":[", mutate_numbers),
        9 => edit_list(rng, header, b"\"data_offsets\":[", mutate_numbers),
        10 => {
            // A tensor name: one character changed, or two names swapped, or an entry dropped.
            let names = find_all(header, b"\":{\"dtype\"");
            if names.is_empty() {
                return false;
            }
            let end = *rng.pick(&names);
            let Some(start) = header[..end].iter().rposition(|&b| b == b'"') else {
                return false;
            };
            match rng.below(3) {
                0 if end > start + 1 => {
                    let at = start + 1 + rng.below(end - start - 1);
                    header[at] = *rng.pick(b"0123456789.abwx_");
                }
                1 => {
                    let other = *rng.pick(&names);
                    if let Some(other_start) = header[..other].iter().rposition(|&b| b == b'"') {
                        let name = header[other_start + 1..other].to_vec();
                        header.splice(start + 1..end, name);
                    }
                }
                _ => {
                    // Drop from this name to the end of its entry.
                    if let Some(close) = header[end..].iter().position(|&b| b == b'}') {
                        let mut stop = end + close + 1;
                        if header.get(stop) == Some(&b',') {
                            stop += 1;
                        }
                        header.drain(start..stop);
                    }
                }
            }
            true
        }
        11 => {
            // Metadata, well-formed or not, at the front of the object.
            let Some(open) = header.iter().position(|&b| b == b'{') else {
                return false;
            };
            let metadata = *rng.pick(&METADATA);
            header.splice(open + 1..open + 1, metadata.iter().copied());
            true
        }
        12 => {
            // JSON structure: a character deleted or inserted, or deep nesting.
            if header.is_empty() {
                return false;
            }
            let at = rng.below(header.len());
            match rng.below(3) {
                0 => {
                    header.remove(at);
                }
                1 => header.insert(at, *rng.pick(b"{}[],:\"\\ 0-e")),
                _ => {
                    let depth = 1 + rng.below(400);
                    let nested = [vec![b'['; depth], vec![b']'; depth]].concat();
                    header.splice(at..at, nested);
                }
            }
            true
        }
        _ => {
            // A NaN, an infinity or an extreme value over an aligned element of the data.
            if data.len() < 4 {
                return false;
            }
            if rng.below(2) == 0 && data.len() >= 8 {
                let at = rng.below(data.len() / 8) * 8;
                let value: f64 =
                    *rng.pick(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, 5e-324]);
                data[at..at + 8].copy_from_slice(&value.to_le_bytes());
            } else {
                let at = rng.below(data.len() / 4) * 4;
                let value: f32 =
                    *rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, 1e-45]);
                data[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            true
        }
    }
}

/// Mutations that know nothing of the format.
fn mutate_bytes(rng: &mut SplitMix64, kind: usize, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    match kind {
        0 if len > 0 => {
            let at = rng.below(len);
            bytes[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            bytes[at] = *rng.pick(b"\x00\xff\x7f\x80\"{}[],:0123456789 ");
        }
        2 => bytes.truncate(rng.below(len + 1)),
        3 => {
            let extra = 1 + rng.below(16);
            bytes.extend((0..extra).map(|_| rng.next_u64() as u8));
        }
        4 if len > 0 => {
            let start = rng.below(len);
            let stop = (start + 1 + rng.below(16)).min(len);
            if rng.below(2) == 0 {
                bytes.drain(start..stop);
            } else {
                let copy = bytes[start..stop].to_vec();
                bytes.splice(start..start, copy);
            }
        }
        _ => {
            // The header length field.
            if len < 8 {
                bytes.resize(8, 0);
            }
            let current = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
            let new = match rng.below(6) {
                0 => current.wrapping_add(rng.below(17) as u64).wrapping_sub(8),
                1 => 0,
                2 => u64::MAX,
                3 => 1 << 61,
                4 => bytes.len() as u64,
                _ => rng.next_u64() % (bytes.len() as u64 + 64),
            };
            bytes[..8].copy_from_slice(&new.to_le_bytes());
        }
    }
}

/// A well-formed file of random tensors: names from [`NAMES`], a dtype of 2, 4 or 8 bytes,
/// shapes of 0 to 3 dimensions (mostly the networks' own), values mostly finite. It gets past the
/// parser, so it exercises the checks behind it.
fn generate(rng: &mut SplitMix64) -> Vec<u8> {
    const SHAPES: [&[usize]; 10] = [
        &[4, 3],
        &[4],
        &[2, 4],
        &[2],
        &[3, 2],
        &[3],
        &[1, 3],
        &[1],
        &[],
        &[3, 4],
    ];
    let count = 1 + rng.below(6);
    let mut names: Vec<&str> = Vec::with_capacity(count);
    while names.len() < count {
        let name = *rng.pick(&NAMES);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (position, name) in names.iter().enumerate() {
        let shape: Vec<usize> = match rng.below(8) {
            0 => (0..rng.below(4)).map(|_| rng.below(6)).collect(),
            _ => rng.pick(&SHAPES).to_vec(),
        };
        let (dtype, width) = *rng.pick(&[
            ("F32", 4),
            ("F32", 4),
            ("F64", 8),
            ("F64", 8),
            ("F16", 2),
            ("I32", 4),
            ("U64", 8),
        ]);
        let start = data.len();
        for _ in 0..shape.iter().product::<usize>() {
            let value = match rng.below(50) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                _ => (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5,
            };
            match width {
                4 => data.extend_from_slice(&(value as f32).to_le_bytes()),
                8 => data.extend_from_slice(&value.to_le_bytes()),
                _ => data.extend_from_slice(&(rng.next_u64() as u16).to_le_bytes()),
            }
        }
        if position > 0 {
            header.push(',');
        }
        let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
        header.push_str(&format!(
            r#""{name}":{{"dtype":"{dtype}","shape":[{}],"data_offsets":[{start},{}]}}"#,
            dims.join(","),
            data.len()
        ));
    }
    header.push('}');
    join(header.as_bytes(), &data)
}

/// A header alone whose tensors declare sizes near the limits: up to 12 tensors of up to 2^61
/// bytes each, offsets chained consistently, so their sum can pass `usize::MAX`. No data follows.
fn generate_huge(rng: &mut SplitMix64) -> Vec<u8> {
    let mut header = String::from("{");
    let mut offset: u64 = 0;
    for i in 0..1 + rng.below(12) {
        let (dtype, bytes) = *rng.pick(&[("U8", 1u64), ("F32", 4), ("F64", 8)]);
        // At most 2^64 / 8 bits, the most the crate's checked size computation allows.
        let elements = (u64::MAX / 8 / bytes) - rng.below(3) as u64;
        let Some(end) = offset.checked_add(elements * bytes) else {
            break;
        };
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            r#""t{i}":{{"dtype":"{dtype}","shape":[{elements}],"data_offsets":[{offset},{end}]}}"#
        ));
        offset = end;
    }
    header.push('}');
    join(header.as_bytes(), &[])
}

/// The name of an outcome, for the tally.
fn outcome(result: &Result<(), LoadError>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(LoadError::Format(error)) => match error {
            SafeTensorError::HeaderTooSmall => "Format(HeaderTooSmall)",
            SafeTensorError::HeaderTooLarge => "Format(HeaderTooLarge)",
            SafeTensorError::InvalidHeaderLength => "Format(InvalidHeaderLength)",
            SafeTensorError::InvalidHeader(_) => "Format(InvalidHeader)",
            SafeTensorError::InvalidHeaderDeserialization(_) => {
                "Format(InvalidHeaderDeserialization)"
            }
            SafeTensorError::MetadataIncompleteBuffer => "Format(MetadataIncompleteBuffer)",
            SafeTensorError::InvalidOffset(_) => "Format(InvalidOffset)",
            SafeTensorError::TensorInvalidInfo => "Format(TensorInvalidInfo)",
            SafeTensorError::ValidationOverflow => "Format(ValidationOverflow)",
            SafeTensorError::MisalignedSlice => "Format(MisalignedSlice)",
            _ => "Format(other)",
        },
        Err(LoadError::MissingTensor { .. }) => "MissingTensor",
        Err(LoadError::UnexpectedTensors { .. }) => "UnexpectedTensors",
        Err(LoadError::WrongDtype { .. }) => "WrongDtype",
        Err(LoadError::WrongShape { .. }) => "WrongShape",
        Err(LoadError::NonFinite { .. }) => "NonFinite",
        Err(_) => "other",
    }
}

/// Loads `bytes` into `network` and checks the result: finite on success, unchanged on error.
/// A panic or a broken promise returns a description.
fn check<T: Scalar, N: Parameters<T>>(
    network: &mut N,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<&'static str, String> {
    let before = values(network);
    let result = catch_unwind(AssertUnwindSafe(|| {
        network.load_safetensors(bytes, options)
    }))
    .map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)");
        format!("the loader panicked: {message}")
    })?;
    let after = values(network);
    match &result {
        Ok(()) => {
            if let Some(value) = after.iter().find(|v| !v.is_finite()) {
                return Err(format!(
                    "a successful load left a non-finite parameter: {value}"
                ));
            }
        }
        Err(error) => {
            let same = before
                .iter()
                .zip(&after)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            if !same {
                return Err(format!("a failed load changed the network ({error})"));
            }
            // Every message renders.
            let _ = error.to_string();
        }
    }
    Ok(outcome(&result))
}

#[test]
fn mutated_files_never_panic_and_never_load_non_finite_or_partial_weights() {
    let iterations = env_u64("TYPENN_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    let seed = env_u64("TYPENN_FUZZ_SEED", 0);
    let mut rng = SplitMix64::new(seed);

    let seq: Seq = random(&mut rng);
    let named: Named<f64> = random(&mut rng);
    let seeds: Vec<Vec<u8>> = vec![
        seq.to_safetensors_bytes().expect("finite"),
        named.to_safetensors_bytes().expect("finite"),
        include_bytes!("fixtures/sequential_f32.safetensors").to_vec(),
        include_bytes!("fixtures/named_f64.safetensors").to_vec(),
    ];
    let strict = LoadOptions::new();
    let sequential = LoadOptions::new()
        .sequential_indices(&[0, 2])
        .allow_extra_tensors(true);
    let lenient = LoadOptions::new().allow_extra_tensors(true);

    let mut tally: BTreeMap<&'static str, u64> = BTreeMap::new();
    let started = std::time::Instant::now();
    for iteration in 0..iterations {
        // One file in eight is generated and left intact; the others are mutated seeds.
        let bytes = if rng.below(8) == 0 {
            generate(&mut rng)
        } else if rng.below(64) == 0 {
            generate_huge(&mut rng)
        } else {
            let mut bytes = rng.pick(&seeds).clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut bytes);
            }
            bytes
        };

        let mut into_seq: Seq = random(&mut rng);
        let mut into_named: Named<f64> = random(&mut rng);
        let seq_options = if iteration % 2 == 0 {
            &strict
        } else {
            &sequential
        };
        let named_options = if iteration % 3 == 0 {
            &lenient
        } else {
            &strict
        };
        let results = [
            check(&mut into_seq, &bytes, seq_options),
            check(&mut into_named, &bytes, named_options),
        ];
        for result in results {
            match result {
                Ok(outcome) => *tally.entry(outcome).or_default() += 1,
                Err(problem) => {
                    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                        "fuzz_loader_seed{seed}_iteration{iteration}.safetensors"
                    ));
                    let _ = std::fs::write(&path, &bytes);
                    panic!(
                        "iteration {iteration} (seed {seed}): {problem}; input written to {}",
                        path.display()
                    );
                }
            }
        }
    }
    eprintln!(
        "fuzz_loader: {iterations} files, {} loads in {:.1?} (seed {seed}): {tally:?}",
        2 * iterations,
        started.elapsed()
    );

    // The mutations must reach every check, not stop at the parser.
    if iterations >= DEFAULT_ITERATIONS {
        for kind in [
            "ok",
            "Format(HeaderTooLarge)",
            "Format(InvalidHeaderLength)",
            "Format(InvalidHeader)",
            "Format(InvalidHeaderDeserialization)",
            "Format(InvalidOffset)",
            "Format(TensorInvalidInfo)",
            "Format(MetadataIncompleteBuffer)",
            "MissingTensor",
            "UnexpectedTensors",
            "WrongDtype",
            "WrongShape",
            "NonFinite",
        ] {
            assert!(
                tally.get(kind).copied().unwrap_or(0) > 0,
                "no load ended in {kind}: {tally:?}"
            );
        }
    }
}

#[test]
fn the_dtype_list_names_real_dtypes() {
    // Keeps the fuzzer's "F32"/"F64" edits aimed at the strings the writer really produces.
    assert_eq!(Dtype::F32.to_string(), DTYPES[0]);
    assert_eq!(Dtype::F64.to_string(), DTYPES[1]);
}
