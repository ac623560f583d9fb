//! Batches as matrices with one sample per column, viewed over plain slices without copying.

use nalgebra::{Const, Dyn, MatrixView, MatrixViewMut, SVector};

use crate::Scalar;

/// A read-only batch of samples of width `R`: an `R x batch` column-major matrix view.
pub type Columns<'a, T, const R: usize> = MatrixView<'a, T, Const<R>, Dyn>;

/// A writable batch of samples of width `R`.
pub type ColumnsMut<'a, T, const R: usize> = MatrixViewMut<'a, T, Const<R>, Dyn>;

/// Views `data` as `R x (data.len() / R)` columns. A trailing partial column is left out.
#[inline]
#[must_use]
pub fn columns<T: Scalar, const R: usize>(data: &[T]) -> Columns<'_, T, R> {
    let batch = data.len().checked_div(R).unwrap_or(0);
    Columns::from_slice_generic(&data[..R * batch], Const::<R>, Dyn(batch))
}

/// Views `data` mutably as `R x (data.len() / R)` columns. A trailing partial column is left out.
#[inline]
#[must_use]
pub fn columns_mut<T: Scalar, const R: usize>(data: &mut [T]) -> ColumnsMut<'_, T, R> {
    let batch = data.len().checked_div(R).unwrap_or(0);
    ColumnsMut::from_slice_generic(&mut data[..R * batch], Const::<R>, Dyn(batch))
}

/// A batch of samples as one flat slice, column after column.
#[inline]
#[must_use]
pub fn flatten<T: Scalar, const R: usize>(samples: &[SVector<T, R>]) -> &[T] {
    bytemuck::cast_slice(samples)
}

/// Scratch memory for batched forward and backward passes, grown on demand and then reused, so
/// that a training step allocates nothing once the workspace has seen the largest batch.
///
/// Without the `std` feature there is no allocator: the type exists so that every network
/// implements the same trait, but it cannot be built, and batched passes are not available.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "std", derive(Default))]
pub struct Workspace<T> {
    #[cfg(feature = "std")]
    buffer: Vec<T>,
    #[cfg(not(feature = "std"))]
    buffer: core::marker::PhantomData<T>,
}

impl<T: Scalar> Workspace<T> {
    /// An empty workspace; the first pass sizes it.
    #[cfg(feature = "std")]
    #[must_use]
    pub const fn new() -> Self {
        Self { buffer: Vec::new() }
    }

    /// At least `len` scalars of scratch, handed out piece by piece.
    ///
    /// The scratch starts on a cache line (64 bytes), so that where two threads write the rows
    /// of one batch's outputs, split by tiles of 64 rows, they do not write the same line.
    #[cfg(feature = "std")]
    #[must_use]
    pub fn take(&mut self, len: usize) -> Scratch<'_, T> {
        // Room to move the start onto a cache line.
        let spare = (64 / size_of::<T>().max(1)).max(1);
        if self.buffer.len() < len + spare {
            self.buffer.resize(len + spare, T::zero());
        }
        // `align_offset` may give up (usize::MAX); then the scratch starts where it is.
        let skip = match self.buffer.as_ptr().align_offset(64) {
            skip if skip < spare => skip,
            _ => 0,
        };
        Scratch {
            rest: &mut self.buffer[skip..skip + len],
        }
    }

    /// No scratch: without an allocator a workspace cannot be built, so this is never called.
    #[cfg(not(feature = "std"))]
    #[must_use]
    pub fn take(&mut self, _len: usize) -> Scratch<'_, T> {
        Scratch { rest: &mut [] }
    }
}

/// A cursor over workspace memory that hands out disjoint batches.
#[derive(Debug)]
pub struct Scratch<'a, T> {
    rest: &'a mut [T],
}

impl<'a, T: Scalar> Scratch<'a, T> {
    /// The next `len` scalars. Hands out fewer when the scratch runs short, which the batch
    /// views then see as fewer columns.
    #[must_use]
    pub fn slice(&mut self, len: usize) -> &'a mut [T] {
        let rest = core::mem::take(&mut self.rest);
        let (head, tail) = rest.split_at_mut(len.min(rest.len()));
        self.rest = tail;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_column_major() {
        let data = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let view = columns::<f64, 2>(&data);
        assert_eq!(view.ncols(), 3);
        assert_eq!(view[(1, 0)], 2.0);
        assert_eq!(view[(0, 2)], 5.0);
    }

    #[test]
    fn scratch_hands_out_disjoint_pieces() {
        let mut workspace = Workspace::<f32>::new();
        let mut scratch = workspace.take(5);
        let a = scratch.slice(2);
        let b = scratch.slice(4);
        a.fill(1.0);
        b.fill(2.0);
        assert_eq!((a.len(), b.len()), (2, 3));
    }

    #[test]
    fn scratch_starts_on_a_cache_line_as_it_grows() {
        let mut f32s = Workspace::<f32>::new();
        let mut f64s = Workspace::<f64>::new();
        for len in [1, 7, 100, 4096, 100_000] {
            let piece = f32s.take(len).slice(len);
            assert_eq!(
                (piece.len(), piece.as_ptr() as usize % 64),
                (len, 0),
                "f32, {len}"
            );
            let piece = f64s.take(len).slice(len);
            assert_eq!(
                (piece.len(), piece.as_ptr() as usize % 64),
                (len, 0),
                "f64, {len}"
            );
        }
    }
}
