//! Procedural macros of `scopes`. Use them through the `scopes` crate (its docs describe each
//! macro, with the code it stands for); this crate is an implementation detail.
//!
//! One module per macro; in each, parsing (`syn::parse::Parse`) is apart from expansion
//! (`quote!`). Errors are `syn::Error`s spanned on the offending tokens and accumulated, and a
//! stand-in item follows them so one mistake gives one error. Generated code reaches the runtime
//! through `::scopes::...` paths only (`::scopes::__private` for helpers), so user code cannot
//! shadow them.

use proc_macro::TokenStream;

mod coroutine_scope;
mod dispatched;
mod element;
mod error;
mod launch;
mod main_fn;
mod suspend;
mod test_fn;
mod with_context;

/// See `scopes::coroutine_scope`.
#[proc_macro_attribute]
pub fn coroutine_scope(args: TokenStream, item: TokenStream) -> TokenStream {
    coroutine_scope::expand(args.into(), item.into()).into()
}

/// See `scopes::launch!`.
#[proc_macro]
pub fn launch(input: TokenStream) -> TokenStream {
    launch::expand(launch::Flavor::Launch, input.into()).into()
}

/// See `scopes::async_!`.
#[proc_macro]
pub fn async_(input: TokenStream) -> TokenStream {
    launch::expand(launch::Flavor::Async, input.into()).into()
}

/// See `scopes::with_context!`.
#[proc_macro]
pub fn with_context(input: TokenStream) -> TokenStream {
    with_context::expand(input.into()).into()
}

/// See `scopes::suspend!`.
#[proc_macro]
pub fn suspend(input: TokenStream) -> TokenStream {
    suspend::expand("suspend", input.into()).into()
}

/// See `scopes::suspend_coroutine!`: `suspend!` under its first name.
#[proc_macro]
pub fn suspend_coroutine(input: TokenStream) -> TokenStream {
    suspend::expand("suspend_coroutine", input.into()).into()
}

/// See `scopes::dispatched`.
#[proc_macro_attribute]
pub fn dispatched(args: TokenStream, item: TokenStream) -> TokenStream {
    dispatched::expand(args.into(), item.into()).into()
}

/// See `scopes::ContextElement`.
#[proc_macro_derive(ContextElement)]
pub fn derive_context_element(input: TokenStream) -> TokenStream {
    element::expand(input.into()).into()
}

/// See `scopes::main`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_fn::expand(args.into(), item.into()).into()
}

/// See `scopes::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_fn::expand(args.into(), item.into()).into()
}
