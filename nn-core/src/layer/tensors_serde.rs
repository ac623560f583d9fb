//! Any layer written and read with the `serde` feature by its tensor descriptions, so that a new
//! layer kind needs no serde code of its own.
//!
//! A layer is a map from each tensor's [`TensorInfo::name`] (`weight`, `bias`, then its buffers,
//! such as `running_mean`) to the tensor's values, flat, in the order its [`TensorInfo::layout`]
//! gives: PyTorch's row-major order for [`Layout::RowMajor`] tensors, column by column for
//! [`Layout::ColumnMajor`] ones (Dense's `[out, in]` weight, as nalgebra writes a matrix). The
//! dimensions are not written: the type fixes them. Reading takes exactly as many numbers as
//! each tensor holds, every one finite, and every name once, with errors that say what was
//! expected; it writes each number straight into the layer, so a network too big for the stack
//! can be read into [`Parameters::zeros_boxed`]'s allocation.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{
    DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde::ser::{SerializeMap, SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

use super::{Dense, DenseGradients};
use crate::{Layout, Parameters, Scalar, TensorInfo};

/// How many tensors a layer may have for [`deserialize_tensors_in_place`], which tracks the
/// names it has read in one word so that it needs no allocator.
pub const MAX_LAYER_TENSORS: usize = 64;

/// Writes `layer` as a map from tensor name to flat values (see the module's docs): the body of
/// a layer's `Serialize::serialize`.
///
/// # Errors
///
/// Whatever `serializer` returns.
pub fn serialize_tensors<T: Scalar, P: Parameters<T>, S: Serializer>(
    layer: &P,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(P::TENSORS + P::BUFFERS))?;
    for slot in 0..P::TENSORS + P::BUFFERS {
        if let Some(info) = info::<T, P>(slot) {
            map.serialize_entry(info.name, &Values(values(layer, slot)))?;
        }
    }
    map.end()
}

/// Reads a map written by [`serialize_tensors`] into `place`: the body of a layer's
/// `Deserialize::deserialize_in_place`.
///
/// # Errors
///
/// A tensor of the wrong length, a non-finite number, or an unknown, missing or repeated name,
/// as `D::Error` saying what was expected; a layer of more than [`MAX_LAYER_TENSORS`] tensors.
pub fn deserialize_tensors_in_place<'de, T: Scalar, P: Parameters<T>, D: Deserializer<'de>>(
    deserializer: D,
    place: &mut P,
) -> Result<(), D::Error> {
    if P::TENSORS + P::BUFFERS > MAX_LAYER_TENSORS {
        return Err(D::Error::custom(format_args!(
            "expected a layer of at most {MAX_LAYER_TENSORS} tensors, but it has {}",
            P::TENSORS + P::BUFFERS
        )));
    }
    deserializer.deserialize_map(LayerVisitor {
        place,
        scalar: PhantomData,
    })
}

/// Writes a layer through [`serialize_tensors`]: for the `network!` macro's impls, so that any
/// layer kind can be a network's field.
#[doc(hidden)]
pub struct TensorsRef<'a, T, P>(&'a P, PhantomData<T>);

impl<'a, T, P> TensorsRef<'a, T, P> {
    #[inline]
    #[must_use]
    pub fn new(layer: &'a P) -> Self {
        Self(layer, PhantomData)
    }
}

impl<T: Scalar, P: Parameters<T>> Serialize for TensorsRef<'_, T, P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_tensors(self.0, serializer)
    }
}

/// Reads a layer in place through [`deserialize_tensors_in_place`]: for the `network!` macro's
/// impls.
#[doc(hidden)]
pub struct TensorsInPlace<'a, T, P>(&'a mut P, PhantomData<T>);

impl<'a, T, P> TensorsInPlace<'a, T, P> {
    #[inline]
    #[must_use]
    pub fn new(layer: &'a mut P) -> Self {
        Self(layer, PhantomData)
    }
}

impl<'de, T: Scalar, P: Parameters<T>> DeserializeSeed<'de> for TensorsInPlace<'_, T, P> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserialize_tensors_in_place(deserializer, self.0)
    }
}

/// Tensor `slot` counting the parameters, then the buffers.
fn info<T: Scalar, P: Parameters<T>>(slot: usize) -> Option<TensorInfo> {
    if slot < P::TENSORS {
        P::tensor_info(slot)
    } else {
        P::buffer_info(slot - P::TENSORS)
    }
}

fn values<T: Scalar, P: Parameters<T>>(layer: &P, slot: usize) -> &[T] {
    if slot < P::TENSORS {
        layer.tensor(slot)
    } else {
        layer.buffer(slot - P::TENSORS)
    }
}

fn values_mut<T: Scalar, P: Parameters<T>>(layer: &mut P, slot: usize) -> &mut [T] {
    if slot < P::TENSORS {
        layer.tensor_mut(slot)
    } else {
        layer.buffer_mut(slot - P::TENSORS)
    }
}

/// A tensor's values as a tuple, as nalgebra writes a static matrix: formats without length
/// prefixes read the same bytes back.
struct Values<'a, T>(&'a [T]);

impl<T: Scalar> Serialize for Values<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(self.0.len())?;
        for value in self.0 {
            tuple.serialize_element(value)?;
        }
        tuple.end()
    }
}

struct LayerVisitor<'a, T, P> {
    place: &'a mut P,
    scalar: PhantomData<T>,
}

impl<'de, T: Scalar, P: Parameters<T>> Visitor<'de> for LayerVisitor<'_, T, P> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a layer's tensors: a map of ")?;
        fmt::Display::fmt(&Names::<T, P>(PhantomData), formatter)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let mut seen: u64 = 0;
        while let Some(slot) = map.next_key_seed(TensorName::<T, P>(PhantomData))? {
            let Some(info) = info::<T, P>(slot) else {
                continue;
            };
            if seen & (1 << slot) != 0 {
                return Err(M::Error::duplicate_field(info.name));
            }
            map.next_value_seed(Tensor {
                info,
                data: values_mut(self.place, slot),
            })?;
            seen |= 1 << slot;
        }
        for slot in 0..P::TENSORS + P::BUFFERS {
            if seen & (1 << slot) == 0
                && let Some(info) = info::<T, P>(slot)
            {
                return Err(M::Error::missing_field(info.name));
            }
        }
        Ok(())
    }
}

/// `` `weight` ``, `` `weight` or `bias` ``, `` one of `weight`, `bias`, `running_mean` ``, as
/// serde words its own lists of fields.
struct Names<T, P>(PhantomData<(T, P)>);

impl<T: Scalar, P: Parameters<T>> fmt::Display for Names<T, P> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = P::TENSORS + P::BUFFERS;
        if count > 2 {
            formatter.write_str("one of ")?;
        }
        for slot in 0..count {
            let name = info::<T, P>(slot).map_or("", |info| info.name);
            match slot {
                0 => {}
                1 if count == 2 => formatter.write_str(" or ")?,
                _ => formatter.write_str(", ")?,
            }
            write!(formatter, "`{name}`")?;
        }
        Ok(())
    }
}

/// Reads a tensor's name as its slot.
struct TensorName<T, P>(PhantomData<(T, P)>);

impl<'de, T: Scalar, P: Parameters<T>> DeserializeSeed<'de> for TensorName<T, P> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, T: Scalar, P: Parameters<T>> Visitor<'de> for TensorName<T, P> {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a tensor name")
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<usize, E> {
        (0..P::TENSORS + P::BUFFERS)
            .find(|&slot| info::<T, P>(slot).is_some_and(|info| info.name == name))
            .ok_or_else(|| {
                E::custom(format_args!(
                    "unknown field `{name}`, expected {}",
                    Names::<T, P>(PhantomData)
                ))
            })
    }

    fn visit_bytes<E: Error>(self, name: &[u8]) -> Result<usize, E> {
        match core::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(Unexpected::Bytes(name), &self)),
        }
    }
}

/// A tensor to fill, in its layout's order.
struct Tensor<'a, T> {
    info: TensorInfo,
    data: &'a mut [T],
}

impl<'de, T: Scalar> DeserializeSeed<'de> for Tensor<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_tuple(self.data.len(), self)
    }
}

impl<'de, T: Scalar> Visitor<'de> for Tensor<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TensorInfo {
            name,
            shape,
            layout,
            ..
        } = self.info;
        write!(formatter, "{} numbers for the ", self.info.len())?;
        if shape.len() < 2 {
            return formatter.write_str(name);
        }
        for (axis, len) in shape.iter().enumerate() {
            if axis > 0 {
                formatter.write_str(" x ")?;
            }
            write!(formatter, "{len}")?;
        }
        let order = match layout {
            Layout::ColumnMajor => "column by column",
            Layout::RowMajor => "row-major",
        };
        write!(formatter, " {name}, {order}")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let len = self.data.len();
        for index in 0..len {
            let Some(value) = seq.next_element::<T>()? else {
                return Err(S::Error::invalid_length(index, &self));
            };
            if !value.as_f64().is_finite() {
                return Err(S::Error::custom(NonFinite {
                    info: self.info,
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

/// The message for a non-finite element: its place in the slice and in the shape, and its value.
struct NonFinite {
    info: TensorInfo,
    index: usize,
    value: f64,
}

impl NonFinite {
    /// The element's index along `axis` of the tensor's shape.
    fn along(&self, axis: usize) -> usize {
        let shape = self.info.shape;
        // Values along the axes that vary faster than `axis` in the slice.
        let faster: usize = match self.info.layout {
            Layout::RowMajor => shape[axis + 1..].iter().product(),
            Layout::ColumnMajor => shape[..axis].iter().product(),
        };
        (self.index / faster.max(1)) % shape[axis].max(1)
    }
}

impl fmt::Display for NonFinite {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { info, index, value } = self;
        write!(formatter, "{}[{index}] ", info.name)?;
        match info.shape.len() {
            0 | 1 => {}
            2 => write!(
                formatter,
                "(row {}, column {}) ",
                self.along(0),
                self.along(1)
            )?,
            rank => {
                formatter.write_str("(at [")?;
                for axis in 0..rank {
                    if axis > 0 {
                        formatter.write_str(", ")?;
                    }
                    write!(formatter, "{}", self.along(axis))?;
                }
                formatter.write_str("]) ")?;
            }
        }
        write!(
            formatter,
            "is not finite: found {value}, expected a finite number"
        )
    }
}

/// Serialize and Deserialize for a layer type through the functions above.
macro_rules! by_tensors {
    ($([$($generics:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($generics)*> Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_tensors(self, serializer)
            }
        }

        impl<'de, $($generics)*> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut layer = <Self as Parameters<T>>::zeros();
                deserialize_tensors_in_place(deserializer, &mut layer)?;
                Ok(layer)
            }

            fn deserialize_in_place<D: Deserializer<'de>>(
                deserializer: D,
                place: &mut Self,
            ) -> Result<(), D::Error> {
                deserialize_tensors_in_place(deserializer, place)
            }
        }
    )*};
}

by_tensors! {
    [const IN: usize, const OUT: usize, A, T: Scalar] Dense<IN, OUT, A, T>,
    [const IN: usize, const OUT: usize, T: Scalar] DenseGradients<IN, OUT, T>,
}

/// Reads a field's name as the entry of the list it names: for the impls the `network!` macro
/// generates.
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

#[cfg(test)]
mod tests {
    use nalgebra::{SMatrix, SVector};
    use serde::Deserialize;
    use serde::de::value::{Error as ValueError, MapDeserializer};

    use crate::{Dense, DenseGradients, Relu};

    /// A layer as a format that, unlike JSON, can hold any number.
    fn read<L: for<'de> Deserialize<'de>>(weight: Vec<f64>, bias: Vec<f64>) -> Result<L, String> {
        let fields = [("weight", weight), ("bias", bias)];
        L::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn dense_is_weight_column_major_then_bias() -> Result<(), serde_json::Error> {
        // Row i holds unit i's weights: [[1, 2, 3], [4, 5, 6]].
        let layer = Dense::<3, 2, Relu>::from_parts(
            SMatrix::<f32, 2, 3>::new(1.0, 2.0, 3.0, 4.0, 5.0, 6.0),
            SVector::from([0.5, -0.25]),
        );
        let json = serde_json::to_string(&layer)?;
        assert_eq!(
            json,
            r#"{"weight":[1.0,4.0,2.0,5.0,3.0,6.0],"bias":[0.5,-0.25]}"#
        );
        let back: Dense<3, 2, Relu> = serde_json::from_str(&json)?;
        assert_eq!(back, layer);
        Ok(())
    }

    #[test]
    fn gradients_have_the_same_format() -> Result<(), serde_json::Error> {
        let gradients: DenseGradients<2, 1, f64> =
            serde_json::from_str(r#"{"weight": [0.5, -1.5], "bias": [2.0]}"#)?;
        assert_eq!(gradients.weights, SMatrix::<f64, 1, 2>::new(0.5, -1.5));
        assert_eq!(gradients.bias, SVector::from([2.0]));
        assert_eq!(
            serde_json::to_string(&gradients)?,
            r#"{"weight":[0.5,-1.5],"bias":[2.0]}"#
        );
        Ok(())
    }

    #[test]
    fn in_place_overwrites_every_parameter() -> Result<(), serde_json::Error> {
        let mut layer =
            Dense::<2, 2, Relu, f64>::from_parts(SMatrix::repeat(9.0), SVector::repeat(9.0));
        let mut deserializer =
            serde_json::Deserializer::from_str(r#"{"bias": [5, 6], "weight": [1, 2, 3, 4]}"#);
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
                "invalid length 5, expected 6 numbers for the 2 x 3 weight, column by column"
                    .to_owned()
            )
        );
        let long = read::<Dense<3, 2>>(vec![0.0; 8], vec![0.0; 2]);
        assert_eq!(
            long,
            Err(
                "invalid length 8, expected 6 numbers for the 2 x 3 weight, column by column"
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
                "weight[3] (row 1, column 1) is not finite: found NaN, expected a finite number"
                    .to_owned()
            )
        );
        let infinite =
            read::<DenseGradients<3, 1, f32>>(vec![0.0, f64::NEG_INFINITY, 1.0], vec![0.0]);
        assert_eq!(
            infinite,
            Err(
                "weight[1] (row 0, column 1) is not finite: found -inf, expected a finite number"
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
    fn unknown_missing_and_repeated_names_are_errors() {
        let fields = [("weight", vec![0.5]), ("weights", vec![1.0])];
        let typo =
            Dense::<1, 1>::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()));
        assert_eq!(
            typo.map_err(|error| error.to_string()),
            Err("unknown field `weights`, expected `weight` or `bias`".to_owned())
        );
        let fields = [("weight", vec![0.5])];
        let missing =
            Dense::<1, 1>::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()));
        assert_eq!(
            missing.map_err(|error| error.to_string()),
            Err("missing field `bias`".to_owned())
        );
        let fields = [
            ("bias", vec![0.5]),
            ("weight", vec![0.5]),
            ("bias", vec![0.5]),
        ];
        let twice =
            Dense::<1, 1>::deserialize(MapDeserializer::<_, ValueError>::new(fields.into_iter()));
        assert_eq!(
            twice.map_err(|error| error.to_string()),
            Err("duplicate field `bias`".to_owned())
        );
        // A layer is a map: the old positional form is refused, saying what is expected.
        let positional = serde_json::from_str::<Dense<1, 1>>("[[0.5], [1.0]]");
        assert_eq!(
            positional.map_err(|error| error.to_string()),
            Err(
                "invalid type: sequence, expected a layer's tensors: a map of `weight` or `bias` \
                 at line 1 column 0"
                    .to_owned()
            )
        );
    }
}
