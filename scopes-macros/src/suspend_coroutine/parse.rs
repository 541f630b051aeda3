//! Parsing `suspend_coroutine!([cancellable] |cont| ..)`.

use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprClosure};

syn::custom_keyword!(cancellable);

const USAGE: &str =
    "write `suspend_coroutine!(|cont| ..)` or `suspend_coroutine!(cancellable |cont| ..)`";

pub(crate) struct Suspend {
    pub(crate) cancellable: bool,
    pub(crate) closure: ExprClosure,
}

impl Parse for Suspend {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let cancellable = input.parse::<Option<cancellable>>()?.is_some();
        if input.is_empty() {
            return Err(crate::error::at_call_site(format!(
                "`suspend_coroutine!` needs a closure that gets the continuation: {USAGE}"
            )));
        }
        let closure = match input.parse::<Expr>()? {
            Expr::Closure(closure) => closure,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!(
                        "`suspend_coroutine!` takes a closure that gets the continuation: {USAGE}"
                    ),
                ));
            }
        };
        if closure.inputs.len() != 1 {
            return Err(syn::Error::new_spanned(
                &closure.inputs,
                format!(
                    "the closure takes one parameter, the continuation, not {}: {USAGE}",
                    closure.inputs.len()
                ),
            ));
        }
        if let Some(asyncness) = &closure.asyncness {
            return Err(syn::Error::new_spanned(
                asyncness,
                "the closure runs at once and must not be `async`: resume the continuation from a callback instead",
            ));
        }
        if !input.is_empty() {
            return Err(input.error(format!("unexpected tokens after the closure: {USAGE}")));
        }
        Ok(Suspend {
            cancellable,
            closure,
        })
    }
}
