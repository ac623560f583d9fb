//! Reading a layer's tensors with the `serde` feature: exactly as many numbers as the shape
//! holds, every one finite.
//!
//! A tensor is written as nalgebra writes a statically sized matrix: a flat sequence of its
//! `rows * columns` elements, column by column (column-major), without its dimensions, which the
//! type already fixes. nalgebra's own reader accepts the same input but says "invalid length 6"
//! when it was given 7 numbers, and takes non-finite values; this one says what it expected and
//! what it found, and refuses them.

use core::fmt;
use core::marker::PhantomData;

use nalgebra::SMatrix;
use serde::Deserializer;
use serde::de::{Error, IgnoredAny, SeqAccess, Visitor};

use crate::Scalar;

/// Reads a layer's `weights`.
pub(crate) fn weights<'de, D, T, const R: usize, const C: usize>(
    deserializer: D,
) -> Result<SMatrix<T, R, C>, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar,
{
    tensor(deserializer, "weights")
}

/// Reads a layer's `bias`.
pub(crate) fn bias<'de, D, T, const R: usize, const C: usize>(
    deserializer: D,
) -> Result<SMatrix<T, R, C>, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar,
{
    tensor(deserializer, "bias")
}

fn tensor<'de, D, T, const R: usize, const C: usize>(
    deserializer: D,
    name: &'static str,
) -> Result<SMatrix<T, R, C>, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar,
{
    // A tuple, as nalgebra writes it: formats without length prefixes read the same bytes back.
    deserializer.deserialize_tuple(
        R * C,
        TensorVisitor {
            name,
            scalar: PhantomData,
        },
    )
}

struct TensorVisitor<T, const R: usize, const C: usize> {
    name: &'static str,
    scalar: PhantomData<T>,
}

impl<'de, T: Scalar, const R: usize, const C: usize> Visitor<'de> for TensorVisitor<T, R, C> {
    type Value = SMatrix<T, R, C>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if C == 1 {
            write!(formatter, "{R} numbers for the {}", self.name)
        } else {
            write!(
                formatter,
                "{} numbers for the {R} x {C} {}, column by column",
                R * C,
                self.name
            )
        }
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let mut tensor = SMatrix::<T, R, C>::zeros();
        for (index, slot) in tensor.as_mut_slice().iter_mut().enumerate() {
            let Some(value) = seq.next_element::<T>()? else {
                return Err(S::Error::invalid_length(index, &self));
            };
            if !value.as_f64().is_finite() {
                return Err(S::Error::custom(NonFinite {
                    name: self.name,
                    rows: R,
                    columns: C,
                    index,
                    value: value.as_f64(),
                }));
            }
            *slot = value;
        }
        // Count the surplus, so that the error says how many there were.
        let mut found = R * C;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            found += 1;
        }
        if found != R * C {
            return Err(S::Error::invalid_length(found, &self));
        }
        Ok(tensor)
    }
}

/// The message for a non-finite element: where it is and what it was.
struct NonFinite {
    name: &'static str,
    rows: usize,
    columns: usize,
    index: usize,
    value: f64,
}

impl fmt::Display for NonFinite {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            name,
            rows,
            columns,
            index,
            value,
        } = *self;
        write!(formatter, "{name}[{index}] ")?;
        if columns > 1 {
            write!(
                formatter,
                "(row {}, column {}) ",
                index % rows,
                index / rows
            )?;
        }
        write!(
            formatter,
            "is not finite: found {value}, expected a finite number"
        )
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as ValueError, SeqDeserializer};

    use crate::{Dense, DenseGradients, Relu};

    fn weights_from<T, const R: usize, const C: usize>(
        values: Vec<T>,
    ) -> Result<SMatrix<T, R, C>, String>
    where
        T: crate::Scalar + for<'de> IntoDeserializer<'de, ValueError>,
    {
        let deserializer = SeqDeserializer::<_, ValueError>::new(values.into_iter());
        super::weights(deserializer).map_err(|error| error.to_string())
    }

    #[test]
    fn dense_is_weights_column_major_then_bias() -> Result<(), serde_json::Error> {
        // Row i holds unit i's weights: [[1, 2, 3], [4, 5, 6]].
        let layer = Dense::<3, 2, Relu>::from_parts(
            SMatrix::<f32, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
            SVector::from([0.5, -0.25]),
        );
        let json = serde_json::to_string(&layer)?;
        assert_eq!(
            json,
            r#"{"weights":[1.0,4.0,2.0,5.0,3.0,6.0],"bias":[0.5,-0.25]}"#
        );
        let back: Dense<3, 2, Relu> = serde_json::from_str(&json)?;
        assert_eq!(back, layer);
        Ok(())
    }

    #[test]
    fn gradients_have_the_same_format() -> Result<(), serde_json::Error> {
        let gradients: DenseGradients<2, 1, f64> =
            serde_json::from_str(r#"{"weights": [0.5, -1.5], "bias": [2.0]}"#)?;
        assert_eq!(gradients.weights, SMatrix::<f64, 1, 2>::new(0.5, -1.5));
        assert_eq!(gradients.bias, SVector::from([2.0]));
        assert_eq!(
            serde_json::to_string(&gradients)?,
            r#"{"weights":[0.5,-1.5],"bias":[2.0]}"#
        );
        Ok(())
    }

    #[test]
    fn too_few_and_too_many_numbers_say_how_many() {
        let short =
            serde_json::from_str::<Dense<3, 2>>(r#"{"weights": [1, 2, 3, 4, 5], "bias": [0, 0]}"#);
        let message = short.map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "invalid length 5, expected 6 numbers for the 2 x 3 weights, column by column"
            ),
            "{message}"
        );
        let long = serde_json::from_str::<Dense<3, 2>>(
            r#"{"weights": [1, 2, 3, 4, 5, 6, 7, 8], "bias": [0, 0]}"#,
        );
        let message = long.map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with(
                "invalid length 8, expected 6 numbers for the 2 x 3 weights, column by column"
            ),
            "{message}"
        );
        let bias = serde_json::from_str::<DenseGradients<1, 2>>(
            r#"{"weights": [1, 2], "bias": [0, 0, 0]}"#,
        );
        let message = bias.map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with("invalid length 3, expected 2 numbers for the bias"),
            "{message}"
        );
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_place() {
        // Element 3 of a 2 x 2 matrix, column-major, is row 1 of column 1.
        let nan = weights_from::<f64, 2, 2>(vec![1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!(
            nan,
            Err(
                "weights[3] (row 1, column 1) is not finite: found NaN, expected a finite number"
                    .to_owned()
            )
        );
        let infinite = weights_from::<f32, 1, 3>(vec![0.0, f32::NEG_INFINITY, 1.0]);
        assert_eq!(
            infinite,
            Err(
                "weights[1] (row 0, column 1) is not finite: found -inf, expected a finite number"
                    .to_owned()
            )
        );
        // JSON has no infinity, but 1e39 overflows f32.
        let overflow = serde_json::from_str::<Dense<1, 1>>(r#"{"weights": [0.5], "bias": [1e39]}"#);
        let message = overflow.map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with("bias[0] is not finite: found inf, expected a finite number"),
            "{message}"
        );
    }

    #[test]
    fn unknown_and_missing_fields_are_errors() {
        let typo = serde_json::from_str::<Dense<1, 1>>(r#"{"weight": [0.5], "bias": [1]}"#);
        let message = typo.map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with("unknown field `weight`, expected `weights` or `bias`"),
            "{message}"
        );
        let missing = serde_json::from_str::<Dense<1, 1>>(r#"{"weights": [0.5]}"#);
        let message = missing.map(|_| ()).unwrap_err().to_string();
        assert!(message.starts_with("missing field `bias`"), "{message}");
    }

    #[test]
    fn a_finite_sequence_of_the_right_length_fills_the_matrix_column_by_column() {
        let matrix = weights_from::<f32, 2, 2>(vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(matrix, Ok(SMatrix::<f32, 2, 2>::new(1.0, 3.0, 2.0, 4.0)));
    }
}
