//! What a `network!` struct with recurrent layers is for training: the trait sequence training
//! is written against.

use core::fmt;

use nalgebra::SMatrix;

use crate::layer::{Phase, SequenceStack};
use crate::{
    Columns, ColumnsMut, Loss, Parameters, Scalar, Workspace, columns, columns_mut, with_fma,
};

/// A network with layers that carry state, from `IN` to `OUT` numbers per time step, trained on
/// whole sequences by back-propagation through time.
///
/// Implemented by the `network!` macro for every network that holds an `Lstm`, `Gru`, `Rnn` or
/// `CausalConv1d`; its other layers apply at each time step.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a recurrent network from {IN} to {OUT} numbers per time step",
    label = "these sequences have {IN} inputs and {OUT} targets per time step",
    note = "a network's widths are part of its type: compare the sequences' widths with the first layer's inputs and the last layer's outputs"
)]
pub trait SequenceNetwork<T: Scalar, const IN: usize, const OUT: usize>:
    Parameters<T> + Sized
{
    /// The gradients of all parameters, one field per layer.
    type Gradients: Parameters<T> + Clone + fmt::Debug;

    /// Scalars of state one sequence carries from step to step, over every recurrent layer.
    const CARRY: usize;

    /// The layers lent out as a chain, which the passes below walk.
    #[doc(hidden)]
    type Sequences<'a>: SequenceStack<T, IN, OUT>
    where
        Self: 'a;

    /// The chain of the layers.
    #[doc(hidden)]
    fn sequence_layers(&self) -> Self::Sequences<'_>;

    /// Each layer's gradients, where the backward pass writes them.
    #[doc(hidden)]
    fn sequence_gradient_slots<'a, 'g>(
        gradients: &'g mut Self::Gradients,
    ) -> <Self::Sequences<'a> as SequenceStack<T, IN, OUT>>::Gradients<'g>
    where
        Self: 'a;

    /// The loss of a batch of sequences of `steps` steps each (`inputs` and `targets` hold the
    /// sequences one after the other, one step per column), with every parameter's gradient
    /// written to `gradients` and, when given, the input's to `input_gradient`. Each sequence
    /// starts from its state in `carry` (`CARRY` scalars per sequence), where its last state is
    /// left. The network is not changed.
    ///
    /// Inlined into the caller, which runs it inside [`with_fma`](crate::with_fma) so that the
    /// cells' arithmetic compiles to fused vector code.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn sequence_loss_and_gradients<L: Loss<T>>(
        &self,
        inputs: Columns<'_, T, IN>,
        targets: Columns<'_, T, OUT>,
        steps: usize,
        carry: &mut [T],
        loss: &L,
        gradients: &mut Self::Gradients,
        input_gradient: Option<ColumnsMut<'_, T, IN>>,
        workspace: &mut Workspace<T>,
        phase: &mut Phase,
    ) -> T {
        let sequences = inputs.ncols().checked_div(steps).unwrap_or(0);
        let mut scratch = workspace.take(Self::Sequences::scratch_len(sequences, steps, true));
        let mut value = T::zero();
        let mut finish = |output: Columns<'_, T, OUT>, gradient: ColumnsMut<'_, T, OUT>| {
            value = loss.loss_and_gradient(output, targets, gradient);
        };
        let slots = Self::sequence_gradient_slots(gradients);
        self.sequence_layers().train_sequences(
            inputs,
            steps,
            carry,
            &mut scratch,
            phase,
            slots,
            input_gradient,
            &mut finish,
        );
        value
    }

    /// Every step's output for a batch of sequences of `steps` steps, in inference, from the
    /// states in `carry`, which are left as the last steps left them.
    fn predict_sequences(
        &self,
        inputs: Columns<'_, T, IN>,
        steps: usize,
        carry: &mut [T],
        output: ColumnsMut<'_, T, OUT>,
        workspace: &mut Workspace<T>,
    ) {
        let sequences = inputs.ncols().checked_div(steps).unwrap_or(0);
        let mut scratch = workspace.take(Self::Sequences::scratch_len(sequences, steps, false));
        with_fma(
            #[inline(always)]
            || {
                self.sequence_layers()
                    .infer_sequences(inputs, steps, carry, &mut scratch, output);
            },
        );
    }

    /// The loss of `inputs` against `targets`, each sequence from a zero state, and the gradient
    /// of every parameter and of every input: for checking gradients, and for a look at what
    /// training sees. It allocates its scratch memory.
    fn gradients_through_time<L: Loss<T>, const STEPS: usize>(
        &self,
        inputs: &[SMatrix<T, IN, STEPS>],
        targets: &[SMatrix<T, OUT, STEPS>],
        loss: &L,
    ) -> (T, Self::Gradients, Vec<SMatrix<T, IN, STEPS>>) {
        let mut gradients = <Self::Gradients as Parameters<T>>::zeros();
        let mut input_gradient = vec![SMatrix::<T, IN, STEPS>::zeros(); inputs.len()];
        let mut carry = vec![T::zero(); inputs.len() * Self::CARRY];
        let mut workspace = Workspace::new();
        let value = with_fma(
            #[inline(always)]
            || {
                self.sequence_loss_and_gradients(
                    columns::<T, IN>(bytemuck::cast_slice(inputs)),
                    columns::<T, OUT>(bytemuck::cast_slice(targets)),
                    STEPS,
                    &mut carry,
                    loss,
                    &mut gradients,
                    Some(columns_mut::<T, IN>(bytemuck::cast_slice_mut(
                        &mut input_gradient[..],
                    ))),
                    &mut workspace,
                    &mut Phase::Inference,
                )
            },
        );
        (value, gradients, input_gradient)
    }
}
