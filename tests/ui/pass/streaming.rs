use typenn::prelude::*;

network! {
    /// Every cell, named fields, and a layer without memory between them.
    pub struct Stack {
        lstm: Lstm<1, 8>,
        squash: Tanh,
        gru: Gru<8, 4>,
        simple: Rnn<4, 4, Relu>,
        out: Dense<4, 1>,
    }
}

fn main() {
    let model = Stack::new(&mut StdRng::seed_from_u64(1));
    let inputs = SMatrix::<f32, 1, 4>::from([[0.5], [-0.25], [1.0], [0.0]]);
    let (mut a, mut b) = (StackState::zeros(), StackState::default());
    let all: SMatrix<f32, 1, 4> = model.sequence(&mut a, &inputs);
    let last: SVector<f32, 1> = model.sequence_last(&mut b, &inputs);
    assert_eq!(all.column(3).into_owned(), last);
    assert_eq!(a, b);
    let _: SVector<f32, 1> = model.step(&mut a, &SVector::from([0.5]));
    a.reset();
    assert_eq!(a, StackState::zeros());
}
