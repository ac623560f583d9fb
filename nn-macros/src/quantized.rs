//! Expansion of the int8 network: for `Net`, the struct `NetInt8` of quantized layers, with
//! `Net::quantize_inputs` (and with `std` `Net::quantize`, from a `Dataset`) to make it and its
//! own `forward`. Nothing here can fail.
//!
//! Only declarations whose every layer has an int8 counterpart in `nn-core` (`Dense`, `Conv1d`,
//! `Conv2d`, the poolings, `BatchNorm`, an activation, `Flatten`, `Dropout`) get it: the others
//! expand exactly as before. A `BatchNorm` right after a `Dense` or convolution without an
//! activation is folded into that layer's weights; its own field passes the numbers through.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::expand::{runtime_at, value};
use crate::parse::{Declaration, Style};
use crate::validate::{Activation, Family, LayerModel, Model, Width};

/// Whether a layer has an int8 counterpart: its kind has one, and its activation is one of
/// typenn's (a user's own type is only known to be an activation by the compiler, which would
/// report a type that is not one here a second time).
fn quantizable(layer: &LayerModel) -> bool {
    matches!(
        layer.kind.family,
        Family::Dense
            | Family::Conv1d
            | Family::Conv2d
            | Family::Pool1d
            | Family::Pool2d
            | Family::GlobalPool
            | Family::BatchNorm
            | Family::Activation
            | Family::Flatten
            | Family::Dropout
    ) && !matches!(layer.activation, Activation::Custom(_))
}

/// For each layer, whether it is a `BatchNorm` folded into the layer before: one with weights
/// and no activation of its own, so that the two are one affine map.
fn folded(layers: &[LayerModel]) -> Vec<bool> {
    let mut folded = vec![false; layers.len()];
    for (i, pair) in layers.windows(2).enumerate() {
        let [before, norm] = pair else { continue };
        let affine = matches!(
            before.kind.family,
            Family::Dense | Family::Conv1d | Family::Conv2d
        ) && matches!(
            before.activation,
            Activation::Default | Activation::Known("Identity", _)
        );
        folded[i + 1] = affine && norm.kind.family == Family::BatchNorm;
    }
    folded
}

/// `value` of a width that comes from another layer, as the `i8` or `f32` vector of width
/// `to`: through `across`, which names both widths, so that a mismatch the `f32` chain already
/// reports is not reported again here.
fn across(function: &str, value: TokenStream, from: &Width, to: &Width) -> TokenStream {
    let rt = runtime_at(Span::call_site());
    let function = Ident::new(function, Span::call_site());
    let (from, to) = (crate::expand::value(from), crate::expand::value(to));
    quote!(#rt::quant::#function::<#from, #to>(#value))
}

/// The int8 network's name: `NetInt8` for `Net`.
fn int8_ident(ident: &Ident) -> Ident {
    format_ident!("{}Int8", ident)
}

/// The int8 struct and the methods that make and run it, or nothing when a layer has no int8
/// counterpart.
pub fn expand(model: &Model<'_>) -> TokenStream {
    let layers = &model.layers;
    if !layers.iter().all(quantizable) {
        return TokenStream::new();
    }
    let declaration = model.declaration;
    let rt = runtime_at(Span::call_site());
    let ident = &declaration.ident;
    let int8 = int8_ident(ident);
    let f32_types: Vec<TokenStream> = layers.iter().map(f32_layer_type).collect();
    let quantize_traits: Vec<TokenStream> = layers
        .iter()
        .zip(&f32_types)
        .map(|(layer, ty)| {
            let (inputs, outputs) = (&layer.inputs.tokens, &layer.outputs.tokens);
            quote_spanned!(layer.span=> <#ty as #rt::quant::Quantize<#inputs, #outputs>>)
        })
        .collect();
    let folded = folded(layers);
    let int8_types: Vec<TokenStream> = quantize_traits
        .iter()
        .zip(layers.iter().zip(&folded))
        .map(|(quantize, (layer, &folded))| {
            let width = &layer.inputs.tokens;
            match folded {
                true => quote!(#rt::quant::QuantizedPassThrough<#width>),
                false => quote!(#quantize::Quantized),
            }
        })
        .collect();
    let int8_traits: Vec<TokenStream> = layers
        .iter()
        .zip(&int8_types)
        .map(|(layer, ty)| {
            let (inputs, outputs) = (&layer.inputs.tokens, &layer.outputs.tokens);
            quote!(<#ty as #rt::quant::QuantizedLayer<#inputs, #outputs>>)
        })
        .collect();
    let members: Vec<&syn::Member> = layers.iter().map(|layer| &layer.member).collect();
    let labels: Vec<&str> = layers
        .iter()
        .map(|layer| layer.label.strip_prefix("r#").unwrap_or(&layer.label))
        .collect();
    let inputs = &layers[0].inputs.tokens;
    let outputs = &layers[layers.len() - 1].outputs.tokens;
    let in_value = value(&layers[0].inputs);
    let out_value = value(&layers[layers.len() - 1].outputs);

    let int8_struct = struct_tokens(declaration, &int8, &int8_types);
    let calibrate = calibration(model, &f32_types, &labels);
    let boundaries = layers.len() + 1;
    let scale_names: Vec<Ident> = (0..boundaries)
        .map(|i| format_ident!("scale_{}", i))
        .collect();
    let folds_next = |i: usize| folded.get(i + 1).copied().unwrap_or(false);
    let next_scales = quantize_traits.iter().enumerate().map(|(i, quantize)| {
        let (before, after) = (&scale_names[i], &scale_names[i + 1]);
        if folds_next(i) {
            // The folded layer's outputs are the normalization's.
            quote!(let #after = ranges[#i + 2].scale();)
        } else if folded[i] {
            quote!(let #after = #before;)
        } else {
            quote! {
                let #after = #rt::quant::next_scale(#quantize::keeps_scale(), #before, &ranges[#i + 1]);
            }
        }
    });
    let quantized_fields = quantize_traits.iter().enumerate().map(|(i, quantize)| {
        let (member, label) = (members[i], labels[i]);
        let (input, output) = (&scale_names[i], &scale_names[i + 1]);
        let scales = quote!(#rt::quant::Scales { input: #input, output: #output });
        if folds_next(i) {
            let (ty, norm_ty) = (&f32_types[i], &f32_types[i + 1]);
            let (inputs, outputs) = (&layers[i].inputs.tokens, &layers[i].outputs.tokens);
            let (norm, norm_label) = (members[i + 1], labels[i + 1]);
            quote_spanned! {layers[i + 1].span=>
                <#ty as #rt::quant::QuantizeFolded<#norm_ty, #inputs, #outputs>>::quantize_folded(
                    &self.#member,
                    &self.#norm,
                    #scales,
                    [#label, #norm_label],
                )?
            }
        } else if folded[i] {
            let width = &layers[i].inputs.tokens;
            quote!(#rt::quant::folded::<#width>(#input))
        } else {
            quote! {
                #quantize::quantize(&self.#member, #scales)
                    .map_err(|error| error.in_layer(#label))?
            }
        }
    });
    let construct = match declaration.style {
        Style::Tuple => quote!(#int8(#(#quantized_fields),*)),
        Style::Named => quote!(#int8 { #(#members: #quantized_fields),* }),
    };
    let first_scale = &scale_names[0];
    let (first, last) = (members[0], members[members.len() - 1]);
    let (first_trait, last_trait) = (&int8_traits[0], &int8_traits[int8_traits.len() - 1]);
    let steps = int8_traits
        .iter()
        .zip(&members)
        .enumerate()
        .map(|(i, (layer, member))| {
            let input = match i {
                0 => quote!(*input),
                _ => across(
                    "across",
                    quote!(x),
                    &layers[i - 1].outputs,
                    &layers[i].inputs,
                ),
            };
            quote!(let x = #layer::forward(&self.#member, &#input);)
        });

    let name = ident.to_string();
    let quantize_doc = format!(
        " [`{name}`] in int8 ([`{int8}`]), with the activation scales calibrated on these \
         inputs: each layer's input scale is the largest magnitude seen there, over 127."
    );
    let dataset_doc = format!(
        " [`{name}`] in int8 ([`{int8}`]), calibrated on the inputs of `calibration` (its \
         targets are not used), as `quantize_inputs` does."
    );

    quote! {
        #int8_struct

        impl #ident<f32> {
            #[doc = #quantize_doc]
            ///
            /// # Errors
            ///
            /// `QuantizeError` when there are no inputs, when an input or a layer's output is
            /// NaN or infinite, or when a parameter is.
            pub fn quantize_inputs(
                &self,
                calibration: &[#rt::SVector<f32, #inputs>],
            ) -> ::core::result::Result<#int8, #rt::quant::QuantizeError> {
                if calibration.is_empty() {
                    return ::core::result::Result::Err(#rt::quant::QuantizeError::EmptyCalibration);
                }
                #(#rt::quant::check_parameters(&self.#members, #labels)?;)*
                let mut ranges = [#rt::quant::Range::default(); #boundaries];
                #calibrate
                let #first_scale = ranges[0].scale();
                #(#next_scales)*
                ::core::result::Result::Ok(#construct)
            }

            #rt::if_std! {
                #[doc = #dataset_doc]
                ///
                /// # Errors
                ///
                /// As `quantize_inputs`.
                pub fn quantize<const TARGETS: usize>(
                    &self,
                    calibration: &#rt::Dataset<f32, #inputs, { TARGETS }>,
                ) -> ::core::result::Result<#int8, #rt::quant::QuantizeError> {
                    self.quantize_inputs(calibration.inputs())
                }
            }
        }

        impl #int8 {
            /// The output for one sample: the input quantized on the first layer's scale, the
            /// int8 layers, and the last layer's output dequantized.
            #[must_use]
            pub fn forward(&self, input: &#rt::SVector<f32, #inputs>) -> #rt::SVector<f32, #outputs> {
                let x = #rt::quant::quantize_input(input, self.input_scale());
                #rt::quant::dequantize(&self.forward_int8(&x), self.output_scale())
            }

            /// The outputs for a batch of `B` samples, one per column, as `forward` gives them.
            #[must_use]
            pub fn forward_batch<const B: usize>(
                &self,
                inputs: &#rt::SMatrix<f32, #inputs, { B }>,
            ) -> #rt::SMatrix<f32, #outputs, { B }> {
                let mut outputs = #rt::SMatrix::<f32, #outputs, { B }>::zeros();
                for (input, mut output) in inputs.column_iter().zip(outputs.column_iter_mut()) {
                    output.copy_from(&self.forward(&input.into_owned()));
                }
                outputs
            }

            #rt::if_std! {
                /// The output for each sample of `inputs`, as `forward` gives it.
                #[must_use]
                pub fn predict(
                    &self,
                    inputs: &[#rt::SVector<f32, #inputs>],
                ) -> #rt::Vec<#rt::SVector<f32, #outputs>> {
                    inputs.iter().map(|input| self.forward(input)).collect()
                }
            }

            /// The output for one sample on the int8 scales alone: the input on
            /// `input_scale()`, the output on `output_scale()`.
            #[must_use]
            #[inline]
            pub fn forward_int8(&self, input: &[i8; #in_value]) -> [i8; #out_value] {
                #(#steps)*
                x
            }

            /// The scale of the network's int8 inputs: a real input `x` is `q * input_scale()`.
            #[must_use]
            pub fn input_scale(&self) -> f32 {
                #first_trait::scales(&self.#first).input
            }

            /// The scale of the network's int8 outputs.
            #[must_use]
            pub fn output_scale(&self) -> f32 {
                #last_trait::scales(&self.#last).output
            }
        }
    }
}

/// The calibration loop: every sample through the `f32` layers, each layer's input and output
/// taken into its range.
fn calibration(model: &Model<'_>, f32_types: &[TokenStream], labels: &[&str]) -> TokenStream {
    let rt = runtime_at(Span::call_site());
    let steps = model
        .layers
        .iter()
        .zip(f32_types)
        .enumerate()
        .map(|(i, (layer, ty))| {
            let member = &layer.member;
            let label = labels[i];
            let (inputs, outputs) = (&layer.inputs.tokens, &layer.outputs.tokens);
            let input = match i {
                0 => quote!(*input),
                _ => across("across_f32", quote!(&x), &model.layers[i - 1].outputs, &layer.inputs),
            };
            quote! {
                let x = <#ty as #rt::Layer<f32, #inputs, #outputs>>::forward(&self.#member, &#input);
                #rt::quant::observe_output(&mut ranges[#i + 1], sample, #label, x.as_slice())?;
            }
        });
    quote! {
        for (sample, input) in calibration.iter().enumerate() {
            #rt::quant::observe_input(&mut ranges[0], sample, input.as_slice())?;
            #(#steps)*
            let _ = x;
        }
    }
}

/// The layer's `f32` type in `nn-core`, on the user's span (as `expand`'s `layer_type`, with
/// the scalar fixed).
fn f32_layer_type(layer: &LayerModel) -> TokenStream {
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
        Family::Activation => quote_spanned!(layer.span=> #rt::#kind<#activation, #(#args,)* f32>),
        Family::Dense | Family::Conv1d | Family::Conv2d => {
            quote_spanned!(layer.span=> #rt::#kind<#(#args,)* #activation, f32>)
        }
        _ => quote_spanned!(layer.span=> #rt::#kind<#(#args,)* f32>),
    }
}

/// `pub struct NetInt8(..)` or `{ .. }`, with the declaration's visibility and field names.
fn struct_tokens(declaration: &Declaration, int8: &Ident, types: &[TokenStream]) -> TokenStream {
    let vis = &declaration.vis;
    let name = declaration.ident.to_string();
    let doc = format!(
        " [`{name}`] with int8 weights and activations and `i32` sums, made by \
         `{name}::quantize` or `{name}::quantize_inputs`. It runs without `std` and without an \
         allocator."
    );
    let fields = declaration.fields.iter().zip(types).map(|(field, ty)| {
        let docs = field
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc"));
        let field_vis = &field.vis;
        match &field.name {
            Some(name) => quote!(#(#docs)* #field_vis #name: #ty),
            None => quote!(#(#docs)* #field_vis #ty),
        }
    });
    match declaration.style {
        Style::Tuple => quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #int8(#(#fields),*);
        },
        Style::Named => quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, PartialEq)]
            #vis struct #int8 { #(#fields),* }
        },
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;
    use crate::parse::Declaration;
    use crate::validate::validate;

    fn folds(tokens: TokenStream) -> Vec<bool> {
        let declaration: Declaration = syn::parse2(tokens).unwrap();
        let model = validate(&declaration).unwrap();
        folded(&model.layers)
    }

    #[test]
    fn a_batch_norm_folds_only_into_a_layer_with_weights_and_no_activation() {
        assert_eq!(
            folds(quote!(
                #[input_shape(1, 8, 8)]
                struct Net(
                    Conv2d<1, 4, 3, 1, 1>,
                    BatchNorm,
                    Relu,
                    MaxPool2d<2>,
                    BatchNorm,
                    Flatten,
                    Dense<64, 2, Identity>,
                    BatchNorm,
                );
            )),
            [false, true, false, false, false, false, false, true]
        );
        // After a convolution with its own activation, or first, it runs on its own.
        assert_eq!(
            folds(quote!(
                #[input_shape(2, 4)]
                struct Net(BatchNorm, Conv1d<2, 3, 3, 1, 1, 1, Relu>, BatchNorm);
            )),
            [false, false, false]
        );
    }
}
