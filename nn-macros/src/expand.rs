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
use crate::validate::{Activation, LayerModel, Model, Width};

/// For a layer's field, in a batched backward pass: the layer method to call, its receiver, and
/// where the parameter gradients go, if anywhere.
type BackwardStep = dyn Fn(&syn::Member) -> (TokenStream, TokenStream, Option<TokenStream>);

/// The code for a valid declaration.
pub fn expand(model: &Model<'_>) -> TokenStream {
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

    let network_attrs = without_standard_derives(&declaration.attrs);
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
    let (input_value, output_value) = (value(&first.inputs), value(&last.outputs));

    let stack_check = stack_check(ident);
    let network_parameters = parameters_impl(
        declaration.style,
        ident,
        &layer_types,
        &members,
        quote!(let () = Self::STACK_CHECK;),
    );
    let gradients_parameters = parameters_impl(
        declaration.style,
        &gradients_ident,
        &gradient_types,
        &members,
        TokenStream::new(),
    );

    let summaries = layers.iter().zip(&layer_types).map(|(layer, ty)| {
        let field = &layer.label;
        let text = &layer.text;
        let out = value(&layer.outputs);
        quote! {
            #rt::LayerSummary {
                field: #field,
                kind: #text,
                outputs: #out,
                parameters: <#ty as #rt::Parameters<T>>::PARAMETERS,
            }
        }
    });

    // Single-sample forward: each layer's output, seen at the next layer's width.
    let single: Vec<TokenStream> = layers
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            let member = &layer.member;
            let layer_trait = &layer_traits[index];
            let input = match index {
                0 => quote!(input),
                _ => boundary(&layers[index - 1], layer, quote!(vector), quote!(x)),
            };
            quote!(let x = #layer_trait::forward_parts(&self.#member, &#input).1;)
        })
        .collect();

    // Batched forward: a pre-activation and an activation buffer per layer.
    let buffers: Vec<(Ident, Ident)> = (0..layers.len())
        .map(|index| (format_ident!("z{}", index), format_ident!("a{}", index)))
        .collect();
    let take_buffers: Vec<TokenStream> = layers
        .iter()
        .zip(&buffers)
        .map(|(layer, (z, a))| {
            let out = &layer.outputs.tokens;
            quote! {
                let #z = scratch.slice(#out * batch);
                let #a = scratch.slice(#out * batch);
            }
        })
        .collect();
    // A layer's input in a batched pass: the network's input, or the layer before's
    // activation buffer seen at this layer's width.
    let batch_input = |index: usize| -> TokenStream {
        match index {
            0 => quote!(input),
            _ => {
                let previous = &layers[index - 1];
                let previous_out = &previous.outputs.tokens;
                let (_, previous_a) = &buffers[index - 1];
                boundary(
                    previous,
                    &layers[index],
                    quote!(columns),
                    quote!(#rt::columns::<T, #previous_out>(#previous_a)),
                )
            }
        }
    };
    let forward_batches: Vec<TokenStream> = layers
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            let member = &layer.member;
            let layer_trait = &layer_traits[index];
            let out = &layer.outputs.tokens;
            let (z, a) = &buffers[index];
            let input = batch_input(index);
            quote! {
                #layer_trait::forward_batch(
                    &self.#member,
                    #input,
                    #rt::columns_mut::<T, #out>(#z),
                    #rt::columns_mut::<T, #out>(#a),
                );
            }
        })
        .collect();
    let (_, last_a) = &buffers[layers.len() - 1];

    // Backward: from the last layer to the first, two gradient buffers taking turns. `step`
    // gives, for a layer's field, the method to call, its receiver, and what it does with the
    // parameter gradients (writes them to the gradients' field), if anything. With
    // `keep_deltas`, each layer's delta is kept in its `z` buffer, which nothing reads once the
    // layer is through, for plain SGD's updates after the pass.
    let batch_backward = |step: &BackwardStep, keep_deltas: bool| -> Vec<TokenStream> {
        layers
            .iter()
            .enumerate()
            .rev()
            .map(|(index, layer)| {
                let (method, receiver, sink) = step(&layer.member);
                let sink = sink.map(|sink| quote!(#sink,));
                let layer_trait = &layer_traits[index];
                let layer_in = &layer.inputs.tokens;
                let out = &layer.outputs.tokens;
                let (z, a) = &buffers[index];
                let input = batch_input(index);
                let input_gradient = match index {
                    0 => quote!(::core::option::Option::None),
                    _ => quote!(::core::option::Option::Some(#rt::columns_mut::<T, #layer_in>(&mut next[..#layer_in * batch]))),
                };
                let keep = keep_deltas.then(|| quote!(#z.copy_from_slice(&current[..#out * batch]);));
                quote! {
                    #layer_trait::#method(
                        #receiver,
                        #input,
                        #rt::columns::<T, #out>(#z),
                        #rt::columns::<T, #out>(#a),
                        #rt::columns_mut::<T, #out>(&mut current[..#out * batch]),
                        #sink
                        #input_gradient,
                    );
                    #keep
                    ::core::mem::swap(&mut current, &mut next);
                }
            })
            .collect()
    };
    let backward = batch_backward(
        &|member| {
            (
                quote!(backward_batch),
                quote!(&self.#member),
                Some(quote!(&mut gradients.#member)),
            )
        },
        false,
    );
    // Plain SGD on a batch: the backward pass without gradient buffers, then the updates, once
    // every layer's is known to keep its parameters finite.
    let sgd_backward = batch_backward(
        &|member| (quote!(sgd_backward_batch), quote!(&self.#member), None),
        true,
    );
    let raw_batch_input = |index: usize| -> TokenStream {
        match index {
            0 => quote!(input.as_slice()),
            _ => {
                let (_, previous_a) = &buffers[index - 1];
                quote!(&*#previous_a)
            }
        }
    };
    let sgd_batch_admits = layers.iter().enumerate().map(|(index, _)| {
        let (z, _) = &buffers[index];
        let input = raw_batch_input(index);
        quote!(largest.include(&*#z); largest.include(#input);)
    });
    let sgd_batch_updates = layers.iter().enumerate().map(|(index, layer)| {
        let member = &layer.member;
        let layer_trait = &layer_traits[index];
        let out = &layer.outputs.tokens;
        let (z, _) = &buffers[index];
        let input = batch_input(index);
        quote! {
            #layer_trait::sgd_update_batch(
                &mut self.#member,
                #input,
                #rt::columns::<T, #out>(#z),
                learning_rate,
            );
        }
    });

    // Plain SGD on one sample: every value a stack vector, named per layer.
    let parts: Vec<(Ident, Ident)> = (0..layers.len())
        .map(|index| (format_ident!("z{}", index), format_ident!("a{}", index)))
        .collect();
    let single_input = |index: usize| -> TokenStream {
        match index {
            0 => quote!(*input),
            _ => {
                let (_, previous_a) = &parts[index - 1];
                boundary(
                    &layers[index - 1],
                    &layers[index],
                    quote!(vector),
                    quote!(#previous_a),
                )
            }
        }
    };
    let sgd_forward = layers.iter().enumerate().map(|(index, layer)| {
        let member = &layer.member;
        let layer_trait = &layer_traits[index];
        let (z, a) = &parts[index];
        let input = single_input(index);
        quote!(let (#z, #a) = #layer_trait::forward_parts(&self.#member, &#input);)
    });
    let deltas: Vec<Ident> = (0..layers.len())
        .map(|index| format_ident!("d{}", index))
        .collect();
    let sgd_single_backward = layers.iter().enumerate().rev().map(|(index, layer)| {
        let member = &layer.member;
        let layer_trait = &layer_traits[index];
        let (z, a) = &parts[index];
        let d = &deltas[index];
        let input = single_input(index);
        let step = quote! {
            #layer_trait::sgd_backward_single(
                &self.#member, &#input, &#z, &#a, &mut #d, #index != 0,
            )
        };
        match index {
            0 => quote! {
                let mut #d = delta;
                let _ = #step;
            },
            _ => {
                let previous = &layers[index - 1];
                let from = &previous.outputs.tokens;
                let to = &layer.inputs.tokens;
                let rt = runtime_at(layer.inputs.span);
                let back = quote_spanned!(layer.inputs.span=> <#rt::Boundary as #rt::Fits<#from, #to>>::back::<T>);
                quote! {
                    let mut #d = delta;
                    let delta = #back(#step);
                }
            }
        }
    });
    let sgd_single_admits = layers.iter().enumerate().map(|(index, _)| {
        let d = &deltas[index];
        let input = single_input(index);
        quote!(largest.include(#d.as_slice()); largest.include((#input).as_slice());)
    });
    let sgd_single_updates = layers.iter().enumerate().map(|(index, layer)| {
        let member = &layer.member;
        let layer_trait = &layer_traits[index];
        let d = &deltas[index];
        let input = single_input(index);
        quote!(#layer_trait::sgd_update_single(&mut self.#member, &#input, &#d, learning_rate);)
    });
    let (_, last_part) = &parts[layers.len() - 1];

    // A training pass's start, shared by the gradients and the plain-SGD batch passes: scratch
    // buffers, the forward pass keeping every layer's z and a, and the loss with its gradient
    // in `current`.
    let training_forward = quote! {
        let batch = input.ncols();
        let mut scratch = workspace.take(#rt::training_len(Self::WIDTHS, batch));
        #(#take_buffers)*
        let widest = #rt::widest(Self::WIDTHS) * batch;
        let mut current = scratch.slice(widest);
        let mut next = scratch.slice(widest);
        #(#forward_batches)*
        let value = <L as #rt::Loss<T>>::loss_and_gradient(
            loss,
            #rt::columns::<T, #outputs>(#last_a),
            targets,
            #rt::columns_mut::<T, #outputs>(&mut current[..#outputs * batch]),
        );
    };

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

    quote! {
        #network_struct
        #gradients_struct

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
                inputs: &#rt::SMatrix<T, #inputs, B>,
            ) -> #rt::SMatrix<T, #outputs, B> {
                #rt::with_fma(
                    #[inline(always)]
                    || {
                        let mut outputs = #rt::SMatrix::<T, #outputs, B>::zeros();
                        // Each column through the single-sample layers, inside this one
                        // function compiled for fused multiply-add.
                        for (column, output) in inputs
                            .as_slice()
                            .chunks_exact(#input_value)
                            .zip(outputs.as_mut_slice().chunks_exact_mut(#output_value))
                        {
                            let input = &#rt::SVector::<T, #inputs>::from_column_slice(column);
                            #(#single)*
                            output.copy_from_slice(x.as_slice());
                        }
                        outputs
                    },
                )
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

            #[inline]
            fn forward(&self, input: &#rt::SVector<T, #inputs>) -> #rt::SVector<T, #outputs> {
                #rt::with_fma(
                    #[inline(always)]
                    || {
                        #(#single)*
                        x
                    },
                )
            }

            fn forward_columns(
                &self,
                input: #rt::Columns<'_, T, #inputs>,
                mut output: #rt::ColumnsMut<'_, T, #outputs>,
                workspace: &mut #rt::Workspace<T>,
            ) {
                let batch = input.ncols();
                let mut scratch = workspace.take(#rt::inference_len(Self::WIDTHS, batch));
                #(#take_buffers)*
                #(#forward_batches)*
                for (out, value) in output.iter_mut().zip(#last_a.iter()) {
                    *out = *value;
                }
            }

            fn loss_and_gradients<L: #rt::Loss<T>>(
                &self,
                input: #rt::Columns<'_, T, #inputs>,
                targets: #rt::Columns<'_, T, #outputs>,
                loss: &L,
                gradients: &mut Self::Gradients,
                workspace: &mut #rt::Workspace<T>,
            ) -> T {
                #training_forward
                #(#backward)*
                value
            }

            #[inline(always)]
            fn sgd_single<L: #rt::Loss<T>>(
                &mut self,
                input: &#rt::SVector<T, #inputs>,
                target: &#rt::SVector<T, #outputs>,
                loss: &L,
                learning_rate: T,
                limits: &#rt::StepLimits<T>,
            ) -> ::core::option::Option<#rt::Fused<T>> {
                #(#sgd_forward)*
                let mut delta = #rt::SVector::<T, #outputs>::zeros();
                let value = <L as #rt::Loss<T>>::loss_and_gradient(
                    loss,
                    #rt::columns::<T, #outputs>(#last_part.as_slice()),
                    #rt::columns::<T, #outputs>(target.as_slice()),
                    #rt::columns_mut::<T, #outputs>(delta.as_mut_slice()),
                );
                if !<T as #rt::Scalar>::as_f64(value).is_finite() {
                    return ::core::option::Option::Some(#rt::Fused::Declined(value));
                }
                #(#sgd_single_backward)*
                let mut largest = limits.start();
                #(#sgd_single_admits)*
                if !limits.admit(&largest) {
                    return #rt::declined(value);
                }
                #(#sgd_single_updates)*
                ::core::option::Option::Some(#rt::Fused::Applied(value))
            }

            #[inline(always)]
            fn sgd_batch<L: #rt::Loss<T>>(
                &mut self,
                input: #rt::Columns<'_, T, #inputs>,
                targets: #rt::Columns<'_, T, #outputs>,
                loss: &L,
                learning_rate: T,
                limits: &#rt::StepLimits<T>,
                workspace: &mut #rt::Workspace<T>,
            ) -> ::core::option::Option<#rt::Fused<T>> {
                #training_forward
                if !<T as #rt::Scalar>::as_f64(value).is_finite() {
                    return ::core::option::Option::Some(#rt::Fused::Declined(value));
                }
                #(#sgd_backward)*
                let mut largest = limits.start();
                #(#sgd_batch_admits)*
                if !limits.admit(&largest) {
                    return #rt::declined(value);
                }
                #(#sgd_batch_updates)*
                ::core::option::Option::Some(#rt::Fused::Applied(value))
            }
        }
    }
}

/// When validation fails: the struct alone, so that the user's other uses of its name do not
/// add a cascade of "cannot find type" errors to the real ones.
pub fn fallback(declaration: &Declaration) -> TokenStream {
    let attrs = &declaration.attrs;
    let vis = &declaration.vis;
    let ident = &declaration.ident;
    let gradients_ident = format_ident!("{}Gradients", ident);
    quote! {
        #(#attrs)*
        #vis struct #ident<T = f32>(::core::marker::PhantomData<T>);
        #vis struct #gradients_ident<T = f32>(::core::marker::PhantomData<T>);
    }
}

fn runtime() -> TokenStream {
    runtime_at(Span::call_site())
}

/// The runtime's path on `span`, so that an unmet bound on a path built from it is reported on
/// the user's token.
fn runtime_at(span: Span) -> TokenStream {
    quote_spanned!(span=> ::typenn::__private)
}

/// `Dense<IN, OUT, Act, T>` with the runtime's absolute path, on the user's span.
fn layer_type(layer: &LayerModel) -> TokenStream {
    let rt = runtime_at(layer.span);
    let kind = Ident::new(layer.kind.name, layer.span);
    let inputs = &layer.inputs.tokens;
    let outputs = &layer.outputs.tokens;
    let activation = match &layer.activation {
        Activation::Default => quote!(#rt::Identity),
        Activation::Known(name, span) => {
            let name = Ident::new(name, *span);
            quote_spanned!(*span=> #rt::#name)
        }
        Activation::Custom(path) => quote!(#path),
    };
    quote_spanned!(layer.span=> #rt::#kind<#inputs, #outputs, #activation, T>)
}

fn gradient_type(layer: &LayerModel) -> TokenStream {
    let rt = runtime_at(layer.span);
    let kind = Ident::new(layer.kind.gradients, layer.span);
    let inputs = &layer.inputs.tokens;
    let outputs = &layer.outputs.tokens;
    quote_spanned!(layer.span=> #rt::#kind<#inputs, #outputs, T>)
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
fn value(width: &Width) -> TokenStream {
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

/// `value` as `next`'s input: a no-op that does not compile unless `previous` produces exactly
/// what `next` takes, reported on `next`'s input width.
fn boundary(
    previous: &LayerModel,
    next: &LayerModel,
    method: TokenStream,
    value: TokenStream,
) -> TokenStream {
    let from = &previous.outputs.tokens;
    let to = &next.inputs.tokens;
    // The trait path carries the user's span: the compiler reports an unmet bound there.
    let rt = runtime_at(next.inputs.span);
    let path =
        quote_spanned!(next.inputs.span=> <#rt::Boundary as #rt::Fits<#from, #to>>::#method::<T>);
    quote!(#path(#value))
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
fn without_standard_derives(attrs: &[Attribute]) -> Vec<Attribute> {
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
fn standard_traits_impl(
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

            /// Copies `source`'s parameters into `self` in place: no network is built on the
            /// stack, whatever its size.
            fn clone_from(&mut self, source: &Self) {
                for index in 0..<Self as #rt::Parameters<T>>::TENSORS {
                    <Self as #rt::Parameters<T>>::tensor_mut(self, index)
                        .copy_from_slice(<Self as #rt::Parameters<T>>::tensor(source, index));
                }
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

fn struct_tokens(
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
    match declaration.style {
        Style::Tuple => quote! {
            #(#attrs)*
            #vis struct #ident<T = f32>(#(#fields),*);
        },
        Style::Named => quote! {
            #(#attrs)*
            #vis struct #ident<T = f32> { #(#fields),* }
        },
    }
}

/// `STACK_CHECK`, which does not compile for a network too big for a thread's stack. Each
/// by-value constructor names it, so the compiler evaluates it when, and only when, one of them
/// is compiled for a concrete scalar type: a call in a branch that never runs still fails the
/// build, and a network only ever built with the `*_boxed` constructors has no limit. It is
/// reported on the struct's name.
fn stack_check(ident: &Ident) -> TokenStream {
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

/// `Parameters` for the network or its gradients: tensors listed layer by layer.
fn parameters_impl(
    style: Style,
    ident: &Ident,
    types: &[TokenStream],
    members: &[&syn::Member],
    zeros_check: TokenStream,
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
    quote! {
        impl<T: #rt::Scalar> #rt::Parameters<T> for #ident<T> {
            const TENSORS: usize = 0 #(+ <#types as #rt::Parameters<T>>::TENSORS)*;
            const PARAMETERS: usize = 0 #(+ <#types as #rt::Parameters<T>>::PARAMETERS)*;

            fn zeros() -> Self {
                #zeros_check
                #construct
            }

            #rt::if_std! {
                fn try_zeros_boxed(
                ) -> ::core::result::Result<#rt::Box<Self>, #rt::AllocationError> {
                    #rt::try_zeroed_box(#name)
                }
            }

            fn tensor(&self, index: usize) -> &[T] {
                let mut index = index;
                #(
                    if index < <#types as #rt::Parameters<T>>::TENSORS {
                        return <#types as #rt::Parameters<T>>::tensor(&self.#members, index);
                    }
                    index -= <#types as #rt::Parameters<T>>::TENSORS;
                )*
                let _ = index;
                &[]
            }

            fn tensor_mut(&mut self, index: usize) -> &mut [T] {
                let mut index = index;
                #(
                    if index < <#types as #rt::Parameters<T>>::TENSORS {
                        return <#types as #rt::Parameters<T>>::tensor_mut(&mut self.#members, index);
                    }
                    index -= <#types as #rt::Parameters<T>>::TENSORS;
                )*
                let _ = index;
                &mut []
            }

            fn tensor_info(index: usize) -> ::core::option::Option<#rt::TensorInfo> {
                let mut index = index;
                #(
                    if index < <#types as #rt::Parameters<T>>::TENSORS {
                        return <#types as #rt::Parameters<T>>::tensor_info(index)
                            .map(|info| #rt::TensorInfo { layer: #labels, ..info });
                    }
                    index -= <#types as #rt::Parameters<T>>::TENSORS;
                )*
                let _ = index;
                ::core::option::Option::None
            }
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
