//! f32 kernels written with AVX2 and FMA intrinsics, so that their code does not depend on how
//! the optimizer vectorizes the surrounding pass: for single samples, and for batches of layers
//! whose width is not a multiple of 8. They are `unsafe` because the CPU must have the features,
//! which `dispatch.rs` checks before calling them; every load and store is on a slice of the
//! length it touches. They are `#[inline(always)]`
//! rather than `#[target_feature]` functions (which cannot be forced inline): inlined into a
//! function compiled for AVX2 and FMA they become plain vector instructions.

use crate::Activation;
use core::arch::x86_64::{
    __m256, __m256i, _mm_cvtss_f32, _mm_fmadd_ps, _mm_fmadd_ss, _mm_loadu_ps, _mm_loadu_si128,
    _mm_set_ss, _mm_storeu_ps, _mm256_add_ps, _mm256_and_si256, _mm256_broadcastsi128_si256,
    _mm256_castpd_si256, _mm256_castps_si256, _mm256_castps256_ps128, _mm256_cmpeq_epi32,
    _mm256_cmpgt_epi32, _mm256_fmadd_ps, _mm256_hadd_ps, _mm256_loadu_ps, _mm256_loadu_si256,
    _mm256_maskload_ps, _mm256_max_epu32, _mm256_movemask_epi8, _mm256_permute2f128_ps,
    _mm256_set1_epi32, _mm256_set1_pd, _mm256_set1_ps, _mm256_setr_epi32, _mm256_setzero_ps,
    _mm256_storeu_ps, _mm256_storeu_si256,
};

/// `a * b + c` in one rounding (`f32::mul_add` needs `std`).
#[inline(always)]
unsafe fn fused_multiply_add(a: f32, b: f32, c: f32) -> f32 {
    // SAFETY (for the caller's CPU): a scalar FMA on registers.
    unsafe { _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c))) }
}

/// `W += (alpha d) x^T` for one sample: plain SGD's update of an `OUT x IN` column-major
/// weight matrix, `OUT` at least 8. The scaled deltas stay in registers; each column is
/// loaded, updated and stored once, its last `OUT % 8` rows in a piece of 4 and then one by
/// one, so that no masked store is needed (slow on some CPUs). The same roundings as the
/// portable kernel.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[inline(always)]
pub(super) unsafe fn rank_one<const IN: usize, const OUT: usize>(
    alpha: f32,
    delta: &[f32],
    input: &[f32],
    weights: &mut [f32],
) {
    let (d, x, w) = (&delta[..OUT], &input[..IN], &mut weights[..OUT * IN]);
    let full = OUT / 8 * 8;
    let mut scaled = [0.0_f32; OUT];
    for (s, &d) in scaled.iter_mut().zip(d) {
        *s = alpha * d;
    }
    // SAFETY: the caller guarantees the CPU features; every access below is to a slice of
    // the length it reads or writes.
    unsafe {
        for (column, &scale) in w.chunks_exact_mut(OUT).zip(x) {
            let broadcast = _mm256_set1_ps(scale);
            for (target, s) in column[..full]
                .chunks_exact_mut(8)
                .zip(scaled[..full].chunks_exact(8))
            {
                let updated = _mm256_fmadd_ps(load(s, 0, 8), broadcast, load(target, 0, 8));
                _mm256_storeu_ps(target.as_mut_ptr(), updated);
            }
            let mut row = full;
            if OUT - row >= 4 {
                let target = &mut column[row..row + 4];
                let updated = _mm_fmadd_ps(
                    _mm_loadu_ps(scaled[row..row + 4].as_ptr()),
                    _mm256_castps256_ps128(broadcast),
                    _mm_loadu_ps(target.as_ptr()),
                );
                _mm_storeu_ps(target.as_mut_ptr(), updated);
                row += 4;
            }
            for (target, &s) in column[row..].iter_mut().zip(&scaled[row..]) {
                *target = fused_multiply_add(s, scale, *target);
            }
        }
    }
}

/// Whether the batch kernels below take a layer: widths that waste part of a vector in the
/// column-by-column kernels (`OUT` not a multiple of 8), weights small enough to transpose
/// on the stack, and enough samples to repay it.
#[inline(always)]
pub(super) const fn batch_kernels_take(inputs: usize, outputs: usize, samples: usize) -> bool {
    !outputs.is_multiple_of(8) && inputs * outputs <= 4096 && samples >= 8
}

/// `z[:, j] = W x[:, j] + b` for a batch, row by row: `W` is transposed once onto the stack,
/// so each output is a dot product of two contiguous vectors, taken eight outputs at a time
/// and reduced across lanes together. Every multiply-add then uses a whole vector, where the
/// column-by-column kernel wastes part of one on each column when `OUT` is not a multiple
/// of 8.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[inline(always)]
pub(super) unsafe fn affine_batch<const IN: usize, const OUT: usize>(
    weights: &[f32],
    bias: &[f32],
    inputs: &[f32],
    outputs: &mut [f32],
) {
    let (w, b) = (&weights[..OUT * IN], &bias[..OUT]);
    let mut rows = [[0.0_f32; IN]; OUT];
    for (i, column) in w.chunks_exact(OUT).enumerate() {
        for (row, &value) in rows.iter_mut().zip(column) {
            row[i] = value;
        }
    }
    // SAFETY: the caller guarantees the CPU features; loads go through `load`, which checks
    // its bounds.
    unsafe {
        for (x, z) in inputs.chunks_exact(IN).zip(outputs.chunks_exact_mut(OUT)) {
            let mut first = 0;
            while first < OUT {
                let count = (OUT - first).min(8);
                let mut sums = [_mm256_setzero_ps(); 8];
                let mut i = 0;
                while i < IN {
                    let lanes = (IN - i).min(8);
                    let input = load(x, i, lanes);
                    for (k, sum) in sums.iter_mut().enumerate().take(count) {
                        *sum = _mm256_fmadd_ps(load(&rows[first + k], i, lanes), input, *sum);
                    }
                    i += 8;
                }
                let mut lanes = [0.0_f32; 8];
                let total = _mm256_add_ps(across(sums), load(b, first, count));
                _mm256_storeu_ps(lanes.as_mut_ptr(), total);
                z[first..first + count].copy_from_slice(&lanes[..count]);
                first += 8;
            }
        }
    }
}

/// `W += alpha * sum_j delta[:, j] x[:, j]^T` for a batch: the sums are gathered eight
/// inputs at a time along each sample's contiguous inputs, for up to twelve rows at once in
/// registers, then added to the weights. Every multiply-add uses a whole vector.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[inline(always)]
pub(super) unsafe fn outer_update_batch<const IN: usize, const OUT: usize>(
    alpha: f32,
    delta: &[f32],
    inputs: &[f32],
    weights: &mut [f32],
) {
    const ROWS: usize = 12;
    let w = &mut weights[..OUT * IN];
    // SAFETY: the caller guarantees the CPU features; loads go through `load`, which checks
    // its bounds.
    unsafe {
        let mut i = 0;
        while i < IN {
            let lanes = (IN - i).min(8);
            let mut first = 0;
            while first < OUT {
                let count = (OUT - first).min(ROWS);
                let mut sums = [_mm256_setzero_ps(); ROWS];
                for (d, x) in delta.chunks_exact(OUT).zip(inputs.chunks_exact(IN)) {
                    let input = load(x, i, lanes);
                    for (k, sum) in sums.iter_mut().enumerate().take(count) {
                        *sum = _mm256_fmadd_ps(_mm256_set1_ps(d[first + k]), input, *sum);
                    }
                }
                for (k, &sum) in sums.iter().enumerate().take(count) {
                    let mut step = [0.0_f32; 8];
                    _mm256_storeu_ps(step.as_mut_ptr(), sum);
                    for (l, &value) in step.iter().enumerate().take(lanes) {
                        let target = &mut w[(i + l) * OUT + first + k];
                        *target = fused_multiply_add(alpha, value, *target);
                    }
                }
                first += ROWS;
            }
            i += 8;
        }
    }
}

/// The lane sums of eight vectors, as one vector: lane `k` is the sum of `v[k]`'s lanes.
#[inline(always)]
unsafe fn across(v: [__m256; 8]) -> __m256 {
    // SAFETY (for the caller's CPU): register shuffles and adds.
    unsafe {
        let a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
        let b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(a, b),
            _mm256_permute2f128_ps::<0x31>(a, b),
        )
    }
}

/// Lanes below `count` set.
#[inline(always)]
pub(super) unsafe fn mask(count: usize) -> __m256i {
    // SAFETY (for the caller's CPU): AVX2 integer compare of constants.
    unsafe {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(i32::try_from(count).unwrap_or(8)),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }
}

/// The first `count` (1 to 8) floats of `values` from `start`, zeros in the other lanes.
#[inline(always)]
pub(super) unsafe fn load(values: &[f32], start: usize, count: usize) -> __m256 {
    assert!((1..=8).contains(&count) && start + count <= values.len());
    // SAFETY: the assert keeps the `count` floats read inside `values`; a masked load does
    // not touch the lanes left out of its mask.
    unsafe {
        let pointer = values.as_ptr().add(start);
        if count == 8 {
            _mm256_loadu_ps(pointer)
        } else {
            _mm256_maskload_ps(pointer, mask(count))
        }
    }
}

/// `z = W x + b` and `a = A(z)` for one sample: `W` is `OUT x IN` column-major, `OUT` is 1
/// or at least 8 (narrower layers waste most of each vector, and go to the portable kernel),
/// and `A` is element by element, so it is applied to whole vectors of sixteen lanes before
/// `z` and `a` are written, each in one piece.
///
/// # Safety
///
/// The CPU must have AVX2 and FMA.
#[inline(always)]
pub(super) unsafe fn affine<A: Activation, const IN: usize, const OUT: usize>(
    weights: &[f32],
    bias: &[f32],
    input: &[f32],
    z: &mut [f32],
    a: &mut [f32],
) {
    let (w, b, x, z, a) = (
        &weights[..OUT * IN],
        &bias[..OUT],
        &input[..IN],
        &mut z[..OUT],
        &mut a[..OUT],
    );
    // SAFETY: every load goes through `load`, which checks its bounds; the caller
    // guarantees the CPU features.
    unsafe {
        if OUT == 1 {
            // One unit: its weights are contiguous, so the output is a dot product. The
            // input was usually written just before by the layer below, so it is read one
            // number at a time: a vector load of numbers stored separately would wait for
            // the stores to retire instead of taking their values on the fly. Four
            // interleaved sums keep the multiply-adds from waiting on each other.
            let mut sums = [0.0_f32; 4];
            let mut i = 0;
            while i < IN {
                for sum in &mut sums {
                    if i < IN {
                        *sum = fused_multiply_add(w[i], x[i], *sum);
                    }
                    i += 1;
                }
            }
            let total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
            z[0] = b[0] + total;
            A::forward(1, &z[..1], &mut a[..1]);
            return;
        }
        // Sixteen rows at a time, in two vectors (the second may be partial); each input
        // adds its column scaled by its value, in four interleaved partial sums.
        let mut row = 0;
        while row < OUT {
            let rows = (OUT - row).min(16);
            let (low, high) = (rows.min(8), rows.saturating_sub(8));
            let mut sums = [[_mm256_setzero_ps(); 2]; 4];
            sums[0][0] = load(b, row, low);
            if high > 0 {
                sums[0][1] = load(b, row + 8, high);
            }
            let mut i = 0;
            while i < IN {
                // Four inputs per round, one per partial sum (constant indices, so the sums
                // stay in registers).
                for partial in &mut sums {
                    if i < IN {
                        let scale = _mm256_set1_ps(x[i]);
                        let column = i * OUT + row;
                        partial[0] = _mm256_fmadd_ps(load(w, column, low), scale, partial[0]);
                        if high > 0 {
                            partial[1] =
                                _mm256_fmadd_ps(load(w, column + 8, high), scale, partial[1]);
                        }
                    }
                    i += 1;
                }
            }
            let mut lanes = [0.0_f32; 16];
            for (half, chunk) in lanes.chunks_exact_mut(8).enumerate() {
                let total = _mm256_add_ps(
                    _mm256_add_ps(sums[0][half], sums[1][half]),
                    _mm256_add_ps(sums[2][half], sums[3][half]),
                );
                _mm256_storeu_ps(chunk.as_mut_ptr(), total);
            }
            let mut activated = [0.0_f32; 16];
            A::forward(16, &lanes, &mut activated);
            z[row..row + rows].copy_from_slice(&lanes[..rows]);
            a[row..row + rows].copy_from_slice(&activated[..rows]);
            row += 16;
        }
    }
}

/// Takes the magnitudes of `values` (their bits without the sign: NaN above infinity above
/// every finite number) into eight running maxima, one per lane, with no reduction across
/// lanes: plain SGD's step bound reads its deltas and inputs this way, and compares them with
/// its limit once per step ([`all_at_most`]). The values are read 8 at a time, then as a piece
/// of 4, of 2 and of 1, each repeated across the lanes: the pieces the passes keep short
/// vectors in, so that the compiler can take them from registers instead of memory.
///
/// # Safety
///
/// The CPU must have AVX2.
#[inline(always)]
pub(super) unsafe fn take_magnitudes(values: &[f32], lanes: &mut [u32; 8]) {
    // SAFETY: the caller guarantees the CPU features; every load reads values of the slice.
    unsafe {
        let sign = _mm256_set1_epi32(0x7fff_ffff);
        let mut largest = _mm256_loadu_si256(lanes.as_ptr().cast());
        let mut chunks = values.chunks_exact(8);
        for chunk in &mut chunks {
            let loaded = _mm256_loadu_si256(chunk.as_ptr().cast());
            largest = _mm256_max_epu32(largest, _mm256_and_si256(loaded, sign));
        }
        let mut rest = chunks.remainder();
        let mut piece = |repeated: __m256i| {
            largest = _mm256_max_epu32(largest, _mm256_and_si256(repeated, sign));
        };
        if rest.len() >= 4 {
            piece(_mm256_broadcastsi128_si256(_mm_loadu_si128(
                rest.as_ptr().cast(),
            )));
            rest = &rest[4..];
        }
        if rest.len() >= 2 {
            piece(_mm256_castpd_si256(_mm256_set1_pd(
                rest.as_ptr().cast::<f64>().read_unaligned(),
            )));
            rest = &rest[2..];
        }
        if let [last] = rest {
            piece(_mm256_castps_si256(_mm256_set1_ps(*last)));
        }
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), largest);
    }
}

/// Whether each of the eight maxima of [`take_magnitudes`] is at most `top`, without reducing
/// them to one: a lane is when its maximum with `top` is `top`.
///
/// # Safety
///
/// The CPU must have AVX2.
#[inline(always)]
pub(super) unsafe fn all_at_most(lanes: &[u32; 8], top: u32) -> bool {
    // SAFETY: the caller guarantees the CPU features; the load reads the eight lanes.
    unsafe {
        let top = _mm256_set1_epi32(top as i32);
        let capped = _mm256_max_epu32(_mm256_loadu_si256(lanes.as_ptr().cast()), top);
        _mm256_movemask_epi8(_mm256_cmpeq_epi32(capped, top)) == -1
    }
}

#[cfg(test)]
mod tests {
    use crate::kernels::dispatch;

    /// The single-sample kernel (vector code on CPUs with AVX2 and FMA) against the portable
    /// one, for widths that exercise full, partial and several row blocks, and a dot product.
    #[test]
    fn single_sample_kernel_matches_the_portable_kernel() {
        use crate::kernels::portable::{Separate, affine};
        use crate::{Activation, Relu, Softmax, Tanh};

        fn check<A: Activation, const IN: usize, const OUT: usize>() {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN).map(|k| (k as f32 * 0.73).cos()).collect();
            let (mut z, mut a) = (vec![0.0_f32; OUT], vec![0.0_f32; OUT]);
            dispatch::affine_single::<f32, A, IN, OUT>(&w, &b, &x, &mut z, &mut a, false);
            let mut expected_z = vec![0.0_f32; OUT];
            affine::<Separate, f32, IN, OUT>(&w, &b, &x, &mut expected_z);
            let mut expected_a = vec![0.0_f32; OUT];
            A::forward(OUT, &expected_z, &mut expected_a);
            for (got, want) in z.iter().zip(&expected_z).chain(a.iter().zip(&expected_a)) {
                assert!(
                    (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "{} {IN} -> {OUT}: {got} against {want}",
                    A::NAME
                );
            }
        }
        check::<Relu, 32, 10>();
        check::<Tanh, 10, 1>();
        check::<Relu, 3, 1>();
        check::<Tanh, 17, 1>();
        check::<Relu, 1, 8>();
        check::<Tanh, 5, 16>();
        check::<Relu, 7, 17>();
        check::<Tanh, 4, 33>();
        check::<Softmax, 6, 12>();
    }

    /// The batch kernels (vector code, row by row, on CPUs with AVX2 and FMA for widths that are
    /// not a multiple of 8) against the portable ones, over shapes with tails in every
    /// direction. The sums run in another order, so the match is to rounding.
    #[test]
    fn batch_kernels_match_the_portable_kernels() {
        use crate::kernels::portable::{Separate, affine, outer_sum, outer_update};

        fn check<const IN: usize, const OUT: usize>(samples: usize) {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN * samples).map(|k| (k as f32 * 0.73).cos()).collect();
            let d: Vec<f32> = (0..OUT * samples)
                .map(|k| (k as f32 * 0.29).sin())
                .collect();
            let close = |got: &[f32], want: &[f32]| {
                got.iter()
                    .zip(want)
                    .all(|(g, w)| (g - w).abs() <= 1e-5 * w.abs().max(1.0))
            };
            let mut z = vec![0.0_f32; OUT * samples];
            dispatch::affine::<f32, IN, OUT>(&w, &b, &x, &mut z);
            let mut expected = vec![0.0_f32; OUT * samples];
            affine::<Separate, f32, IN, OUT>(&w, &b, &x, &mut expected);
            assert!(close(&z, &expected), "affine {IN} -> {OUT} x {samples}");

            let mut gradient = vec![9.0_f32; IN * OUT];
            dispatch::outer_sum::<f32, IN, OUT>(&d, &x, &mut gradient);
            let mut expected = vec![0.0_f32; IN * OUT];
            outer_sum::<Separate, f32, IN, OUT>(&d, &x, &mut expected);
            assert!(
                close(&gradient, &expected),
                "gradient {IN} -> {OUT} x {samples}"
            );

            let mut updated = w.clone();
            dispatch::outer_update::<f32, IN, OUT>(-0.5, &d, &x, &mut updated);
            let mut expected = w.clone();
            outer_update::<Separate, f32, IN, OUT>(-0.5, &d, &x, &mut expected);
            assert!(
                close(&updated, &expected),
                "update {IN} -> {OUT} x {samples}"
            );
            assert_ne!(updated, w);
        }
        check::<32, 10>(32);
        check::<5, 3>(9);
        check::<17, 13>(8);
        check::<8, 20>(11);
        check::<3, 1>(16);
        check::<9, 30>(7);
        check::<4, 16>(12);
    }

    /// The single-sample update (vector code on CPUs with AVX2 and FMA) against the portable
    /// batch kernel for one sample, with the multiply-add the dispatch picks for this CPU: the
    /// same roundings, so the same bits.
    #[test]
    fn single_sample_update_matches_the_portable_kernel() {
        use crate::kernels::portable::{Fused, Separate, outer_update};

        fn check<const IN: usize, const OUT: usize>() {
            let w: Vec<f32> = (0..IN * OUT).map(|k| (k as f32 * 0.37).sin()).collect();
            let d: Vec<f32> = (0..OUT).map(|k| (k as f32 * 0.11).cos() - 0.5).collect();
            let x: Vec<f32> = (0..IN).map(|k| (k as f32 * 0.73).cos()).collect();
            let mut got = w.clone();
            dispatch::rank_one_single::<f32, IN, OUT>(-0.25, &d, &x, &mut got);
            let mut expected = w.clone();
            if dispatch::fused() {
                outer_update::<Fused, f32, IN, OUT>(-0.25, &d, &x, &mut expected);
            } else {
                outer_update::<Separate, f32, IN, OUT>(-0.25, &d, &x, &mut expected);
            }
            assert_eq!(got, expected, "{IN} -> {OUT}");
            assert_ne!(got, w);
        }
        check::<32, 10>();
        check::<3, 8>();
        check::<5, 13>();
        check::<2, 15>();
        check::<4, 20>();
        check::<1, 1>();
    }

    /// The magnitudes kernel against an integer maximum taken one by one: every length from 1
    /// to 41, with the largest number (or a NaN, an infinity, a negative, a subnormal) at every
    /// position, so that full vectors, the overlapping last one and the sign are all tested.
    #[test]
    fn magnitudes_kernel_finds_the_largest_anywhere() {
        let specials = [
            1e30_f32,
            -1e30,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for length in 1..=41 {
            let base: Vec<f32> = (0..length)
                .map(|k| (k as f32 * 0.37).sin() * 1e-3)
                .collect();
            for position in 0..length {
                for &special in &specials {
                    let mut values = base.clone();
                    values[position] = special;
                    let expected = values.iter().map(|v| v.to_bits() & 0x7fff_ffff).max();
                    let got = dispatch::with_fma_told(|vectors| {
                        let mut lanes = dispatch::Lanes::default();
                        dispatch::take_magnitudes(&values, &mut lanes, vectors)
                            .then(|| lanes.largest())
                    });
                    assert_eq!(got.is_some(), dispatch::fused(), "only with AVX2");
                    if let Some(got) = got {
                        assert_eq!(Some(got), expected, "{special} at {position} of {length}");
                    }
                }
            }
        }
    }
}
