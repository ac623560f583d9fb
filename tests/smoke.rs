use typenn::prelude::*;

network! {
    /// The design document's regressor.
    pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
}

network! {
    /// Named layers work too.
    #[derive(Clone, Debug)]
    pub struct Classifier {
        hidden: Dense<4, 8, Tanh>,
        output: Dense<8, 3, Sigmoid>,
    }
}

const INPUTS: usize = 3;
const HIDDEN: usize = 5;

network! {
    struct Consts(Dense<INPUTS, HIDDEN, LeakyRelu>, Dense<HIDDEN, 2>);
}

#[test]
fn smoke() {
    let mut rng = StdRng::seed_from_u64(1);
    let model = Regressor::new(&mut rng);
    println!("{}", model.summary());
    let y = model.forward(&SVector::from([0.5; 32]));
    println!("{y}");
    let c = Classifier::new(&mut rng);
    println!("{}", c.summary());
    let k = Consts::zeros();
    println!("{} {}", k.summary(), Consts::PARAMETERS);
    let m64 = Regressor::<f64>::new(&mut rng);
    let _ = m64.forward(&SVector::from([0.5; 32]));
}
