//! Training and evaluation on data, for every network: [`Train`].

use nalgebra::SVector;

use super::{Evaluator, Fit, FitOptions, History, MetricSet, Trainer, check_batch, parallel};
use crate::layer::Phase;
use crate::{
    Activation, Dataset, Loss, Network, Optimizer, Parameters, Scalar, Sigmoid, Softmax,
    TrainError, Workspace, columns, flatten,
};

/// Training and evaluation on data: `fit`, `evaluate`, `predict`, `gradients` and `trainer`,
/// for every [`Network`].
///
/// Implemented for every network by a blanket impl, and brought into scope by
/// `use typenn::prelude::*;`, so that `model.fit(..)` needs no other import. These methods are
/// written once over [`Network::forward_columns`] and [`Network::loss_and_gradients`]; they live
/// beside the training loop rather than in [`Network`] so that the network trait knows nothing
/// of training, and training builds on the network trait alone.
///
/// # Example
///
/// ```
/// use typenn::prelude::*;
///
/// network! {
///     /// 2 inputs, 1 linear output.
///     struct Line(Dense<2, 1>);
/// }
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let data = Dataset::from_rows(&[[1.0, 0.0], [0.0, 1.0]], &[[1.0], [2.0]])?;
///     let mut model = Line::zeros();
///     // Zero weights predict 0 for both samples: the mean squared error is (1 + 4) / 2.
///     assert_eq!(model.evaluate(&data, &Mse), 2.5);
///     let history = model.fit(&data, Mse, Sgd::new(0.1), &FitOptions::new().epochs(50))?;
///     assert!(history.loss[49] < 0.01);
///     let predictions = model.predict(data.inputs());
///     assert!((predictions[1][0] - 2.0).abs() < 0.1);
///     Ok(())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a network from {IN} inputs to {OUT} outputs per sample",
    label = "these values have {IN} inputs and {OUT} outputs per sample",
    note = "a network's input and output widths are part of its type: compare the data's widths with the first layer's inputs and the last layer's outputs",
    note = "a boxed network (`Box<{Self}>` from `new_boxed`) is passed as `&mut *network`"
)]
pub trait Train<T: Scalar, const IN: usize, const OUT: usize>: Network<T, IN, OUT> {
    /// The loss of a batch and the gradient of every parameter: one backward pass, for learning
    /// and for checking gradients. Training uses a [`Trainer`], which reuses its buffers.
    ///
    /// The pass runs in training, as a step would: layers with training-time randomness (dropout)
    /// draw it from a source seeded with 0, so the same call gives the same gradients. The
    /// network is not changed.
    ///
    /// # Errors
    ///
    /// [`TrainError::EmptyBatch`] or [`TrainError::BatchMismatch`].
    fn gradients<L: Loss<T>>(
        &self,
        inputs: &[SVector<T, IN>],
        targets: &[SVector<T, OUT>],
        loss: &L,
    ) -> Result<(T, Box<Self::Gradients>), TrainError> {
        check_batch(inputs.len(), targets.len())?;
        let mut gradients = Self::Gradients::zeros_boxed();
        let value = self.loss_and_gradients(
            columns(flatten(inputs)),
            columns(flatten(targets)),
            loss,
            &mut gradients,
            &mut Workspace::new(),
            &mut Phase::training(0),
        );
        Ok((value, gradients))
    }

    /// Outputs for many samples.
    ///
    /// Enough samples are spread over every core in batches of 256; each output is the same
    /// whatever the number of cores.
    #[must_use]
    fn predict(&self, inputs: &[SVector<T, IN>]) -> Vec<SVector<T, OUT>> {
        let mut outputs = vec![SVector::<T, OUT>::zeros(); inputs.len()];
        parallel::infer(
            self,
            inputs,
            bytemuck::cast_slice_mut(&mut outputs),
            parallel::default_threads(),
            &mut Vec::new(),
        );
        outputs
    }

    /// Class probabilities for many samples, for a classifier whose last layer is linear (its
    /// outputs are logits):
    ///
    /// - with several outputs, the softmax of each sample's outputs, as for a network trained
    ///   with [`SoftmaxCrossEntropy`](crate::SoftmaxCrossEntropy); each vector sums to 1;
    /// - with one output, the sigmoid of it: the probability of the positive class, as for a
    ///   binary classifier trained with
    ///   [`BinaryCrossEntropyWithLogits`](crate::BinaryCrossEntropyWithLogits) (a softmax over
    ///   one number would always be 1).
    ///
    /// A network that already ends in [`Softmax`] or [`Sigmoid`](crate::Sigmoid) gives
    /// probabilities from [`predict`](Self::predict); this would apply it a second time.
    ///
    /// # Example
    ///
    /// ```
    /// use typenn::prelude::*;
    ///
    /// network! {
    ///     /// Three classes; its last layer is linear, so its outputs are logits.
    ///     struct Classifier(Dense<3, 3>);
    /// }
    ///
    /// // Identity weights and zero biases, so that the logits are the inputs, plain to see.
    /// let mut model = Classifier::<f64>::zeros();
    /// model.0.weights = SMatrix::identity();
    /// let logits = [SVector::from([0.0, 0.0, 0.0]), SVector::from([2.0, 1.0, 2.0])];
    /// let probabilities = model.predict_proba(&logits);
    /// assert_eq!(probabilities[0], SVector::from([1.0 / 3.0; 3]));
    /// // e^2, e and e^2 over their sum 2 e^2 + e.
    /// let e = 1.0_f64.exp();
    /// let expected = SVector::from([e / (2.0 * e + 1.0), 1.0 / (2.0 * e + 1.0), e / (2.0 * e + 1.0)]);
    /// assert!((probabilities[1] - expected).amax() < 1e-15);
    ///
    /// network! {
    ///     /// Two classes with one logit, that of the positive class.
    ///     struct Binary(Dense<1, 1>);
    /// }
    ///
    /// let mut binary = Binary::<f64>::zeros();
    /// binary.0.weights[(0, 0)] = 1.0;
    /// // The sigmoid: 1 / (1 + e^0) and 1 / (1 + e^-ln 3) = 3/4.
    /// let p = binary.predict_proba(&[SVector::from([0.0]), SVector::from([3.0_f64.ln()])]);
    /// assert_eq!(p[0], SVector::from([0.5]));
    /// assert!((p[1][0] - 0.75).abs() < 1e-15);
    /// ```
    #[must_use]
    fn predict_proba(&self, inputs: &[SVector<T, IN>]) -> Vec<SVector<T, OUT>> {
        let mut outputs = self.predict(inputs);
        for output in &mut outputs {
            let logits = *output;
            if OUT == 1 {
                <Sigmoid as Activation>::forward(OUT, logits.as_slice(), output.as_mut_slice());
            } else {
                <Softmax as Activation>::forward(OUT, logits.as_slice(), output.as_mut_slice());
            }
        }
        outputs
    }

    /// The mean loss over a dataset.
    ///
    /// As [`predict`](Self::predict), the outputs are computed on every core when there are
    /// enough; the loss is added up batch by batch in order, so it is the same whatever the
    /// number of cores.
    #[must_use]
    fn evaluate<L: Loss<T>>(&self, data: &Dataset<T, IN, OUT>, loss: &L) -> f64 {
        let (loss, _) = Evaluator::new().run(
            self,
            data.inputs(),
            data.targets(),
            Some(loss),
            MetricSet::EMPTY,
            parallel::default_threads(),
        );
        loss
    }

    /// A trainer that remembers the optimizer's state between steps: for custom training loops.
    ///
    /// # Errors
    ///
    /// [`TrainError::InvalidOption`] when the optimizer's settings are out of range.
    fn trainer<L: Loss<T>, O: Optimizer<T>>(
        &self,
        loss: L,
        optimizer: O,
    ) -> Result<Trainer<T, Self::Gradients, L, O>, TrainError> {
        Trainer::new(loss, optimizer)
    }

    /// Trains on `data` as Keras's `fit` does and returns the figures of each epoch.
    ///
    /// `options` sets the epochs, batches, shuffling, validation split, metrics, early stopping
    /// and reporting. For validation data of its own or callbacks, use a [`Fit`],
    /// of which this is the shorthand.
    ///
    /// # Errors
    ///
    /// As [`Fit::run`]: [`TrainError::InvalidOption`] and the other option
    /// errors before any step (the network is untouched), and [`TrainError::NonFiniteLoss`] or
    /// [`TrainError::NonFiniteParameter`] if the loss stops being a number or a step would make
    /// a parameter NaN or infinite, in which case the network keeps the parameters it had
    /// before that step.
    fn fit<L: Loss<T>, O: Optimizer<T>>(
        &mut self,
        data: &Dataset<T, IN, OUT>,
        loss: L,
        optimizer: O,
        options: &FitOptions,
    ) -> Result<History, TrainError> {
        Fit::new(data).options(*options).run(self, loss, optimizer)
    }
}

impl<T: Scalar, N: Network<T, IN, OUT>, const IN: usize, const OUT: usize> Train<T, IN, OUT> for N {}
