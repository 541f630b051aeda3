//! Expanding `#[dispatched]`: the signature as written, the body wrapped.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ItemFn;

use super::parse::Args;

pub(crate) fn expand(args: &Args, mut function: ItemFn) -> TokenStream {
    let block = &function.block;
    let name = function.sig.ident.to_string();
    let body = if let Some((_, dispatcher)) = &args.on {
        quote_spanned! {block.brace_token.span.join()=>
            {
                ::scopes::__private::run_on(#dispatcher, #name, async move #block).await
            }
        }
    } else if let Some((_, dispatcher)) = &args.requires {
        quote! {
            {
                ::scopes::__private::require(&(#dispatcher), #name);
                #block
            }
        }
    } else {
        unreachable!("`parse` rejects `#[dispatched]` without `on` or `requires`")
    };
    function.block = Box::new(syn::parse2(body).expect("the wrapped body is a block"));
    function.into_token_stream()
}
