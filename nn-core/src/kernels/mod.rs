//! Vector kernels.

pub(crate) mod portable;
