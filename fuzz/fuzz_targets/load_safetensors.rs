//! The safetensors loader over arbitrary bytes, into an `f32` tuple network and an `f64` named
//! one, with strict, PyTorch-`Sequential` and lenient options (the first byte chooses).
//!
//! Checks: no panic; on an error the network is unchanged, bit for bit, and the message renders;
//! on success every parameter is finite, and the network saved and loaded again is the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typenn::persist::Persist;
use typenn::{LoadOptions, Scalar};
use typenn_fuzz::{Named, Seq, assert_finite, bits, filled};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, bytes)) = data.split_first() else {
        return;
    };
    let options = match choice % 3 {
        0 => LoadOptions::new(),
        1 => LoadOptions::new()
            .sequential_indices(&[0, 2])
            .allow_extra_tensors(true),
        _ => LoadOptions::new().allow_extra_tensors(true),
    };
    check::<f32, Seq>(bytes, &options);
    check::<f64, Named<f64>>(bytes, &options);
});

fn check<T: Scalar, N: Persist<T>>(bytes: &[u8], options: &LoadOptions) {
    let mut network: N = filled();
    let before = bits(&network);
    match network.load_safetensors(bytes, options) {
        Ok(()) => {
            assert_finite(&network, "a safetensors load");
            let saved = network
                .to_safetensors_bytes()
                .expect("a network of finite parameters saves");
            let mut again: N = filled();
            again
                .load_safetensors(&saved, &LoadOptions::new())
                .expect("a file typenn wrote loads back");
            assert_eq!(bits(&again), bits(&network), "a save and load changed it");
        }
        Err(error) => {
            assert_eq!(
                bits(&network),
                before,
                "a failed load ({error}) changed the network"
            );
            let _ = error.to_string();
        }
    }
}
