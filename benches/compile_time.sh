#!/usr/bin/env bash
# What one more network costs in a release rebuild: a crate with one three-layer network trained
# with `fit`, against the same crate with ten of them (different widths, so that none is shared).
# Each crate is built once to warm its dependencies, then rebuilt ROUNDS times (default 5) after
# touching its source; the script prints every time (wall and CPU), the medians, and the cost
# per extra network.
#
#   bash benches/compile_time.sh            # release (the issue's figure)
#   PROFILE=dev bash benches/compile_time.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${WORK:-/tmp/typenn-compile-time}"
rounds="${ROUNDS:-5}"
profile="${PROFILE:-release}"
mkdir -p "$work"

# crate NAME COUNT: a binary crate with COUNT networks, each trained for one epoch and evaluated.
crate() {
    local dir="$work/$1" count="$2"
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
typenn = { path = "$repo" }

[workspace]
EOF
    {
        echo "use typenn::prelude::*;"
        echo "use typenn::rand::{SeedableRng, rngs::StdRng};"
        echo "use typenn::SVector;"
        for i in $(seq "$count"); do
            echo "network! { struct Net$i(Dense<8, $((8 + i)), Relu>, Dense<$((8 + i)), $((4 + i)), Tanh>, Dense<$((4 + i)), 2>); }"
        done
        echo "fn main() -> Result<(), Box<dyn std::error::Error>> {"
        echo "    let mut rng = StdRng::seed_from_u64(1);"
        echo "    let xs: Vec<SVector<f32, 8>> = (0..64).map(|i| SVector::from_fn(|j, _| ((i * 7 + j) % 5) as f32)).collect();"
        echo "    let ys: Vec<SVector<f32, 2>> = xs.iter().map(|x| SVector::from([x.sum(), x.max()])).collect();"
        echo "    let data = Dataset::new(xs, ys)?;"
        for i in $(seq "$count"); do
            echo "    let mut net$i = Net$i::new(&mut rng);"
            echo "    let history = net$i.fit(&data, Mse, Sgd::new(0.01), &FitOptions::new().epochs(1))?;"
            echo "    println!(\"{}\", history.epochs());"
        done
        echo "    Ok(())"
        echo "}"
    } > "$dir/src/main.rs"
}

build() {
    cargo build --quiet --profile "$profile" --manifest-path "$work/$1/Cargo.toml" \
        --target-dir "$work/target"
}

# rebuild NAME: "wall cpu" seconds of one rebuild of NAME after a touch of its source (cpu is the
# user and system time of cargo and the compiler, which a busy machine inflates less than wall).
rebuild() {
    touch "$work/$1/src/main.rs"
    /usr/bin/time -f "%e %U %S" -o "$work/time.txt" \
        cargo build --quiet --profile "$profile" --manifest-path "$work/$1/Cargo.toml" \
        --target-dir "$work/target"
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$work/time.txt"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

crate one 1
crate ten 10
build one
build ten
# Alternate, so that load on a shared machine falls on both.
: > "$work/one.txt"
: > "$work/ten.txt"
for _ in $(seq "$rounds"); do
    rebuild one >> "$work/one.txt"
    rebuild ten >> "$work/ten.txt"
done
echo "profile=$profile rounds=$rounds load=$(cut -d' ' -f1-3 /proc/loadavg)"
for column in 1 2; do
    kind=$([ "$column" = 1 ] && echo wall || echo cpu)
    one=$(cut -d' ' -f"$column" "$work/one.txt" | median)
    ten=$(cut -d' ' -f"$column" "$work/ten.txt" | median)
    echo "$kind: one network $(cut -d' ' -f"$column" "$work/one.txt" | paste -sd' ') s (median $one)," \
        "ten $(cut -d' ' -f"$column" "$work/ten.txt" | paste -sd' ') s (median $ten);" \
        "each extra network $(echo "scale=2; ($ten - $one) / 9" | bc) s"
done
