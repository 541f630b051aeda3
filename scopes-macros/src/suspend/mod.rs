//! `suspend!(|cont| ..)` and `suspend!(cancellable |cont| ..)`: the continuation bridge,
//! awaited: `suspend_coroutine(|cont| ..).await` (Kotlin's `suspendCoroutine { cont -> .. }`).
//! `suspend_coroutine!` is the same macro under its first name.

mod parse;

use proc_macro2::TokenStream;
use quote::quote;

/// `name` is the name the macro was called by, for its messages.
pub(crate) fn expand(name: &'static str, input: TokenStream) -> TokenStream {
    let parsed = match parse::parse(name, input) {
        Ok(parsed) => parsed,
        Err(error) => return error.to_compile_error(),
    };
    let closure = &parsed.closure;
    if parsed.cancellable {
        quote!(::scopes::suspend_cancellable_coroutine(#closure).await)
    } else {
        quote!(::scopes::suspend_coroutine(#closure).await)
    }
}
