//! `#[scopes::test]` on an `async fn` with zero parameters or one (the test's `TestScope`),
//! ending in `()` or `Result<(), E>`: a `#[test]` that runs the body with
//! `scopes::test::Test::new().run(..)`, on a scheduler of its own with virtual time.
//! `#[scopes::test(seed = 7, time_limit_ms = 500)]` sets `Test::seed` and `Test::time_limit`.
//!
//! The function's other attributes (`#[should_panic]`, `#[ignore]`, docs) stay on the generated
//! `#[test]`. The parameter's pattern and type and the return type stay as written, bound with
//! `let`, so a mistake in them is reported on the user's tokens.

mod expand;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match parse::parse(args, item) {
        Ok((args, function)) => expand::expand(&args, function),
        Err((error, fallback)) => crate::error::with_fallback(error, fallback),
    }
}
