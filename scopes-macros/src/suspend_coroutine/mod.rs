//! `suspend_coroutine!(|cont| ..)` and `suspend_coroutine!(cancellable |cont| ..)`: the
//! continuation bridge, awaited: `suspend_coroutine(|cont| ..).await`.

mod parse;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<parse::Suspend>(input) {
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
