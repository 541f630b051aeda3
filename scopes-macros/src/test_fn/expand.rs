//! Expanding `#[scopes::test]`: a plain `#[test] fn` that runs the body as a test coroutine.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::{Args, TestFn};

pub(crate) fn expand(args: &Args, test: TestFn) -> TokenStream {
    let TestFn {
        function,
        scope_param,
    } = test;
    let attrs = &function.attrs;
    let vis = &function.vis;
    let name = &function.sig.ident;
    let block = &function.block;
    let output = match &function.sig.output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) => quote!(#ty),
    };
    // The user's block is the closure's body, so that its tail is typed by `-> #output` as in
    // the function; with a parameter, its statements follow the binding of the scope.
    let body = match scope_param {
        None => quote!(#block),
        Some((pat, ty)) => {
            let stmts = &block.stmts;
            quote!({
                let #pat: #ty = __scopes_scope;
                #(#stmts)*
            })
        }
    };
    let seed = args.seed.as_ref().map(|seed| quote!(.seed(#seed)));
    let time_limit = args
        .time_limit_ms
        .as_ref()
        .map(|ms| quote!(.time_limit(::core::time::Duration::from_millis(#ms))));
    quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        #vis fn #name() {
            ::scopes::test::Test::new() #seed #time_limit .run(
                async move |__scopes_scope: ::scopes::test::TestScope| -> #output #body,
            );
        }
    }
}
