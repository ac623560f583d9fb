//! Compile-fail tests: each mistake in `tests/ui/` must be rejected with the message in its
//! `.stderr`. Regenerate with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

use std::process::Command;

/// The compiler the `.stderr` snapshots were made with: messages differ between versions.
const SNAPSHOT_RUSTC: &str = "rustc 1.95.0 ";

#[test]
fn ui() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    if !version.starts_with(SNAPSHOT_RUSTC) {
        eprintln!("skipping the ui tests: snapshots are for {SNAPSHOT_RUSTC}but this is {version}");
        return;
    }
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/*.rs");
}
