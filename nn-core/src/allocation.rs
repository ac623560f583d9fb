//! Networks on the heap: the size above which one is not built on the stack, and the typed
//! error of an allocation that cannot be satisfied.

use core::fmt;

/// The biggest network, in bytes, whose by-value constructors (`new`, `with_init`, `zeros`,
/// `clone`) compile: 1 MiB, half the stack of a spawned thread. Above it the build fails with a
/// message that names the `*_boxed` constructors, instead of the program overflowing its stack
/// at run time.
#[doc(hidden)]
pub const STACK_LIMIT: usize = 1 << 20;

/// The allocator could not give the memory for a network's parameters.
///
/// Returned by the fallible boxed constructors: [`Parameters::try_zeros_boxed`](crate::Parameters::try_zeros_boxed),
/// [`Network::try_new_boxed`](crate::Network::try_new_boxed),
/// [`Network::try_with_init_boxed`](crate::Network::try_with_init_boxed) and the same inherent
/// methods of every `network!` struct.
///
/// # Example
///
/// ```
/// use typenn::AllocationError;
/// use typenn::prelude::*;
///
/// const HUGE: usize = 1 << 28;
/// network! {
///     /// 2^56 weights: 256 PiB in f32, more than any address space holds.
///     struct Impossible(Dense<HUGE, HUGE>);
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outcome = match Impossible::try_zeros_boxed() {
///     Ok(network) => format!("allocated; the first bias is {}", network.0.bias[0]),
///     Err(error) => error.to_string(),
/// };
/// let bytes = std::mem::size_of::<Impossible>();
/// assert_eq!(outcome, format!("could not allocate {bytes} bytes for the parameters of `Impossible`"));
///
/// network! {
///     struct Small(Dense<2, 1>);
/// }
/// let small = Small::try_zeros_boxed()?;
/// assert_eq!(small.forward(&SVector::from([1.0, 2.0])), SVector::from([0.0]));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AllocationError {
    /// How many bytes were asked for.
    pub bytes: usize,
    /// What they were for: the network's name, or for other parameters their type's name.
    pub name: &'static str,
}

impl fmt::Display for AllocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not allocate {} bytes for the parameters of `{}`",
            self.bytes, self.name
        )
    }
}

impl core::error::Error for AllocationError {}

/// A zeroed `P` on the heap, or the error that names it `name`.
///
/// `Layout::new::<P>()` cannot overflow: the compiler refuses a type bigger than the target's
/// address space, so a size the allocator cannot give is the only failure.
#[cfg(feature = "std")]
#[doc(hidden)]
pub fn try_zeroed_box<P: bytemuck::Zeroable>(
    name: &'static str,
) -> Result<Box<P>, AllocationError> {
    bytemuck::try_zeroed_box().map_err(|()| AllocationError {
        bytes: size_of::<P>(),
        name,
    })
}

/// A zeroed `P` on the heap; when the allocator cannot give it, the process aborts with
/// "memory allocation of N bytes failed", as `Box::new` does.
#[cfg(feature = "std")]
pub(crate) fn zeroed_box<P: bytemuck::Zeroable>() -> Box<P> {
    bytemuck::try_zeroed_box()
        .unwrap_or_else(|()| std::alloc::handle_alloc_error(std::alloc::Layout::new::<P>()))
}
