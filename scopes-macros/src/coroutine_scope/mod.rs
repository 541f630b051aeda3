//! `#[coroutine_scope]` and `#[coroutine_scope(context = EXPR)]` on a struct with named fields:
//! the struct becomes a `CoroutineScope` through the field that keeps its `Scope` (the one marked
//! `#[scope]`, or the only field of type `Scope`), and gets `new_scope()`, which makes a scope
//! with the given context. Dropping the struct drops the `Scope`, which cancels it.

mod expand;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = syn::parse2::<parse::Args>(args);
    let item = syn::parse2::<syn::Item>(item.clone()).map_err(|e| (e, item));
    match (args, item) {
        (Ok(args), Ok(item)) => match parse::ScopeStruct::from_item(item) {
            Ok(scope_struct) => expand::expand(&args, &scope_struct),
            Err((error, fallback)) => crate::error::with_fallback(error, fallback),
        },
        (Err(error), Ok(item)) => {
            crate::error::with_fallback(error, parse::strip_scope_attrs(item))
        }
        (Ok(_), Err((error, item))) => crate::error::with_fallback(error, item),
        (Err(mut a), Err((b, item))) => {
            a.combine(b);
            crate::error::with_fallback(a, item)
        }
    }
}
