//! `with_context!(context, { body })`: `with_context(context, async move { body }).await`, with
//! `?` in the body. It awaits, so it belongs in async code.

mod parse;

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let parsed = match syn::parse2::<parse::WithContext>(input) {
        Ok(parsed) => parsed,
        Err(error) => return error.to_compile_error(),
    };
    let context = &parsed.context;
    let body = &parsed.body;
    let span = body.brace_token.span.join();
    let future = quote_spanned! {span=>
        async move {
            let __scopes_value = #body;
            ::core::result::Result::Ok::<_, ::scopes::BoxError>(__scopes_value)
        }
    };
    quote! {
        ::scopes::with_context(#context, #future).await
    }
}
