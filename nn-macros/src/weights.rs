//! `#[weights("file.safetensors")]` on a network: its parameters read from a safetensors file
//! while the crate compiles, checked against the declared layers, and emitted as an associated
//! constant, so the weights sit in read-only memory and nothing is parsed at run time.
//!
//! Grammar of the attribute:
//!
//! ```text
//! Weights := "#" "[" "weights" "(" LitStr ("," Scalar)? ","? ")" "]"
//! Scalar  := "f32" | "f64"        (f32 unless given)
//! ```
//!
//! A relative path is resolved against `CARGO_MANIFEST_DIR`, the directory of the `Cargo.toml`
//! of the crate that declares the network, as build scripts and `include_dir!` do.
//!
//! This is a small pipeline of its own, run on a network that passed validation: parse the
//! attribute, read the file (the macro's only I/O), check every tensor ([`check`], pure), and
//! expand. Every mistake is reported at once, on the path literal; the constant is then still
//! emitted with zeros, so that the user's uses of it add no errors of their own.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use syn::{Attribute, Ident, LitStr, Member, Token};

use crate::parse::{Declaration, Style};
use crate::validate::{Family, LayerModel, Model, layer_name};

/// The attribute's name.
pub const ATTRIBUTE: &str = "weights";

/// At most this many names in a list of what a file or a network holds.
const LISTED: usize = 8;

/// Bytes in the little-endian header length that starts every safetensors file.
const LENGTH_BYTES: usize = size_of::<u64>();

/// The largest header the safetensors crate accepts (its `MAX_HEADER_SIZE`).
const MAX_HEADER_BYTES: usize = 100_000_000;

/// The float type the constant is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    F32,
    F64,
}

impl Scalar {
    fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    fn dtype(self) -> Dtype {
        match self {
            Self::F32 => Dtype::F32,
            Self::F64 => Dtype::F64,
        }
    }
}

/// `#[weights("path", f64)]` as written.
pub struct WeightsAttribute {
    pub path: LitStr,
    pub scalar: Scalar,
}

/// One tensor the network needs from the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Its name in the file: `0.weight`, `hidden.running_var`.
    pub name: String,
    /// Its shape in PyTorch's order.
    pub shape: Vec<usize>,
    /// Its layer, as messages name it: "layer 1 (`Dense<1, 16, Tanh>`)".
    pub layer: String,
    /// Its name in the layer: `weight`.
    pub tensor: &'static str,
    /// What its shape's axes are, for messages: " ([out, in], as `nn.Linear` keeps it)".
    pub axes: &'static str,
}

impl Wanted {
    /// "layer 1 (`Dense<2, 3>`) needs its weight as [3, 2] ([out, in], ...)".
    fn need(&self) -> String {
        format!(
            "{} needs its {} as {}{}",
            self.layer,
            self.tensor,
            shape_text(&self.shape),
            self.axes
        )
    }
}

/// The tensors of one layer, in the order its constructor takes them.
pub struct LayerTensors {
    pub family: Family,
    pub tensors: Vec<Wanted>,
}

/// Whether `attr` is this macro's attribute, which is not passed through to the struct.
pub fn is_weights_attribute(attr: &Attribute) -> bool {
    attr.path().is_ident(ATTRIBUTE)
}

/// The constant for a valid network with `#[weights(..)]`, or nothing without the attribute.
pub fn expand(model: &Model<'_>) -> TokenStream {
    let declaration = model.declaration;
    let attribute = match attribute(declaration) {
        Ok(Some(attribute)) => attribute,
        Ok(None) => return TokenStream::new(),
        Err(error) => return error.to_compile_error(),
    };
    let span = attribute.path.span();
    let layers = match layer_tensors(model) {
        Ok(layers) => layers,
        Err(error) => return error.to_compile_error(),
    };
    let read = read(&attribute.path).and_then(|(resolved, bytes)| {
        let values = check(&bytes, &layers, attribute.scalar, &attribute.path.value())
            .map_err(|messages| combined(span, &messages))?;
        Ok((resolved, values))
    });
    match read {
        Ok((resolved, values)) => {
            constant(model, &attribute, &layers, Some(&values), Some(&resolved))
        }
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(constant(model, &attribute, &layers, None, None));
            tokens
        }
    }
}

/// When the network itself is invalid: the constant on the fallback struct, so that uses of it
/// add no "no associated item" errors to the real ones.
pub fn fallback(declaration: &Declaration) -> TokenStream {
    let Ok(Some(attribute)) = attribute(declaration) else {
        return TokenStream::new();
    };
    let ident = &declaration.ident;
    let scalar = Ident::new(attribute.scalar.name(), Span::call_site());
    quote! {
        impl #ident<#scalar> {
            #[doc(hidden)]
            pub const WEIGHTS: Self = Self(::core::marker::PhantomData);
        }
    }
}

/// The declaration's `#[weights(..)]`, if any.
pub fn attribute(declaration: &Declaration) -> syn::Result<Option<WeightsAttribute>> {
    let mut found = declaration
        .attrs
        .iter()
        .filter(|attr| is_weights_attribute(attr));
    let Some(attr) = found.next() else {
        return Ok(None);
    };
    if let Some(second) = found.next() {
        return Err(syn::Error::new_spanned(
            second,
            "a network takes one `#[weights(..)]`: declare another network for another file",
        ));
    }
    let usage = "expected `#[weights(\"path/to/file.safetensors\")]`, or `#[weights(\"path/to/file.safetensors\", f64)]` for an f64 network";
    if !matches!(attr.meta, syn::Meta::List(_)) {
        return Err(syn::Error::new_spanned(attr, usage));
    }
    attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
        let path: LitStr = input
            .parse()
            .map_err(|error| syn::Error::new(error.span(), usage))?;
        let mut scalar = Scalar::F32;
        if input.parse::<Option<Token![,]>>()?.is_some() && !input.is_empty() {
            let ident: Ident = input.parse()?;
            scalar = match ident.to_string().as_str() {
                "f32" => Scalar::F32,
                "f64" => Scalar::F64,
                _ => {
                    return Err(syn::Error::new(
                        ident.span(),
                        "the weights' float type is `f32` or `f64`",
                    ));
                }
            };
            input.parse::<Option<Token![,]>>()?;
        }
        if !input.is_empty() {
            return Err(input.error(usage));
        }
        Ok(Some(WeightsAttribute { path, scalar }))
    })
}

/// The tensors every layer needs, with their shapes: the layers' `TensorInfo` as nn-core gives
/// it, worked out from the literal widths.
pub fn layer_tensors(model: &Model<'_>) -> syn::Result<Vec<LayerTensors>> {
    let style = model.declaration.style;
    model
        .layers
        .iter()
        .map(|layer| {
            let name = layer_name(style, layer);
            let number = |index: usize| -> syn::Result<usize> {
                let width = layer.type_args.get(index).ok_or_else(|| {
                    syn::Error::new(layer.span, format!("{name} has no width {index}"))
                })?;
                width
                    .value
                    .ok_or_else(|| not_a_number(&name, &width.text, width.span))
            };
            let shapes: Vec<(&'static str, Vec<usize>, &'static str)> = match layer.kind.family {
                Family::Dense => {
                    let (inputs, outputs) = (number(0)?, number(1)?);
                    vec![
                        (
                            "weight",
                            vec![outputs, inputs],
                            " ([out, in], as `nn.Linear` keeps it)",
                        ),
                        ("bias", vec![outputs], ""),
                    ]
                }
                Family::Conv1d => {
                    let (cin, cout, kernel) = (number(0)?, number(1)?, number(2)?);
                    vec![
                        (
                            "weight",
                            vec![cout, cin, kernel],
                            " ([out channels, in channels, kernel])",
                        ),
                        ("bias", vec![cout], ""),
                    ]
                }
                Family::Conv2d => {
                    let (cin, cout, kernel) = (number(0)?, number(1)?, number(2)?);
                    vec![
                        (
                            "weight",
                            vec![cout, cin, kernel, kernel],
                            " ([out channels, in channels, kernel height, kernel width])",
                        ),
                        ("bias", vec![cout], ""),
                    ]
                }
                Family::BatchNorm => {
                    let channels = number(0)?;
                    ["weight", "bias", "running_mean", "running_var"]
                        .into_iter()
                        .map(|tensor| (tensor, vec![channels], " (one per channel)"))
                        .collect()
                }
                Family::LayerNorm => {
                    let shape = layer
                        .output
                        .iter()
                        .map(|dim| {
                            dim.value
                                .ok_or_else(|| not_a_number(&name, &dim.text, dim.span))
                        })
                        .collect::<syn::Result<Vec<usize>>>()?;
                    vec![
                        ("weight", shape.clone(), " (the sample's shape)"),
                        ("bias", shape, " (the sample's shape)"),
                    ]
                }
                Family::Recurrent | Family::CausalConv1d => {
                    return Err(syn::Error::new(
                        layer.span,
                        format!(
                            "{name}: `#[weights]` does not read layers with state (recurrent layers, `CausalConv1d`) yet; read the file when the program starts, with `from_safetensors_bytes(include_bytes!(..))`"
                        ),
                    ));
                }
                Family::Flatten
                | Family::Dropout
                | Family::Activation
                | Family::Pool1d
                | Family::Pool2d
                | Family::GlobalPool => Vec::new(),
            };
            let label = match &layer.member {
                Member::Named(ident) => ident.to_string(),
                Member::Unnamed(index) => index.index.to_string(),
            };
            let tensors = shapes
                .into_iter()
                .map(|(tensor, shape, axes)| Wanted {
                    name: format!("{label}.{tensor}"),
                    shape,
                    layer: name.clone(),
                    tensor,
                    axes,
                })
                .collect();
            Ok(LayerTensors {
                family: layer.kind.family,
                tensors,
            })
        })
        .collect()
}

fn not_a_number(layer: &str, width: &str, span: Span) -> syn::Error {
    syn::Error::new(
        span,
        format!(
            "`#[weights(..)]` checks the file against the widths as numbers, but {layer} has the width `{width}`: write it as a number"
        ),
    )
}

/// The file's path resolved against `CARGO_MANIFEST_DIR`, and its bytes.
fn read(path: &LitStr) -> syn::Result<(PathBuf, Vec<u8>)> {
    let written = path.value();
    let resolved = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(manifest) => Path::new(&manifest).join(&written),
        None => PathBuf::from(&written),
    };
    match std::fs::read(&resolved) {
        Ok(bytes) => Ok((resolved, bytes)),
        Err(error) => Err(syn::Error::new(
            path.span(),
            format!(
                "cannot read the weights `{written}`: {error}; a relative path starts at the directory of the crate's Cargo.toml (CARGO_MANIFEST_DIR)"
            ),
        )),
    }
}

/// Every message as one error on `span`.
fn combined(span: Span, messages: &[String]) -> syn::Error {
    let mut errors = messages
        .iter()
        .map(|message| syn::Error::new(span, message));
    let mut all = errors
        .next()
        .unwrap_or_else(|| syn::Error::new(span, "the weights do not fit the network"));
    for error in errors {
        all.combine(error);
    }
    all
}

/// The values of every tensor of every layer, row-major, checked against `layers`; or one
/// message per mistake: a tensor missing, of the wrong type or shape, holding a number that is
/// not finite, or in the file but not in the network.
pub fn check(
    bytes: &[u8],
    layers: &[LayerTensors],
    scalar: Scalar,
    path: &str,
) -> Result<Vec<Vec<Vec<f64>>>, Vec<String>> {
    let mut wrong_types = Vec::new();
    let file = parse(bytes)
        .map_err(|error| vec![format!("`{path}` is not a safetensors file: {error}")])?;
    let mut available: Vec<(String, Vec<usize>)> = file
        .iter()
        .map(|(name, view)| (name.to_owned(), view.shape().to_vec()))
        .collect();
    available.sort_unstable();
    let mut messages = Vec::new();
    let mut values = Vec::with_capacity(layers.len());
    for layer in layers {
        let mut layer_values = Vec::with_capacity(layer.tensors.len());
        for wanted in &layer.tensors {
            match tensor(&file, wanted, scalar, &available) {
                Ok(tensor) => layer_values.push(tensor),
                Err(Mistake::Message(message)) => messages.push(message),
                Err(Mistake::Dtype(found, shape)) => wrong_types.push((wanted, found, shape)),
            }
        }
        values.push(layer_values);
    }
    // A file of another float type is one mistake, not one per tensor.
    if let Some((first, found, shape)) = wrong_types.first() {
        let more = match wrong_types.len() {
            1 => String::new(),
            2 => " (as does 1 more)".to_owned(),
            count => format!(" (as do {} more)", count - 1),
        };
        messages.insert(0, wrong_type(first, *found, shape, &more, scalar, path));
    }
    let wanted: HashSet<&str> = layers
        .iter()
        .flat_map(|layer| &layer.tensors)
        .map(|wanted| wanted.name.as_str())
        .collect();
    for (name, shape) in &available {
        if !wanted.contains(name.as_str()) && !is_batches_tracked(name) {
            let network: Vec<(String, Vec<usize>)> = layers
                .iter()
                .flat_map(|layer| &layer.tensors)
                .map(|wanted| (wanted.name.clone(), wanted.shape.clone()))
                .collect();
            messages.push(format!(
                "the file's tensor `{name}` {} is not in the network, whose tensors are {}",
                shape_text(shape),
                listing(&network)
            ));
        }
    }
    if messages.is_empty() {
        Ok(values)
    } else {
        Err(messages)
    }
}

/// Why a tensor cannot be used.
enum Mistake {
    /// A tensor of another float type, with its shape: reported once for the whole file.
    Dtype(Dtype, Vec<usize>),
    Message(String),
}

/// One tensor's values, row-major, or its first mistake.
fn tensor(
    file: &SafeTensors<'_>,
    wanted: &Wanted,
    scalar: Scalar,
    available: &[(String, Vec<usize>)],
) -> Result<Vec<f64>, Mistake> {
    let name = &wanted.name;
    let Ok(view) = file.tensor(name) else {
        return Err(Mistake::Message(format!(
            "the file has no tensor `{name}`: {}; the file has {}",
            wanted.need(),
            listing(available)
        )));
    };
    if view.dtype() != scalar.dtype() {
        return Err(Mistake::Dtype(view.dtype(), view.shape().to_vec()));
    }
    if view.shape() != wanted.shape.as_slice() {
        return Err(Mistake::Message(format!(
            "tensor `{name}` has shape {} in the file, but {}",
            shape_text(view.shape()),
            wanted.need()
        )));
    }
    let values = decode(scalar, view.data());
    if let Some((position, value)) = values
        .iter()
        .enumerate()
        .find(|(_, value)| !value.is_finite())
    {
        return Err(Mistake::Message(format!(
            "tensor `{name}` holds {value} at index {}: a network's weights must be finite numbers",
            shape_text(&unravel(&wanted.shape, position))
        )));
    }
    Ok(values)
}

/// The message for a file of another float type than the constant's.
fn wrong_type(
    first: &Wanted,
    found: Dtype,
    shape: &[usize],
    more: &str,
    scalar: Scalar,
    path: &str,
) -> String {
    let fix = match (found, scalar) {
        (Dtype::F64, Scalar::F32) => format!(
            "write `#[weights(\"{path}\", f64)]` for an f64 network, or save the file as float32"
        ),
        (Dtype::F32, Scalar::F64) => format!(
            "write `#[weights(\"{path}\")]` for an f32 network, or save the file as float64"
        ),
        _ => format!("save the file as {}", float_name(scalar)),
    };
    format!(
        "tensor `{}` {} holds {found} numbers{more}, but the weights are read as {}, which needs {}: {fix}",
        first.name,
        shape_text(shape),
        scalar.name(),
        scalar.dtype()
    )
}

fn float_name(scalar: Scalar) -> &'static str {
    match scalar {
        Scalar::F32 => "float32",
        Scalar::F64 => "float64",
    }
}

/// Little-endian data of `scalar`'s type, widened to `f64` (exactly).
fn decode(scalar: Scalar, data: &[u8]) -> Vec<f64> {
    match scalar {
        Scalar::F32 => data
            .as_chunks::<4>()
            .0
            .iter()
            .map(|&bytes| f64::from(f32::from_le_bytes(bytes)))
            .collect(),
        Scalar::F64 => data
            .as_chunks::<8>()
            .0
            .iter()
            .map(|&bytes| f64::from_le_bytes(bytes))
            .collect(),
    }
}

/// The N-D index, in `shape`, of the value at `position` of row-major data.
fn unravel(shape: &[usize], position: usize) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    let mut rest = position;
    for (axis, &len) in shape.iter().enumerate().rev() {
        let len = len.max(1);
        index[axis] = rest % len;
        rest /= len;
    }
    index
}

/// `[16, 1]`.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// "`0.bias` [16], `0.weight` [16, 1]", the first [`LISTED`] of them.
fn listing(tensors: &[(String, Vec<usize>)]) -> String {
    if tensors.is_empty() {
        return "none".to_owned();
    }
    let mut items: Vec<String> = tensors
        .iter()
        .take(LISTED)
        .map(|(name, shape)| format!("`{name}` {}", shape_text(shape)))
        .collect();
    if tensors.len() > LISTED {
        items.push(format!("and {} more", tensors.len() - LISTED));
    }
    items.join(", ")
}

/// Whether `name` is PyTorch's count of a BatchNorm's training steps, which a network here does
/// not hold and which the run-time loader ignores too.
fn is_batches_tracked(name: &str) -> bool {
    name.rsplit('.').next() == Some("num_batches_tracked")
}

/// The file's header and data, checked as nn-core's loader checks them: the data's length
/// before the safetensors crate's own parser, whose last sum is unchecked.
fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, SafeTensorError> {
    let Some((length, rest)) = bytes.split_first_chunk::<LENGTH_BYTES>() else {
        return Err(SafeTensorError::HeaderTooSmall);
    };
    let header_len = usize::try_from(u64::from_le_bytes(*length))
        .ok()
        .filter(|&len| len <= MAX_HEADER_BYTES)
        .ok_or(SafeTensorError::HeaderTooLarge)?;
    let Some((header, data)) = rest.split_at_checked(header_len) else {
        return Err(SafeTensorError::InvalidHeaderLength);
    };
    let header = core::str::from_utf8(header).map_err(SafeTensorError::InvalidHeader)?;
    let metadata: Metadata = match serde_json::from_str(header) {
        Ok(metadata) => metadata,
        Err(error) => {
            return Err(SafeTensors::deserialize(bytes)
                .err()
                .unwrap_or(SafeTensorError::InvalidHeaderDeserialization(error)));
        }
    };
    if metadata.data_len() != data.len() {
        return Err(SafeTensorError::MetadataIncompleteBuffer);
    }
    SafeTensors::deserialize(bytes)
}

/// `impl Net<f32> { pub const WEIGHTS: Self = ...; }`: each layer built by its `const fn`
/// constructor from `values`, or from zeros when there are none (after an error).
fn constant(
    model: &Model<'_>,
    attribute: &WeightsAttribute,
    layers: &[LayerTensors],
    values: Option<&[Vec<Vec<f64>>]>,
    resolved: Option<&Path>,
) -> TokenStream {
    let declaration = model.declaration;
    let ident = &declaration.ident;
    let scalar = attribute.scalar;
    let scalar_type = Ident::new(scalar.name(), Span::call_site());
    let fields: Vec<TokenStream> = model
        .layers
        .iter()
        .zip(layers)
        .enumerate()
        .map(|(index, (layer, tensors))| {
            let layer_values = values.and_then(|values| values.get(index));
            layer_value(layer, tensors, layer_values, scalar)
        })
        .collect();
    let members = model.layers.iter().map(|layer| &layer.member);
    let construct = match declaration.style {
        Style::Tuple => quote!(Self(#(#fields),*)),
        Style::Named => quote!(Self { #(#members: #fields),* }),
    };
    // An `include_bytes!` of the file, never used: it makes cargo rebuild when the file changes.
    let tracked = resolved.and_then(Path::to_str).map(|path| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        )
    });
    let written = attribute.path.value();
    let doc = format!(
        " The network with the parameters of `{written}`, read and checked when this crate was \
         compiled. Put it in a `static` (`static NET: {ident} = {ident}::WEIGHTS;`) to keep it in \
         read-only memory: nothing is parsed or copied at run time."
    );
    quote_spanned! {attribute.path.span()=>
        impl #ident<#scalar_type> {
            #[doc = #doc]
            pub const WEIGHTS: Self = {
                #tracked
                #construct
            };
        }
    }
}

/// One layer's value: its `const fn` constructor called with its tensors.
fn layer_value(
    layer: &LayerModel,
    tensors: &LayerTensors,
    values: Option<&Vec<Vec<f64>>>,
    scalar: Scalar,
) -> TokenStream {
    let rt = quote!(::typenn::__private);
    let kind = Ident::new(layer.kind.name, Span::call_site());
    let array = |index: usize, shape: &[usize]| -> TokenStream {
        let data = values.and_then(|values| values.get(index));
        nested(shape, data.map(Vec::as_slice), scalar)
    };
    let shape = |index: usize| -> Vec<usize> {
        tensors
            .tensors
            .get(index)
            .map(|wanted| wanted.shape.clone())
            .unwrap_or_default()
    };
    match tensors.family {
        Family::Dense => {
            // The file's [out, in] rows become nalgebra's columns: column `i` holds input `i`'s
            // weights to every unit.
            let [outputs, inputs] = shape(0)[..] else {
                return TokenStream::new();
            };
            let columns = values.and_then(|values| values.first()).map(|weight| {
                (0..inputs)
                    .flat_map(|i| (0..outputs).map(move |o| weight[o * inputs + i]))
                    .collect::<Vec<f64>>()
            });
            let columns = nested(&[inputs, outputs], columns.as_deref(), scalar);
            let bias = array(1, &shape(1));
            quote!(#rt::#kind::from_columns(#columns, #bias))
        }
        Family::Conv1d | Family::Conv2d => {
            let (weight, bias) = (array(0, &shape(0)), array(1, &shape(1)));
            quote!(#rt::#kind::from_parts(#weight, #bias))
        }
        Family::LayerNorm => {
            // Flat `[T; N]` in the sample's row-major order.
            let flat = |index: usize| array(index, &[shape(index).iter().product()]);
            let (weight, bias) = (flat(0), flat(1));
            quote!(#rt::#kind::from_parts(#weight, #bias))
        }
        Family::BatchNorm => {
            let parts = (0..4).map(|index| array(index, &shape(index)));
            quote!(#rt::#kind::from_parts(#(#parts),*))
        }
        Family::Flatten
        | Family::Dropout
        | Family::Activation
        | Family::Pool1d
        | Family::Pool2d
        | Family::GlobalPool => quote!(#rt::#kind::new()),
        // `layer_tensors` refuses these before anything is built.
        Family::Recurrent | Family::CausalConv1d => TokenStream::new(),
    }
}

/// A nested array literal of `shape` holding row-major `values`, or zeros (written as repeat
/// expressions, so a big network's fallback stays small).
fn nested(shape: &[usize], values: Option<&[f64]>, scalar: Scalar) -> TokenStream {
    let Some((&len, inner)) = shape.split_first() else {
        return number(values.and_then(|values| values.first()).copied(), scalar);
    };
    match values {
        None => {
            let element = nested(inner, None, scalar);
            let len = Literal::usize_unsuffixed(len);
            quote!([#element; #len])
        }
        Some(values) => {
            let stride: usize = inner.iter().product();
            let elements = (0..len).map(|index| {
                let start = index * stride;
                nested(inner, values.get(start..start + stride), scalar)
            });
            quote!([#(#elements),*])
        }
    }
}

/// One number as a suffixed literal, its sign a separate token; zero for none.
fn number(value: Option<f64>, scalar: Scalar) -> TokenStream {
    let value = value.filter(|value| value.is_finite()).unwrap_or(0.0);
    let magnitude = value.abs();
    let literal = match scalar {
        // Exact: the value was read as an f32.
        Scalar::F32 => Literal::f32_suffixed(magnitude as f32),
        Scalar::F64 => Literal::f64_suffixed(magnitude),
    };
    if value.is_sign_negative() {
        quote!(-#literal)
    } else {
        literal.into_token_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// A safetensors file of `(name, dtype, shape, little-endian bytes)`.
    fn file(tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .map(|(name, dtype, shape, data)| {
                let view =
                    safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap();
                ((*name).to_owned(), view)
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect()
    }

    fn dense_2_1() -> Vec<LayerTensors> {
        vec![LayerTensors {
            family: Family::Dense,
            tensors: vec![
                Wanted {
                    name: "0.weight".to_owned(),
                    shape: vec![1, 2],
                    layer: "layer 1".to_owned(),
                    tensor: "weight",
                    axes: " ([out, in])",
                },
                Wanted {
                    name: "0.bias".to_owned(),
                    shape: vec![1],
                    layer: "layer 1".to_owned(),
                    tensor: "bias",
                    axes: "",
                },
            ],
        }]
    }

    #[test]
    fn reads_every_tensor_row_major() {
        let bytes = file(&[
            ("0.weight", Dtype::F32, vec![1, 2], f32_bytes(&[0.5, -1.25])),
            ("0.bias", Dtype::F32, vec![1], f32_bytes(&[3.0])),
        ]);
        let values = check(&bytes, &dense_2_1(), Scalar::F32, "w").unwrap();
        assert_eq!(values, [[vec![0.5, -1.25], vec![3.0]]]);
    }

    #[test]
    fn names_every_mistake_with_both_shapes() {
        let bytes = file(&[
            ("0.weight", Dtype::F32, vec![2, 1], f32_bytes(&[0.5, -1.25])),
            ("1.weight", Dtype::F32, vec![1], f32_bytes(&[1.0])),
        ]);
        let messages = check(&bytes, &dense_2_1(), Scalar::F32, "w").unwrap_err();
        assert_eq!(
            messages,
            [
                "tensor `0.weight` has shape [2, 1] in the file, but layer 1 needs its weight as [1, 2] ([out, in])",
                "the file has no tensor `0.bias`: layer 1 needs its bias as [1]; the file has `0.weight` [2, 1], `1.weight` [1]",
                "the file's tensor `1.weight` [1] is not in the network, whose tensors are `0.weight` [1, 2], `0.bias` [1]",
            ]
        );
    }

    #[test]
    fn refuses_another_float_type_and_non_finite_numbers() {
        let bytes = file(&[
            ("0.weight", Dtype::F64, vec![1, 2], vec![0; 16]),
            ("0.bias", Dtype::F32, vec![1], f32_bytes(&[f32::NAN])),
        ]);
        let messages = check(&bytes, &dense_2_1(), Scalar::F32, "w").unwrap_err();
        assert!(messages[0].starts_with("tensor `0.weight` [1, 2] holds F64 numbers, but the weights are read as f32, which needs F32"), "{messages:?}");
        assert!(
            messages[0].ends_with(
                "write `#[weights(\"w\", f64)]` for an f64 network, or save the file as float32"
            ),
            "{messages:?}"
        );
        assert_eq!(
            messages[1],
            "tensor `0.bias` holds NaN at index [0]: a network's weights must be finite numbers"
        );
        assert_eq!(messages.len(), 2);
    }

    #[test]
    fn a_file_of_another_float_type_is_one_mistake() {
        let bytes = file(&[
            ("0.weight", Dtype::F32, vec![1, 2], f32_bytes(&[1.0, 2.0])),
            ("0.bias", Dtype::F32, vec![1], f32_bytes(&[3.0])),
        ]);
        let messages = check(&bytes, &dense_2_1(), Scalar::F64, "w").unwrap_err();
        assert_eq!(
            messages,
            [
                "tensor `0.weight` [1, 2] holds F32 numbers (as does 1 more), but the weights are read as f64, which needs F64: write `#[weights(\"w\")]` for an f32 network, or save the file as float64"
            ]
        );
    }

    #[test]
    fn refuses_what_is_not_a_safetensors_file() {
        let messages = check(b"{}", &dense_2_1(), Scalar::F32, "w").unwrap_err();
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].starts_with("`w` is not a safetensors file"),
            "{messages:?}"
        );
    }

    #[test]
    fn nested_arrays_follow_the_shape_and_keep_signs() {
        let tokens = nested(&[2, 2], Some(&[1.0, -0.5, -0.0, 2.5]), Scalar::F32);
        assert_eq!(
            tokens.to_string(),
            "[[1f32 , - 0.5f32] , [- 0f32 , 2.5f32]]"
        );
        let zeros = nested(&[3, 2], None, Scalar::F64);
        assert_eq!(zeros.to_string(), "[[0f64 ; 2] ; 3]");
    }

    fn attribute_of(tokens: TokenStream) -> Result<Option<(String, Scalar)>, String> {
        let declaration: Declaration = syn::parse2(tokens).unwrap();
        attribute(&declaration)
            .map(|found| found.map(|found| (found.path.value(), found.scalar)))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_attribute_takes_a_path_and_a_float_type() {
        assert_eq!(
            attribute_of(quote!(
                #[weights("a.safetensors")]
                struct Net(Dense<1, 1>);
            )),
            Ok(Some(("a.safetensors".to_owned(), Scalar::F32)))
        );
        assert_eq!(
            attribute_of(quote!(
                #[weights("a.safetensors", f64)]
                struct Net(Dense<1, 1>);
            )),
            Ok(Some(("a.safetensors".to_owned(), Scalar::F64)))
        );
        assert_eq!(
            attribute_of(quote!(
                struct Net(Dense<1, 1>);
            )),
            Ok(None)
        );
        let usage = attribute_of(quote!(
            #[weights]
            struct Net(Dense<1, 1>);
        ))
        .unwrap_err();
        assert!(usage.starts_with("expected `#[weights(\"path"), "{usage}");
        let usage = attribute_of(quote!(
            #[weights(a)]
            struct Net(Dense<1, 1>);
        ))
        .unwrap_err();
        assert!(usage.starts_with("expected `#[weights(\"path"), "{usage}");
        assert_eq!(
            attribute_of(quote!(
                #[weights("a", f16)]
                struct Net(Dense<1, 1>);
            )),
            Err("the weights' float type is `f32` or `f64`".to_owned())
        );
        let twice = attribute_of(quote!(
            #[weights("a")]
            #[weights("b")]
            struct Net(Dense<1, 1>);
        ));
        assert!(twice.is_err_and(|error| error.starts_with("a network takes one")));
    }

    #[test]
    fn unravel_counts_the_last_dimension_fastest() {
        assert_eq!(unravel(&[2, 3], 4), [1, 1]);
        assert_eq!(unravel(&[4], 3), [3]);
    }
}
