//! Expansion of a network with a recurrent layer: run one time step at a time.
//!
//! Such a network has the struct, gradients, `Parameters`, saving and loading of any other, and
//! in place of the single-sample passes a state struct (`NetState`: each recurrent layer's
//! state, `()` for the others) with `step` and the sequence methods, walked along the chain of
//! layers by `StreamStack` in nn-core. Nothing here can fail.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Attribute;

use crate::expand::{
    gradient_type, layer_type, parameters_impl, runtime, runtime_at, safetensors_constructors,
    stack_check, standard_traits_impl, struct_tokens, value, without_standard_derives,
};
use crate::parse::Style;
use crate::validate::{LayerModel, Model};
use crate::weights::is_weights_attribute;

/// Whether the network holds a layer with state: it is then run by time steps.
pub fn is_recurrent(model: &Model<'_>) -> bool {
    model.layers.iter().any(is_recurrent_layer)
}

fn is_recurrent_layer(layer: &LayerModel) -> bool {
    layer.kind.family.has_state()
}

/// The code for a valid declaration with at least one recurrent layer.
pub fn expand(model: &Model<'_>) -> TokenStream {
    let declaration = model.declaration;
    let layers = &model.layers;
    let rt = runtime();
    let ident = &declaration.ident;
    let gradients_ident = format_ident!("{}Gradients", ident);
    let state_ident = format_ident!("{}State", ident);
    let name = ident.to_string();

    let layer_types: Vec<TokenStream> = layers.iter().map(layer_type).collect();
    let gradient_types: Vec<TokenStream> = layers.iter().map(gradient_type).collect();
    let members: Vec<&syn::Member> = layers.iter().map(|layer| &layer.member).collect();
    let state_types: Vec<TokenStream> = layers
        .iter()
        .zip(&layer_types)
        .map(|(layer, ty)| {
            if is_recurrent_layer(layer) {
                let inputs = &layer.inputs.tokens;
                let outputs = &layer.outputs.tokens;
                quote_spanned!(layer.span=> <#ty as #rt::Streaming<T, #inputs, #outputs>>::State)
            } else {
                quote!(())
            }
        })
        .collect();

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
    let state_doc = format!(
        " What [`{name}`] carries from one time step to the next: each recurrent layer's state, `()` for the layers without memory. All zero at the start of a stream."
    );
    let state_attrs: Vec<Attribute> = vec![
        syn::parse_quote!(#[doc = #state_doc]),
        syn::parse_quote!(#[derive(Clone, Copy, Debug, PartialEq)]),
    ];
    let state_struct = struct_tokens(declaration, &state_attrs, &state_ident, &state_types, true);
    let state_zeros = match declaration.style {
        Style::Tuple => quote!(Self(#(<#state_types as #rt::Zeroable>::zeroed()),*)),
        Style::Named => {
            quote!(Self { #(#members: <#state_types as #rt::Zeroable>::zeroed()),* })
        }
    };

    let first = &layers[0];
    let last = &layers[layers.len() - 1];
    let inputs = &first.inputs.tokens;
    let outputs = &last.outputs.tokens;

    let stack_check = stack_check(ident);
    let network_parameters = parameters_impl(
        declaration.style,
        ident,
        &layer_types,
        &members,
        quote!(let () = Self::STACK_CHECK;),
        TokenStream::new(),
    );
    let gradients_parameters = parameters_impl(
        declaration.style,
        &gradients_ident,
        &gradient_types,
        &members,
        TokenStream::new(),
        TokenStream::new(),
    );

    // The layers lent out as a chain, a recurrent layer as itself and any other wrapped as
    // `Memoryless`; each link on the next layer's input width, as for the other passes.
    let chain = layers
        .iter()
        .enumerate()
        .rev()
        .fold(quote!(#rt::End), |rest, (index, layer)| {
            let member = &layer.member;
            let out = value(&layer.outputs);
            let (next_in, span) = match layers.get(index + 1) {
                Some(next) => (value(&next.inputs), next.inputs.span),
                None => (value(&layer.outputs), layer.outputs.span),
            };
            let rt = runtime_at(span);
            let head = if is_recurrent_layer(layer) {
                quote!(&self.#member)
            } else {
                quote!(#rt::Memoryless(&self.#member))
            };
            quote_spanned!(span=> #rt::Link::<_, _, #out, #next_in>::new(#head, #rest))
        });
    // The same chain as a type, for `SequenceNetwork::Sequences`.
    let chain_type = layers
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
            let head = if is_recurrent_layer(layer) {
                quote!(&'a #ty)
            } else {
                quote!(#rt::Memoryless<&'a #ty>)
            };
            quote!(#link<#head, #rest, #out, #next_in>)
        });
    let gradient_slots = members.iter().rev().fold(
        quote!(()),
        |rest, member| quote!((&mut gradients.#member, #rest)),
    );
    let states = members.iter().rev().fold(
        quote!(()),
        |rest, member| quote!((&mut state.#member, #rest)),
    );
    let initialize = layers.iter().zip(&layer_types).map(|(layer, ty)| {
        let member = &layer.member;
        let rt = runtime_at(layer.span);
        let inputs = &layer.inputs.tokens;
        let outputs = &layer.outputs.tokens;
        let protocol = if is_recurrent_layer(layer) {
            quote!(Streaming)
        } else {
            quote!(Layer)
        };
        quote_spanned! {layer.span=>
            <#ty as #rt::#protocol<T, #inputs, #outputs>>::initialize(&mut self.#member, init, rng);
        }
    });

    let style = match declaration.style {
        Style::Tuple => quote!(tuple),
        Style::Named => quote!(named),
    };
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
    let derived = model.derived.iter().map(|(name, expression)| {
        quote_spanned! {name.span()=>
            #[doc(hidden)]
            const #name: usize = #expression;
        }
    });
    let safetensors_constructors = safetensors_constructors();
    let doc_parameters = format!(" The number of parameters of [`{name}`].");

    // Training by back-propagation through time.
    let sequence_training = quote! {
        #rt::if_std! {
            impl<T: #rt::Scalar> #rt::SequenceNetwork<T, #inputs, #outputs> for #ident<T> {
                type Gradients = #gradients_ident<T>;
                const CARRY: usize =
                    <<Self as #rt::SequenceNetwork<T, #inputs, #outputs>>::Sequences<'static>
                        as #rt::SequenceStack<T, #inputs, #outputs>>::CARRY;
                type Sequences<'a> = #chain_type where Self: 'a;

                #[inline(always)]
                fn sequence_layers(&self) -> Self::Sequences<'_> {
                    #chain
                }

                #[inline(always)]
                fn sequence_gradient_slots<'a, 'g>(
                    gradients: &'g mut Self::Gradients,
                ) -> <Self::Sequences<'a> as #rt::SequenceStack<T, #inputs, #outputs>>::Gradients<'g>
                where
                    Self: 'a,
                {
                    #gradient_slots
                }
            }
        }
    };

    quote! {
        #(#derived)*
        #network_struct
        #gradients_struct
        #state_struct

        impl #ident {
            #[doc = #doc_parameters]
            pub const PARAMETERS: usize = <Self as #rt::Parameters<f32>>::PARAMETERS;

            /// A network with Glorot-uniform weights and zero biases, drawn from `rng`.
            #[must_use]
            pub fn new<R: #rt::Rng + ?Sized>(rng: &mut R) -> Self {
                Self::with_init(#rt::Init::GlorotUniform, rng)
            }

            /// A network with weights drawn from `rng` as `init` says, and zero biases.
            #[must_use]
            pub fn with_init<R: #rt::Rng + ?Sized>(init: #rt::Init, rng: &mut R) -> Self {
                let mut network = Self::zeros();
                network.initialize(init, rng);
                network
            }

            /// A network whose parameters are all zero.
            #[must_use]
            #[inline]
            pub fn zeros() -> Self {
                <Self as #rt::Parameters<f32>>::zeros()
            }

            #rt::if_std! {
                #safetensors_constructors
            }
        }

        #stack_check

        impl<T: #rt::Scalar> #state_ident<T> {
            /// The state at the start of a stream: all zero.
            #[must_use]
            pub fn zeros() -> Self {
                #state_zeros
            }

            /// Back to the start of a stream: every layer's state zero.
            #[inline]
            pub fn reset(&mut self) {
                *self = Self::zeros();
            }
        }

        impl<T: #rt::Scalar> ::core::default::Default for #state_ident<T> {
            fn default() -> Self {
                Self::zeros()
            }
        }

        impl<T: #rt::Scalar> #ident<T> {
            /// Sets every layer's parameters to fresh random values drawn as `init` says.
            pub fn initialize<R: #rt::Rng + ?Sized>(&mut self, init: #rt::Init, rng: &mut R) {
                #(#initialize)*
            }

            /// One time step: the output for `input`, carrying `state` on to the next step.
            /// It does not allocate, lock or make a system call.
            #[must_use]
            #[inline]
            pub fn step(
                &self,
                state: &mut #state_ident<T>,
                input: &#rt::SVector<T, #inputs>,
            ) -> #rt::SVector<T, #outputs> {
                #rt::with_fma(
                    #[inline(always)]
                    || {
                        let chain = #chain;
                        #rt::StreamStack::<T, #inputs, #outputs>::step(&chain, #states, input)
                    },
                )
            }

            /// A sequence of `STEPS` time steps, one per column, from `state` on: every step's
            /// output (sequence to sequence). `state` is left as the last step left it.
            #[must_use]
            pub fn sequence<const STEPS: usize>(
                &self,
                state: &mut #state_ident<T>,
                inputs: &#rt::SMatrix<T, #inputs, { STEPS }>,
            ) -> #rt::SMatrix<T, #outputs, { STEPS }> {
                let mut outputs = #rt::SMatrix::<T, #outputs, { STEPS }>::zeros();
                for (input, mut output) in inputs.column_iter().zip(outputs.column_iter_mut()) {
                    output.copy_from(&self.step(state, &input.into_owned()));
                }
                outputs
            }

            /// A sequence of `STEPS` time steps, one per column, from `state` on: the last
            /// step's output (sequence to one). An empty sequence does not compile.
            #[must_use]
            pub fn sequence_last<const STEPS: usize>(
                &self,
                state: &mut #state_ident<T>,
                inputs: &#rt::SMatrix<T, #inputs, { STEPS }>,
            ) -> #rt::SVector<T, #outputs> {
                const { ::core::assert!(STEPS > 0, "a sequence needs at least one time step") };
                let mut output = #rt::SVector::<T, #outputs>::zeros();
                for input in inputs.column_iter() {
                    output = self.step(state, &input.into_owned());
                }
                output
            }
        }

        // SAFETY: every field is a layer (or a layer's gradients), and `Parameters::zeros`
        // builds each field from its type's `Parameters::zeros`, so these impls compile only if
        // every field's type is `Parameters` and so `Zeroable`: all-zero bytes are a valid value.
        unsafe impl<T: #rt::Scalar> #rt::Zeroable for #ident<T> {}
        // SAFETY: as above.
        unsafe impl<T: #rt::Scalar> #rt::Zeroable for #gradients_ident<T> {}

        #standard_traits
        #network_parameters
        #gradients_parameters
        #serde_impls

        #sequence_training
    }
}
