//! Expansion: a valid model into the network's struct, its gradients' struct and their impls.
//! Nothing here can fail.
//!
//! The generated code names the runtime by absolute path (`::typenn::__private`), calls traits
//! fully qualified, and puts the code that depends on a user's width on that width's span, so a
//! type error lands on the user's token.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::{Attribute, Ident};

use crate::parse::{Declaration, Style};
use crate::validate::{Activation, Family, LayerModel, Model, Width};
use crate::weights::is_weights_attribute;

/// The code for a valid declaration.
pub fn expand(model: &Model<'_>) -> TokenStream {
    if crate::expand_stream::is_recurrent(model) {
        return crate::expand_stream::expand(model);
    }
    let declaration = model.declaration;
    let layers = &model.layers;
    let rt = runtime();
    let ident = &declaration.ident;
    let gradients_ident = format_ident!("{}Gradients", ident);
    let name = ident.to_string();

    let layer_types: Vec<TokenStream> = layers.iter().map(layer_type).collect();
    let gradient_types: Vec<TokenStream> = layers.iter().map(gradient_type).collect();
    let members: Vec<&syn::Member> = layers.iter().map(|layer| &layer.member).collect();
    let layer_traits: Vec<TokenStream> = layers.iter().map(layer_trait).collect();

    let declared: Vec<Attribute> = declaration
        .attrs
        .iter()
        .filter(|attr| !attr.path().is_ident("input_shape") && !is_weights_attribute(attr))
        .cloned()
        .collect();
    let network_attrs = without_standard_derives(&declared);
    let network_struct = struct_tokens(declaration, &network_attrs, ident, &layer_types, false);
    let standard_traits = standard_traits_impl(declaration.style, ident, layers, &layer_types);
    let gradients_doc = format!(
        " The gradients of [`{name}`]'s parameters, one field per layer, in the same shapes as the layers."
    );
    let gradients_attrs: Vec<Attribute> = vec![
        syn::parse_quote!(#[doc = #gradients_doc]),
        syn::parse_quote!(#[derive(Clone, Debug, PartialEq)]),
    ];
    let gradients_struct = struct_tokens(
        declaration,
        &gradients_attrs,
        &gradients_ident,
        &gradient_types,
        true,
    );

    let first = &layers[0];
    let last = &layers[layers.len() - 1];
    let inputs = &first.inputs.tokens;
    let outputs = &last.outputs.tokens;
    let widths: Vec<TokenStream> = std::iter::once(&first.inputs)
        .chain(layers.iter().map(|layer| &layer.outputs))
        .map(value)
        .collect();

    let stack_check = stack_check(ident);
    let network_parameters = parameters_impl(
        declaration.style,
        ident,
        &layer_types,
        &members,
        quote!(let () = Self::STACK_CHECK;),
        flattened_input(layers, &layer_types),
    );
    let gradients_parameters = parameters_impl(
        declaration.style,
        &gradients_ident,
        &gradient_types,
        &members,
        TokenStream::new(),
        TokenStream::new(),
    );

    let summaries = layers.iter().zip(&layer_types).map(|(layer, ty)| {
        let field = &layer.label;
        let text = &layer.text;
        let out = value(&layer.outputs);
        let shape = layer
            .output
            .iter()
            .map(|dim| {
                dim.value
                    .map_or_else(|| dim.text.clone(), |v| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(" x ");
        quote! {
            #rt::LayerSummary {
                field: #field,
                kind: #text,
                outputs: #out,
                shape: #shape,
                parameters: <#ty as #rt::Parameters<T>>::PARAMETERS,
            }
        }
    });

    // The layers lent out as a chain for the passes that nn-core writes once: each link names
    // its layer's output width and the next layer's input width, on the next layer's span, so
    // a mismatch the compiler finds is reported on the width that is wrong.
    let chain_type = |reference: TokenStream| -> TokenStream {
        layers
            .iter()
            .enumerate()
            .rev()
            .zip(layer_types.iter().rev())
            .fold(quote!(#rt::End), |rest, ((index, layer), ty)| {
                let out = value(&layer.outputs);
                let (next_in, span) = match layers.get(index + 1) {
                    Some(next) => (value(&next.inputs), next.inputs.span),
                    None => (value(&layer.outputs), layer.outputs.span),
                };
                let link = quote_spanned!(span=> #rt::Link);
                quote!(#link<#reference #ty, #rest, #out, #next_in>)
            })
    };
    let layers_type = chain_type(quote!(&'a));
    let layers_mut_type = chain_type(quote!(&'a mut));
    let chain_value = |borrow: TokenStream| -> TokenStream {
        layers.iter().enumerate().rev().fold(quote!(#rt::End), |rest, (index, layer)| {
            let member = &layer.member;
            // The boundary proof is `Link::new`'s bound: on the next layer's input width.
            let out = value(&layer.outputs);
            let (next_in, span) = match layers.get(index + 1) {
                Some(next) => (value(&next.inputs), next.inputs.span),
                None => (value(&layer.outputs), layer.outputs.span),
            };
            let rt = runtime_at(span);
            quote_spanned!(span=> #rt::Link::<_, _, #out, #next_in>::new(#borrow self.#member, #rest))
        })
    };
    let layers_value = chain_value(quote!(&));
    let layers_mut_value = chain_value(quote!(&mut));
    let gradient_slots = members.iter().rev().fold(
        quote!(()),
        |rest, member| quote!((&mut gradients.#member, #rest)),
    );

    let safetensors_constructors = safetensors_constructors();
    let doc_parameters = format!(" The number of parameters of [`{name}`].");

    // Serialize and Deserialize, or nothing: the facade's `serde` feature decides.
    let style = match declaration.style {
        Style::Tuple => quote!(tuple),
        Style::Named => quote!(named),
    };
    // Field names as serde_derive writes them: `r#type` is `"type"`.
    let labels: Vec<&str> = layers
        .iter()
        .map(|layer| layer.label.strip_prefix("r#").unwrap_or(&layer.label))
        .collect();
    let serde_impls = quote! {
        #rt::__serde_impls! {
            #style #ident { #(#members #labels),* }
            #style #gradients_ident { #(#members #labels),* }
        }
    };

    // On the user's token the width follows from, where the compiler reports a geometry
    // that cannot work.
    let derived = model.derived.iter().map(|(name, expression)| {
        quote_spanned! {name.span()=>
            #[doc(hidden)]
            const #name: usize = #expression;
        }
    });

    let int8 = crate::quantized::expand(model);

    quote! {
        #(#derived)*
        #network_struct
        #gradients_struct
        #int8

        impl #ident {
            #[doc = #doc_parameters]
            pub const PARAMETERS: usize = <Self as #rt::Parameters<f32>>::PARAMETERS;

            /// A network with Glorot-uniform weights and zero biases (Keras's default), drawn
            /// from `rng`. For `f64`, call `new` on the `f64` type.
            ///
            /// It is built on the stack, so for a network over 1 MiB the call does not compile:
            /// `new_boxed` builds it on the heap.
            #[must_use]
            pub fn new<R: #rt::Rng + ?Sized>(rng: &mut R) -> Self {
                <Self as #rt::Network<f32, #inputs, #outputs>>::new(rng)
            }

            /// A network with weights drawn from `rng` as `init` says, and zero biases.
            #[must_use]
            pub fn with_init<R: #rt::Rng + ?Sized>(init: #rt::Init, rng: &mut R) -> Self {
                <Self as #rt::Network<f32, #inputs, #outputs>>::with_init(init, rng)
            }

            /// A network whose parameters are all zero. As `new`, it does not compile for a
            /// network over 1 MiB: use `zeros_boxed`.
            // Inline, so that a library that declares a big network and never calls this does
            // not compile it, and so does not trip the size check.
            #[must_use]
            #[inline]
            pub fn zeros() -> Self {
                <Self as #rt::Parameters<f32>>::zeros()
            }

            #rt::if_std! {
                /// As `new`, on the heap without passing through the stack: for big networks.
                #[must_use]
                pub fn new_boxed<R: #rt::Rng + ?Sized>(rng: &mut R) -> #rt::Box<Self> {
                    <Self as #rt::Network<f32, #inputs, #outputs>>::new_boxed(rng)
                }

                /// As `zeros`, on the heap without passing through the stack: for big networks.
                ///
                /// When the allocator cannot give the memory the process aborts with "memory
                /// allocation of N bytes failed", as `Box::new` does (as does `new_boxed`);
                /// `try_zeros_boxed` returns an error instead.
                #[must_use]
                pub fn zeros_boxed() -> #rt::Box<Self> {
                    <Self as #rt::Parameters<f32>>::zeros_boxed()
                }

                /// As `new_boxed`, or an error when the allocator cannot give the memory.
                ///
                /// # Errors
                ///
                /// `AllocationError` with the number of bytes asked for.
                pub fn try_new_boxed<R: #rt::Rng + ?Sized>(
                    rng: &mut R,
                ) -> ::core::result::Result<#rt::Box<Self>, #rt::AllocationError> {
                    <Self as #rt::Network<f32, #inputs, #outputs>>::try_new_boxed(rng)
                }

                /// As `zeros_boxed`, or an error when the allocator cannot give the memory.
                ///
                /// # Errors
                ///
                /// `AllocationError` with the number of bytes asked for.
                pub fn try_zeros_boxed(
                ) -> ::core::result::Result<#rt::Box<Self>, #rt::AllocationError> {
                    <Self as #rt::Parameters<f32>>::try_zeros_boxed()
                }

                #safetensors_constructors
            }
        }

        #stack_check

        impl<T: #rt::Scalar> #ident<T> {
            /// The output for one sample.
            #[must_use]
            #[inline]
            pub fn forward(&self, input: &#rt::SVector<T, #inputs>) -> #rt::SVector<T, #outputs> {
                <Self as #rt::Network<T, #inputs, #outputs>>::forward(self, input)
            }

            /// The outputs for a batch of `B` samples, one per column.
            #[must_use]
            pub fn forward_batch<const B: usize>(
                &self,
                inputs: &#rt::SMatrix<T, #inputs, { B }>,
            ) -> #rt::SMatrix<T, #outputs, { B }> {
                <Self as #rt::Network<T, #inputs, #outputs>>::forward_batch(self, inputs)
            }

            /// A Keras-style table of the layers, their output widths and parameter counts.
            #[must_use]
            pub fn summary(&self) -> #rt::Summary {
                <Self as #rt::Network<T, #inputs, #outputs>>::summary()
            }

            #rt::if_std! {
                /// A copy on the heap, without passing through the stack: for a network over
                /// 1 MiB, whose `clone()` does not compile (it would build the copy on the
                /// stack, as `new()` would).
                #[must_use]
                pub fn clone_boxed(&self) -> #rt::Box<Self> {
                    let mut copy = <Self as #rt::Parameters<T>>::zeros_boxed();
                    ::core::clone::Clone::clone_from(&mut *copy, self);
                    copy
                }
            }
        }

        // SAFETY: every field is a layer (or a layer's gradients), and the `Parameters::zeros`
        // below builds each field from its type's `Parameters::zeros`, so these impls compile
        // only if every field's type is `Parameters` and so `Zeroable` (derived in nn-core, which
        // checks each of its fields): all-zero bytes are a valid value.
        unsafe impl<T: #rt::Scalar> #rt::Zeroable for #ident<T> {}
        // SAFETY: as above.
        unsafe impl<T: #rt::Scalar> #rt::Zeroable for #gradients_ident<T> {}

        #standard_traits
        #network_parameters
        #gradients_parameters
        #serde_impls

        impl<T: #rt::Scalar> #rt::Network<T, #inputs, #outputs> for #ident<T> {
            type Gradients = #gradients_ident<T>;
            const NAME: &'static str = #name;
            const LAYERS: &'static [#rt::LayerSummary] = &[#(#summaries),*];
            const WIDTHS: &'static [usize] = &[#(#widths),*];

            fn initialize<R: #rt::Rng + ?Sized>(&mut self, init: #rt::Init, rng: &mut R) {
                #(#layer_traits::initialize(&mut self.#members, init, rng);)*
            }

            type Layers<'a> = #layers_type where Self: 'a;
            type LayersMut<'a> = #layers_mut_type where Self: 'a;

            #[inline(always)]
            fn layers(&self) -> Self::Layers<'_> {
                #layers_value
            }

            #[inline(always)]
            fn layers_mut(&mut self) -> Self::LayersMut<'_> {
                #layers_mut_value
            }

            #[inline(always)]
            fn gradient_slots_mut<'a, 'g>(
                gradients: &'g mut Self::Gradients,
            ) -> <Self::LayersMut<'a> as #rt::Stack<T, #inputs, #outputs>>::Gradients<'g>
            where
                Self: 'a,
            {
                #gradient_slots
            }

            #[inline(always)]
            fn gradient_slots<'a, 'g>(
                gradients: &'g mut Self::Gradients,
            ) -> <Self::Layers<'a> as #rt::Stack<T, #inputs, #outputs>>::Gradients<'g>
            where
                Self: 'a,
            {
                #gradient_slots
            }
        }
    }
}

/// `open_safetensors` and `from_safetensors_bytes` for the default `f32`, inside an `if_std!`
/// block of an `impl Net`: every network has them, with state or without.
pub(crate) fn safetensors_constructors() -> TokenStream {
    let rt = runtime();
    quote! {
                /// A network with the parameters of the safetensors file at `path`, as
                /// `Persist::open_safetensors` reads it, for the default `f32` (an `f64` network is
                /// read with `Net::<f64>::open_safetensors`).
                ///
                /// # Errors
                ///
                /// `LoadError::Io` when the file cannot be read, or the first mistake found in it.
                pub fn open_safetensors(
                    path: impl ::core::convert::AsRef<#rt::Path>,
                ) -> ::core::result::Result<Self, #rt::LoadError> {
                    <Self as #rt::Persist<f32>>::open_safetensors(path)
                }

                /// A network with the parameters in a safetensors file's bytes, as
                /// `Persist::from_safetensors_bytes` reads them, for the default `f32`.
                ///
                /// # Errors
                ///
                /// The first mistake found, as a `LoadError`.
                pub fn from_safetensors_bytes(
                    bytes: &[u8],
                ) -> ::core::result::Result<Self, #rt::LoadError> {
                    <Self as #rt::Persist<f32>>::from_safetensors_bytes(bytes)
                }
    }
}

/// `Parameters::flattened_input` for a network with a Dense layer whose inputs are a `Flatten`
/// of a sample with channels (Dropout and activation layers between them change nothing): the
/// shape flattened, for importers of kernels flattened in another order. Nothing otherwise.
fn flattened_input(layers: &[LayerModel], types: &[TokenStream]) -> TokenStream {
    let rt = runtime();
    let shapes: Vec<Option<Vec<TokenStream>>> = (0..layers.len())
        .map(|index| {
            if layers[index].kind.family != Family::Dense {
                return None;
            }
            let before = layers[..index]
                .iter()
                .rev()
                .find(|layer| !matches!(layer.kind.family, Family::Dropout | Family::Activation))?;
            let position = layers
                .iter()
                .position(|layer| std::ptr::eq(layer, before))?;
            if before.kind.family != Family::Flatten || position == 0 {
                return None;
            }
            let sample = &layers[position - 1].output;
            (sample.len() >= 2).then(|| sample.iter().map(value).collect())
        })
        .collect();
    if shapes.iter().all(Option::is_none) {
        return TokenStream::new();
    }
    let bodies = shapes.iter().zip(types).map(|(shape, ty)| match shape {
        // The weight is a Dense layer's tensor 0.
        Some(dims) => quote! {
            if index == 0 {
                const SHAPE: &[usize] = &[#(#dims),*];
                SHAPE
            } else {
                &[]
            }
        },
        None => quote!(<#ty as #rt::Parameters<T>>::flattened_input(index)),
    });
    quote! {
        fn flattened_input(index: usize) -> &'static [usize] {
            let mut index = index;
            #(
                if index < <#types as #rt::Parameters<T>>::TENSORS {
                    return #bodies;
                }
                index -= <#types as #rt::Parameters<T>>::TENSORS;
            )*
            let _ = index;
            &[]
        }
    }
}

/// When validation fails: the struct alone, so that the user's other uses of its name do not
/// add a cascade of "cannot find type" errors to the real ones.
pub fn fallback(declaration: &Declaration) -> TokenStream {
    let attrs = declaration
        .attrs
        .iter()
        .filter(|attr| !attr.path().is_ident("input_shape") && !is_weights_attribute(attr));
    let vis = &declaration.vis;
    let ident = &declaration.ident;
    let gradients_ident = format_ident!("{}Gradients", ident);
    quote! {
        #(#attrs)*
        #vis struct #ident<T = f32>(::core::marker::PhantomData<T>);
        #vis struct #gradients_ident<T = f32>(::core::marker::PhantomData<T>);
    }
}

pub(crate) fn runtime() -> TokenStream {
    runtime_at(Span::call_site())
}

/// The runtime's path on `span`, so that an unmet bound on a path built from it is reported on
/// the user's token.
pub(crate) fn runtime_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::typenn::__private)
}

/// The layer's type in `nn-core`, with the runtime's absolute path, on the user's span:
/// `Dense<IN, OUT, Act, T>`, `Conv1d<.., Act, T>`, `Activate<Act, N, T>`, `Flatten<N, T>`.
pub(crate) fn layer_type(layer: &LayerModel) -> TokenStream {
    let rt = runtime_at(layer.span);
    let kind = Ident::new(layer.kind.name, layer.span);
    let args = layer.type_args.iter().map(|arg| &arg.tokens);
    let activation = match &layer.activation {
        Activation::Default => quote!(#rt::Identity),
        Activation::Known(name, span) => {
            let name = Ident::new(name, *span);
            quote_spanned!(*span=> #rt::#name)
        }
        Activation::Custom(path) => quote!(#path),
    };
    match layer.kind.family {
        // The simple cell's activation is tanh unless given, as in PyTorch.
        Family::Recurrent if layer.kind.name == "Rnn" => {
            let activation = match &layer.activation {
                Activation::Default => quote!(#rt::Tanh),
                _ => activation,
            };
            quote_spanned!(layer.span=> #rt::#kind<#(#args,)* #activation, T>)
        }
        Family::Recurrent => quote_spanned!(layer.span=> #rt::#kind<#(#args,)* T>),
        Family::Dense | Family::Conv1d | Family::Conv2d | Family::CausalConv1d => {
            quote_spanned!(layer.span=> #rt::#kind<#(#args,)* #activation, T>)
        }
        Family::Activation => quote_spanned!(layer.span=> #rt::#kind<#activation, #(#args,)* T>),
        Family::Flatten
        | Family::Dropout
        | Family::Pool1d
        | Family::Pool2d
        | Family::GlobalPool
        | Family::BatchNorm
        | Family::LayerNorm => {
            quote_spanned!(layer.span=> #rt::#kind<#(#args,)* T>)
        }
    }
}

/// The layer's gradients type, as its `HasGradients` impl names it.
pub(crate) fn gradient_type(layer: &LayerModel) -> TokenStream {
    let rt = runtime_at(layer.span);
    let ty = layer_type(layer);
    quote_spanned!(layer.span=> <#ty as #rt::HasGradients<T>>::Gradients)
}

/// `<Dense<..> as Layer<T, IN, OUT>>`, for fully qualified calls.
fn layer_trait(layer: &LayerModel) -> TokenStream {
    let rt = runtime_at(layer.span);
    let ty = layer_type(layer);
    let inputs = &layer.inputs.tokens;
    let outputs = &layer.outputs.tokens;
    quote_spanned!(layer.span=> <#ty as #rt::Layer<T, #inputs, #outputs>>)
}

/// A width where an expression goes (a method's argument, an array element). A user's
/// `{ N * 4 }` keeps its tokens, but its braces take the macro's span: on the user's span the
/// compiler's `unused_braces` lint would suggest removing them, and `Dense<N * 4, 8>` does not
/// parse.
pub(crate) fn value(width: &Width) -> TokenStream {
    let mut trees = width.tokens.clone().into_iter();
    match (trees.next(), trees.next()) {
        (Some(TokenTree::Group(group)), None) if group.delimiter() == Delimiter::Brace => {
            let mut block = Group::new(Delimiter::Brace, group.stream());
            block.set_span(Span::call_site());
            TokenTree::Group(block).into()
        }
        _ => width.tokens.clone(),
    }
}

/// The traits every network has, whether or not the user derives them: the macro implements
/// them itself, so the user's own derive of one of them is dropped rather than reported as a
/// conflicting implementation.
const STANDARD_TRAITS: &[(&str, &str)] =
    &[("clone", "Clone"), ("fmt", "Debug"), ("cmp", "PartialEq")];

/// Whether `path` names one of [`STANDARD_TRAITS`]: `Debug`, `fmt::Debug`, `core::fmt::Debug`,
/// `::std::fmt::Debug` and so on.
fn is_standard_trait(path: &syn::Path) -> bool {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let unqualified = path.segments.iter().all(|s| s.arguments.is_none());
    unqualified
        && STANDARD_TRAITS
            .iter()
            .any(|(module, name)| match names.as_slice() {
                [only] => only == name && path.leading_colon.is_none(),
                [m, last] => m == module && last == name && path.leading_colon.is_none(),
                [krate, m, last] => {
                    matches!(krate.as_str(), "core" | "std") && m == module && last == name
                }
                _ => false,
            })
}

/// `attrs` with `Clone`, `Debug` and `PartialEq` taken out of every `#[derive(...)]`, and a
/// derive left empty by that removed. Other derives and attributes pass through untouched.
pub(crate) fn without_standard_derives(attrs: &[Attribute]) -> Vec<Attribute> {
    let parser = syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated;
    attrs
        .iter()
        .filter_map(|attr| {
            if !attr.path().is_ident("derive") {
                return Some(attr.clone());
            }
            // A derive that does not parse is left for the compiler to report.
            let Ok(paths) = attr.parse_args_with(parser) else {
                return Some(attr.clone());
            };
            let kept: Vec<&syn::Path> = paths.iter().filter(|p| !is_standard_trait(p)).collect();
            if kept.len() == paths.len() {
                return Some(attr.clone());
            }
            if kept.is_empty() {
                return None;
            }
            let pound = attr.pound_token;
            Some(syn::parse_quote_spanned!(pound.span=> #[derive(#(#kept),*)]))
        })
        .collect()
}

/// `Clone`, `Debug` and `PartialEq` for the network, as derives would write them but without
/// bounds on the activation types (which are markers).
pub(crate) fn standard_traits_impl(
    style: Style,
    ident: &Ident,
    layers: &[LayerModel],
    types: &[TokenStream],
) -> TokenStream {
    let rt = runtime();
    let name = ident.to_string();
    let members: Vec<&syn::Member> = layers.iter().map(|layer| &layer.member).collect();
    let clones = layers.iter().zip(types).map(|(layer, ty)| {
        let member = &layer.member;
        quote_spanned!(layer.span=> <#ty as ::core::clone::Clone>::clone(&self.#member))
    });
    let clone = match style {
        Style::Tuple => quote!(Self(#(#clones),*)),
        Style::Named => quote!(Self { #(#members: #clones),* }),
    };
    let debug = match style {
        Style::Tuple => quote! {
            f.debug_tuple(#name)#(.field(&self.#members))*.finish()
        },
        Style::Named => {
            let labels = layers.iter().map(|layer| &layer.label);
            quote! {
                f.debug_struct(#name)#(.field(#labels, &self.#members))*.finish()
            }
        }
    };
    let equal = layers.iter().zip(types).map(|(layer, ty)| {
        let member = &layer.member;
        quote_spanned!(layer.span=> <#ty as ::core::cmp::PartialEq>::eq(&self.#member, &other.#member))
    });
    quote! {
        impl<T: #rt::Scalar> ::core::clone::Clone for #ident<T> {
            fn clone(&self) -> Self {
                let () = Self::STACK_CHECK;
                #clone
            }

            /// Copies `source`'s parameters and buffers into `self` in place: no network is
            /// built on the stack, whatever its size.
            fn clone_from(&mut self, source: &Self) {
                #rt::copy_tensors::<T, Self>(self, source);
            }
        }

        impl<T: #rt::Scalar> ::core::fmt::Debug for #ident<T> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #debug
            }
        }

        impl<T: #rt::Scalar> ::core::cmp::PartialEq for #ident<T> {
            fn eq(&self, other: &Self) -> bool {
                true #(&& #equal)*
            }
        }
    }
}

pub(crate) fn struct_tokens(
    declaration: &Declaration,
    attrs: &[Attribute],
    ident: &Ident,
    types: &[TokenStream],
    docs_only: bool,
) -> TokenStream {
    let vis = &declaration.vis;
    let fields = declaration.fields.iter().zip(types).map(|(field, ty)| {
        let field_attrs = field
            .attrs
            .iter()
            .filter(|attr| !docs_only || attr.path().is_ident("doc"));
        let field_vis = &field.vis;
        match &field.name {
            Some(name) => quote!(#(#field_attrs)* #field_vis #name: #ty),
            None => quote!(#(#field_attrs)* #field_vis #ty),
        }
    });
    // The gradients' fields are projections through `Layer`, which hold for scalars only.
    let generics = if docs_only {
        let rt = runtime();
        quote!(<T: #rt::Scalar = f32>)
    } else {
        quote!(<T = f32>)
    };
    match declaration.style {
        Style::Tuple => quote! {
            #(#attrs)*
            #vis struct #ident #generics (#(#fields),*);
        },
        Style::Named => quote! {
            #(#attrs)*
            #vis struct #ident #generics { #(#fields),* }
        },
    }
}

/// `STACK_CHECK`, which does not compile for a network too big for a thread's stack. Each
/// by-value constructor names it, so the compiler evaluates it when, and only when, one of them
/// is compiled for a concrete scalar type: a call in a branch that never runs still fails the
/// build, and a network only ever built with the `*_boxed` constructors has no limit. It is
/// reported on the struct's name.
pub(crate) fn stack_check(ident: &Ident) -> TokenStream {
    let rt = runtime_at(ident.span());
    let message = format!(
        "`{ident}` is over 1 MiB, too big to build on a thread's stack: build it on the heap with \
         `{ident}::new_boxed(&mut rng)`, `{ident}::zeros_boxed()`, `with_init_boxed` or \
         `clone_boxed()`"
    );
    quote_spanned! {ident.span()=>
        impl<T: #rt::Scalar> #ident<T> {
            const STACK_CHECK: () = ::core::assert!(
                ::core::mem::size_of::<Self>() <= #rt::STACK_LIMIT,
                #message
            );
        }
    }
}

/// `Parameters` for the network or its gradients: tensors and buffers listed layer by layer.
pub(crate) fn parameters_impl(
    style: Style,
    ident: &Ident,
    types: &[TokenStream],
    members: &[&syn::Member],
    zeros_check: TokenStream,
    extra: TokenStream,
) -> TokenStream {
    let rt = runtime();
    let name = ident.to_string();
    let construct = match style {
        Style::Tuple => quote!(Self(#(<#types as #rt::Parameters<T>>::zeros()),*)),
        Style::Named => quote!(Self { #(#members: <#types as #rt::Parameters<T>>::zeros()),* }),
    };
    let labels: Vec<String> = members
        .iter()
        .map(|member| match member {
            syn::Member::Named(name) => name.to_string(),
            syn::Member::Unnamed(index) => index.index.to_string(),
        })
        .collect();
    // The four methods that find tensor (or buffer) `index` layer by layer: `count` is
    // `TENSORS` or `BUFFERS`, the rest the methods' names.
    let forwarding = |names: [&str; 4]| {
        let [count, get, get_mut, info] = names.map(|name| Ident::new(name, Span::call_site()));
        quote! {
            fn #get(&self, index: usize) -> &[T] {
                let mut index = index;
                #(
                    if index < <#types as #rt::Parameters<T>>::#count {
                        return <#types as #rt::Parameters<T>>::#get(&self.#members, index);
                    }
                    index -= <#types as #rt::Parameters<T>>::#count;
                )*
                let _ = index;
                &[]
            }

            fn #get_mut(&mut self, index: usize) -> &mut [T] {
                let mut index = index;
                #(
                    if index < <#types as #rt::Parameters<T>>::#count {
                        return <#types as #rt::Parameters<T>>::#get_mut(&mut self.#members, index);
                    }
                    index -= <#types as #rt::Parameters<T>>::#count;
                )*
                let _ = index;
                &mut []
            }

            fn #info(index: usize) -> ::core::option::Option<#rt::TensorInfo> {
                let mut index = index;
                #(
                    if index < <#types as #rt::Parameters<T>>::#count {
                        return <#types as #rt::Parameters<T>>::#info(index)
                            .map(|info| #rt::TensorInfo { layer: #labels, ..info });
                    }
                    index -= <#types as #rt::Parameters<T>>::#count;
                )*
                let _ = index;
                ::core::option::Option::None
            }
        }
    };
    let tensors = forwarding(["TENSORS", "tensor", "tensor_mut", "tensor_info"]);
    let buffers = forwarding(["BUFFERS", "buffer", "buffer_mut", "buffer_info"]);
    quote! {
        impl<T: #rt::Scalar> #rt::Parameters<T> for #ident<T> {
            const TENSORS: usize = 0 #(+ <#types as #rt::Parameters<T>>::TENSORS)*;
            const PARAMETERS: usize = 0 #(+ <#types as #rt::Parameters<T>>::PARAMETERS)*;
            const BUFFERS: usize = 0 #(+ <#types as #rt::Parameters<T>>::BUFFERS)*;

            fn zeros() -> Self {
                #zeros_check
                #construct
            }

            #extra

            fn visit_layers(visit: &mut dyn FnMut(#rt::LayerOf)) {
                #(
                    visit(#rt::LayerOf {
                        field: #labels,
                        kind: <#types as #rt::Parameters<T>>::kind(),
                        tensors: <#types as #rt::Parameters<T>>::TENSORS,
                    });
                )*
            }

            #rt::if_std! {
                fn try_zeros_boxed(
                ) -> ::core::result::Result<#rt::Box<Self>, #rt::AllocationError> {
                    #rt::try_zeroed_box(#name)
                }
            }

            #tensors
            #buffers
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;

    fn derives(attrs: &[Attribute]) -> Vec<String> {
        without_standard_derives(attrs)
            .iter()
            .map(|attr| attr.to_token_stream().to_string())
            .collect()
    }

    #[test]
    fn drops_the_standard_derives_in_any_spelling() {
        let attrs: Vec<Attribute> = vec![
            syn::parse_quote!(#[derive(Clone, core::fmt::Debug)]),
            syn::parse_quote!(#[derive(::std::cmp::PartialEq)]),
            syn::parse_quote!(#[derive(fmt::Debug)]),
            syn::parse_quote!(#[doc = " Kept."]),
        ];
        assert_eq!(derives(&attrs), ["# [doc = \" Kept.\"]"]);
    }

    #[test]
    fn keeps_other_derives_and_look_alikes() {
        let attrs: Vec<Attribute> = vec![
            syn::parse_quote!(#[derive(Clone, Default, serde::Serialize)]),
            syn::parse_quote!(#[derive(mine::Debug, ::Clone)]),
        ];
        assert_eq!(
            derives(&attrs),
            [
                "# [derive (Default , serde :: Serialize)]",
                "# [derive (mine :: Debug , :: Clone)]"
            ]
        );
    }
}
