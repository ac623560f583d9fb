//! `Serialize` and `Deserialize` for the structs `network!` generates, with the `serde` feature.
//!
//! The macro cannot see this crate's features (a `#[cfg(feature = "serde")]` in its output would
//! test the user's crate), so it always emits one `__serde_impls!` invocation and this crate
//! decides what that expands to: the impls with the feature, nothing without it.
//!
//! A network is written as its layers, each by its tensors (`typenn::layer::serialize_tensors`:
//! a map from tensor name to flat values, so any layer kind works without serde code of its
//! own): a struct of named fields for `struct Classifier { hidden: ..., output: ... }`, a tuple
//! struct (a JSON array) for `struct Regressor(..., ...)`. The impls are written by hand so that
//! the user's crate needs no `serde_derive`.
//!
//! Reading goes through `deserialize_in_place`, layer by layer into the network's own tensors:
//! `deserialize` fills a zeroed heap allocation and moves the network out of it once, and a
//! caller with a network too big for the stack reads into `zeros_boxed()` directly.

/// The impls for the given structs.
///
/// Input: one or more `tuple Name { 0 "0", 1 "1" }` or
/// `named Name { hidden "hidden", output "output" }`: each field as its member and its name as
/// serde writes it. The layers are written and read by their tensor descriptions.
#[cfg(feature = "serde")]
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_impls {
    (@serialize tuple $name:ident { $($member:tt $label:literal),* }) => {
        impl<T: $crate::__private::Scalar> $crate::__private::serde::Serialize for $name<T> {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                use $crate::__private::serde::ser::SerializeTupleStruct as _;
                let mut state = serializer
                    .serialize_tuple_struct(::core::stringify!($name), __FIELDS.len())?;
                $(state.serialize_field(
                    &$crate::__private::TensorsRef::<T, _>::new(&self.$member),
                )?;)*
                state.end()
            }
        }
    };
    (@serialize named $name:ident { $($member:tt $label:literal),* }) => {
        impl<T: $crate::__private::Scalar> $crate::__private::serde::Serialize for $name<T> {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                use $crate::__private::serde::ser::SerializeStruct as _;
                let mut state =
                    serializer.serialize_struct(::core::stringify!($name), __FIELDS.len())?;
                $(state.serialize_field(
                    $label,
                    &$crate::__private::TensorsRef::<T, _>::new(&self.$member),
                )?;)*
                state.end()
            }
        }
    };
    (@visit_map tuple $($rest:tt)*) => {};
    (@visit_map named { $($member:ident $label:literal),* }) => {
        fn visit_map<M: $crate::__private::serde::de::MapAccess<'de>>(
            self,
            mut map: M,
        ) -> ::core::result::Result<(), M::Error> {
            use $crate::__private::serde::de::Error as _;
            // Whether each layer has been read.
            $(let mut $member = false;)*
            while let ::core::option::Option::Some(key) =
                map.next_key_seed($crate::__private::FieldName(__FIELDS))?
            {
                // `key` is one of `__FIELDS`: exactly one branch is taken.
                $(if key == $label {
                    if $member {
                        return ::core::result::Result::Err(M::Error::duplicate_field($label));
                    }
                    map.next_value_seed($crate::__private::TensorsInPlace::<T, _>::new(
                        &mut self.0.$member,
                    ))?;
                    $member = true;
                })*
            }
            $(if !$member {
                return ::core::result::Result::Err(M::Error::missing_field($label));
            })*
            ::core::result::Result::Ok(())
        }
    };
    (@call tuple $name:ident, $deserializer:expr, $visitor:expr) => {
        $crate::__private::serde::Deserializer::deserialize_tuple_struct(
            $deserializer,
            ::core::stringify!($name),
            __FIELDS.len(),
            $visitor,
        )
    };
    (@call named $name:ident, $deserializer:expr, $visitor:expr) => {
        $crate::__private::serde::Deserializer::deserialize_struct(
            $deserializer,
            ::core::stringify!($name),
            __FIELDS,
            $visitor,
        )
    };
    (@one $style:ident $name:ident { $($member:tt $label:literal),* }) => {
        const _: () = {
            const __FIELDS: &[&str] = &[$($label),*];

            $crate::__serde_impls!(@serialize $style $name { $($member $label),* });

            impl<'de, T: $crate::__private::Scalar> $crate::__private::serde::Deserialize<'de>
                for $name<T>
            {
                fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                    deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    // Filled on the heap: a big network passes through the stack only once.
                    let mut network = <Self as $crate::__private::Parameters<T>>::zeros_boxed();
                    Self::deserialize_in_place(deserializer, &mut network)?;
                    ::core::result::Result::Ok(*network)
                }

                fn deserialize_in_place<D: $crate::__private::serde::Deserializer<'de>>(
                    deserializer: D,
                    place: &mut Self,
                ) -> ::core::result::Result<(), D::Error> {
                    $crate::__serde_impls!(@call $style $name, deserializer, __Visitor(place))
                }
            }

            struct __Visitor<'a, T: $crate::__private::Scalar>(&'a mut $name<T>);

            impl<'de, T: $crate::__private::Scalar> $crate::__private::serde::de::Visitor<'de>
                for __Visitor<'_, T>
            {
                type Value = ();

                fn expecting(
                    &self,
                    formatter: &mut ::core::fmt::Formatter<'_>,
                ) -> ::core::fmt::Result {
                    ::core::write!(
                        formatter,
                        "a {} of {} layers",
                        ::core::stringify!($name),
                        __FIELDS.len(),
                    )
                }

                fn visit_seq<S: $crate::__private::serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: S,
                ) -> ::core::result::Result<(), S::Error> {
                    use $crate::__private::serde::de::Error as _;
                    let mut found = 0_usize;
                    $(
                        let layer = $crate::__private::TensorsInPlace::<T, _>::new(&mut self.0.$member);
                        if seq.next_element_seed(layer)?.is_none() {
                            return ::core::result::Result::Err(S::Error::invalid_length(
                                found, &self,
                            ));
                        }
                        found += 1;
                    )*
                    let _ = found;
                    ::core::result::Result::Ok(())
                }

                $crate::__serde_impls!(@visit_map $style { $($member $label),* });
            }
        };
    };
    ($($style:ident $name:ident { $($member:tt $label:literal),* $(,)? })*) => {
        $($crate::__serde_impls!(@one $style $name { $($member $label),* });)*
    };
}

/// Without the `serde` feature: nothing.
#[cfg(not(feature = "serde"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __serde_impls {
    ($($tokens:tt)*) => {};
}
