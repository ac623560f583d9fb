//! Keeping parameters finite: a training step is applied only when it cannot make a parameter
//! NaN or infinite.
//!
//! Plain SGD's fused passes check, before any layer is changed, that every layer's update
//! `w <- w - lr * delta x^T` stays below [`Scalar::SAFE_STEP`]: when every delta and every
//! layer input of a batch of `n` is below `c` in magnitude, each change to a weight is below
//! `lr * n * c^2` and each change to a bias below `lr * n * c`. The check is a running maximum
//! over the deltas and inputs, which costs far less than the update itself. A step that cannot
//! be shown safe this way goes through the checked path in [`crate::Trainer`], which keeps a
//! copy of the parameters while it applies the step.

#[cfg(feature = "std")]
use crate::Parameters;
use crate::Scalar;
use crate::kernels::dispatch::{self, Lanes, Vectors};

/// The bound on a plain-SGD step's deltas and layer inputs under which its update cannot
/// overflow, for one learning rate and batch size.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLimits<T: Scalar> {
    limit: T,
    /// `limit`'s magnitude, and the largest f32 magnitude below it (for the lanes of
    /// [`Largest`]), worked out once rather than at each step.
    magnitude: T::Magnitude,
    below: u32,
    vectors: Vectors,
}

impl<T: Scalar> StepLimits<T> {
    /// The bound for steps at `learning_rate` over `batch` samples: `sqrt(SAFE_STEP / (lr n))`,
    /// which keeps both `lr n c^2` and `lr n c` at most `SAFE_STEP` as long as `lr n` is; above
    /// that (a learning rate near `T`'s largest numbers) the bound is 0 and no step is admitted.
    #[must_use]
    pub fn new(learning_rate: T, batch: usize) -> Self {
        let scale = learning_rate.abs() * T::cast_from(batch as f64);
        let limit = if scale <= T::SAFE_STEP {
            (T::SAFE_STEP / scale).sqrt()
        } else {
            T::zero()
        };
        Self {
            limit,
            magnitude: limit.magnitude(),
            below: dispatch::largest_lane_below(limit),
            vectors: Vectors::default(),
        }
    }

    /// These limits, read with the vector kernels that `vectors` allows.
    #[cfg(feature = "std")]
    #[inline(always)]
    #[must_use]
    pub(crate) fn with_vectors(self, vectors: Vectors) -> Self {
        Self { vectors, ..self }
    }

    /// An empty record of the magnitudes a step is made of.
    #[inline(always)]
    #[must_use]
    pub fn start(&self) -> Largest<T> {
        Largest {
            magnitude: T::Magnitude::default(),
            lanes: Lanes::default(),
            vectors: self.vectors,
        }
    }

    /// Whether an update made of the values `largest` has seen is known to stay finite.
    #[inline(always)]
    #[must_use]
    pub fn admit(&self, largest: &Largest<T>) -> bool {
        largest.magnitude < self.magnitude
            && dispatch::lanes_below(&largest.lanes, self.limit, self.below, self.vectors)
    }
}

/// The largest magnitude among the deltas and inputs of a step.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Largest<T: Scalar> {
    magnitude: T::Magnitude,
    /// Where the vector kernel keeps the magnitudes of the f32 slices it has taken, one maximum
    /// per lane, compared with the limit lane by lane in [`StepLimits::admit`].
    lanes: Lanes,
    vectors: Vectors,
}

impl<T: Scalar> Largest<T> {
    /// Takes in `values`.
    #[inline(always)]
    pub fn include(&mut self, values: &[T]) {
        if !dispatch::take_magnitudes(values, &mut self.lanes, self.vectors) {
            self.magnitude = self.magnitude.max(T::largest_magnitude(values));
        }
    }

    /// Takes in `values`, and their largest magnitude times `factor`: for an update that adds
    /// up `factor` products per parameter (a convolution's positions, say), where the limits
    /// count only the batch.
    #[inline(always)]
    pub fn include_scaled(&mut self, values: &[T], factor: T) {
        // One integer maximum over the values (a NaN among them is above every limit, and
        // stays NaN once scaled).
        let biggest = T::largest_magnitude(values);
        self.magnitude = self.magnitude.max(biggest);
        self.include(&[T::from_magnitude(biggest) * factor]);
    }
}

/// Where a parameter is not finite: the tensor, the element in it and its value.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct NonFinite {
    pub tensor: usize,
    pub element: usize,
    pub value: f64,
}

#[cfg(feature = "std")]
impl NonFinite {
    /// The error for a training step refused because of this number, found in a `P`'s
    /// tensor (the network's, or its gradients').
    pub(crate) fn error<T: Scalar, P: Parameters<T>>(
        self,
        epoch: usize,
        step: usize,
        cause: crate::NonFiniteCause,
    ) -> crate::TrainError {
        let tensor = P::tensor_info(self.tensor).map_or_else(
            || format!("tensor {}", self.tensor),
            |info| info.full_name(),
        );
        crate::TrainError::NonFiniteParameter {
            epoch,
            step,
            tensor,
            element: self.element,
            cause,
            value: self.value,
            history: Box::default(),
        }
    }
}

/// The first non-finite number in `parameters`, tensor by tensor.
#[cfg(feature = "std")]
pub(crate) fn first_non_finite<T: Scalar, P: Parameters<T>>(parameters: &P) -> Option<NonFinite> {
    (0..P::TENSORS).find_map(|tensor| {
        let values = parameters.tensor(tensor);
        if values.iter().fold(true, |ok, value| ok & value.is_finite()) {
            return None;
        }
        let element = values.iter().position(|value| !value.is_finite())?;
        Some(NonFinite {
            tensor,
            element,
            value: values[element].as_f64(),
        })
    })
}

/// Copies every tensor and buffer of `parameters` into `copy`, which is reused from step to
/// step: a refused step leaves the running statistics as they were too.
#[cfg(feature = "std")]
pub(crate) fn save<T: Scalar, P: Parameters<T>>(parameters: &P, copy: &mut Vec<T>) {
    copy.clear();
    for tensor in 0..P::TENSORS {
        copy.extend_from_slice(parameters.tensor(tensor));
    }
    for buffer in 0..P::BUFFERS {
        copy.extend_from_slice(parameters.buffer(buffer));
    }
}

/// Puts back what [`save`] copied.
#[cfg(feature = "std")]
pub(crate) fn restore<T: Scalar, P: Parameters<T>>(parameters: &mut P, copy: &[T]) {
    let mut rest = copy;
    for tensor in 0..P::TENSORS {
        let values = parameters.tensor_mut(tensor);
        let (head, tail) = rest.split_at(values.len());
        values.copy_from_slice(head);
        rest = tail;
    }
    for buffer in 0..P::BUFFERS {
        let values = parameters.buffer_mut(buffer);
        let (head, tail) = rest.split_at(values.len());
        values.copy_from_slice(head);
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `limits` admit `values`, asked both one by one and, on a CPU with AVX2, with
    /// the vector kernel, which must agree.
    fn admits(limits: &StepLimits<f32>, values: &[f32]) -> bool {
        let ask = |limits: StepLimits<f32>| {
            let mut largest = limits.start();
            largest.include(values);
            limits.admit(&largest)
        };
        let one_by_one = ask(*limits);
        let vectors = dispatch::with_fma_told(|vectors| ask(limits.with_vectors(vectors)));
        assert_eq!(vectors, one_by_one, "{values:?} against {limits:?}");
        one_by_one
    }

    /// The vector kernel and the one-by-one maximum agree on every side of the limit, in
    /// slices of every length up to 20 (full vectors, pieces of 4, 2 and 1), wherever the
    /// deciding value sits.
    #[test]
    fn vectors_and_one_by_one_agree_at_the_limit() {
        let limits = StepLimits::<f32>::new(0.25, 4);
        let limit = limits.limit;
        let just_below = f32::from_bits(limit.to_bits() - 1);
        for length in 1..=20 {
            for position in 0..length {
                for (value, admitted) in [
                    (just_below, true),
                    (-just_below, true),
                    (limit, false),
                    (-limit, false),
                    (f32::NAN, false),
                    (f32::INFINITY, false),
                ] {
                    let mut values = vec![0.5_f32; length];
                    values[position] = value;
                    assert_eq!(
                        admits(&limits, &values),
                        admitted,
                        "{value} at {position} of {length}"
                    );
                }
            }
        }
        // A learning rate past the safe step refuses even a step of zeros, either way.
        assert!(!admits(&StepLimits::new(f32::MAX, 1), &[0.0; 9]));
    }

    #[test]
    fn the_bound_keeps_the_largest_change_below_the_safe_step() {
        // lr n = 2^-2 * 2^2 = 1: the bound is sqrt(2^102) = 2^51.
        let limits = StepLimits::<f32>::new(0.25, 4);
        assert_eq!(limits.limit, 2f32.powi(51));
        let just_below = f32::from_bits(2f32.powi(51).to_bits() - 1);
        // Every position of short and long slices is looked at.
        for len in [1, 7, 8, 9, 17] {
            for at in 0..len {
                let mut values = vec![-1.0; len];
                values[at] = just_below;
                assert!(admits(&limits, &values), "{len} {at}");
                values[at] = -2f32.powi(51);
                assert!(!admits(&limits, &values), "{len} {at}");
                values[at] = f32::NAN;
                assert!(!admits(&limits, &values), "{len} {at}");
                values[at] = f32::NEG_INFINITY;
                assert!(!admits(&limits, &values), "{len} {at}");
            }
        }
        assert!(admits(&limits, &[]));
    }

    #[test]
    fn a_learning_rate_past_the_safe_step_admits_nothing() {
        let limits = StepLimits::<f32>::new(2f32.powi(100), 8);
        assert_eq!(limits.limit, 0.0);
        assert!(!admits(&limits, &[0.0]));
        assert!(!admits(&StepLimits::new(f32::MAX, 4), &[1e-30]));
        // At lr n = SAFE_STEP exactly the bound is 1: a change of at most SAFE_STEP.
        assert_eq!(StepLimits::<f32>::new(2f32.powi(100), 4).limit, 1.0);
    }

    /// One tensor and one buffer.
    #[derive(Debug, PartialEq, bytemuck::Zeroable)]
    struct Statistics {
        weight: [f32; 2],
        running_mean: [f32; 3],
    }

    impl Parameters<f32> for Statistics {
        const TENSORS: usize = 1;
        const PARAMETERS: usize = 2;
        const BUFFERS: usize = 1;

        fn zeros() -> Self {
            Self {
                weight: [0.0; 2],
                running_mean: [0.0; 3],
            }
        }

        fn tensor(&self, index: usize) -> &[f32] {
            if index == 0 { &self.weight } else { &[] }
        }

        fn tensor_mut(&mut self, index: usize) -> &mut [f32] {
            if index == 0 {
                &mut self.weight
            } else {
                &mut []
            }
        }

        fn tensor_info(_index: usize) -> Option<crate::TensorInfo> {
            None
        }

        fn buffer(&self, index: usize) -> &[f32] {
            if index == 0 { &self.running_mean } else { &[] }
        }

        fn buffer_mut(&mut self, index: usize) -> &mut [f32] {
            if index == 0 {
                &mut self.running_mean
            } else {
                &mut []
            }
        }
    }

    #[test]
    fn restore_puts_back_the_buffers_too() {
        let before = Statistics {
            weight: [1.0, 2.0],
            running_mean: [3.0, 4.0, 5.0],
        };
        let mut copy = Vec::new();
        save(&before, &mut copy);
        assert_eq!(copy, [1.0, 2.0, 3.0, 4.0, 5.0]);
        let mut after = Statistics {
            weight: [f32::NAN, 0.0],
            running_mean: [9.0, 9.0, 9.0],
        };
        restore(&mut after, &copy);
        assert_eq!(after, before);
    }

    #[test]
    fn f64_values_are_all_seen() {
        let limits = StepLimits::<f64>::new(1.0, 1);
        let mut largest = limits.start();
        largest.include(&[1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN]);
        assert!(!limits.admit(&largest));
        let mut largest = limits.start();
        // The bound is sqrt(2^969), about 7e145.
        largest.include(&[1e145, -1e145, 3.0]);
        assert!(limits.admit(&largest));
    }

    #[test]
    fn a_scaled_include_takes_the_largest_magnitude_times_its_factor() {
        // The bound is 2^51 (as above): 2^48 passes alone, and 2^48 * 8 = 2^51 does not.
        let limits = StepLimits::<f32>::new(0.25, 4);
        let values = [1.0, -2f32.powi(48), 3.0];
        let mut largest = limits.start();
        largest.include_scaled(&values, 4.0);
        assert!(limits.admit(&largest));
        let mut largest = limits.start();
        largest.include_scaled(&values, 8.0);
        assert!(!limits.admit(&largest));
        for bad in [f32::NAN, f32::INFINITY] {
            let mut largest = limits.start();
            largest.include_scaled(&[1.0, bad], 1.0);
            assert!(!limits.admit(&largest), "{bad}");
        }
        let mut largest = limits.start();
        largest.include_scaled(&[], 8.0);
        assert!(limits.admit(&largest));
    }

    #[test]
    fn the_safe_step_added_to_the_largest_number_stays_finite() {
        assert_eq!(f32::SAFE_STEP, 2f32.powi(102));
        assert_eq!(f64::SAFE_STEP, 2f64.powi(969));
        // Up to just under twice the bound is still safe: the margin covers rounding.
        assert!((f32::MAX + 1.9 * f32::SAFE_STEP).is_finite());
        assert!((f64::MAX + 1.9 * f64::SAFE_STEP).is_finite());
        assert!(!(f32::MAX + 2.0 * f32::SAFE_STEP).is_finite());
        assert!(!(f64::MAX + 2.0 * f64::SAFE_STEP).is_finite());
    }
}
