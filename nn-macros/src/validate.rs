//! Validation: every rule about a declaration, checked on the parsed model. Emits no code.
//!
//! All mistakes are collected and reported together, each on the token that is wrong.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Lit, Member, Path, PathArguments, Type};

use crate::parse::{Declaration, Style};

/// A layer kind the macro knows: its type in `nn-core`.
pub struct LayerKind {
    pub name: &'static str,
}

/// The layer kinds typenn has.
pub const LAYER_KINDS: &[LayerKind] = &[LayerKind { name: "Dense" }];

/// The activations typenn has, written as a bare name: the runtime re-exports the same list.
pub use nn_activations::ACTIVATIONS;

/// A declaration that passed every rule.
pub struct Model<'a> {
    pub declaration: &'a Declaration,
    pub layers: Vec<LayerModel>,
}

/// One valid layer.
pub struct LayerModel {
    pub member: Member,
    /// The field as written: `0` or `hidden`.
    pub label: String,
    pub kind: &'static LayerKind,
    pub inputs: Width,
    pub outputs: Width,
    pub activation: Activation,
    /// The type as a reader would write it: `Dense<32, 10, Relu>`.
    pub text: String,
    pub span: Span,
}

/// A layer width: a literal the macro can check, or an expression the compiler checks.
pub struct Width {
    pub tokens: TokenStream,
    pub value: Option<usize>,
    pub span: Span,
    pub text: String,
}

/// A layer's activation.
pub enum Activation {
    /// `Dense<IN, OUT>`: the identity.
    Default,
    /// One of [`ACTIVATIONS`], named by the user at `Span`.
    Known(&'static str, Span),
    /// A path to the user's own activation type.
    Custom(Path),
}

/// Checks `declaration` and returns the model to expand, or every mistake found.
pub fn validate(declaration: &Declaration) -> syn::Result<Model<'_>> {
    let mut errors = Vec::new();
    if !declaration.generics.params.is_empty() || declaration.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &declaration.generics,
            "`network!` adds the scalar type parameter itself (`T`, `f32` unless you write `f64`); remove these generics",
        ));
    }
    if declaration.fields.is_empty() {
        errors.push(syn::Error::new(
            declaration.body_span,
            "a network needs at least one layer, such as `Dense<4, 1>`",
        ));
    }
    errors.extend(duplicate_names(declaration));
    let mut layers = Vec::new();
    for (index, field) in declaration.fields.iter().enumerate() {
        let layer = match &field.layer {
            Ok(ty) => layer(ty),
            Err(error) => Err(vec![error.clone()]),
        };
        match layer {
            Ok((kind, inputs, outputs, activation)) => {
                let (member, label) = match &field.name {
                    Some(name) => (Member::Named(name.clone()), name.unraw().to_string()),
                    None => (Member::Unnamed(index.into()), index.to_string()),
                };
                let text = layer_text(kind, &inputs, &outputs, &activation);
                let span = field
                    .layer
                    .as_ref()
                    .map_or_else(|_| Span::call_site(), Spanned::span);
                layers.push(LayerModel {
                    member,
                    label,
                    kind,
                    inputs,
                    outputs,
                    activation,
                    text,
                    span,
                });
            }
            Err(mut more) => errors.append(&mut more),
        }
    }
    if layers.len() == declaration.fields.len() {
        for pair in layers.windows(2) {
            if let Err(error) = check_boundary(declaration.style, &pair[0], &pair[1]) {
                errors.push(error);
            }
        }
    }
    match errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    }) {
        Some(error) => Err(error),
        None => Ok(Model {
            declaration,
            layers,
        }),
    }
}

/// A field name used twice, reported on its second use (`r#type` and `type` are one name).
fn duplicate_names(declaration: &Declaration) -> Vec<syn::Error> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    let mut errors = Vec::new();
    for (index, field) in declaration.fields.iter().enumerate() {
        let Some(name) = &field.name else {
            continue;
        };
        let text = name.unraw().to_string();
        match seen.iter().find(|(earlier, _)| *earlier == text) {
            Some((_, first)) => errors.push(syn::Error::new_spanned(
                name,
                format!(
                    "`{text}` already names layer {}; give each layer its own field name",
                    first + 1
                ),
            )),
            None => seen.push((text, index)),
        }
    }
    errors
}

/// One layer's kind, widths and activation.
fn layer(ty: &Type) -> Result<(&'static LayerKind, Width, Width, Activation), Vec<syn::Error>> {
    let Type::Path(path) = ty else {
        return Err(vec![syn::Error::new_spanned(
            ty,
            "expected a layer type, such as `Dense<4, 8, Relu>`",
        )]);
    };
    let Some(segment) = path.path.segments.last().filter(|_| path.qself.is_none()) else {
        return Err(vec![syn::Error::new_spanned(
            ty,
            "expected a layer type, such as `Dense<4, 8, Relu>`",
        )]);
    };
    let name = segment.ident.to_string();
    let Some(kind) = LAYER_KINDS.iter().find(|kind| kind.name == name) else {
        let known: Vec<&str> = LAYER_KINDS.iter().map(|kind| kind.name).collect();
        let mut message = format!("unknown layer kind `{name}`: typenn has {}", list(&known));
        if let Some(close) = closest(&name, &known) {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        return Err(vec![syn::Error::new_spanned(&segment.ident, message)]);
    };
    let usage = format!(
        "`{0}` takes `{0}<IN, OUT>` or `{0}<IN, OUT, Activation>`",
        kind.name
    );
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return Err(vec![syn::Error::new_spanned(ty, usage)]);
    };
    let arguments: Vec<&GenericArgument> = arguments.args.iter().collect();
    if !(2..=3).contains(&arguments.len()) {
        return Err(vec![syn::Error::new_spanned(
            ty,
            format!("{usage}, but this has {} arguments", arguments.len()),
        )]);
    }
    let inputs = width(arguments[0], "input");
    let outputs = width(arguments[1], "output");
    let activation = arguments
        .get(2)
        .map_or(Ok(Activation::Default), |argument| activation(argument));
    match (inputs, outputs, activation) {
        (Ok(inputs), Ok(outputs), Ok(activation)) => Ok((kind, inputs, outputs, activation)),
        (inputs, outputs, activation) => Err([inputs.err(), outputs.err(), activation.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// A width argument: a whole literal, a const item, or a `{ ... }` expression.
fn width(argument: &GenericArgument, what: &str) -> syn::Result<Width> {
    let text = argument.to_token_stream().to_string().replace(' ', "");
    let checked = |value: Option<usize>| Width {
        tokens: argument.to_token_stream(),
        value,
        span: argument.span(),
        text: text.clone(),
    };
    match argument {
        GenericArgument::Const(Expr::Lit(literal)) => match &literal.lit {
            Lit::Int(int) => {
                if !matches!(int.suffix(), "" | "usize") {
                    return Err(syn::Error::new_spanned(
                        int,
                        format!(
                            "a layer width is a `usize`: write `{}` without the `{}` suffix",
                            int.base10_digits(),
                            int.suffix()
                        ),
                    ));
                }
                match int.base10_parse::<usize>() {
                    Ok(0) => Err(syn::Error::new_spanned(
                        int,
                        format!("a layer needs at least one {what}, but this width is 0"),
                    )),
                    Ok(value) => Ok(checked(Some(value))),
                    Err(_) => Err(syn::Error::new_spanned(
                        int,
                        "this width does not fit in a `usize`",
                    )),
                }
            }
            other => Err(syn::Error::new_spanned(
                other,
                format!(
                    "a layer width is a whole number of {what}s, such as `10`, but this is `{text}`"
                ),
            )),
        },
        GenericArgument::Const(Expr::Unary(_)) => Err(syn::Error::new_spanned(
            argument,
            format!(
                "a layer width is a whole number of {what}s, such as `10`, but this is `{text}`"
            ),
        )),
        GenericArgument::Const(Expr::Block(_) | Expr::Path(_)) => Ok(checked(None)),
        GenericArgument::Type(Type::Path(path))
            if path.qself.is_none() && path.path.segments.iter().all(|s| s.arguments.is_none()) =>
        {
            Ok(checked(None))
        }
        _ => Err(syn::Error::new_spanned(
            argument,
            format!(
                "expected the number of {what}s: a whole number such as `10` or the name of a `const` item"
            ),
        )),
    }
}

/// The activation argument.
fn activation(argument: &GenericArgument) -> syn::Result<Activation> {
    let expected = format!(
        "expected an activation type such as `Relu`; typenn has {}",
        list(ACTIVATIONS)
    );
    let GenericArgument::Type(Type::Path(path)) = argument else {
        return Err(syn::Error::new_spanned(argument, expected));
    };
    if path.qself.is_some() {
        return Err(syn::Error::new_spanned(argument, expected));
    }
    if path.path.segments.len() > 1 || path.path.leading_colon.is_some() {
        return Ok(Activation::Custom(path.path.clone()));
    }
    let name = path.path.segments[0].ident.to_string();
    match ACTIVATIONS.iter().find(|known| **known == name) {
        Some(known) if path.path.segments[0].arguments.is_none() => {
            Ok(Activation::Known(known, argument.span()))
        }
        _ => {
            let mut message = format!(
                "unknown activation `{name}`: typenn has {}",
                list(ACTIVATIONS)
            );
            if let Some(close) = closest(&name, ACTIVATIONS) {
                message.push_str(&format!("; did you mean `{close}`?"));
            }
            message.push_str(
                " (an activation of your own is written as a path, such as `crate::MyActivation`)",
            );
            Err(syn::Error::new_spanned(argument, message))
        }
    }
}

/// Checks that `next` takes what `previous` produces, when both widths are literals.
fn check_boundary(style: Style, previous: &LayerModel, next: &LayerModel) -> syn::Result<()> {
    let (Some(produced), Some(expected)) = (previous.outputs.value, next.inputs.value) else {
        return Ok(());
    };
    if produced == expected {
        return Ok(());
    }
    let name = |layer: &LayerModel| match style {
        Style::Tuple => format!(
            "layer {} (`{}`)",
            layer.label.parse::<usize>().map_or(0, |i| i + 1),
            layer.text
        ),
        Style::Named => format!("layer `{}` (`{}`)", layer.label, layer.text),
    };
    Err(syn::Error::new(
        next.inputs.span,
        format!(
            "{} expects {expected} inputs, but {} produces {produced} outputs; \
             each layer's input width must equal the previous layer's output width",
            name(next),
            name(previous)
        ),
    ))
}

fn layer_text(
    kind: &LayerKind,
    inputs: &Width,
    outputs: &Width,
    activation: &Activation,
) -> String {
    let activation = match activation {
        Activation::Default => String::new(),
        Activation::Known(name, _) => format!(", {name}"),
        Activation::Custom(path) => {
            format!(", {}", path.to_token_stream().to_string().replace(' ', ""))
        }
    };
    format!(
        "{}<{}, {}{activation}>",
        kind.name, inputs.text, outputs.text
    )
}

fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The known name closest to `name`, if it is a plausible misspelling.
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors(tokens: TokenStream) -> Vec<String> {
        let declaration: Declaration = syn::parse2(tokens).unwrap();
        match validate(&declaration) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_the_design_example() {
        assert!(
            errors(quote!(
                pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
            ))
            .is_empty()
        );
        assert!(
            errors(quote!(
                struct Net(Dense<INPUTS, 10>, Dense<{ 5 + 5 }, 1, crate::Mine>);
            ))
            .is_empty()
        );
    }

    #[test]
    fn names_both_layers_in_a_width_mismatch() {
        let found = errors(quote!(
            pub struct Regressor(Dense<32, 10, Relu>, Dense<11, 1>);
        ));
        assert_eq!(
            found,
            [
                "layer 2 (`Dense<11, 1>`) expects 11 inputs, but layer 1 (`Dense<32, 10, Relu>`) produces 10 outputs; \
              each layer's input width must equal the previous layer's output width"
            ]
        );
        let named = errors(quote!(
            struct C {
                hidden: Dense<4, 8, Tanh>,
                output: Dense<9, 3>,
            }
        ));
        assert!(
            named[0]
                .starts_with("layer `output` (`Dense<9, 3>`) expects 9 inputs, but layer `hidden`"),
            "{named:?}"
        );
    }

    #[test]
    fn raw_field_names_are_named_without_their_prefix() {
        let found = errors(quote!(
            struct C {
                r#type: Dense<4, 8>,
                output: Dense<9, 3>,
            }
        ));
        assert!(found[0].ends_with("but layer `type` (`Dense<4, 8>`) produces 8 outputs; each layer's input width must equal the previous layer's output width"), "{found:?}");
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let found = errors(quote!(
            struct Net(Dense<0, 3, Rellu>, Conv<3, 2>, Dense<2.5, 1>);
        ));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("at least one input"));
        assert!(found[1].contains("did you mean `Relu`?"));
        assert!(found[2].starts_with("unknown layer kind `Conv`"));
        assert!(found[3].contains("whole number of inputs"));
    }

    #[test]
    fn suggests_the_rust_spelling() {
        let found = errors(quote!(
            struct Net(Dense<1, 1, ReLU>);
        ));
        assert!(found[0].contains("did you mean `Relu`?"), "{found:?}");
    }

    #[test]
    fn rejects_empty_networks_and_generics() {
        assert_eq!(
            errors(quote!(
                struct Net();
            )),
            ["a network needs at least one layer, such as `Dense<4, 1>`"]
        );
        assert!(
            errors(quote!(
                struct Net<T>(Dense<1, 1>);
            ))[0]
                .contains("remove these generics")
        );
    }

    #[test]
    fn a_repeated_field_name_is_one_error_on_its_second_use() {
        let found = errors(quote!(
            struct C {
                hidden: Dense<4, 8, Tanh>,
                r#hidden: Dense<8, 8>,
                output: Dense<8, 3>,
                hidden: Dense<3, 1>,
            }
        ));
        assert_eq!(
            found,
            [
                "`hidden` already names layer 1; give each layer its own field name",
                "`hidden` already names layer 1; give each layer its own field name"
            ]
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("relu", "relu"), 0);
        assert_eq!(edit_distance("rellu", "relu"), 1);
        assert_eq!(edit_distance("sigmod", "sigmoid"), 1);
    }
}
