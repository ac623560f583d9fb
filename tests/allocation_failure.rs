//! A network the allocator cannot give is a typed error from the `try_*_boxed` constructors,
//! and aborts from the infallible `*_boxed` ones as `Box::new` does, not a panic inside a
//! dependency.
//!
//! The network is 256 PiB, more than any 64-bit address space holds, so that the allocation
//! fails on every machine: a 40 GB one (`Dense<100000, 100000>`) fails on a machine with less
//! memory, but on one with overcommit and more memory `calloc` may give it lazily.

use std::hint::black_box;
use std::process::Command;

use typenn::AllocationError;
use typenn::prelude::*;

/// 2^28: a layer of 2^28 x 2^28 weights is 2^58 bytes in f32.
const HUGE: usize = 1 << 28;

network! {
    struct Impossible(Dense<HUGE, HUGE>);
}

/// The weights and the biases: 2^58 + 2^30 bytes.
const BYTES: usize = (1 << 58) + (1 << 30);

/// The error of an allocation that must fail. `black_box`: the optimizer may leave out an
/// allocation whose box is never used, and take it to have succeeded.
fn refused<N>(result: Result<Box<N>, AllocationError>) -> AllocationError {
    match black_box(result) {
        // Not `expect_err`: printing the network would print 2^56 numbers.
        Ok(_) => panic!("256 PiB were allocated"),
        Err(error) => error,
    }
}

#[test]
fn the_fallible_constructors_return_the_bytes_asked_for() {
    assert_eq!(size_of::<Impossible>(), BYTES);
    let error = refused(Impossible::try_zeros_boxed());
    assert_eq!(error.bytes, BYTES);
    assert_eq!(error.name, "Impossible");
    assert_eq!(
        error.to_string(),
        "could not allocate 288230377225453568 bytes for the parameters of `Impossible`"
    );

    let mut rng = StdRng::seed_from_u64(0);
    assert_eq!(refused(Impossible::try_new_boxed(&mut rng)).bytes, BYTES);
    // Through the traits, as generic code calls them.
    let through_the_trait =
        <Impossible as Network<f32, HUGE, HUGE>>::try_with_init_boxed(Init::HeUniform, &mut rng);
    assert_eq!(refused(through_the_trait), error);
    let gradients = refused(<ImpossibleGradients as Parameters<f32>>::try_zeros_boxed());
    assert_eq!(gradients.name, "ImpossibleGradients");
    let source: &dyn std::error::Error = &gradients;
    assert!(source.source().is_none());
}

#[test]
fn small_networks_are_allocated() -> Result<(), AllocationError> {
    network! {
        struct Small(Dense<2, 1>);
    }
    let zeros = Small::try_zeros_boxed()?;
    assert_eq!(
        zeros.forward(&SVector::from([1.0, 2.0])),
        SVector::from([0.0])
    );
    let drawn = Small::try_new_boxed(&mut StdRng::seed_from_u64(1))?;
    assert_eq!(*drawn, *Small::new_boxed(&mut StdRng::seed_from_u64(1)));
    Ok(())
}

/// Set in the child process that the next test starts.
const CHILD: &str = "TYPENN_ALLOCATION_FAILURE_CHILD";

#[test]
fn the_infallible_constructor_aborts_as_box_new_does() {
    if std::env::var_os(CHILD).is_some() {
        // Not past this line: the allocation fails and the process aborts.
        black_box(Impossible::zeros_boxed());
        return;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "the_infallible_constructor_aborts_as_box_new_does",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("running the test binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child succeeded: {stderr}");
    assert!(
        stderr.contains("memory allocation of 288230377225453568 bytes failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // SIGABRT, as `handle_alloc_error` ends the process.
        assert_eq!(output.status.signal(), Some(6), "{stderr}");
    }
}
