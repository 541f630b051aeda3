//! `launch!` and `async_!`: start a coroutine with an optional scope (default: the current
//! coroutine's scope), an optional context, and a body that may use `?`. A coroutine without a
//! `CoroutineName` in its context is named after the macro's source location (`file:line`), so
//! `dump()` says where each coroutine came from.
//!
//! Syntax, unambiguous because the body is always a braced block and the context always ends in
//! `=>`:
//!
//! ```text
//! launch!({ body })
//! launch!(scope, { body })
//! launch!(context => { body })
//! launch!(scope, context => { body })
//! ```

mod expand;
mod parse;

use proc_macro2::TokenStream;

/// Which builder the macro stands for.
#[derive(Clone, Copy)]
pub(crate) enum Flavor {
    /// `launch!`: a `Coroutine`; the body's value is `()`.
    Launch,
    /// `async_!`: a `Deferred<T>`; `T` is the body's value.
    Async,
}

impl Flavor {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::Launch => "launch!",
            Flavor::Async => "async_!",
        }
    }
}

pub(crate) fn expand(flavor: Flavor, input: TokenStream) -> TokenStream {
    match parse::parse(flavor, input) {
        Ok(parsed) => expand::expand(flavor, &parsed),
        Err(error) => error.to_compile_error(),
    }
}
