//! Expanding `launch!` / `async_!` into a call of the runtime's hidden helpers.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::Flavor;
use super::parse::Launch;

pub(crate) fn expand(flavor: Flavor, launch: &Launch) -> TokenStream {
    let scope = match &launch.scope {
        Some(scope) => quote!(&(#scope)),
        None => quote!(&::scopes::current_scope()),
    };
    let context = match &launch.context {
        Some(context) => quote!(#context),
        None => quote!(()),
    };
    let body = &launch.body;
    let span = body.brace_token.span.join();
    // `?` in the body converts any error into the boxed error of a coroutine body.
    let future = match flavor {
        Flavor::Launch => quote_spanned! {span=>
            async move {
                #[allow(unreachable_code)]
                {
                    let __scopes_unit: () = #body;
                    ::core::result::Result::Ok::<(), ::scopes::BoxError>(__scopes_unit)
                }
            }
        },
        Flavor::Async => quote_spanned! {span=>
            async move {
                let __scopes_value = #body;
                ::core::result::Result::Ok::<_, ::scopes::BoxError>(__scopes_value)
            }
        },
    };
    let helper = match flavor {
        Flavor::Launch => quote!(launch),
        Flavor::Async => quote!(async_),
    };
    quote! {
        ::scopes::__private::#helper(
            #scope,
            #context,
            ::core::concat!(::core::file!(), ":", ::core::line!()),
            #future,
        )
    }
}
