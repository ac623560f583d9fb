//! Reading layers with the `serde` feature: exactly as many numbers as each tensor holds, every
//! one finite, written straight into the tensor.
//!
//! A tensor is read as nalgebra writes a statically sized matrix: a flat sequence of its
//! `rows * columns` elements, column by column (column-major), without its dimensions, which the
//! type already fixes. nalgebra's own reader accepts the same input but says "invalid length 6"
//! when it was given 7 numbers, and takes non-finite values; this one says what it expected and
//! what it found, and refuses them.
//!
//! Everything is read in place (serde's `Deserialize::deserialize_in_place`), so that a network
//! too big for the stack can be read into [`Parameters::zeros_boxed`](crate::Parameters::zeros_boxed)'s allocation, and
//! `deserialize` itself fills a heap allocation before it moves the value out once.

use core::fmt;
use core::marker::PhantomData;

use nalgebra::{SMatrix, SVector};
use serde::Deserialize;
use serde::de::{
    DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};

use super::{Dense, DenseGradients};
use crate::Scalar;

const LAYER_FIELDS: &[&str] = &["weights", "bias"];

impl<'de, const IN: usize, const OUT: usize, A, T: Scalar> Deserialize<'de>
    for Dense<IN, OUT, A, T>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut layer = Self {
            weights: SMatrix::zeros(),
            bias: SVector::zeros(),
            activation: PhantomData,
        };
        Self::deserialize_in_place(deserializer, &mut layer)?;
        Ok(layer)
    }

    fn deserialize_in_place<D: Deserializer<'de>>(
        deserializer: D,
        place: &mut Self,
    ) -> Result<(), D::Error> {
        layer(
            deserializer,
            "Dense",
            [OUT, IN],
            place.weights.as_mut_slice(),
            place.bias.as_mut_slice(),
        )
    }
}

impl<'de, const IN: usize, const OUT: usize, T: Scalar> Deserialize<'de>
    for DenseGradients<IN, OUT, T>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut gradients = Self {
            weights: SMatrix::zeros(),
            bias: SVector::zeros(),
        };
        Self::deserialize_in_place(deserializer, &mut gradients)?;
        Ok(gradients)
    }

    fn deserialize_in_place<D: Deserializer<'de>>(
        deserializer: D,
        place: &mut Self,
    ) -> Result<(), D::Error> {
        layer(
            deserializer,
            "DenseGradients",
            [OUT, IN],
            place.weights.as_mut_slice(),
            place.bias.as_mut_slice(),
        )
    }
}

/// Reads `{"weights": [...], "bias": [...]}` (or the two in a sequence) into the slices of an
/// `outputs x inputs` weight matrix and its bias.
fn layer<'de, D: Deserializer<'de>, T: Scalar>(
    deserializer: D,
    name: &'static str,
    [outputs, inputs]: [usize; 2],
    weights: &mut [T],
    bias: &mut [T],
) -> Result<(), D::Error> {
    let visitor = LayerVisitor {
        weights: Tensor {
            name: "weights",
            shape: [outputs, inputs],
            data: weights,
        },
        bias: Tensor {
            name: "bias",
            shape: [outputs, 1],
            data: bias,
        },
    };
    deserializer.deserialize_struct(name, LAYER_FIELDS, visitor)
}

struct LayerVisitor<'a, T> {
    weights: Tensor<'a, T>,
    bias: Tensor<'a, T>,
}

impl<'de, T: Scalar> Visitor<'de> for LayerVisitor<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a layer's weights and bias")
    }

    fn visit_seq<S: SeqAccess<'de>>(mut self, mut seq: S) -> Result<(), S::Error> {
        if seq.next_element_seed(self.weights.reborrow())?.is_none() {
            return Err(S::Error::invalid_length(0, &self));
        }
        if seq.next_element_seed(self.bias.reborrow())?.is_none() {
            return Err(S::Error::invalid_length(1, &self));
        }
        Ok(())
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<(), M::Error> {
        let (mut weights, mut bias) = (false, false);
        while let Some(field) = map.next_key_seed(FieldName(LAYER_FIELDS))? {
            let (seen, tensor) = if field == "weights" {
                (&mut weights, self.weights.reborrow())
            } else {
                (&mut bias, self.bias.reborrow())
            };
            if *seen {
                return Err(M::Error::duplicate_field(field));
            }
            map.next_value_seed(tensor)?;
            *seen = true;
        }
        if !weights {
            return Err(M::Error::missing_field("weights"));
        }
        if !bias {
            return Err(M::Error::missing_field("bias"));
        }
        Ok(())
    }
}

/// A tensor to fill: `data` holds a `rows x columns` matrix column by column.
struct Tensor<'a, T> {
    name: &'static str,
    shape: [usize; 2],
    data: &'a mut [T],
}

impl<T> Tensor<'_, T> {
    fn reborrow(&mut self) -> Tensor<'_, T> {
        Tensor {
            name: self.name,
            shape: self.shape,
            data: self.data,
        }
    }
}

impl<'de, T: Scalar> DeserializeSeed<'de> for Tensor<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // A tuple, as nalgebra writes it: formats without length prefixes read the same bytes back.
        deserializer.deserialize_tuple(self.data.len(), self)
    }
}

impl<'de, T: Scalar> Visitor<'de> for Tensor<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [rows, columns] = self.shape;
        if columns == 1 {
            write!(formatter, "{rows} numbers for the {}", self.name)
        } else {
            write!(
                formatter,
                "{} numbers for the {rows} x {columns} {}, column by column",
                rows * columns,
                self.name
            )
        }
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let len = self.data.len();
        for index in 0..len {
            let Some(value) = seq.next_element::<T>()? else {
                return Err(S::Error::invalid_length(index, &self));
            };
            if !value.as_f64().is_finite() {
                return Err(S::Error::custom(NonFinite {
                    tensor: &self,
                    index,
                    value: value.as_f64(),
                }));
            }
            self.data[index] = value;
        }
        // Count the surplus, so that the error says how many there were.
        let mut found = len;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            found += 1;
        }
        if found != len {
            return Err(S::Error::invalid_length(found, &self));
        }
        Ok(())
    }
}

/// The message for a non-finite element: where it is and what it was.
struct NonFinite<'a, 'b, T> {
    tensor: &'a Tensor<'b, T>,
    index: usize,
    value: f64,
}

impl<T> fmt::Display for NonFinite<'_, '_, T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            tensor,
            index,
            value,
        } = self;
        write!(formatter, "{}[{index}] ", tensor.name)?;
        let [rows, columns] = tensor.shape;
        // A non-empty tensor has at least one row.
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

/// Reads a field's name as the entry of the list it names: for layers and for the impls the
/// `network!` macro generates.
#[doc(hidden)]
pub struct FieldName(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldName {
    type Value = &'static str;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<Self::Value, E> {
        self.0
            .iter()
            .find(|field| **field == name)
            .copied()
            .ok_or_else(|| E::unknown_field(name, self.0))
    }

    fn visit_bytes<E: Error>(self, name: &[u8]) -> Result<Self::Value, E> {
        match core::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(Unexpected::Bytes(name), &self)),
        }
    }

    /// Formats that write fields by position.
    fn visit_u64<E: Error>(self, index: u64) -> Result<Self::Value, E> {
        usize::try_from(index)
            .ok()
            .and_then(|index| self.0.get(index))
            .copied()
            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(index), &self))
    }
}

/// Reads a value into an existing one with `Deserialize::deserialize_in_place`: for the impls
/// the `network!` macro generates.
#[doc(hidden)]
pub struct InPlace<'a, V>(pub &'a mut V);

impl<'de, V: Deserialize<'de>> DeserializeSeed<'de> for InPlace<'_, V> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        V::deserialize_in_place(deserializer, self.0)
    }
}

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};
    use serde::Deserialize;
    use serde::de::value::{Error as ValueError, MapDeserializer, SeqDeserializer};

    use crate::{Dense, DenseGradients, Relu};

    /// A layer as a format that, unlike JSON, can hold any number.
    fn read<L: for<'de> Deserialize<'de>>(weights: Vec<f64>, bias: Vec<f64>) -> Result<L, String> {
        let fields = [("weights", weights), ("bias", bias)];
        L::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()))
            .map_err(|error| error.to_string())
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
        // Positionally, as formats without field names write it.
        let positional: DenseGradients<2, 1, f64> =
            serde_json::from_str(r#"[[0.5, -1.5], [2.0]]"#)?;
        assert_eq!(positional, gradients);
        Ok(())
    }

    #[test]
    fn in_place_overwrites_every_parameter() -> Result<(), serde_json::Error> {
        let mut layer =
            Dense::<2, 2, Relu, f64>::from_parts(SMatrix::repeat(9.0), SVector::repeat(9.0));
        let mut deserializer =
            serde_json::Deserializer::from_str(r#"{"bias": [5, 6], "weights": [1, 2, 3, 4]}"#);
        Dense::deserialize_in_place(&mut deserializer, &mut layer)?;
        deserializer.end()?;
        assert_eq!(layer.weights, SMatrix::<f64, 2, 2>::new(1.0, 3.0, 2.0, 4.0));
        assert_eq!(layer.bias, SVector::from([5.0, 6.0]));
        Ok(())
    }

    #[test]
    fn too_few_and_too_many_numbers_say_how_many() {
        let short = read::<Dense<3, 2>>(vec![1.0, 2.0, 3.0, 4.0, 5.0], vec![0.0; 2]);
        assert_eq!(
            short,
            Err(
                "invalid length 5, expected 6 numbers for the 2 x 3 weights, column by column"
                    .to_owned()
            )
        );
        let long = read::<Dense<3, 2>>(vec![0.0; 8], vec![0.0; 2]);
        assert_eq!(
            long,
            Err(
                "invalid length 8, expected 6 numbers for the 2 x 3 weights, column by column"
                    .to_owned()
            )
        );
        let bias = read::<DenseGradients<1, 2>>(vec![1.0, 2.0], vec![0.0; 3]);
        assert_eq!(
            bias,
            Err("invalid length 3, expected 2 numbers for the bias".to_owned())
        );
    }

    #[test]
    fn non_finite_numbers_are_refused_with_their_place() {
        // Element 3 of a 2 x 2 matrix, column-major, is row 1 of column 1.
        let nan = read::<Dense<2, 2, Relu, f64>>(vec![1.0, 2.0, 3.0, f64::NAN], vec![0.0; 2]);
        assert_eq!(
            nan,
            Err(
                "weights[3] (row 1, column 1) is not finite: found NaN, expected a finite number"
                    .to_owned()
            )
        );
        let infinite =
            read::<DenseGradients<3, 1, f32>>(vec![0.0, f64::NEG_INFINITY, 1.0], vec![0.0]);
        assert_eq!(
            infinite,
            Err(
                "weights[1] (row 0, column 1) is not finite: found -inf, expected a finite number"
                    .to_owned()
            )
        );
        let bias = read::<Dense<1, 2>>(vec![0.0; 2], vec![0.5, f64::INFINITY]);
        assert_eq!(
            bias,
            Err("bias[1] is not finite: found inf, expected a finite number".to_owned())
        );
    }

    #[test]
    fn unknown_missing_and_repeated_fields_are_errors() {
        let fields = [("weights", vec![0.5]), ("weight", vec![1.0])];
        let typo =
            Dense::<1, 1>::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()));
        assert_eq!(
            typo.map_err(|error| error.to_string()),
            Err("unknown field `weight`, expected `weights` or `bias`".to_owned())
        );
        let fields = [("weights", vec![0.5])];
        let missing =
            Dense::<1, 1>::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()));
        assert_eq!(
            missing.map_err(|error| error.to_string()),
            Err("missing field `bias`".to_owned())
        );
        let fields = [
            ("bias", vec![0.5]),
            ("weights", vec![0.5]),
            ("bias", vec![0.5]),
        ];
        let twice =
            Dense::<1, 1>::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()));
        assert_eq!(
            twice.map_err(|error| error.to_string()),
            Err("duplicate field `bias`".to_owned())
        );
        let only_weights = SeqDeserializer::<_, ValueError>::new([vec![0.5]].into_iter());
        assert_eq!(
            Dense::<1, 1>::deserialize(only_weights).map_err(|error| error.to_string()),
            Err("invalid length 1, expected a layer's weights and bias".to_owned())
        );
    }
}

/// Layers without parameters are written as a unit (`null` in JSON) and read from one.
macro_rules! unit_serde {
    ($name:ident < $($generic:ident),* ; $($width:ident),* >) => {
        impl<$($generic,)* $(const $width: usize,)* T> serde::Serialize
            for super::$name<$($generic,)* $($width,)* T>
        {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_unit_struct(stringify!($name))
            }
        }

        impl<'de, $($generic,)* $(const $width: usize,)* T> Deserialize<'de>
            for super::$name<$($generic,)* $($width,)* T>
        {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_unit_struct(stringify!($name), UnitVisitor(stringify!($name)))?;
                Ok(Self::new())
            }
        }
    };
}

/// Accepts the unit a layer without parameters is written as.
struct UnitVisitor(&'static str);

impl<'de> Visitor<'de> for UnitVisitor {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "a {} layer, which has no parameters (`null`)",
            self.0
        )
    }

    fn visit_unit<E: Error>(self) -> Result<(), E> {
        Ok(())
    }
}

unit_serde!(Flatten<; N>);
unit_serde!(Dropout<; P, N>);
unit_serde!(Activate<A; N>);

/// A convolution is written as a Dense layer is, `{"weights": [...], "bias": [...]}`, its kernel
/// flat in PyTorch's order (`weight[o][i][k]`, the last index fastest).
macro_rules! conv_serde {
    ($name:ident < $($generic:ident),* ; $($width:ident),* >, $label:literal) => {
        impl<$($generic,)* $(const $width: usize,)* T: Scalar> serde::Serialize
            for super::$name<$($width,)* $($generic,)* T>
        {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct as _;
                let mut state = serializer.serialize_struct($label, 2)?;
                state.serialize_field("weights", self.weight.as_flattened().as_flattened())?;
                state.serialize_field("bias", &self.bias[..])?;
                state.end()
            }
        }

        impl<'de, $($generic,)* $(const $width: usize,)* T: Scalar> Deserialize<'de>
            for super::$name<$($width,)* $($generic,)* T>
        {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut layer = <Self as crate::Parameters<T>>::zeros();
                Self::deserialize_in_place(deserializer, &mut layer)?;
                Ok(layer)
            }

            fn deserialize_in_place<D: Deserializer<'de>>(
                deserializer: D,
                place: &mut Self,
            ) -> Result<(), D::Error> {
                layer(
                    deserializer,
                    $label,
                    [COUT, CIN * K],
                    place.weight.as_flattened_mut().as_flattened_mut(),
                    &mut place.bias,
                )
            }
        }
    };
}

conv_serde!(Conv1d<A; CIN, COUT, K, STRIDE, PL, PR, DILATION, L, LOUT>, "Conv1d");
conv_serde!(Conv1dGradients<; CIN, COUT, K>, "Conv1dGradients");
unit_serde!(MaxPool1d<; C, K, STRIDE, PL, PR, L, LOUT>);
unit_serde!(AvgPool1d<; C, K, STRIDE, PL, PR, L, LOUT>);
