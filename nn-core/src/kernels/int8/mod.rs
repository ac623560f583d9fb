//! The int8 kernels: `i32 = bias + W x` with `i8` weights and inputs, for quantized layers.
//!
//! - `portable.rs`: plain Rust for any CPU (and miri), the definition;
//! - `avx2.rs`: `vpmovsxbw` + `vpmaddwd`, exact in `i16`/`i32`;
//! - `vnni.rs`: AVX-512 VNNI's `vpdpbusd`, four byte products per `i32` lane in one instruction.
//!
//! With `std` the CPU is asked once (a cached answer) which it has; without `std` the portable
//! kernel runs, as the f32 kernels do. Every path gives the same `i32` bit for bit (see the
//! tests), so a quantized network's outputs do not depend on the CPU.

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod avx2;
pub(crate) mod portable;
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod vnni;

pub(crate) use portable::unsigned_bias;

use crate::quant::Multiplier;

/// The widths of an int8 product, as constants of a type: `Fixed<IN, OUT>` for a Dense layer,
/// and for a convolution a patch of `channels * taps` inputs, which const generics cannot
/// write as one argument.
pub(crate) trait Dims {
    /// Inputs per product.
    const IN: usize;
    /// Outputs per product.
    const OUT: usize;
}

/// `IN` inputs to `OUT` outputs.
pub(crate) struct Fixed<const IN: usize, const OUT: usize>;

impl<const IN: usize, const OUT: usize> Dims for Fixed<IN, OUT> {
    const IN: usize = IN;
    const OUT: usize = OUT;
}

/// Which int8 kernel runs: with AVX2 or VNNI, the element-wise steps (quantizing the input,
/// requantizing sums) are compiled for AVX2 or AVX-512 too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// Plain Rust.
    Portable,
    /// AVX2 `vpmaddwd`.
    #[cfg_attr(
        not(all(feature = "std", target_arch = "x86_64")),
        expect(dead_code, reason = "only x86-64 with std has run-time dispatch")
    )]
    Avx2,
    /// AVX-512 VNNI `vpdpbusd`.
    #[cfg_attr(
        not(all(feature = "std", target_arch = "x86_64")),
        expect(dead_code, reason = "only x86-64 with std has run-time dispatch")
    )]
    Vnni,
}

/// The fastest path this CPU has: asked once, then one relaxed load of the cached answer.
#[inline(always)]
pub(crate) fn best() -> Path {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        /// 0 until asked, then 1 + the index of the path in [`PATHS`].
        static BEST: AtomicU8 = AtomicU8::new(0);
        const PATHS: [Path; 3] = [Path::Portable, Path::Avx2, Path::Vnni];
        match BEST.load(Ordering::Relaxed) {
            known @ 1..=3 => PATHS[usize::from(known - 1)],
            _ => {
                let index = if supported(Path::Vnni) {
                    2
                } else {
                    u8::from(supported(Path::Avx2))
                };
                BEST.store(index + 1, Ordering::Relaxed);
                PATHS[usize::from(index)]
            }
        }
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    {
        Path::Portable
    }
}

impl Path {
    /// The path's name, as a person reads it.
    #[must_use]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "AVX2 (vpmaddwd)",
            Self::Vnni => "AVX-512 VNNI (vpdpbusd)",
        }
    }
}

/// Whether this CPU can run `path`.
#[cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    allow(dead_code, reason = "without run-time dispatch only the tests ask")
)]
#[must_use]
pub(crate) fn supported(path: Path) -> bool {
    match path {
        Path::Portable => true,
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Path::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        Path::Vnni => {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512vnni")
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        Path::Avx2 | Path::Vnni => false,
    }
}

/// `acc[o] = bias[o] + sum_k weights[o * IN + k] * input[k]` (wrapping), with `weights`
/// row-major `OUT x IN`, on the fastest path this CPU has. `unsigned_bias` is
/// [`unsigned_bias`] of each row and its bias.
#[inline(always)]
pub(crate) fn affine<D: Dims>(
    weights: &[i8],
    bias: &[i32],
    unsigned_bias: &[i32],
    input: &[i8],
    acc: &mut [i32],
) {
    // SAFETY: `best` returns a path only when this CPU has its features.
    unsafe { affine_unchecked::<D>(best(), weights, bias, unsigned_bias, input, acc) };
}

/// As [`affine`], on `path`; the portable kernel when this CPU cannot run `path`.
#[cfg(test)]
pub(crate) fn affine_on<D: Dims>(
    path: Path,
    weights: &[i8],
    bias: &[i32],
    unsigned_bias: &[i32],
    input: &[i8],
    acc: &mut [i32],
) {
    let path = if supported(path) {
        path
    } else {
        Path::Portable
    };
    // SAFETY: `supported` has just checked that this CPU has the path's features.
    unsafe { affine_unchecked::<D>(path, weights, bias, unsigned_bias, input, acc) };
}

/// As [`affine`], on `path`.
///
/// # Safety
///
/// This CPU must have `path`'s features ([`supported`]).
#[inline(always)]
unsafe fn affine_unchecked<D: Dims>(
    path: Path,
    weights: &[i8],
    bias: &[i32],
    unsigned_bias: &[i32],
    input: &[i8],
    acc: &mut [i32],
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    match path {
        // SAFETY: the caller has checked that this CPU has the kernel's features.
        Path::Vnni => {
            return unsafe { vnni::affine::<D>(weights, unsigned_bias, input, acc) };
        }
        // SAFETY: as above.
        Path::Avx2 => return unsafe { avx2::affine::<D>(weights, bias, input, acc) },
        Path::Portable => {}
    }
    let _ = (path, unsigned_bias);
    portable::affine::<D>(weights, bias, input, acc);
}

/// [`portable::quantize`], compiled for the vector units this CPU has.
#[inline(always)]
pub(crate) fn quantize(input: &[f32], scale: f32, output: &mut [i8]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    match best() {
        // SAFETY: `best` returns a path only when this CPU has its features.
        Path::Vnni => return unsafe { compiled::quantize_avx512(input, scale, output) },
        // SAFETY: as above.
        Path::Avx2 => return unsafe { compiled::quantize_avx2(input, scale, output) },
        Path::Portable => {}
    }
    portable::quantize(input, scale, output);
}

/// [`portable::requantize`], compiled for the vector units this CPU has.
#[inline(always)]
pub(crate) fn requantize(acc: &[i32], multipliers: &[Multiplier], relu: bool, output: &mut [i8]) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    match best() {
        // SAFETY: `best` returns a path only when this CPU has its features.
        Path::Vnni => {
            return unsafe { compiled::requantize_avx512(acc, multipliers, relu, output) };
        }
        // SAFETY: as above.
        Path::Avx2 => return unsafe { compiled::requantize_avx2(acc, multipliers, relu, output) },
        Path::Portable => {}
    }
    portable::requantize(acc, multipliers, relu, output);
}

/// The element-wise kernels compiled for AVX2 and for AVX-512 (whose 64-bit multiplies and
/// per-lane shifts the fixed-point requantization vectorizes to). Only calling them needs the
/// CPU check.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod compiled {
    use super::portable;
    use crate::quant::{Multiplier, QMAX};

    /// [`quantize_value`](crate::quant::quantize_value), bit for bit, with a conversion to
    /// `i32` that does not saturate: the value is first put in range, and then the conversion
    /// compiles to one vector instruction (Rust's saturating `as` does not vectorize).
    #[inline(always)]
    fn quantize_value(x: f32, scale: f32) -> i8 {
        let q = x / scale;
        let q = if q.is_nan() {
            0.0
        } else {
            q.clamp(-128.0, 128.0)
        };
        // SAFETY: `q` is finite and within [-128, 128], which `i32` holds.
        let whole: i32 = unsafe { q.to_int_unchecked() };
        let fraction = q - whole as f32;
        let up = i32::from(fraction >= 0.5) - i32::from(fraction <= -0.5);
        (whole + up).clamp(-QMAX, QMAX) as i8
    }

    #[inline(always)]
    fn quantize(input: &[f32], scale: f32, output: &mut [i8]) {
        for (q, &x) in output.iter_mut().zip(input) {
            *q = quantize_value(x, scale);
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn quantize_avx2(input: &[f32], scale: f32, output: &mut [i8]) {
        quantize(input, scale, output);
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) fn quantize_avx512(input: &[f32], scale: f32, output: &mut [i8]) {
        quantize(input, scale, output);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn requantize_avx2(
        acc: &[i32],
        multipliers: &[Multiplier],
        relu: bool,
        output: &mut [i8],
    ) {
        portable::requantize(acc, multipliers, relu, output);
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) fn requantize_avx512(
        acc: &[i32],
        multipliers: &[Multiplier],
        relu: bool,
        output: &mut [i8],
    ) {
        portable::requantize(acc, multipliers, relu, output);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic bytes over the whole `i8` range, `-128` and `127` included.
    fn bytes(seed: u64, n: usize) -> Vec<i8> {
        let mut rng = crate::SplitMix64::new(seed);
        (0..n)
            .map(|i| match i % 17 {
                0 => i8::MIN,
                1 => i8::MAX,
                _ => rng.next_u64().to_le_bytes()[0] as i8,
            })
            .collect()
    }

    /// Every path this CPU has against the portable kernel, at widths around each kernel's
    /// block sizes (16, 64, four rows).
    fn agree<const IN: usize, const OUT: usize>() {
        let w = bytes(IN as u64, IN * OUT);
        let x = bytes(OUT as u64 + 1000, IN);
        let bias: Vec<i32> = (0..OUT as i32).map(|o| o * 1000 - 70_000).collect();
        let unsigned: Vec<i32> = w
            .chunks_exact(IN)
            .zip(&bias)
            .map(|(row, &b)| unsigned_bias(row, b))
            .collect();
        let mut expected = vec![0; OUT];
        portable::affine::<Fixed<IN, OUT>>(&w, &bias, &x, &mut expected);
        for path in [Path::Avx2, Path::Vnni] {
            if !supported(path) {
                continue;
            }
            let mut acc = vec![0; OUT];
            affine_on::<Fixed<IN, OUT>>(path, &w, &bias, &unsigned, &x, &mut acc);
            assert_eq!(acc, expected, "{path:?} at {IN} x {OUT}");
        }
    }

    #[test]
    fn every_path_gives_the_portable_sums_bit_for_bit() {
        agree::<1, 1>();
        agree::<3, 5>();
        agree::<16, 4>();
        agree::<17, 7>();
        agree::<64, 32>();
        agree::<65, 9>();
        agree::<130, 10>();
    }

    #[test]
    fn dispatched_quantization_is_the_portable_one() {
        let scale = 0.5;
        // Ties both ways, just off ties, the ends of the range and past them, and non-finite
        // values.
        let input = [
            0.25,
            -0.25,
            0.75,
            -0.75,
            0.2499999,
            63.25,
            63.5,
            -63.5,
            63.75,
            64.0,
            -64.25,
            1e9,
            -1e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            0.0,
            -0.0,
            3.0e-39,
            17.124,
            -5.5,
        ];
        let mut expected = [0; 21];
        portable::quantize(&input, scale, &mut expected);
        assert_eq!(
            expected,
            [
                1, -1, 2, -2, 0, 127, 127, -127, 127, 127, -127, 127, -127, 127, -127, 0, 0, 0, 0,
                34, -11
            ]
        );
        let mut output = [0; 21];
        quantize(&input, scale, &mut output);
        assert_eq!(output, expected, "{:?}", best());

        let multipliers = [crate::quant::Multiplier::new(0.25); 5];
        let acc = [-6, -2, 2, 6, 1000];
        let mut expected = [0; 5];
        portable::requantize(&acc, &multipliers, false, &mut expected);
        assert_eq!(expected, [-2, -1, 1, 2, 127]);
        let mut output = [0; 5];
        requantize(&acc, &multipliers, false, &mut output);
        assert_eq!(output, expected);
        requantize(&acc, &multipliers, true, &mut output);
        assert_eq!(output, [0, 0, 1, 2, 127]);
    }

    #[test]
    fn dispatched_affine_is_the_hand_computed_sum() {
        let w = [1_i8, -2, 3, -127, 127, -128];
        let x = [127_i8, -128, 2];
        let bias = [10, -5];
        let unsigned = [unsigned_bias(&w[..3], 10), unsigned_bias(&w[3..], -5)];
        let mut acc = [0; 2];
        affine::<Fixed<3, 2>>(&w, &bias, &unsigned, &x, &mut acc);
        assert_eq!(acc, [399, -32646]);
    }
}
