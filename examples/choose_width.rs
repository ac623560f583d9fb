//! Choosing the hidden width for the diabetes data by 5-fold cross-validation, then a learning
//! rate and a number of epochs for the chosen width, as the design document's FAQ advises.
//!
//! Only the training part of the baselines' split (`examples/data/splits_seed0.json`) is
//! cross-validated; the test part is used once, at the end, to report the chosen model's R².
//! Each width is its own type, so each is cross-validated by its own monomorphized call of a
//! generic function.
//!
//! Run with `cargo run --release --example choose_width`.

mod common;

use std::error::Error;
use std::fmt;

use typenn::prelude::*;
use typenn::{
    CrossValidation, FoldError, Grid, GridSearch, Hyperparameters, KFold, Mode, TuneError,
    cross_validate, grid_search,
};

network! {
    /// 10 measurements -> 8 hidden units (ReLU) -> disease progression.
    pub struct Width8(Dense<10, 8, Relu>, Dense<8, 1>);
}
network! {
    /// 16 hidden units.
    pub struct Width16(Dense<10, 16, Relu>, Dense<16, 1>);
}
network! {
    /// 32 hidden units.
    pub struct Width32(Dense<10, 32, Relu>, Dense<32, 1>);
}
network! {
    /// 64 hidden units.
    pub struct Width64(Dense<10, 64, Relu>, Dense<64, 1>);
}

/// Every candidate sees the same five folds.
const FOLDS: KFold = KFold::new(5, 0);

/// How the widths are compared, before the settings are tuned for the best of them.
fn first_settings() -> Hyperparameters {
    Hyperparameters {
        learning_rate: 0.01,
        options: FitOptions::new().epochs(100).batch_size(32).shuffle(0),
    }
}

/// A trained network with the standardisation of its training data, so that it can be scored
/// on raw samples. The scalers are fitted inside each fold, on the fold's training part only.
struct Fitted<N> {
    network: N,
    inputs: Standardizer<f32, 10>,
    targets: TargetScaler<f32, 1>,
}

impl<N: Network<f32, 10, 1>> Fitted<N> {
    fn train(data: &Dataset<f32, 10, 1>, settings: &Hyperparameters) -> Result<Self, FoldError> {
        let inputs = Standardizer::fit(data);
        let targets = TargetScaler::fit(data);
        let mut scaled = data.clone();
        inputs.transform(&mut scaled)?;
        targets.transform(&mut scaled)?;
        let mut network = N::new(&mut StdRng::seed_from_u64(0));
        let optimizer = Adam::new(settings.learning_rate);
        network.fit(&scaled, Mse, optimizer, &settings.options)?;
        Ok(Self {
            network,
            inputs,
            targets,
        })
    }

    /// The coefficient of determination in the targets' units, as scikit-learn's `r2_score`:
    /// 1 - (sum of squared errors) / (sum of squared deviations from the mean target).
    fn r2(&self, data: &Dataset<f32, 10, 1>) -> f64 {
        let targets = || data.targets().iter().map(|target| f64::from(target[0]));
        let mean = targets().sum::<f64>() / data.len() as f64;
        let predictions = data.inputs().iter().map(|input| {
            let output = self.network.forward(&self.inputs.transform_input(input));
            f64::from(self.targets.inverse_transform(&output)[0])
        });
        let residual: f64 = targets()
            .zip(predictions)
            .map(|(t, p)| (t - p).powi(2))
            .sum();
        let total: f64 = targets().map(|t| (t - mean).powi(2)).sum();
        1.0 - residual / total
    }
}

/// A candidate network, described from its type.
#[derive(Clone, Copy, Debug)]
struct Architecture {
    name: &'static str,
    hidden: usize,
    parameters: usize,
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<8} 10 -> {:>2} (ReLU) -> 1, {:>3} parameters",
            self.name, self.hidden, self.parameters
        )
    }
}

/// The 5-fold cross-validated R² of network `N` trained with `settings`.
fn cross_validate_network<N: Network<f32, 10, 1>>(
    train: &Dataset<f32, 10, 1>,
    settings: &Hyperparameters,
) -> (Architecture, Result<CrossValidation, TuneError>) {
    let architecture = Architecture {
        name: N::NAME,
        hidden: N::WIDTHS[1],
        parameters: N::PARAMETERS,
    };
    let cv = cross_validate(
        train,
        &FOLDS,
        |fold| Fitted::<N>::train(fold, settings),
        |model, validation| model.r2(validation),
    );
    (architecture, cv)
}

/// Searches `grid` for network `N`, retrains the best settings on all of `train` and returns
/// the search with that model's R² on `test`.
fn tune<N: Network<f32, 10, 1>>(
    train: &Dataset<f32, 10, 1>,
    test: &Dataset<f32, 10, 1>,
    grid: &Grid,
) -> Result<(GridSearch<Hyperparameters>, f64), Box<dyn Error>> {
    let search = grid_search(
        train,
        &FOLDS,
        grid,
        Mode::Max,
        |settings, fold| Fitted::<N>::train(fold, settings),
        |model, validation| model.r2(validation),
    )?;
    let (best, _) = search.best().ok_or("no setting could be trained")?;
    let model = Fitted::<N>::train(train, best)?;
    let test_r2 = model.r2(test);
    Ok((search, test_r2))
}

fn main() -> Result<(), Box<dyn Error>> {
    let data = Dataset::<f32, 10, 1>::from_csv_path(
        common::data_path("diabetes.csv"),
        Target::column("target"),
    )?;
    let split = common::load_split("diabetes")?;
    let train = data.subset(&split.train)?;
    let test = data.subset(&split.test)?;
    println!(
        "diabetes: {} training samples in {} folds (seed {}), {} test samples kept aside\n",
        train.len(),
        FOLDS.folds,
        FOLDS.seed,
        test.len()
    );

    let settings = first_settings();
    println!("Hidden width, with Adam {settings}: cross-validated R²");
    let widths = GridSearch::from_results(
        [
            cross_validate_network::<Width8>(&train, &settings),
            cross_validate_network::<Width16>(&train, &settings),
            cross_validate_network::<Width32>(&train, &settings),
            cross_validate_network::<Width64>(&train, &settings),
        ],
        Mode::Max,
    )?;
    println!("{widths:.3}\n");
    let (chosen, _) = widths.best().ok_or("no width could be trained")?;

    let grid = Grid::new([0.001, 0.003, 0.01, 0.03], settings.options).epochs([50, 100, 200]);
    println!(
        "Learning rate and epochs for {}: cross-validated R²",
        chosen.name
    );
    let (search, test_r2) = match chosen.hidden {
        8 => tune::<Width8>(&train, &test, &grid)?,
        16 => tune::<Width16>(&train, &test, &grid)?,
        32 => tune::<Width32>(&train, &test, &grid)?,
        64 => tune::<Width64>(&train, &test, &grid)?,
        other => return Err(format!("no network of hidden width {other}").into()),
    };
    println!("{search:.3}\n");
    if let Some((best, cv)) = search.best() {
        println!(
            "chosen: {} with {best}; cross-validated R² {cv:.3}; test R² {test_r2:.3}",
            chosen.name
        );
    }
    Ok(())
}
