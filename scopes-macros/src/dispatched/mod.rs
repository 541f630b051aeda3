//! `#[dispatched(..)]` on an `async fn`: its dispatcher contract.
//!
//! - `#[dispatched(on = EXPR)]` runs the body on that dispatcher (a no-op when already there), like
//!   wrapping it in `with_context(EXPR, ..)`. The body may move to another thread, so the
//!   function's arguments must be owned: the macro rejects references with a message that says
//!   so, instead of a lifetime error deep in the expansion.
//! - `#[dispatched(requires = EXPR)]` checks on entry that the caller runs on that dispatcher or a
//!   view of it, and panics with "expected .., but running on .." otherwise (a broken contract is
//!   a bug; in a coroutine the panic is its failure and reaches a handler).
//! - `#[dispatched]` without either is an error: it would state no contract.
//!
//! (It was `#[suspend(..)]`, a name that `suspend!`, the continuation bridge, now has.)
//!
//! The signature is kept and only the body is replaced, so type errors point at user code.

mod expand;
mod parse;

use proc_macro2::TokenStream;
use quote::ToTokens;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<parse::Args>(args);
    let function = syn::parse2::<syn::ItemFn>(item.clone());
    match (args, function) {
        (Ok(args), Ok(function)) => match parse::validate(&args, &function) {
            Ok(()) => expand::expand(&args, function),
            Err(error) => crate::error::with_fallback(error, function.into_token_stream()),
        },
        (Err(error), Ok(function)) => {
            crate::error::with_fallback(error, function.into_token_stream())
        }
        (_, Err(_)) => {
            let error = syn::Error::new_spanned(&item, "`#[dispatched]` goes on an `async fn`");
            crate::error::with_fallback(error, item)
        }
    }
}
