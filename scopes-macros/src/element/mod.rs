//! `#[derive(ContextElement)]`: a type of yours becomes a context element that combines with
//! `+` on either side.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, GenericParam};

use crate::error::Errors;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Errors::default();
    for param in &input.generics.params {
        if let GenericParam::Lifetime(lifetime) = param {
            errors.at(
                lifetime,
                "a context element lives as long as its coroutines, so it cannot borrow: remove the lifetime and own the data",
            );
        }
    }
    if let Err(error) = errors.finish() {
        return error.to_compile_error();
    }
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let mut add_generics = input.generics.clone();
    add_generics
        .params
        .push(syn::parse_quote!(__ScopesRhs: ::scopes::IntoContext));
    let (add_impl_generics, _, _) = add_generics.split_for_impl();
    quote! {
        impl #impl_generics ::scopes::ContextElement for #name #type_generics #where_clause {}

        impl #add_impl_generics ::core::ops::Add<__ScopesRhs> for #name #type_generics #where_clause {
            type Output = ::scopes::CoroutineContext;
            fn add(self, rhs: __ScopesRhs) -> ::scopes::CoroutineContext {
                ::scopes::IntoContext::into_context(self) + rhs
            }
        }
    }
}
