//! serde_json into `network!` structs (with the `serde` feature): a tuple network and a named
//! one, each in `f32` and in `f64`, from the same bytes.
//!
//! Checks: no panic; a network that reads has only finite parameters, is written and read back
//! bit for bit, and reads the same in place (`deserialize_in_place`) into a network whose every
//! parameter was different; what reads as `f32` reads as `f64`, to within rounding.
//!
//! A read by value that fails returns no network, so there is nothing left changed; a failed read
//! in place leaves the network indeterminate, as serde documents, so that is not checked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use typenn::{Parameters, Scalar};
use typenn_fuzz::{Named, Seq, assert_finite, bits, filled};

fuzz_target!(|data: &[u8]| {
    let narrow = read::<f32, Seq<f32>>(data);
    let wide = read::<f64, Seq<f64>>(data);
    agree(narrow.as_ref(), wide.as_ref());
    let narrow = read::<f32, Named<f32>>(data);
    let wide = read::<f64, Named<f64>>(data);
    agree(narrow.as_ref(), wide.as_ref());
});

/// The network `bytes` hold, if they hold one, checked.
fn read<T: Scalar, N>(bytes: &[u8]) -> Option<N>
where
    N: Parameters<T> + Serialize + for<'de> Deserialize<'de>,
{
    let network: N = match serde_json::from_slice(bytes) {
        Ok(network) => network,
        Err(error) => {
            let _ = error.to_string();
            return None;
        }
    };
    assert_finite(&network, "a serde_json read");
    let json = serde_json::to_vec(&network).expect("a network of finite parameters writes");
    let again: N = serde_json::from_slice(&json).expect("its own JSON reads back");
    assert_eq!(bits(&again), bits(&network), "a write and read changed it");

    let mut place: N = filled();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    N::deserialize_in_place(&mut deserializer, &mut place)
        .expect("what reads by value reads in place");
    assert_eq!(bits(&place), bits(&network), "in place it read differently");
    Some(network)
}

/// An `f32` read implies an `f64` one of the same numbers: serde_json reads each number once and
/// rounds it to the type, so they differ by at most the `f32` rounding (one unit in the last
/// place, counting the double rounding through `f64`).
fn agree<N32: Parameters<f32>, N64: Parameters<f64>>(narrow: Option<&N32>, wide: Option<&N64>) {
    let Some(narrow) = narrow else {
        return;
    };
    let wide = wide.expect("what reads as f32 reads as f64");
    for tensor in 0..N32::TENSORS {
        for (&n, &w) in narrow.tensor(tensor).iter().zip(wide.tensor(tensor)) {
            let ulp = f64::from(n.abs().next_up() - n.abs());
            assert!(
                (f64::from(n) - w).abs() <= ulp,
                "tensor {tensor}: {n} as f32 but {w} as f64"
            );
        }
    }
}
