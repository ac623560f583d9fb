//! The `network!` macro of [typenn](https://docs.rs/typenn). Use it through the `typenn` crate,
//! whose documentation describes it; this crate is an implementation detail.
//!
//! The macro works in three phases, each a pure function: `parse` reads the declaration into a
//! model that keeps every token's span, `validate` checks every rule and reports all mistakes
//! at once, and `expand` turns a valid model into code. `weights` reads and checks the file of
//! `#[weights(..)]` and emits the network as a constant.
#![forbid(unsafe_code)]

mod expand;
mod expand_stream;
mod parse;
mod quantized;
mod validate;
mod weights;

use proc_macro::TokenStream;

// The macro's documentation is on its re-export in `typenn`. rustdoc builds that page from the
// re-export's doc followed by this item's, so this short doc is kept out of the compiled crate
// that `typenn` reads (it exists only when rustdoc documents this crate itself).
#[cfg_attr(
    doc,
    doc = "Declares a network whose shape is part of its type. Use and read it through `typenn`."
)]
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let declaration = match syn::parse::<parse::Declaration>(input) {
        Ok(declaration) => declaration,
        Err(error) => return error.to_compile_error().into(),
    };
    match validate::validate(&declaration) {
        Ok(model) => {
            let mut tokens = expand::expand(&model);
            tokens.extend(weights::expand(&model));
            tokens.into()
        }
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(expand::fallback(&declaration));
            tokens.extend(weights::fallback(&declaration));
            tokens.into()
        }
    }
}
