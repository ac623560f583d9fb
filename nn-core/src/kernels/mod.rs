//! The vector kernels, one file per concept, and the crate's only unsafe code.
//!
//! - `portable.rs`: the small products in plain Rust for any CPU, each compiled twice (with a
//!   separate multiply and add, and with fused multiply-add for CPUs that have it).
//! - `avx2.rs`: f32 kernels written with AVX2 and FMA intrinsics, for single samples and for
//!   batches of layers whose width is not a multiple of 8.
//! - `avx512.rs`: f32 register tiles with AVX-512 for layers of 8 units or more (the last
//!   vector of rows masked when the units are not a multiple of 16).
//! - `avx2_tiles.rs`: the same tiles at half the width with AVX2 and FMA, for CPUs without
//!   AVX-512; they sum in the same order, so the two give the same bits.
//! - `avx512_gates.rs`: a wide recurrent cell's gate products for one time step, with AVX-512,
//!   and its own safe entry point.
//! - `avx512_cells.rs`: a whole LSTM or GRU time step in f32 with AVX-512 (products,
//!   activations and state update in registers), with its safe entry points.
//! - `avx2_cells.rs`: the same step with AVX2 and FMA for CPUs without AVX-512, each vector
//!   of sums holding units of one gate (AVX2 cannot gather a gate's units across vectors).
//! - `gemm.rs`: big products through matrixmultiply.
//! - `int8/`: the `i8` products of quantized layers (portable, AVX2, AVX-512 VNNI and their
//!   dispatch).
//! - `team.rs`: the threads that share out one product by its rows (a trainer's helpers,
//!   which spin while they wait), and the lifetime-erased jobs they run.
//! - `dispatch.rs`: the safe entry points the layers call, which ask the CPU what it has and run
//!   the kernel made for it.
//!
//! Unsafe code is allowed file by file in the declarations below, so that they are the list of
//! what to audit; `portable.rs` holds none and stays under the crate's `deny(unsafe_code)`, and
//! no file outside this folder allows it (the layers' `Zeroable` impls are written by bytemuck's
//! derive, which checks every field). Each unsafe block says why it is sound:
//!
//! - matrixmultiply is called on plain slices with explicit strides, after checking that every
//!   element the call can touch lies inside the slices it was given (a transposed operand is the
//!   same slice with its strides swapped, so nothing is copied);
//! - the intrinsic kernels run only after `dispatch.rs` has checked the CPU for their features,
//!   and every load and store is on a slice of the length it touches (the masked loads read no
//!   lane outside their slice).
//!
//! Each file's tests sit in it, and `.ci/run` runs every test of this folder under miri (once
//! more as if the CPU had AVX2 and FMA, so that the intrinsic kernels run there too).

/// Calls `tile::<R, C>` for each register tile of a product's `rows` by `columns`, at
/// `(row, column)`: `R` vectors of `lanes` rows (the listed counts, or the last, most, one)
/// by `C` columns (up to `most_columns`, which must be 6 or less), smaller at the edges, so that
/// every tile's sums are fixed-size arrays in registers. The last vector of rows is partial when
/// the rows are not a multiple of `lanes`.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
macro_rules! for_each_tile {
    (
        $lanes:literal, [$($vectors:literal),*] $most:literal, $most_columns:expr,
        $rows:expr, $columns:expr, |$r:ident, $c:ident| $tile:ident($($arg:expr),*)
    ) => {{
        let rows: core::ops::Range<usize> = $rows;
        let mut row = rows.start;
        while row < rows.end {
            // The last vector of rows may be partial: its tile masks it.
            let vectors = (rows.end - row).div_ceil($lanes).min($most);
            let mut column = 0;
            while column < $columns {
                let width = ($columns - column).min($most_columns);
                let ($r, $c) = (row, column);
                macro_rules! call {
                    ($height:literal) => {
                        match width {
                            1 => $tile::<$height, 1>($($arg),*),
                            2 => $tile::<$height, 2>($($arg),*),
                            3 => $tile::<$height, 3>($($arg),*),
                            4 => $tile::<$height, 4>($($arg),*),
                            5 => $tile::<$height, 5>($($arg),*),
                            _ => $tile::<$height, 6>($($arg),*),
                        }
                    };
                }
                match vectors {
                    $($vectors => call!($vectors),)*
                    _ => call!($most),
                }
                column += width;
            }
            row += vectors * $lanes;
        }
    }};
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod avx2;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod avx2_cells;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod avx2_tiles;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod avx512;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod avx512_cells;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
pub(crate) mod avx512_gates;
#[allow(unsafe_code)]
pub(crate) mod dispatch;
// The int8 kernels of quantized layers: their own dispatch, portable, AVX2 and VNNI files.
#[cfg(feature = "std")]
#[allow(unsafe_code)]
pub(crate) mod gemm;
#[allow(unsafe_code)]
pub(crate) mod int8;
pub(crate) mod portable;
#[cfg(feature = "std")]
#[allow(unsafe_code)]
pub(crate) mod team;
