//! typenn's own serde checks on numbers that JSON cannot carry: serde's value deserializers
//! (nested `Vec`s of `f32` or `f64`) into the tuple and the named network, in `f32` and `f64`.
//! serde_json refuses NaN, infinities and numbers out of the type's range before typenn sees
//! them, so only a format like this one reaches typenn's refusal of non-finite values.
//!
//! The input's first bytes give the nesting (how many layers, how many tensors in each, how many
//! numbers in each tensor); the rest are the numbers' little-endian bytes.
//!
//! Checks, against an oracle that knows the networks' shapes: a read succeeds exactly when the
//! nesting is the network's (two layers of a weight tensor and a bias each, with their element
//! counts) and every number is finite; a network that reads holds the numbers given, bit for bit,
//! each tensor column by column.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::Error;
use typenn::{Parameters, Scalar};
use typenn_fuzz::{Named, Seq, bits};

fuzz_target!(|data: &[u8]| {
    let (nesting, numbers) = nesting(data);
    check::<f32, Seq<f32>>(&nesting, numbers);
    check::<f64, Seq<f64>>(&nesting, numbers);
    check::<f32, Named<f32>>(&nesting, numbers);
    check::<f64, Named<f64>>(&nesting, numbers);
});

/// Each layer's tensors' lengths, from the leading bytes (0 to 3 layers of 0 to 3 tensors of 0
/// to 15 numbers), and the bytes left.
fn nesting(data: &[u8]) -> (Vec<Vec<usize>>, &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = || bytes.next().unwrap_or(0);
    let layers = (0..next() % 4)
        .map(|_| {
            let tensors = next() % 4;
            (0..tensors).map(|_| usize::from(next() % 16)).collect()
        })
        .collect();
    let used = data.len() - bytes.len();
    (layers, &data[used..])
}

/// The numbers of `bytes` as `T`s, each `size_of::<T>()` bytes little-endian; past the end of
/// the bytes, the position (finite).
fn numbers<T: Scalar>(bytes: &[u8], count: usize) -> Vec<T> {
    (0..count)
        .map(|i| {
            let width = size_of::<T>();
            match bytes.get(i * width..(i + 1) * width) {
                Some(chunk) if width == 4 => T::cast_from(f64::from(f32::from_le_bytes(
                    chunk.try_into().expect("4 bytes"),
                ))),
                Some(chunk) => T::cast_from(f64::from_le_bytes(chunk.try_into().expect("8 bytes"))),
                None => T::cast_from(i as f64),
            }
        })
        .collect()
}

fn check<T, N>(nesting: &[Vec<usize>], bytes: &[u8])
where
    T: Scalar + for<'de> IntoDeserializer<'de, Error>,
    N: Parameters<T> + for<'de> Deserialize<'de>,
{
    let total = nesting.iter().flatten().sum();
    let values: Vec<T> = numbers(bytes, total);
    let mut rest = values.iter().copied();
    let nested: Vec<Vec<Vec<T>>> = nesting
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|&len| rest.by_ref().take(len).collect())
                .collect()
        })
        .collect();

    let expected: Vec<Vec<usize>> = (0..N::TENSORS / 2)
        .map(|layer| {
            vec![
                N::zeros().tensor(2 * layer).len(),
                N::zeros().tensor(2 * layer + 1).len(),
            ]
        })
        .collect();
    let should_read = nesting == expected.as_slice() && values.iter().all(|v| v.is_finite());

    match N::deserialize(nested.into_deserializer()) {
        Ok(network) => {
            assert!(
                should_read,
                "read {nesting:?} (expected {expected:?}) of {values:?}"
            );
            let given: Vec<u64> = values.iter().map(|v| v.as_f64().to_bits()).collect();
            assert_eq!(bits(&network), given, "read other numbers than given");
        }
        Err(error) => {
            let _ = error.to_string();
            assert!(!should_read, "refused {nesting:?} of {values:?}: {error}");
        }
    }
}
