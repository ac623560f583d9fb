//! What the reference-trajectory tests share: fixture values into nalgebra types, and a check
//! that collects every mismatch with the reference and the worst relative error.
#![allow(dead_code, reason = "each test file uses a part")]

use std::fmt::Display;

use typenn::{Dense, SMatrix, SVector, Scalar};

/// A fixture's `[[f64; C]; R]` (row = output unit) as a matrix.
pub fn matrix<T: Scalar, const R: usize, const C: usize>(rows: &[[f64; C]; R]) -> SMatrix<T, R, C> {
    SMatrix::from_fn(|r, c| T::cast_from(rows[r][c]))
}

/// A fixture's `[f64; N]` as a vector.
pub fn vector<T: Scalar, const N: usize>(values: &[f64; N]) -> SVector<T, N> {
    SVector::from_fn(|i, _| T::cast_from(values[i]))
}

/// A fixture's rows as samples.
pub fn samples<T: Scalar, const N: usize>(rows: &[[f64; N]]) -> Vec<SVector<T, N>> {
    rows.iter().map(vector).collect()
}

/// Compares values with the reference, collecting every mismatch and the worst relative error.
pub struct Check {
    tolerance: f64,
    worst: f64,
    mismatches: Vec<String>,
}

impl Check {
    pub fn new(tolerance: f64) -> Self {
        Self {
            tolerance,
            worst: 0.0,
            mismatches: Vec::new(),
        }
    }

    pub fn value(&mut self, what: impl Display, got: f64, want: f64) {
        let error = if got.is_finite() {
            (got - want).abs() / want.abs().max(1e-3)
        } else {
            f64::INFINITY
        };
        self.worst = self.worst.max(error);
        if error > self.tolerance {
            self.mismatches.push(format!(
                "{what}: got {got:e}, want {want:e}, relative error {error:.2e}"
            ));
        }
    }

    pub fn layer<T: Scalar, A, const IN: usize, const OUT: usize>(
        &mut self,
        what: impl Display,
        layer: &Dense<IN, OUT, A, T>,
        weights: &[[f64; IN]; OUT],
        bias: &[f64; OUT],
    ) {
        for (r, row) in weights.iter().enumerate() {
            for (c, &want) in row.iter().enumerate() {
                let got = layer.weights[(r, c)].as_f64();
                self.value(format_args!("{what} weights[({r}, {c})]"), got, want);
            }
            self.value(
                format_args!("{what} bias[{r}]"),
                layer.bias[r].as_f64(),
                bias[r],
            );
        }
    }

    pub fn finish(self, name: &str) {
        println!("{name}: max relative error {:.3e}", self.worst);
        assert!(
            self.mismatches.is_empty(),
            "{name}: {} values differ from the reference by more than {:e} (relative):\n{}",
            self.mismatches.len(),
            self.tolerance,
            self.mismatches.join("\n")
        );
    }
}
