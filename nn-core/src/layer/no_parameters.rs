//! What every layer without parameters shares: no tensors, no gradients, no update.

/// `Parameters` (no tensors) and `HasGradients` ([`NoGradients`](super::NoGradients)) for a
/// layer type with no parameters, generic over its const widths and a marker type.
macro_rules! no_parameters {
    ($name:ident < $($generic:ident),* ; $($width:ident),* > $(, $kind:expr)?) => {
        impl<$($generic,)* $(const $width: usize,)* T: $crate::Scalar> $crate::Parameters<T>
            for $name<$($generic,)* $($width,)* T>
        {
            const TENSORS: usize = 0;
            const PARAMETERS: usize = 0;

            #[inline]
            fn zeros() -> Self {
                Self::new()
            }

            #[inline]
            fn tensor(&self, _index: usize) -> &[T] {
                &[]
            }

            #[inline]
            fn tensor_mut(&mut self, _index: usize) -> &mut [T] {
                &mut []
            }

            #[inline]
            fn tensor_info(_index: usize) -> Option<$crate::TensorInfo> {
                None
            }

            $(
                fn kind() -> $crate::layer::LayerKind {
                    $kind
                }
            )?
        }

        impl<$($generic,)* $(const $width: usize,)* T: $crate::Scalar>
            $crate::layer::HasGradients<T> for $name<$($generic,)* $($width,)* T>
        {
            type Gradients = $crate::layer::NoGradients;
        }
    };
}

pub(crate) use no_parameters;
