//! What the fuzz targets share: the networks they read into and the checks on what was read.

use typenn::{Parameters, Scalar, network};

network! {
    /// `nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))`: a tuple network, as PyTorch
    /// names its tensors (`0.weight`, ...).
    pub struct Seq(Dense<3, 4, Relu>, Dense<4, 2>);
}

network! {
    /// Named layers (`hidden.weight`, ...).
    pub struct Named {
        hidden: Dense<2, 3, Tanh>,
        output: Dense<3, 1, Sigmoid>,
    }
}

/// A network whose parameters are all distinct and non-zero, so that any write to it shows.
#[must_use]
pub fn filled<T: Scalar, N: Parameters<T>>() -> N {
    let mut network = N::zeros();
    let mut count = 0_u32;
    for tensor in 0..N::TENSORS {
        for value in network.tensor_mut(tensor) {
            count += 1;
            *value = T::cast_from(f64::from(count) * 0.25 - 3.0);
        }
    }
    network
}

/// Every parameter's bits, widened to `f64` (exactly), in the network's order.
#[must_use]
pub fn bits<T: Scalar, N: Parameters<T>>(network: &N) -> Vec<u64> {
    (0..N::TENSORS)
        .flat_map(|tensor| network.tensor(tensor).iter().map(|v| v.as_f64().to_bits()))
        .collect()
}

/// Panics unless every parameter is finite: what a successful read promises.
pub fn assert_finite<T: Scalar, N: Parameters<T>>(network: &N, what: &str) {
    for tensor in 0..N::TENSORS {
        if let Some(value) = network.tensor(tensor).iter().find(|v| !v.is_finite()) {
            panic!("{what} succeeded with a non-finite parameter {value} in tensor {tensor}");
        }
    }
}

/// The shared checks of the CSV targets.
pub mod csv {
    use std::fmt::Write as _;

    use typenn::{ColumnId, CsvError, Dataset, Scalar, Target};

    /// The target column an input's first byte names: by name, by index or as the last.
    #[must_use]
    pub fn column(choice: u8, name: &str) -> ColumnId {
        match choice % 3 {
            0 => ColumnId::Name(name.to_owned()),
            1 => ColumnId::Index(usize::from(choice >> 2) % 4),
            _ => ColumnId::Last,
        }
    }

    /// Lines holding more than blanks after the header: the samples a successful read must
    /// hold, counted without the reader's code.
    #[must_use]
    pub fn data_lines(text: &str) -> usize {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        text.split('\n')
            .filter(|line| !line.trim().is_empty())
            .count()
            .saturating_sub(1)
    }

    /// Checks `result`, read from `bytes`: on success, one sample per data line, every value
    /// finite, every target as `target` reads it (`one_hot`: exactly one 1, the rest 0), and the
    /// same dataset read back from the CSV it writes; on an error, a message that renders and
    /// a line that the text has.
    pub fn check<T: Scalar, const IN: usize, const OUT: usize>(
        bytes: &[u8],
        result: &Result<Dataset<T, IN, OUT>, CsvError>,
        one_hot: bool,
    ) {
        let text = String::from_utf8_lossy(bytes);
        let data = match result {
            Ok(data) => data,
            Err(error) => {
                let _ = error.to_string();
                if let Some(line) = error.line() {
                    let lines = text.split('\n').count();
                    assert!(
                        (1..=lines).contains(&line),
                        "{error}: line {line} of {lines}"
                    );
                }
                return;
            }
        };
        assert!(
            std::str::from_utf8(bytes).is_ok(),
            "read text that is not UTF-8"
        );
        assert_eq!(
            data.inputs().len(),
            data_lines(&text),
            "samples against data lines"
        );
        assert_eq!(data.targets().len(), data.inputs().len());
        for (input, target) in data.inputs().iter().zip(data.targets()) {
            assert!(
                input.iter().all(|v| v.is_finite()),
                "a non-finite input {input:?}"
            );
            assert!(
                target.iter().all(|v| v.is_finite()),
                "a non-finite target {target:?}"
            );
            if one_hot {
                let ones = target.iter().filter(|&&v| v == T::one()).count();
                let zeros = target.iter().filter(|&&v| v == T::zero()).count();
                assert_eq!((ones, zeros), (1, OUT - 1), "not one-hot: {target:?}");
            }
        }
        let written = write(data, one_hot);
        let target = if one_hot {
            Target::OneHot(ColumnId::Last)
        } else {
            Target::Column(ColumnId::Last)
        };
        let again = Dataset::<T, IN, OUT>::from_csv(&written, target)
            .unwrap_or_else(|error| panic!("its own CSV does not read back: {error}\n{written}"));
        let bits = |data: &Dataset<T, IN, OUT>| -> Vec<u64> {
            data.inputs()
                .iter()
                .flat_map(|v| v.iter().copied())
                .chain(data.targets().iter().flat_map(|v| v.iter().copied()))
                .map(|v| v.as_f64().to_bits())
                .collect()
        };
        assert_eq!(
            bits(&again),
            bits(data),
            "read back differently:\n{written}"
        );
    }

    /// `data` as CSV, target last: a class label for `one_hot`, else the number.
    fn write<T: Scalar, const IN: usize, const OUT: usize>(
        data: &Dataset<T, IN, OUT>,
        one_hot: bool,
    ) -> String {
        let mut text: String = (0..IN).map(|i| format!("x{i},")).collect();
        text.push_str("target\n");
        for (input, target) in data.inputs().iter().zip(data.targets()) {
            for value in input.iter() {
                // `Display` of a float is the shortest text that reads back to the same bits.
                let _ = write!(text, "{value},");
            }
            if one_hot {
                let class = target.iter().position(|&v| v == T::one()).unwrap_or(0);
                let _ = writeln!(text, "{class}");
            } else {
                let _ = writeln!(text, "{}", target[0]);
            }
        }
        text
    }
}
