#!/usr/bin/env bash
# Builds the firmware for the Cortex-M4F, runs it in QEMU, and checks every output it prints
# against the same network run on this machine. Prints one line:
#   cortex-m: N outputs match the host within TOL; flash B bytes, static RAM B bytes
# and exits non-zero on any mismatch or failure. Skips (exit 0, with a message) only when
# qemu-system-arm is missing and cannot be installed.
set -euo pipefail
cd "$(dirname "$0")"

target=thumbv7em-none-eabihf
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs a step with its output kept aside, shown only if it fails.
quietly() {
    if ! "$@" >"$work/log" 2>&1; then
        echo "cortex-m: failed: $*" >&2
        cat "$work/log" >&2
        exit 1
    fi
}

if ! rustup target list --installed | grep -qx "$target"; then
    quietly rustup target add "$target"
fi

if ! command -v qemu-system-arm >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >"$work/apt.log" 2>&1 &&
            apt-get install -y -qq --no-install-recommends qemu-system-arm >>"$work/apt.log" 2>&1 ||
            cat "$work/apt.log" >&2
    fi
    if ! command -v qemu-system-arm >/dev/null; then
        echo "cortex-m: skipped: qemu-system-arm is not installed and could not be installed here"
        exit 0
    fi
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
# Panic messages hold source paths; with the checkout's own path taken out, the flash figure is
# the same wherever the repository is cloned. Cargo adds this to the flags in .cargo/config.toml.
flags=CARGO_TARGET_THUMBV7EM_NONE_EABIHF_RUSTFLAGS
export "$flags=${!flags:-} --remap-path-prefix=$(cd .. && pwd)=typenn"
quietly cargo build --locked --release --bin firmware
quietly cargo build --locked --target "$host" --features host --bin host-check

# The runner in .cargo/config.toml starts QEMU; semihosting gives its exit code.
if ! timeout 60 cargo run --quiet --locked --release --bin firmware >"$work/qemu.out" 2>"$work/qemu.err"; then
    echo "cortex-m: failed: the firmware did not run to its end in QEMU" >&2
    cat "$work/qemu.out" "$work/qemu.err" >&2
    exit 1
fi

"target/$host/debug/host-check" "target/$target/release/firmware" "$work/qemu.out"
