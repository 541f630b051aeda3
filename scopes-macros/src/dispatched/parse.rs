//! Parsing and checking `#[dispatched(..)]`.

use syn::parse::{Parse, ParseStream};
use syn::visit::Visit;
use syn::{Expr, FnArg, Ident, ItemFn};

use crate::error::Errors;

const ARGUMENTS: &str = "`#[dispatched]` takes `on = DISPATCHER` or `requires = DISPATCHER`";

/// The arguments.
pub(crate) struct Args {
    /// `on = EXPR`: run the body on this dispatcher.
    pub(crate) on: Option<(Ident, Expr)>,
    /// `requires = EXPR`: check on entry that the caller runs on this dispatcher (or a view).
    pub(crate) requires: Option<(Ident, Expr)>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let mut args = Args {
            on: None,
            requires: None,
        };
        crate::error::parse_named_args(input, &mut errors, "DISPATCHER", |name, value, errors| {
            let slot = match name.to_string().as_str() {
                "on" => Some(&mut args.on),
                "requires" => Some(&mut args.requires),
                _ => None,
            };
            match slot {
                None => errors.at(&name, format!("unknown argument `{name}`: {ARGUMENTS}")),
                Some(Some(_)) => {
                    errors.at(&name, format!("duplicate argument `{name}`: give it once"))
                }
                Some(slot) => *slot = Some((name, value)),
            }
        })?;
        if args.on.is_none() && args.requires.is_none() && errors.is_empty() {
            errors.push(crate::error::at_call_site(
                "`#[dispatched]` needs its contract: `on = DISPATCHER` (the body runs there) or `requires = DISPATCHER` (the caller must run there)".to_owned(),
            ));
        }
        if let (Some(_), Some((requires, _))) = (&args.on, &args.requires) {
            errors.at(
                requires,
                "`on` already puts the body on its dispatcher: give either `on` or `requires`",
            );
        }
        errors.finish()?;
        Ok(args)
    }
}

/// Rules across the arguments and the function.
pub(crate) fn validate(args: &Args, function: &ItemFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    if function.sig.asyncness.is_none() {
        errors.at(
            function.sig.fn_token,
            "`#[dispatched]` goes on an `async fn`: write `async fn`",
        );
    }
    if let Some((on, _)) = &args.on {
        for input in &function.sig.inputs {
            match input {
                FnArg::Receiver(receiver) if receiver.reference.is_some() => errors.at(
                    receiver,
                    format!("`#[dispatched({on} = ..)]` runs the body on another dispatcher, so it cannot borrow `self`: take `self` by value (for example `self: Arc<Self>`)"),
                ),
                FnArg::Typed(typed) if borrows(&typed.ty) => errors.at(
                    &typed.ty,
                    format!("`#[dispatched({on} = ..)]` runs the body on another dispatcher, so arguments must be owned: take an owned value (`String`, `PathBuf`, `Arc<T>`) instead of a reference"),
                ),
                _ => {}
            }
        }
    }
    errors.finish()
}

/// True if `ty` holds a reference or a non-`'static` lifetime.
fn borrows(ty: &syn::Type) -> bool {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_reference(&mut self, _: &'ast syn::TypeReference) {
            self.0 = true;
        }
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if lifetime.ident != "static" {
                self.0 = true;
            }
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}
