//! Parsing: the macro's input into a small model that keeps every token's span.
//!
//! Grammar (the input is an ordinary struct declaration whose fields are layers):
//!
//! ```text
//! Network    := Attribute* Visibility "struct" Ident Generics? Body
//! Body       := "(" Field ("," Field)* ","? ")" ";"?
//!             | "{" NamedField ("," NamedField)* ","? "}"
//! Field      := Attribute* Visibility Layer
//! NamedField := Attribute* Visibility Ident ":" Layer
//! Layer      := any tokens up to the next top-level ",": a type such as `Dense<4, 8, Relu>`
//! ```
//!
//! A layer that does not parse as a type is kept as an error, so that every mistake in the
//! declaration is reported in one compile.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Generics, Ident, Token, Type, Visibility, braced, parenthesized};

/// The declaration as written.
pub struct Declaration {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub generics: Generics,
    pub style: Style,
    /// The span of the parentheses or braces, for "empty network".
    pub body_span: Span,
    pub fields: Vec<Field>,
}

/// Tuple struct or struct with named fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    Tuple,
    Named,
}

/// One field: a layer.
pub struct Field {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Option<Ident>,
    pub layer: Result<Type, syn::Error>,
}

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if let Some(error) = layer_list(input) {
            return Err(error);
        }
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>().map_err(|error| {
            syn::Error::new(
                error.span(),
                "expected a struct declaration, such as `pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);`",
            )
        })?;
        let ident: Ident = input.parse()?;
        let generics: Generics = input.parse()?;
        let content;
        let (style, body_span) = if input.peek(syn::token::Paren) {
            let paren = parenthesized!(content in input);
            (Style::Tuple, paren.span.join())
        } else if input.peek(syn::token::Brace) {
            let brace = braced!(content in input);
            (Style::Named, brace.span.join())
        } else {
            return Err(input
                .error("expected the layers in `( ... )` or `{ ... }` after the struct's name"));
        };
        let mut fields = Vec::new();
        while !content.is_empty() {
            fields.push(Field::parse(&content, style)?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        if style == Style::Tuple {
            input.parse::<Option<Token![;]>>()?;
        }
        if !input.is_empty() {
            return Err(input.error(
                "`network!` takes one struct declaration; write one `network!` per network",
            ));
        }
        Ok(Self {
            attrs,
            vis,
            ident,
            generics,
            style,
            body_span,
            fields,
        })
    }
}

/// The design card's spelling, `network![Dense<32, 10, Relu>, Dense<10, 1>]`: a bare list of
/// layers. `network!` declares a struct, so this is one error that shows the struct to write,
/// with the user's own layers in it.
fn layer_list(input: ParseStream<'_>) -> Option<syn::Error> {
    if input.peek(Token![struct]) || input.peek(Token![#]) || input.peek(Token![pub]) {
        return None;
    }
    let fork = input.fork();
    let layers = Punctuated::<Type, Token![,]>::parse_terminated(&fork).ok()?;
    if layers.is_empty() || !layers.iter().all(|layer| matches!(layer, Type::Path(_))) {
        return None;
    }
    let written: Vec<String> = layers
        .iter()
        .map(|layer| {
            layer
                .to_token_stream()
                .to_string()
                .replace(' ', "")
                .replace(',', ", ")
        })
        .collect();
    Some(syn::Error::new_spanned(
        &layers,
        format!(
            "`network!` declares a struct: write `network! {{ pub struct Net({}); }}` and use `Net` as the type",
            written.join(", ")
        ),
    ))
}

impl Field {
    fn parse(input: ParseStream<'_>, style: Style) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let name = match style {
            Style::Tuple => None,
            Style::Named => {
                let name: Ident = input.parse()?;
                input.parse::<Token![:]>()?;
                Some(name)
            }
        };
        let tokens = tokens_until_comma(input)?;
        let layer = parse_layer(tokens, input.span());
        Ok(Self {
            attrs,
            vis,
            name,
            layer,
        })
    }
}

/// The tokens of one field's type: up to a `,` that is not inside `<...>`.
fn tokens_until_comma(input: ParseStream<'_>) -> syn::Result<TokenStream> {
    input.step(|cursor| {
        let mut tokens = TokenStream::new();
        let mut depth = 0usize;
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if let TokenTree::Punct(punct) = &tree {
                match punct.as_char() {
                    ',' if depth == 0 => break,
                    '<' => depth += 1,
                    '>' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            tokens.extend([tree]);
            rest = next;
        }
        Ok((tokens, rest))
    })
}

fn parse_layer(tokens: TokenStream, end: Span) -> Result<Type, syn::Error> {
    if tokens.is_empty() {
        return Err(syn::Error::new(
            end,
            "expected a layer type here, such as `Dense<4, 8, Relu>`",
        ));
    }
    let mut trees = tokens.clone().into_iter();
    let called = matches!(
        (trees.next(), trees.next()),
        (Some(TokenTree::Ident(_)), Some(TokenTree::Group(group))) if group.delimiter() == proc_macro2::Delimiter::Parenthesis
    );
    let message = if called {
        "a layer is a type, not a function call: write its widths in angle brackets, such as `Dense<32, 10>`"
    } else {
        "expected a layer type, such as `Dense<4, 8, Relu>`"
    };
    match syn::parse2::<Type>(tokens.clone()) {
        Ok(ty) if !called => Ok(ty),
        _ => Err(syn::Error::new_spanned(tokens, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_tuple_and_named_structs() {
        let tuple: Declaration = syn::parse2(quote! {
            /// Doc.
            pub struct Regressor(Dense<32, 10, Relu>, Dense<10, 1>);
        })
        .unwrap();
        assert_eq!(tuple.style, Style::Tuple);
        assert_eq!(tuple.fields.len(), 2);
        assert_eq!(tuple.attrs.len(), 1);

        let named: Declaration = syn::parse2(quote! {
            struct Classifier { hidden: Dense<4, 8, Tanh>, pub output: Dense<8, 3, Sigmoid>, }
        })
        .unwrap();
        assert_eq!(named.style, Style::Named);
        assert_eq!(named.fields[1].name.as_ref().unwrap(), "output");
        assert!(named.fields.iter().all(|f| f.layer.is_ok()));
    }

    #[test]
    fn a_bare_list_of_layers_shows_the_struct_to_write() {
        let error = syn::parse2::<Declaration>(quote!(Dense<32, 10, Relu>, Dense<10, 1>))
            .err()
            .map(|error| error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>());
        assert_eq!(
            error.as_deref(),
            Some(
                &["`network!` declares a struct: write `network! { pub struct Net(Dense<32, 10, Relu>, Dense<10, 1>); }` and use `Net` as the type".to_owned()][..]
            )
        );
        // A declaration that is not a list of layers keeps its own message.
        let error = syn::parse2::<Declaration>(quote!(
            enum Net {}
        ))
        .err()
        .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.starts_with("expected a struct declaration")));
    }

    #[test]
    fn keeps_going_after_a_layer_that_is_not_a_type() {
        let declaration: Declaration = syn::parse2(quote! {
            struct Net(Dense(4, 8), 42, Dense<8, 1>);
        })
        .unwrap();
        let errors: Vec<String> = declaration
            .fields
            .iter()
            .filter_map(|f| f.layer.as_ref().err())
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].contains("not a function call"), "{errors:?}");
        assert!(errors[1].contains("expected a layer type"), "{errors:?}");
    }
}
