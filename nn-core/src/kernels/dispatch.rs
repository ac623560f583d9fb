//! The kernels' safe entry points. The small kernels each run with fused multiply-add where the
//! CPU has it, and with AVX2 vector code for f32 where it pays; the CPU is asked once per call
//! (a cached flag), so one build runs fast on every x86-64 CPU without `-C target-cpu=native`.
//! The products of wide f32 layers go to register tiles with AVX-512, or with AVX2 and FMA on
//! CPUs without it.

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
use crate::kernels::portable::Fused;
use crate::kernels::portable::{self, Separate};
use crate::{Activation, Scalar};

/// What this CPU has, asked once and then read as one relaxed load of a cached answer (the
/// standard library's detection costs a few loads and tests per feature, which a single-sample
/// pass would pay at every kernel): 1 neither of the below, 2 AVX2 and FMA, 3 AVX-512F too.
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64")),
    expect(dead_code, reason = "only x86 has run-time dispatch")
)]
#[inline(always)]
fn features() -> u8 {
    #[cfg(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64")))]
    {
        use core::sync::atomic::{AtomicU8, Ordering};
        /// 0 until asked, then the answer.
        static FEATURES: AtomicU8 = AtomicU8::new(0);
        match FEATURES.load(Ordering::Relaxed) {
            0 => {
                let fused = std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("avx2");
                let wide = fused && std::arch::is_x86_feature_detected!("avx512f");
                let answer = 1 + u8::from(fused) + u8::from(wide);
                FEATURES.store(answer, Ordering::Relaxed);
                answer
            }
            answer => answer,
        }
    }
    // Without `std` there is no run-time detection: the portable kernels.
    #[cfg(not(all(feature = "std", any(target_arch = "x86", target_arch = "x86_64"))))]
    {
        1
    }
}

/// Whether this CPU has AVX2 and FMA.
#[cfg_attr(
    not(any(target_arch = "x86", target_arch = "x86_64")),
    expect(dead_code, reason = "only x86 has run-time dispatch")
)]
#[inline(always)]
pub(crate) fn fused() -> bool {
    features() >= 2
}

/// Whether this CPU has AVX-512F, as well as AVX2 and FMA.
#[cfg_attr(
    not(all(feature = "std", target_arch = "x86_64")),
    expect(dead_code, reason = "only x86-64 has AVX-512 kernels")
)]
#[inline(always)]
pub(super) fn wide() -> bool {
    features() == 3
}

macro_rules! dispatched {
    ($(#[$doc:meta])* $name:ident<$($const:ident),*>($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        #[inline(always)]
        pub(crate) fn $name<T: Scalar, $(const $const: usize),*>($($arg: $ty),*) {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            if fused() {
                // SAFETY: `fused()` has just checked that this CPU has the features the
                // function is compiled for.
                return unsafe { x86::$name::<T, $($const),*>($($arg),*) };
            }
            portable::$name::<Separate, T, $($const),*>($($arg),*)
        }
    };
}

/// `z = W x + b` for one sample, for networks' single-sample passes: with f32 on a CPU with
/// AVX2 and FMA, explicit vector code inlined into the caller (which runs inside
/// [`with_fma`], so the whole pass is one function with no call between layers); otherwise
/// [`affine`].
///
/// Writes the pre-activation to `z` and the activation `A` of it to `a`. In `inference` (a pass
/// that runs inside [`with_wide`]), layers of 2 to 15 units but 8 go to AVX-512 where the CPU
/// has it; training's passes, compiled for AVX2 and FMA only, would call that kernel out of
/// line.
#[inline(always)]
pub(crate) fn affine_single<T: Scalar, A: Activation, const IN: usize, const OUT: usize>(
    weights: &[T],
    bias: &[T],
    input: &[T],
    z: &mut [T],
    a: &mut [T],
    inference: bool,
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if inference
        && super::avx512::narrow_takes(OUT)
        && A::ELEMENTWISE
        && wide()
        && let (Some(weights), Some(bias), Some(input), Some(z), Some(a)) = (
            f32s(weights),
            f32s(bias),
            f32s(input),
            f32s_mut(z),
            f32s_mut(a),
        )
    {
        // SAFETY: `wide()` has just checked that this CPU has AVX-512F.
        unsafe { super::avx512::affine_narrow::<A, IN, OUT>(weights, bias, input, z, a) };
        return;
    }
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if (OUT == 1 || OUT >= 8)
        && A::ELEMENTWISE
        && fused()
        && let (Some(weights), Some(bias), Some(input), Some(z), Some(a)) = (
            f32s(weights),
            f32s(bias),
            f32s(input),
            f32s_mut(z),
            f32s_mut(a),
        )
    {
        // SAFETY: `fused()` has just checked that this CPU has AVX2 and FMA.
        unsafe { super::avx2::affine::<A, IN, OUT>(weights, bias, input, z, a) };
        return;
    }
    let _ = inference;
    affine::<T, IN, OUT>(weights, bias, input, z);
    A::forward(OUT, z, a);
}

/// `W += (alpha d) x^T` for one sample: [`outer_update`] for a batch of one, with f32 on a
/// CPU with AVX2 and FMA through vector code inlined into the caller (which runs inside
/// [`with_fma`]).
#[inline(always)]
pub(crate) fn rank_one_single<T: Scalar, const IN: usize, const OUT: usize>(
    alpha: T,
    delta: &[T],
    input: &[T],
    weights: &mut [T],
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if OUT >= 8
        && fused()
        && let (Some(d), Some(x), Some(w)) = (f32s(delta), f32s(input), f32s_mut(weights))
    {
        // SAFETY: `fused()` has just checked that this CPU has AVX2 and FMA.
        unsafe { super::avx2::rank_one::<IN, OUT>(bytemuck::cast(alpha), d, x, w) };
        return;
    }
    // The portable kernel straight, not through `outer_update`'s out-of-line AVX2 function: a
    // single-sample step runs inside `with_fma`, where this inlines and compiles to FMA (for
    // the narrow layers that take this path, the code is small).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if fused() {
        portable::outer_update::<Fused, T, IN, OUT>(alpha, delta, input, weights);
        return;
    }
    portable::outer_update::<Separate, T, IN, OUT>(alpha, delta, input, weights);
}

/// Runs `work` compiled for AVX2 and FMA when this CPU has them, so that the kernels it calls
/// are inlined into one function instead of each being called through its own check.
#[inline(always)]
pub fn with_fma<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if fused() {
        // SAFETY: `fused()` has just checked that this CPU has the features `run` is
        // compiled for.
        return unsafe { x86::run(work) };
    }
    work()
}

/// As [`with_fma`], telling `work` which copy runs: [`Vectors`] that allow the AVX2 kernels
/// inside the copy compiled for AVX2 and FMA, and none in the portable one. Inlined, the answer
/// is a constant in each copy, so a kernel chosen by it costs no test at run time.
#[cfg(feature = "std")]
#[inline(always)]
pub(crate) fn with_fma_told<R>(work: impl FnOnce(Vectors) -> R) -> R {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    if fused() {
        // SAFETY: `fused()` has just checked that this CPU has the features `run` is
        // compiled for.
        return unsafe {
            x86::run(
                #[inline(always)]
                || work(Vectors { avx2: true }),
            )
        };
    }
    work(Vectors::default())
}

/// Whether the running code may use the AVX2 kernels: only [`with_fma_told`] hands out one that
/// does, after it has checked the CPU, so a kernel it lets run is known to be safe. The default
/// allows none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vectors {
    avx2: bool,
}

/// Eight running maxima of f32 magnitudes (as bits without the sign), one per vector lane, for
/// [`take_magnitudes`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Lanes([u32; 8]);

impl Lanes {
    /// The largest of the eight.
    #[inline(always)]
    pub(crate) fn largest(&self) -> u32 {
        self.0.iter().fold(0, |largest, &lane| largest.max(lane))
    }
}

/// Takes the magnitudes of `values` into `lanes` with the AVX2 kernel, when `vectors` allows it
/// and `values` are f32s; otherwise leaves `lanes` as they are and returns false, for the caller
/// to take them one by one.
#[inline(always)]
pub(crate) fn take_magnitudes<T: Scalar>(
    values: &[T],
    lanes: &mut Lanes,
    vectors: Vectors,
) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if vectors.avx2
        && let Some(values) = f32s(values)
    {
        // SAFETY: `vectors` allows AVX2 only where `with_fma_told` has checked the CPU.
        unsafe { super::avx2::take_magnitudes(values, &mut lanes.0) };
        return true;
    }
    let _ = (values, lanes, vectors.avx2);
    false
}

/// The largest f32 magnitude below `limit`'s (0 if there is none, or if `T` is not f32): what
/// [`lanes_below`] compares with.
#[inline]
pub(crate) fn largest_lane_below<T: Scalar>(limit: T) -> u32 {
    match bytemuck::cast_slice::<T, f32>(core::slice::from_ref(&limit)) {
        [limit] if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() => {
            limit.magnitude().saturating_sub(1)
        }
        _ => 0,
    }
}

/// Whether every magnitude in `lanes` is below `limit`'s, given `below`, the largest f32
/// magnitude below it ([`largest_lane_below`]). A `limit` of 0, below which nothing is, is for
/// the caller to refuse.
#[inline(always)]
pub(crate) fn lanes_below<T: Scalar>(
    lanes: &Lanes,
    limit: T,
    below: u32,
    vectors: Vectors,
) -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if vectors.avx2 && core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        // SAFETY: `vectors` allows AVX2 only where `with_fma_told` has checked the CPU.
        return unsafe { super::avx2::all_at_most(&lanes.0, below) };
    }
    let _ = (vectors.avx2, below);
    T::Magnitude::from(lanes.largest()) < limit.magnitude()
}

/// Runs `work` compiled for AVX-512F (with AVX2 and FMA) when this CPU has it, so that the
/// AVX-512 single-sample kernels inline into it; otherwise as [`with_fma`] does.
#[inline(always)]
pub(crate) fn with_wide<R>(work: impl FnOnce() -> R) -> R {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if wide() {
        // SAFETY: `wide()` has just checked that this CPU has the features `run_wide` is
        // compiled for.
        return unsafe { x86::run_wide(work) };
    }
    with_fma(work)
}

dispatched!(
    /// [`portable::affine`].
    affine<IN, OUT>(weights: &[T], bias: &[T], inputs: &[T], outputs: &mut [T])
);
dispatched!(
    /// [`portable::outer_sum`].
    outer_sum<IN, OUT>(delta: &[T], inputs: &[T], weights_gradient: &mut [T])
);
dispatched!(
    /// [`portable::outer_update`].
    outer_update<IN, OUT>(alpha: T, delta: &[T], inputs: &[T], weights: &mut [T])
);
dispatched!(
    /// [`portable::transposed_product`].
    transposed_product<IN, OUT>(weights: &[T], delta: &[T], input_gradient: &mut [T])
);
dispatched!(
    /// [`portable::gemm_add`].
    gemm_add<>(shape: portable::RowProduct, a: &[T], b: &[T], c: &mut [T])
);
#[cfg(feature = "std")]
dispatched!(
    /// [`portable::axpy`].
    axpy<>(alpha: T, x: &[T], y: &mut [T])
);

/// The rows of a register tile of the AVX-512 products (four of the AVX2 tiles, 16 rows each,
/// fit in one), the least a [`Team`](super::team::Team) shares out: a layer splits its products
/// among threads only above one tile.
pub(crate) const ROW_TILE: usize = 64;

/// The least rows the wide products take: with fewer, most of a vector's lanes would be
/// wasted (the last vector of rows is masked).
#[cfg(feature = "std")]
const WIDE_ROWS: usize = 8;

/// `z[:, j] = W x[:, j] + b` for a batch, with `W` a `rows x depth` column-major matrix: through
/// register tiles when `T` is f32, `rows` is at least [`WIDE_ROWS`] and the CPU has AVX-512F
/// or AVX2 and FMA (both sum each element in the same order, so they give the same bits).
/// Returns whether it ran; when it did not, the caller goes to matrixmultiply.
#[cfg(feature = "std")]
pub(crate) fn wide_affine<T: Scalar>(
    weights: &[T],
    bias: &[T],
    inputs: &[T],
    outputs: &mut [T],
    (rows, depth, batch): (usize, usize, usize),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if rows >= WIDE_ROWS
        && fused()
        && let (Some(w), Some(b), Some(x), Some(z)) =
            (f32s(weights), f32s(bias), f32s(inputs), f32s_mut(outputs))
    {
        // SAFETY: `wide()` has just checked that this CPU has AVX-512F, or `fused()` that it
        // has AVX2 and FMA.
        unsafe {
            if wide() {
                super::avx512::affine(w, b, x, z, (rows, depth, batch));
            } else {
                super::avx2_tiles::affine(w, b, x, z, (rows, depth, batch));
            }
        }
        return true;
    }
    let _ = (weights, bias, inputs, outputs, rows, depth, batch);
    false
}

/// `W = alpha * sum_j delta[:, j] x[:, j]^T + (W if accumulate, else 0)`, with `W` a
/// `rows x depth` column-major matrix: the weight gradient (`alpha = 1`, not accumulating) or
/// plain SGD's update (`alpha = -learning_rate`, accumulating). Through the tiles under the same
/// conditions as [`wide_affine`]; returns whether it ran.
#[cfg(feature = "std")]
pub(crate) fn wide_outer<T: Scalar>(
    alpha: T,
    delta: &[T],
    inputs: &[T],
    weights: &mut [T],
    accumulate: bool,
    (rows, depth, batch): (usize, usize, usize),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if rows >= WIDE_ROWS
        && fused()
        && let (Some(d), Some(x), Some(w)) = (f32s(delta), f32s(inputs), f32s_mut(weights))
    {
        let alpha: f32 = bytemuck::cast(alpha);
        let shape = (rows, depth, batch);
        // SAFETY: `wide()` has just checked that this CPU has AVX-512F, or `fused()` that it
        // has AVX2 and FMA.
        unsafe {
            if wide() {
                super::avx512::outer(alpha, d, x, w, accumulate, shape);
            } else {
                super::avx2_tiles::outer(alpha, d, x, w, accumulate, shape);
            }
        }
        return true;
    }
    let _ = (
        alpha, delta, inputs, weights, accumulate, rows, depth, batch,
    );
    false
}

/// Plain SGD's update of the columns `first..first + weights.len() / rows` of a `rows x depth`
/// column-major matrix (`weights` holds just them) from a batch held in `count` shares:
/// `share(s)` gives share `s`'s deltas and inputs, whose samples are summed in share order, as
/// [`wide_outer`] sums one batch's. Under the same conditions as [`wide_outer`]; returns whether
/// it ran.
#[cfg(feature = "std")]
pub(crate) fn wide_outer_shares<'a, T: Scalar>(
    alpha: T,
    count: usize,
    share: &(dyn Fn(usize) -> (&'a [T], &'a [T]) + Sync),
    weights: &mut [T],
    first: usize,
    (rows, depth): (usize, usize),
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if rows % 16 == 0
        && fused()
        && let Some(w) = f32s_mut(weights)
    {
        let alpha: f32 = bytemuck::cast(alpha);
        // `T` is f32: `weights` was just seen to be.
        let operands = |index: usize| {
            let (d, x) = share(index);
            (
                bytemuck::cast_slice::<T, f32>(d),
                bytemuck::cast_slice::<T, f32>(x),
            )
        };
        let shape = (rows, depth);
        // SAFETY: `wide()` has just checked that this CPU has AVX-512F, or `fused()` that it
        // has AVX2 and FMA.
        unsafe {
            if wide() {
                super::avx512::outer_shares(alpha, count, &operands, w, first, shape);
            } else {
                super::avx2_tiles::outer_shares(alpha, count, &operands, w, first, shape);
            }
        }
        return true;
    }
    let _ = (alpha, count, share, weights, first, rows, depth);
    false
}

/// Whether the wide products in `T` run on register tiles here, whose rows a
/// [`Team`](super::team::Team) shares out.
#[cfg(feature = "std")]
pub(crate) fn rows_shared<T: Scalar>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        fused() && core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
pub(crate) use super::avx512_cells::{GruCell, LstmCell};

/// One f32 LSTM step in one kernel, with AVX-512 or else with AVX2 and FMA, when the CPU has
/// either and the cell fits the kernel; returns whether it ran (if not, the layer runs its
/// portable step).
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn lstm_cell_step<const IN: usize, const H: usize>(
    cell: LstmCell<'_>,
    x: &[f32],
    h: &mut [f32],
    c: &mut [f32],
) -> bool {
    super::avx512_cells::lstm_step::<IN, H>(cell, x, h, c)
        || super::avx2_cells::lstm_step::<IN, H>(cell, x, h, c)
}

/// One f32 GRU step in one kernel: as [`lstm_cell_step`].
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn gru_cell_step<const IN: usize, const H: usize>(
    cell: GruCell<'_>,
    x: &[f32],
    h: &mut [f32],
) -> bool {
    super::avx512_cells::gru_step::<IN, H>(cell, x, h)
        || super::avx2_cells::gru_step::<IN, H>(cell, x, h)
}

/// `values` as f32, when `T` is f32.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
fn f32s<T: Scalar>(values: &[T]) -> Option<&[f32]> {
    (core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>())
        .then(|| bytemuck::cast_slice(values))
}

/// `values` as f32, when `T` is f32.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[inline(always)]
fn f32s_mut<T: Scalar>(values: &mut [T]) -> Option<&mut [f32]> {
    if core::any::TypeId::of::<T>() == core::any::TypeId::of::<f32>() {
        Some(bytemuck::cast_slice_mut(values))
    } else {
        None
    }
}

/// The kernels compiled for AVX2 and FMA.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86 {
    use crate::Scalar;
    use crate::kernels::portable::{self, Fused};

    macro_rules! fused {
        ($name:ident<$($const:ident),*>($($arg:ident: $ty:ty),*)) => {
            #[target_feature(enable = "avx2,fma")]
            #[inline]
            pub(super) fn $name<T: Scalar, $(const $const: usize),*>($($arg: $ty),*) {
                portable::$name::<Fused, T, $($const),*>($($arg),*)
            }
        };
    }

    /// `work()`, compiled for AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn run<R>(work: impl FnOnce() -> R) -> R {
        work()
    }

    /// `work()`, compiled for AVX-512F, AVX2 and FMA.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    pub(super) fn run_wide<R>(work: impl FnOnce() -> R) -> R {
        work()
    }

    /// [`portable::outer_sum`], or for f32 batches of awkward widths the vector batch kernel
    /// adding to zeros.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn outer_sum<T: Scalar, const IN: usize, const OUT: usize>(
        delta: &[T],
        inputs: &[T],
        weights_gradient: &mut [T],
    ) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if crate::kernels::avx2::batch_kernels_take(IN, OUT, inputs.len() / IN.max(1))
            && let (Some(d), Some(x), Some(g)) = (
                super::f32s(delta),
                super::f32s(inputs),
                super::f32s_mut(weights_gradient),
            )
        {
            let g = &mut g[..OUT * IN];
            g.fill(0.0);
            // SAFETY: this function runs only on CPUs with AVX2 and FMA.
            unsafe { crate::kernels::avx2::outer_update_batch::<IN, OUT>(1.0, d, x, g) };
            return;
        }
        portable::outer_sum::<Fused, T, IN, OUT>(delta, inputs, weights_gradient);
    }

    /// [`portable::affine`], or for f32 batches of awkward widths the vector batch kernel.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn affine<T: Scalar, const IN: usize, const OUT: usize>(
        weights: &[T],
        bias: &[T],
        inputs: &[T],
        outputs: &mut [T],
    ) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if crate::kernels::avx2::batch_kernels_take(IN, OUT, inputs.len() / IN.max(1))
            && let (Some(w), Some(b), Some(x), Some(z)) = (
                super::f32s(weights),
                super::f32s(bias),
                super::f32s(inputs),
                super::f32s_mut(outputs),
            )
        {
            // SAFETY: this function runs only on CPUs with AVX2 and FMA.
            unsafe { crate::kernels::avx2::affine_batch::<IN, OUT>(w, b, x, z) };
            return;
        }
        portable::affine::<Fused, T, IN, OUT>(weights, bias, inputs, outputs);
    }

    /// [`portable::outer_update`], or for f32 batches of awkward widths the vector batch
    /// kernel.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn outer_update<T: Scalar, const IN: usize, const OUT: usize>(
        alpha: T,
        delta: &[T],
        inputs: &[T],
        weights: &mut [T],
    ) {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if crate::kernels::avx2::batch_kernels_take(IN, OUT, inputs.len() / IN.max(1))
            && let (Some(d), Some(x), Some(w)) = (
                super::f32s(delta),
                super::f32s(inputs),
                super::f32s_mut(weights),
            )
        {
            let alpha: f32 = bytemuck::cast(alpha);
            // SAFETY: this function runs only on CPUs with AVX2 and FMA.
            unsafe { crate::kernels::avx2::outer_update_batch::<IN, OUT>(alpha, d, x, w) };
            return;
        }
        portable::outer_update::<Fused, T, IN, OUT>(alpha, delta, inputs, weights);
    }
    fused!(transposed_product<IN, OUT>(weights: &[T], delta: &[T], input_gradient: &mut [T]));
    fused!(gemm_add<>(shape: portable::RowProduct, a: &[T], b: &[T], c: &mut [T]));
    #[cfg(feature = "std")]
    fused!(axpy<>(alpha: T, x: &[T], y: &mut [T]));
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::kernels::dispatch;

    #[test]
    fn dispatched_kernels_agree_with_the_definition() {
        // Two samples through a 3 -> 2 affine map, then the update y += 0.5 x.
        let w = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [[1, 3, 5], [2, 4, 6]]
        let b = [0.5_f32, -0.5];
        let x = [1.0_f32, 0.0, -1.0, 2.0, 1.0, 0.0];
        let mut z = [0.0_f32; 4];
        dispatch::affine::<f32, 3, 2>(&w, &b, &x, &mut z);
        assert_eq!(
            z,
            [
                0.5 + 1.0 - 5.0,
                -0.5 + 2.0 - 6.0,
                0.5 + 2.0 + 3.0,
                -0.5 + 4.0 + 4.0
            ]
        );
        let mut y = [1.0_f32; 4];
        dispatch::axpy(0.5, &z, &mut y);
        assert_eq!(y, [1.0 - 1.75, 1.0 - 2.25, 1.0 + 2.75, 1.0 + 3.75]);
    }

    /// The wide products (the register tiles), whichever this CPU runs.
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    pub(crate) mod wide {
        use crate::kernels::dispatch::{wide_affine, wide_outer};

        /// Weights, bias, inputs and deltas of a wide product of `rows x depth` over `batch`
        /// samples, from simple sequences.
        pub(crate) fn operands(rows: usize, depth: usize, batch: usize) -> [Vec<f32>; 4] {
            let values = |len: usize, scale: f32, f: fn(f32) -> f32| {
                (0..len).map(|k| f(k as f32 * scale)).collect::<Vec<_>>()
            };
            [
                values(rows * depth, 0.37, f32::sin),
                values(rows, 0.11, f32::cos),
                values(depth * batch, 0.73, f32::cos),
                values(rows * batch, 0.29, f32::sin),
            ]
        }

        /// Whether this CPU runs the wide products (the tiles of AVX-512, or of AVX2 and FMA).
        fn tiles() -> bool {
            cfg!(target_arch = "x86_64")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }

        /// The wide products this CPU runs against the definition (in f64), over shapes with full
        /// and edge tiles in both directions. On a CPU without AVX2 and FMA they decline, and the
        /// test checks that they said so. Under miri (where the AVX2 tiles run when `.ci/run` turns
        /// the features on) only the small shapes, which still cover every kind of tile.
        #[test]
        fn wide_products_match_the_definition() {
            let available = tiles();
            for (rows, depth, batch) in [
                (16, 1, 1),
                (32, 5, 7),
                (48, 13, 6),
                (80, 3, 13),
                (128, 9, 64),
                // A last vector of rows cut short: alone, after a full one, and after a full tile.
                (8, 3, 5),
                (10, 128, 64),
                (26, 7, 13),
                (90, 11, 7),
            ] {
                if cfg!(miri) && rows * depth * batch > 2000 {
                    continue;
                }
                let [w, b, x, d] = operands(rows, depth, batch);
                let close = |got: f32, want: f64| {
                    (f64::from(got) - want).abs() <= 1e-5 * want.abs().max(1.0)
                };

                let mut z = vec![0.0_f32; rows * batch];
                assert_eq!(
                    wide_affine(&w, &b, &x, &mut z, (rows, depth, batch)),
                    available
                );
                if available {
                    for j in 0..batch {
                        for o in 0..rows {
                            let want = f64::from(b[o])
                                + (0..depth)
                                    .map(|i| {
                                        f64::from(w[i * rows + o]) * f64::from(x[j * depth + i])
                                    })
                                    .sum::<f64>();
                            assert!(close(z[j * rows + o], want), "{rows}x{depth}x{batch} z");
                        }
                    }
                }
                for accumulate in [false, true] {
                    let mut updated = w.clone();
                    let ran =
                        wide_outer(-0.5, &d, &x, &mut updated, accumulate, (rows, depth, batch));
                    assert_eq!(ran, available);
                    if !available {
                        continue;
                    }
                    for i in 0..depth {
                        for o in 0..rows {
                            let sum: f64 = (0..batch)
                                .map(|j| f64::from(d[j * rows + o]) * f64::from(x[j * depth + i]))
                                .sum();
                            let start = if accumulate {
                                f64::from(w[i * rows + o])
                            } else {
                                0.0
                            };
                            let want = start - 0.5 * sum;
                            assert!(
                                close(updated[i * rows + o], want),
                                "{rows}x{depth}x{batch} w"
                            );
                        }
                    }
                }
            }
            // Fewer than 8 rows, and f64, are declined.
            let mut z = [0.0_f32; 7];
            assert!(!wide_affine(
                &[0.0; 7],
                &[0.0; 7],
                &[0.0],
                &mut z,
                (7, 1, 1)
            ));
            let mut z = [0.0_f64; 16];
            assert!(!wide_affine(
                &[0.0; 16],
                &[0.0; 16],
                &[0.0],
                &mut z,
                (16, 1, 1)
            ));
        }

        /// The wide products shared out by rows over a team of two and of three give the bits of one
        /// thread, for rows in two tiles (128), in a full and an edge tile (80), in three tiles over
        /// two members (192), and in a full tile and one whose last vector is cut short (90).
        #[test]
        fn products_shared_by_rows_give_the_bits_of_one_thread() {
            use crate::kernels::team::{SPLIT_WORK, Team};
            if cfg!(miri) || !tiles() {
                return;
            }
            for (rows, depth, batch) in [(128, 784, 8), (80, 301, 13), (192, 97, 31), (90, 400, 9)]
            {
                assert!(rows * depth * batch >= SPLIT_WORK, "{rows}x{depth}x{batch}");
                let [w, b, x, d] = operands(rows, depth, batch);
                let products = || {
                    let mut z = vec![f32::NAN; rows * batch];
                    assert!(wide_affine(&w, &b, &x, &mut z, (rows, depth, batch)));
                    let mut updated = w.clone();
                    assert!(wide_outer(
                        -0.5,
                        &d,
                        &x,
                        &mut updated,
                        true,
                        (rows, depth, batch)
                    ));
                    let mut gradient = vec![f32::NAN; rows * depth];
                    assert!(wide_outer(
                        1.0,
                        &d,
                        &x,
                        &mut gradient,
                        false,
                        (rows, depth, batch)
                    ));
                    (z, updated, gradient)
                };
                let alone = products();
                assert!(alone.0.iter().chain(&alone.2).all(|v| v.is_finite()));
                for members in [2, 3] {
                    let mut team = Team::new(members).expect("threads");
                    let shared = team.install(products);
                    let bits =
                        |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&shared.0), bits(&alone.0), "{rows}x{depth}x{batch} z");
                    assert_eq!(bits(&shared.1), bits(&alone.1), "{rows}x{depth}x{batch} w");
                    assert_eq!(bits(&shared.2), bits(&alone.2), "{rows}x{depth}x{batch} dW");
                }
            }
        }
    }
}
