//! Parsing `suspend!([cancellable] |cont| ..)` (and `suspend_coroutine!`, its first name).

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprClosure};

use crate::error::Errors;

syn::custom_keyword!(cancellable);

pub(crate) struct Suspend {
    pub(crate) cancellable: bool,
    pub(crate) closure: ExprClosure,
}

/// Parses the input of the macro called `name` (`suspend` or `suspend_coroutine`), whose
/// messages name it as it was called.
pub(crate) fn parse(name: &'static str, input: TokenStream) -> syn::Result<Suspend> {
    (|input: ParseStream<'_>| parse_suspend(name, input)).parse2(input)
}

fn parse_suspend(name: &str, input: ParseStream<'_>) -> syn::Result<Suspend> {
    let usage = format!("write `{name}!(|cont| ..)` or `{name}!(cancellable |cont| ..)`");
    let cancellable = input.parse::<Option<cancellable>>()?.is_some();
    if input.is_empty() {
        return Err(crate::error::at_call_site(format!(
            "`{name}!` needs a closure that gets the continuation: {usage}"
        )));
    }
    let closure = match input.parse::<Expr>()? {
        Expr::Closure(closure) => closure,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("`{name}!` takes a closure that gets the continuation: {usage}"),
            ));
        }
    };
    let mut errors = Errors::default();
    if closure.inputs.len() != 1 {
        errors.at(
            &closure.inputs,
            format!(
                "the closure takes one parameter, the continuation, not {}: {usage}",
                closure.inputs.len()
            ),
        );
    }
    if let Some(asyncness) = &closure.asyncness {
        errors.at(
            asyncness,
            "the closure runs at once and must not be `async`: resume the continuation from a callback instead",
        );
    }
    if !input.is_empty() {
        errors.push(input.error(format!("unexpected tokens after the closure: {usage}")));
    }
    errors.finish()?;
    Ok(Suspend {
        cancellable,
        closure,
    })
}
