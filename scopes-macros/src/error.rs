//! Errors: every error is a `syn::Error` spanned on the offending tokens, worded like rustc
//! (lower-case, no final period, code in backticks, the fix as a suggestion), and accumulated so
//! one round of fixes clears them all (serde_derive's `Ctxt`).

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Collects errors; `finish` combines them into one.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Option<syn::Error>,
}

impl Errors {
    /// An error at `tokens`.
    pub(crate) fn at(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(all) => all.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// True while no error was collected.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_none()
    }

    /// `Err` with every error collected, if any.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.errors {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The compile errors for `error`, followed by `fallback` (the item as written, or a stand-in)
/// so that one mistake gives one error, not a cascade of follow-on errors.
pub(crate) fn with_fallback(error: syn::Error, fallback: TokenStream) -> TokenStream {
    let mut out = error.to_compile_error();
    out.extend(fallback);
    out
}

/// An error about the whole invocation (a missing part at its end): spanned on the macro call,
/// without syn's "unexpected end of input" prefix.
pub(crate) fn at_call_site(message: String) -> syn::Error {
    syn::Error::new(proc_macro2::Span::call_site(), message)
}

/// Parses `name = EXPR, name = EXPR, ..` (the arguments of our attribute macros), giving each
/// pair to `accept`; a name without its value is recorded as an error that shows the form.
pub(crate) fn parse_named_args(
    input: syn::parse::ParseStream<'_>,
    errors: &mut Errors,
    value_hint: &str,
    mut accept: impl FnMut(syn::Ident, syn::Expr, &mut Errors),
) -> syn::Result<()> {
    while !input.is_empty() {
        let name: syn::Ident = input.parse()?;
        if input.peek(syn::Token![=]) {
            input.parse::<syn::Token![=]>()?;
            let value: syn::Expr = input.parse()?;
            accept(name, value, errors);
        } else {
            errors.at(
                &name,
                format!("missing value for `{name}`: write `{name} = {value_hint}`"),
            );
        }
        if input.is_empty() {
            break;
        }
        input.parse::<syn::Token![,]>()?;
    }
    Ok(())
}
