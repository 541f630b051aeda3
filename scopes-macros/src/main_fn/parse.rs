//! Checking `#[scopes::main]` and its function.

use proc_macro2::TokenStream;
use syn::{FnArg, ItemFn, Pat};

use crate::error::Errors;

pub(crate) struct Main {
    pub(crate) function: ItemFn,
    /// The pattern of the scope parameter, if the function takes one.
    pub(crate) scope_param: Option<Box<Pat>>,
}

pub(crate) fn parse(args: TokenStream, item: TokenStream) -> syn::Result<Main> {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.at(&args, "`#[scopes::main]` takes no arguments");
    }
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            errors.at(&item, "`#[scopes::main]` goes on `async fn main()`");
            errors.finish()?;
            unreachable!("an error was recorded just above");
        }
    };
    if function.sig.asyncness.is_none() {
        errors.at(
            function.sig.fn_token,
            "`#[scopes::main]` goes on an `async fn`: write `async fn main()`",
        );
    }
    if !function.sig.generics.params.is_empty() {
        errors.at(
            &function.sig.generics,
            "`#[scopes::main]` cannot be generic",
        );
    }
    let mut scope_param = None;
    for (i, input) in function.sig.inputs.iter().enumerate() {
        match input {
            FnArg::Typed(typed) if i == 0 => scope_param = Some(typed.pat.clone()),
            other => errors.at(
                other,
                "`#[scopes::main]` takes at most one parameter, the root scope: `async fn main(scope: ScopeHandle)`",
            ),
        }
    }
    errors.finish()?;
    Ok(Main {
        function,
        scope_param,
    })
}
