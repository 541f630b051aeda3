//! Expanding `#[coroutine_scope]`: the struct, its `CoroutineScope` impl, and `new_scope()`.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::{Args, ScopeStruct};

pub(crate) fn expand(args: &Args, scope_struct: &ScopeStruct) -> TokenStream {
    let item = &scope_struct.item;
    let name = &item.ident;
    let field = &scope_struct.field;
    let (impl_generics, type_generics, where_clause) = item.generics.split_for_impl();
    let context = match &args.context {
        Some(context) => quote!(#context),
        None => quote!(::scopes::Job::new()),
    };
    quote! {
        #item

        impl #impl_generics ::scopes::CoroutineScope for #name #type_generics #where_clause {
            fn coroutine_context(&self) -> &::scopes::CoroutineContext {
                ::scopes::CoroutineScope::coroutine_context(&self.#field)
            }
        }

        impl #impl_generics #name #type_generics #where_clause {
            /// The context of this type's scopes (a new job each call), to extend with `+`
            /// before making the scope: `Scope::new(Self::scope_context() + handler)`.
            #[allow(dead_code)]
            pub fn scope_context() -> ::scopes::CoroutineContext {
                ::scopes::IntoContext::into_context(#context)
            }

            /// A new scope with this type's context, for its scope field.
            #[allow(dead_code)]
            pub fn new_scope() -> ::scopes::Scope {
                ::scopes::Scope::new(Self::scope_context())
            }
        }
    }
}
